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
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..clock import Clock, iso
from ..errors import PolicyRefused

if TYPE_CHECKING:
    from ..app import App
    from ..hsm import Hsm
    from ..store import StoreReader

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

    def signing_key(self, hsm: Hsm, reader: StoreReader) -> ec.EllipticCurvePrivateKey:
        """The HSM key; refused if it is a CA's key or does not match the audit certificate."""
        if self.key_label in {ca.key_label for ca in reader.cas()}:
            raise PolicyRefused(f"key {self.key_label!r} is a CA key: the audit trail is never signed with one")
        key = hsm.signing_key(self.key_label)
        if key.public_key() != self.certificate().public_key():
            raise PolicyRefused(f"HSM key {self.key_label!r} does not match the audit certificate "
                                f"{self.fingerprint[:16]}...: the audit key was replaced")
        return key


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def current_signer(reader: StoreReader) -> AuditSigner | None:
    """The audit key in use (the newest), or None for a home made before audit keys existed."""
    rows = reader.audit_signers()
    return _signer(rows[-1]) if rows else None


def all_signers(reader: StoreReader) -> list[AuditSigner]:
    return [_signer(row) for row in reader.audit_signers()]


def _signer(row: dict[str, Any]) -> AuditSigner:
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


def certificate_path(app: App) -> Path:
    return app.config.audit.checkpoints_file.parent / CERTIFICATE_NAME


def create_audit_signer(app: App) -> AuditSigner:
    """Generate the audit key on the token, certify it, record it in the trail and write audit-cert.pem."""
    hsm = app.hsm()
    token = hsm.token_info()
    now = app.clock.now()
    label = f"{KEY_LABEL_PREFIX}-{iso(now).replace(':', '').replace('-', '').split('.')[0]}"
    if label in {ca.key_label for ca in app.store.reader.cas()}:
        raise PolicyRefused(f"key label {label!r} belongs to a CA: the audit key must be a key of its own")
    attributes = hsm.generate_ec_key(label)
    key = hsm.signing_key(label)
    certificate = _self_signed(key, app.ca_id, now)
    der = certificate.public_bytes(serialization.Encoding.DER)
    signer = AuditSigner(label, token.label, der, fingerprint(der), iso(now))
    event = app.event("audit.key", "init", "bootstrap", "audit-key", label, token_label=token.label,
                      token_serial=token.serial, key_attributes=attributes.as_dict(),
                      certificate_pem=signer.pem(), certificate_sha256=signer.fingerprint)
    with app.store.change(event) as tx:
        tx.add_audit_signer({"key_label": label, "token_label": token.label, "certificate_der": der,
                             "fingerprint": signer.fingerprint})
    path = certificate_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(signer.pem(), encoding="ascii")
    return signer


def _self_signed(key: ec.EllipticCurvePrivateKey, home_id: str, now: dt.datetime) -> x509.Certificate:
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


def start_audit_trail(home: Path, clock: Clock, created: list[Path]) -> dict[str, str]:
    """For `init`: make the audit key and certificate, record them, and sign the first checkpoint.

    Paths this creates are added to `created`, so a failed `init` removes them again."""
    from ..app import App  # app.py imports the audit package

    app = App(home, clock)
    try:
        checkpoints = app.config.audit.checkpoints_file
        if checkpoints.exists():
            raise PolicyRefused(f"{checkpoints} already exists: initialise into an empty folder")
        if not checkpoints.parent.exists():
            created.append(checkpoints.parent)
        signer = create_audit_signer(app)
        app.checkpointer.checkpoint()
    finally:
        app.close()
    return {"audit_certificate": str(certificate_path(app)), "audit_certificate_sha256": signer.fingerprint}
