"""DCC's published test certificates: the Z1/Z1b organisation certificates are the model and lint clean;
the deviant ones (NULL signature parameters, no AKI, another extension order) are flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509
from cryptography.x509.name import _ASN1Type

from s1spki.lint import LintContext, Severity, has_errors, lint_certificate, lint_file
from tests.conftest import REFERENCE

from .factory import CertSpec, aki, ca_name, key_usage, new_key, policies, rules_of, serial, ski_method2


def _certificates(*patterns: str) -> list[Path]:
    found = sorted(path for pattern in patterns for path in REFERENCE.glob(pattern))
    assert found, f"no DCC reference certificates {patterns} in {REFERENCE}"
    return found


MODEL = _certificates("Z1-*.pem", "Z1b-*.pem")
DEVIANT = {
    "mdr-ds.pem": {"gbcs.signature_params_absent", "gbcs.extension_order", "pkilint.itu.invalid_asn1_syntax"},
    "mdr-ka.pem": {"gbcs.signature_params_absent", "gbcs.extension_order", "pkilint.itu.invalid_asn1_syntax"},
    **{
        path.name: {
            "gbcs.aki_present",
            "gbcs.extension_order",
            "pkilint.pkix.authority_key_identifier_extension_absent",
        }
        for path in _certificates("xml-sign-*.pem", "dsp-xml-sign-*.pem")
    },
}


def _der(path: Path) -> bytes:
    return pem.unarmor(path.read_bytes())[2]


def test_the_reference_set_is_there() -> None:
    assert len(MODEL) == 25 and len(DEVIANT) == 6


@pytest.mark.parametrize("path", MODEL, ids=lambda p: p.name)
def test_z1_certificates_have_no_findings(path: Path) -> None:
    findings = lint_file(path)
    assert findings == (), "\n".join(f.line() for f in findings)


@pytest.mark.parametrize("name", sorted(DEVIANT))
def test_deviant_certificates_are_flagged(name: str) -> None:
    findings = lint_file(REFERENCE / name)
    assert has_errors(findings)
    assert DEVIANT[name] <= rules_of(findings), "\n".join(f.line() for f in findings)


def test_mdr_is_flagged_though_cryptography_cannot_load_it() -> None:
    der = _der(REFERENCE / "mdr-ds.pem")
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(der)
    findings = lint_certificate(der)
    assert [f.line() for f in findings if f.rule == "gbcs.signature_params_absent"] == [
        "error gbcs.signature_params_absent: certificate TBS signature parameters are present (NULL 0500); "
        "ecdsa-with-SHA256 parameters must be absent",
        "error gbcs.signature_params_absent: signatureAlgorithm parameters are present (NULL 0500); "
        "ecdsa-with-SHA256 parameters must be absent",
    ]


@pytest.mark.parametrize("name", ["otherUser-ds.pem", "otherUser-ka.pem"])
def test_critical_ca_false_end_entities_follow_the_setting(name: str) -> None:
    """DCC's older CA encodes critical cA FALSE as 30 00: flagged by default, clean if the profile says so."""
    assert "gbcs.basic_constraints_end_entity" in rules_of(lint_file(REFERENCE / name))
    assert lint_file(REFERENCE / name, LintContext(end_entity_basic_constraints="critical-false")) == ()


def _z1_stand_in(string_type: _ASN1Type) -> bytes:
    """A CA certificate named like DCC's Z1 (OU=07, CN=Z1) with our own key: DCC's is not published."""
    key = new_key()
    name = ca_name("07", "Z1", string_type)
    root_key = new_key()
    return CertSpec(
        subject=name,
        issuer=ca_name("00", "Root"),
        public_key=key.public_key(),
        signing_key=root_key,
        extensions=(
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (key_usage("key_cert_sign", "crl_sign"), True),
            (x509.SubjectKeyIdentifier(ski_method2(key.public_key())), False),
            (policies("1.2.826.0.1.8641679.1.2.1.4"), True),
            (aki(ski_method2(root_key.public_key())), False),
        ),
        serial_number=serial(11),
    ).build()


def test_issuer_string_types_are_compared_byte_for_byte() -> None:
    """Z1's organisation certificates name their issuer in PrintableString, dsp-xml-sign in UTF8String."""
    z1 = _z1_stand_in(_ASN1Type.PrintableString)
    model = lint_certificate(_der(REFERENCE / "Z1-supplier-ds.pem"), LintContext(issuer_der=z1))
    deviant = lint_certificate(
        _der(REFERENCE / "dsp-xml-sign-90B3D51F30000002-ds.pem"), LintContext(issuer_der=z1)
    )
    assert "gbcs.issuer_matches_ca_subject" not in rules_of(model)
    (finding,) = [f for f in deviant if f.rule == "gbcs.issuer_matches_ca_subject"]
    assert finding.severity is Severity.ERROR
    assert "OU=07 (UTF8String), CN=Z1 (UTF8String)" in finding.message
    assert "OU=07 (PrintableString), CN=Z1 (PrintableString)" in finding.message
