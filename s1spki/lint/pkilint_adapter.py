"""pkilint's RFC 5280 certificate and CRL linters, as `Finding`s.

The validators are built as pkilint's own CLI builds them (`pkilint/bin/lint_pkix_cert.py`,
`lint_crl.py` with the PKIX profile), with one fix: pkilint 0.13 has no mapping for the X.520
uniqueIdentifier (2.5.4.45), decodes it as a DirectoryString and reports a FATAL
`itu.invalid_asn1_syntax` on every correct GBCS subject. We add `2.5.4.45 -> UniqueIdentifier` (a BIT
STRING). Building takes a while, so each validator is built once per process and reused (as pkilint's
REST service does).

Only findings at WARNING or above are kept (FATAL and ERROR become ERROR, WARNING stays WARNING): a good
certificate still gets an INFO (`pkix.subject_key_identifier_method_2_identified`), and NOTICE is advice.
"""

from __future__ import annotations

import functools
from typing import Any

from pkilint import pkix
from pkilint.document import Document
from pkilint.pkix import certificate, crl, extension, name
from pkilint.validation import ValidationFindingSeverity, ValidatorContainer
from pyasn1.type import univ
from pyasn1_alt_modules import rfc5280

from s1spki.lint.model import Finding, Severity
from s1spki.lint.registry import one_line

_SEVERITIES = {
    ValidationFindingSeverity.FATAL: Severity.ERROR,
    ValidationFindingSeverity.ERROR: Severity.ERROR,
    ValidationFindingSeverity.WARNING: Severity.WARNING,
}


def _attribute_mappings() -> dict[univ.ObjectIdentifier, Any]:
    return {**name.ATTRIBUTE_TYPE_MAPPINGS, univ.ObjectIdentifier("2.5.4.45"): rfc5280.UniqueIdentifier()}


@functools.cache
def certificate_validator() -> ValidatorContainer:
    """pkilint's RFC 5280 certificate validator with the uniqueIdentifier fix, built once."""
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(_attribute_mappings(), extension.EXTENSION_MAPPINGS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


@functools.cache
def crl_validator() -> ValidatorContainer:
    """pkilint's RFC 5280 (PKIX profile) CRL validator with the uniqueIdentifier fix, built once."""
    return crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(_attribute_mappings()),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )


def _lint(document: Document, validator: ValidatorContainer) -> tuple[Finding, ...]:
    try:
        document.decode()
    except ValueError as exc:  # SubstrateDecodingFailedError: not DER, or not the ASN.1 schema
        return (Finding("pkilint.decoding_failed", Severity.ERROR, one_line(str(exc)), "pkilint"),)
    findings = []
    for result in validator.validate(document.root):
        for description in result.finding_descriptions:
            severity = _SEVERITIES.get(description.finding.severity)
            if severity is None:
                continue
            detail = f"{description.message} " if description.message else ""
            findings.append(
                Finding(
                    f"pkilint.{description.finding.code}",
                    severity,
                    one_line(f"{detail}at {result.node.path}"),
                    "pkilint",
                )
            )
    return tuple(findings)


def lint_certificate(der: bytes) -> tuple[Finding, ...]:
    """pkilint's RFC 5280 findings for a certificate, at WARNING and above."""
    return _lint(certificate.RFC5280Certificate(None, der), certificate_validator())


def lint_crl(der: bytes) -> tuple[Finding, ...]:
    """pkilint's RFC 5280 findings for a CRL, at WARNING and above."""
    return _lint(crl.RFC5280CertificateList(None, der), crl_validator())
