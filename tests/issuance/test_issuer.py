"""The issuer's one-shot tokens: a prepared certificate is signed only by the issuer that prepared it, and
once; an issuer is refused at open when its key is not its certificate's or it may not sign certificates.

Software keys stand in for the CA key here: what is tested is the pairing and the token, not the HSM (the
CLI tests issue through SoftHSM)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from s1spki.errors import Refused
from s1spki.home.shipped import data_dir
from s1spki.issuance.issuer import Issuer
from s1spki.issuance.lint_gate import lint_context
from s1spki.issuance.profile import end_entity_builder, end_entity_name, key_identifier, new_serial
from s1spki.policy import load_policy

POLICY = load_policy(data_dir("policy"))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _ca(key: ec.EllipticCurvePrivateKey, name: str, *, cert_sign: bool = True) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(False, False, False, False, False, cert_sign, True, False, False)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), True).add_extension(usage, True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(key.public_key())), False)
            .sign(key, hashes.SHA256()))


def _opened(name: str) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    return Issuer.open(name, _ca(key, name), key)


def _prepare(issuer: Issuer, reserved: list[str]):  # type: ignore[no-untyped-def]
    profile = POLICY.profile_for("digitalSignature")
    builder = end_entity_builder(POLICY, profile, issuer.facts, end_entity_name(None, "02", "90B3D51F30010000"),
                                 ec.generate_private_key(ec.SECP256R1()).public_key(),
                                 new_serial(POLICY.serial_octets), NOW)
    return issuer.prepare(builder, lint_context(POLICY, issuer.certificate, profile), reserved.append)


def test_a_prepared_certificate_is_signed_once_and_only_by_its_issuer() -> None:
    first, second = _opened("CA One"), _opened("CA Two")
    reserved: list[str] = []
    prepared = _prepare(first, reserved)
    assert reserved == [prepared.serial]

    with pytest.raises(RuntimeError, match="only by the issuer that prepared it"):
        second.issue(prepared)
    certificate = first.issue(prepared)
    assert certificate.issuer == first.certificate.subject
    with pytest.raises(RuntimeError, match="once only"):
        first.issue(prepared)


def test_an_issuer_is_refused_when_its_key_is_not_its_certificates() -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Refused, match="does not match its certificate"):
        Issuer.open("CA One", _ca(key, "CA One"), other)


def test_an_issuer_without_keycertsign_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(Refused, match="keyCertSign and cRLSign"):
        Issuer.open("CA One", _ca(key, "CA One", cert_sign=False), key)
