"""Auditors pin: the live verify trusts the audit certificate the trail recorded, not a file of the home that
someone can replace; an export is verified only against a pinned certificate."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def test_a_replaced_audit_certificate_in_the_home_is_found(ca: CaHome) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s1spki audit signer")])
    now = dt.datetime.now(dt.UTC)
    forged = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
              .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
              .sign(key, hashes.SHA256()))
    (ca.home / "audit" / "audit-cert.pem").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    result = ca.run("audit", "verify")
    assert result.code == 3 and "audit-cert.pem is not the audit certificate the trail recorded" in result.stderr, \
        str(result)
