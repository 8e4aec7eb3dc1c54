"""The audit key: a P-256 key of its own on the HSM token, used for nothing but signing checkpoints and
export manifests, never a CA key.

`init` generates it (sensitive, non-extractable, sign-only, like the CA keys) and certifies it with a
self-signed certificate: the audit certificate. Auditors get that certificate with every export and
should pin its SHA-256 fingerprint once, out of band (it is printed by `init`, stored in the database,
written to HOME/audit/audit-cert.pem and recorded in the trail's `audit.key` record). It is self-signed
rather than issued by the root so that no CA key is ever used for the audit trail and the root can stay
offline; its trust comes from the pinned fingerprint, not from a chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from s1spki.errors import UsageError

KEY_LABEL_PREFIX = "s1spki-audit"
CERTIFICATE_NAME = "audit-cert.pem"
# The certificate outlives the records it vouches for: spec 7 keeps audit records 7 years by default.
CERTIFICATE_YEARS = 10


@dataclass(frozen=True)
class AuditSigner:
    """An audit key on the HSM and its certificate, as the database keeps them."""

    key_label: str
    token_label: str
    certificate_der: bytes
    fingerprint: str
    created_at: str

    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)

    def pem(self) -> str:
        return self.certificate().public_bytes(serialization.Encoding.PEM).decode("ascii")


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def current_signer(rows: list[dict[str, Any]]) -> AuditSigner | None:
    """The audit key in use (the newest of the store's `audit_signers` rows), or None for a home made before
    audit keys existed."""
    return signer_from_row(rows[-1]) if rows else None


def signer_from_row(row: dict[str, Any]) -> AuditSigner:
    return AuditSigner(row["key_label"], row["token_label"], bytes(row["certificate_der"]), row["fingerprint"],
                       row["created_at"])


def public_keys(certificates: Iterable[x509.Certificate]) -> dict[str, ec.EllipticCurvePublicKey]:
    """Trusted audit public keys by certificate fingerprint (non-EC certificates are ignored)."""
    keys = {}
    for certificate in certificates:
        key = certificate.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            keys[fingerprint(certificate.public_bytes(serialization.Encoding.DER))] = key
    return keys


def load_certificates(path: Path) -> list[x509.Certificate]:
    """The certificate(s) of a PEM file; ValueError if there are none."""
    data = path.read_bytes()
    certificates = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else \
        [x509.load_der_x509_certificate(data)]
    return certificates


def certificate_path(checkpoints_file: Path) -> Path:
    """HOME/audit/audit-cert.pem: beside the checkpoint file, outside the database."""
    return checkpoints_file.parent / CERTIFICATE_NAME


def pinned_certificates(paths: list[Path]) -> list[x509.Certificate]:
    """The audit certificates an auditor gives with --cert (PEM or DER)."""
    found: list[x509.Certificate] = []
    for path in paths:
        try:
            found += load_certificates(path)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--cert {path}: not a readable certificate file ({type(exc).__name__})") from None
    return found


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, home_id: str, now: dt.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s1spki audit signer"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"CA home {home_id}")])
    start = now.replace(microsecond=0)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=366 * CERTIFICATE_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
