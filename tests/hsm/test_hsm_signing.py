"""Signing through cryptography's builders with the token key, checked by cryptography and openssl."""

from __future__ import annotations

import copy
import datetime
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from s1spki.hsm import Hsm, HsmEcPrivateKey

pytestmark = pytest.mark.hsm

NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
# AlgorithmIdentifier for ecdsa-with-SHA256 with parameters absent (RFC 5758 section 3.2).
ECDSA_SHA256_ALGID = bytes.fromhex("300a06082a8648ce3d040302")


def _self_signed(key: HsmEcPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s1spki test root")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture
def ca_key(hsm: Hsm, ca_key_label: str) -> HsmEcPrivateKey:
    return hsm.signing_key(ca_key_label)


def test_signing_key_shape(ca_key: HsmEcPrivateKey, hsm: Hsm) -> None:
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ca_key.curve, ec.SECP256R1)
    assert ca_key.key_size == 256
    assert ca_key.public_key() == hsm.public_key("test-ca")
    assert "test-ca" in repr(ca_key)


def test_certificate_verifies_with_the_public_key(ca_key: HsmEcPrivateKey) -> None:
    cert = _self_signed(ca_key)
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256
    cert.verify_directly_issued_by(cert)
    ca_key.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))


def test_signature_algorithm_has_absent_parameters(ca_key: HsmEcPrivateKey) -> None:
    der = _self_signed(ca_key).public_bytes(serialization.Encoding.DER)
    # Once inside TBSCertificate, once as Certificate.signatureAlgorithm; never with a NULL.
    assert der.count(ECDSA_SHA256_ALGID) == 2
    assert ECDSA_SHA256_ALGID[2:] + b"\x05\x00" not in der


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_self_signed_certificate(ca_key: HsmEcPrivateKey, tmp_path: Path) -> None:
    pem = tmp_path / "root.pem"
    pem.write_bytes(_self_signed(ca_key).public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-attime", str(int(NOW.timestamp()) + 60), "-CAfile", pem, pem],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_crl_and_csr_builders_accept_the_key(ca_key: HsmEcPrivateKey) -> None:
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s1spki test root")])
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(NOW)
        .next_update(NOW + datetime.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    assert crl.is_signature_valid(ca_key.public_key())
    csr = x509.CertificateSigningRequestBuilder().subject_name(issuer).sign(ca_key, hashes.SHA256())
    assert csr.is_signature_valid


def test_prehashed_sha256_and_raw_digest(ca_key: HsmEcPrivateKey, hsm: Hsm) -> None:
    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(b"payload")
    digest = hasher.finalize()
    signature = ca_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    ca_key.public_key().verify(signature, b"payload", ec.ECDSA(hashes.SHA256()))
    raw = hsm.sign_digest("test-ca", digest)
    assert len(raw) == 64


@pytest.mark.parametrize(
    "algorithm",
    [ec.ECDSA(hashes.SHA384()), ec.ECDSA(hashes.SHA1()), ec.ECDSA(Prehashed(hashes.SHA384()))],
    ids=["sha384", "sha1", "prehashed-sha384"],
)
def test_only_sha256_is_allowed(ca_key: HsmEcPrivateKey, algorithm: ec.ECDSA) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        ca_key.sign(b"\x00" * 48, algorithm)


def test_wrong_digest_length_is_refused(ca_key: HsmEcPrivateKey, hsm: Hsm) -> None:
    with pytest.raises(ValueError):
        ca_key.sign(b"\x00" * 20, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(ValueError):
        hsm.sign_digest("test-ca", b"\x00" * 31)


def test_exports_are_refused(ca_key: HsmEcPrivateKey) -> None:
    with pytest.raises(NotImplementedError, match="non-extractable"):
        ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    with pytest.raises(NotImplementedError, match="test-ca"):
        ca_key.private_numbers()
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(NotImplementedError, match="ECDH"):
        ca_key.exchange(ec.ECDH(), peer)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(ca_key)
    assert copy.copy(ca_key) is ca_key and copy.deepcopy(ca_key) is ca_key
