"""`s1spki request submit` refuses what intake or registration must not accept: exit 3, one line naming the
problem, and nothing kept but the refusal's audit record."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import ACME, OTHER_EUI, REFERENCE, CaHome, assert_refused


def _write(ca: CaHome, name: str, data: bytes) -> Path:
    path = ca.work / name
    path.write_bytes(data)
    return path


def _der_csr(ca: CaHome) -> bytes:
    return x509.load_pem_x509_csr(ca.csr().read_bytes()).public_bytes(serialization.Encoding.DER)


def random_bytes(ca: CaHome) -> Path:
    return _write(ca, "random.csr", os.urandom(600))


def certificate_pem(ca: CaHome) -> Path:
    return REFERENCE / "Z1-supplier-ds.pem"


def truncated_der(ca: CaHome) -> Path:
    der = _der_csr(ca)
    return _write(ca, "truncated.der", der[: len(der) // 2])


def rsa_2048(ca: CaHome) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
           .sign(key, hashes.SHA256()))
    return _write(ca, "rsa.csr", csr.public_bytes(serialization.Encoding.PEM))


def p384(ca: CaHome) -> Path:
    return ca.csr(ec.SECP384R1())


def bad_signature(ca: CaHome) -> Path:
    """The last octet of a DER CSR is the last octet of the ECDSA signature's s: flipping it keeps the DER valid."""
    der = bytearray(_der_csr(ca))
    der[-1] ^= 0x01
    x509.load_der_x509_csr(bytes(der))  # still parses: only the proof of possession is broken
    return _write(ca, "badsig.der", bytes(der))


def compressed_point(ca: CaHome) -> Path:
    key, compressed, csr = ca.work / "k.pem", ca.work / "kc.pem", ca.work / "compressed.csr"
    for args in (["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
                 ["ec", "-in", str(key), "-conv_form", "compressed", "-out", str(compressed)],
                 ["req", "-new", "-key", str(compressed), "-subj", "/CN=x", "-out", str(csr)]):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    der = x509.load_pem_x509_csr(csr.read_bytes()).public_bytes(serialization.Encoding.DER)
    point = asn1_csr.CertificationRequest.load(der)["certification_request_info"]["subject_pk_info"]["public_key"]
    assert len(point.contents) == 1 + 33 and point.contents[1] in (2, 3)  # unused-bits octet, then 02|03 || X
    return csr


def huge(ca: CaHome) -> Path:
    return _write(ca, "huge.csr", ca.csr().read_bytes() + b"\n" * (10 * 1024 * 1024))


def already_certified(ca: CaHome) -> Path:
    csr = ca.csr()
    ca.ok("cert", "issue", str(ca.submit_approved(csr)), "--as", "carol")
    return csr


def already_waiting(ca: CaHome) -> Path:
    csr = ca.csr()
    submitted = ca.submit(csr, key_usage="keyAgreement")
    assert submitted.code == 0, str(submitted)
    return csr


def fresh(ca: CaHome) -> Path:
    return ca.csr()


# (id, makes the CSR file (and any earlier state), request fields, error kind in --json, words on stderr)
CASES: list[tuple[str, Callable[[CaHome], Path], dict[str, Any], str, str]] = [
    ("random-bytes", random_bytes, {}, "intake", "not a PKCS#10"),
    ("certificate-pem", certificate_pem, {}, "intake", "no CERTIFICATE REQUEST"),
    ("truncated-der", truncated_der, {}, "intake", "truncated"),
    ("rsa-2048", rsa_2048, {}, "intake", "RSA-2048"),
    ("p-384", p384, {}, "intake", "secp384r1"),
    ("signature-does-not-verify", bad_signature, {}, "intake", "proof of possession"),
    ("compressed-point", compressed_point, {}, "intake", "compressed"),
    ("over-size-limit", huge, {}, "intake", "the request is over the 8192-byte limit"),
    ("unknown-organisation", fresh, {"org": "Nobody Ltd"}, "not-found", "unknown organisation"),
    ("role-not-held", fresh, {"role": "wanProvider"}, "policy", "may not hold role 'wanProvider'"),
    ("eui64-of-another", fresh, {"eui64": OTHER_EUI}, "policy", f"EUI-64 {OTHER_EUI} does not belong"),
    ("role-not-in-policy", fresh, {"role": "plumber"}, "policy", "'plumber' is not a subscriber role"),
    ("key-already-certified", already_certified, {}, "policy", "already certified"),
    ("key-already-waiting", already_waiting, {}, "policy", "already in request 1"),
]


@pytest.mark.parametrize(("make", "fields", "kind", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_submit_refused(ca: CaHome, make: Callable[[CaHome], Path], fields: dict[str, Any], kind: str,
                        words: str) -> None:
    csr = make(ca)
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.submit(csr, **fields)

    # a name that does not exist is a usage error (exit 2, interface.md), still recorded as a refusal
    assert_refused(ca, result, 2 if kind == "not-found" else 3, before, audit_before, words)
    assert result.json()["error"] == kind, str(result)
    refusal = ca.audit()[-1]
    assert refusal["event"] == "request.submit" and words.lower() in refusal["details"].lower()
    assert fields.get("org", ACME) in refusal["details"]
