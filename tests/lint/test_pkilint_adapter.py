"""The pkilint adapter: the uniqueIdentifier fix, the severity gate, the one-time build."""

from __future__ import annotations

from cryptography.x509.oid import ExtensionOID
from pkilint.pkix import certificate, extension, name

from s1spki.lint import Severity, pkilint_adapter

from .factory import Pki


def _stock_validator():
    """pkilint's RFC 5280 validator exactly as its CLI builds it, without our fix."""
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


def test_stock_pkilint_misreads_the_gbcs_unique_identifier(pki: Pki) -> None:
    """Why the adapter exists: without the 2.5.4.45 mapping a correct GBCS subject is a FATAL finding."""
    document = certificate.RFC5280Certificate(None, pki.ee.build())
    codes = {
        description.finding.code
        for result in _stock_validator().validate(document.decode())
        for description in result.finding_descriptions
    }
    assert "itu.invalid_asn1_syntax" in codes
    assert pkilint_adapter.lint_certificate(pki.ee.build()) == ()


def test_info_findings_are_dropped(pki: Pki) -> None:
    """pkilint reports method-2 SKIs as INFO on every good certificate; the adapter keeps none."""
    document = certificate.RFC5280Certificate(None, pki.ee.build())
    severities = {
        description.finding.severity.name
        for result in pkilint_adapter.certificate_validator().validate(document.decode())
        for description in result.finding_descriptions
    }
    assert severities == {"INFO"}
    assert pkilint_adapter.lint_certificate(pki.ee.build()) == ()


def test_findings_are_mapped_with_their_code_and_path(pki: Pki) -> None:
    without_aki = pki.ee.without_extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).build()
    (finding,) = pkilint_adapter.lint_certificate(without_aki)
    assert finding.rule == "pkilint.pkix.authority_key_identifier_extension_absent"
    assert finding.severity is Severity.ERROR and finding.source == "pkilint"
    assert finding.message == "at certificate"


def test_undecodable_input_is_one_finding() -> None:
    (finding,) = pkilint_adapter.lint_certificate(b"\x30\x03\x02\x01\x01")
    assert finding.rule == "pkilint.decoding_failed" and finding.severity is Severity.ERROR


def test_validators_are_built_once() -> None:
    assert pkilint_adapter.certificate_validator() is pkilint_adapter.certificate_validator()
    assert pkilint_adapter.crl_validator() is pkilint_adapter.crl_validator()
