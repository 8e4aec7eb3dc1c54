"""`s1spki cert issue`: what comes out verifies, lints clean, and has DCC's structure field by field."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.lint import LintContext, lint_certificate, pkilint_adapter
from tests.conftest import ACME_EUI, REFERENCE, CaHome

pytestmark = pytest.mark.both_engines

ECDSA_SHA256_ABSENT_PARAMS = bytes.fromhex("300a06082a8648ce3d040302")


def _der(path: Path) -> bytes:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return data


def structure(der: bytes) -> dict[str, Any]:
    """The fields the GBCS profile fixes, read from the bytes (string types and tags included)."""
    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    subject = [[(atv["type"].dotted, atv["value"].chosen.__class__.__name__ if hasattr(atv["value"], "chosen")
                 else atv["value"].__class__.__name__) for atv in rdn] for rdn in tbs["subject"].chosen]
    extensions = [(e["extn_id"].dotted, bool(e["critical"].native)) for e in tbs["extensions"]]
    validity = tbs["validity"]
    return {
        "version": tbs["version"].native,
        "serial_octets": len(tbs["serial_number"].contents),
        "signature_algorithm": tbs["signature"].dump(),
        "outer_signature_algorithm": cert["signature_algorithm"].dump(),
        "subject_shape": [[(oid, _kind(kind)) for oid, kind in rdn] for rdn in subject],
        "extensions": extensions,
        "validity_types": (validity["not_before"].name, validity["not_after"].name),
        "not_before_time": validity["not_before"].native.strftime("%H:%M:%S"),
        "not_after_time": validity["not_after"].native.strftime("%H:%M:%S"),
        "spki_algorithm": tbs["subject_public_key_info"]["algorithm"].dump(),
    }


def _kind(name: str) -> str:
    return {"UTF8String": "utf8", "PrintableString": "printable", "OctetBitString": "bitstring",
            "BitString": "bitstring", "Any": "other"}.get(name, name)


def _ski_method2(der: bytes) -> bool:
    cert = x509.load_der_x509_certificate(der)
    point = cert.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    expected = bytearray(hashlib.sha1(point).digest()[-8:])
    expected[0] = (expected[0] & 0x0F) | 0x40
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == bytes(expected)


def _aki_bytes(der: bytes) -> bytes:
    cert = x509.load_der_x509_certificate(der)
    ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    return ext.value.public_bytes()


@pytest.mark.parametrize(("key_usage", "cn", "reference"), [
    ("digitalSignature", "GITTESTSUPPLIER", "Z1-supplier-ds.pem"),
    ("keyAgreement", None, "Z1-supplier-ka.pem"),
])
def test_issued_certificate_has_dcc_structure_and_verifies(ca: CaHome, key_usage: str, cn: str | None,
                                                           reference: str) -> None:
    record = ca.issue_new(key_usage, cn)
    ours = _der(ca.export(record["id"], "ee.pem"))
    theirs = _der(REFERENCE / reference)

    assert structure(ours) == structure(theirs)
    assert _ski_method2(ours) and _ski_method2(theirs)
    # AKI is keyIdentifier only: 30 0A 80 08 <8 bytes>, equal to the issuing CA's SKI
    assert _aki_bytes(ours)[:4] == bytes.fromhex("300a8008") == _aki_bytes(theirs)[:4]
    root_pem, issuing_pem = ca.ca_pems()
    issuing = x509.load_pem_x509_certificate(issuing_pem.read_bytes())
    issuing_ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert _aki_bytes(ours)[4:] == issuing_ski
    assert structure(ours)["signature_algorithm"] == ECDSA_SHA256_ABSENT_PARAMS

    cert = x509.load_der_x509_certificate(ours)
    assert cert.issuer.public_bytes() == issuing.subject.public_bytes()  # byte-identical, string types included
    assert cert.serial_number.bit_length() <= 127 and len(asn1_x509.Certificate.load(ours)["tbs_certificate"][
        "serial_number"].contents) == 16
    eui = cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.45"))[0].value
    assert eui == b"\x00" + bytes.fromhex(ACME_EUI)
    # the CSR asked for basicConstraints CA:TRUE: the profile ignores it
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3652 - 1 or \
        cert.not_valid_after_utc.year - cert.not_valid_before_utc.year == 10

    verify = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", str(root_pem), "-untrusted",
                             str(issuing_pem), str(ca.work / "ee.pem")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    linted = ca.run("lint", "--issuer", str(issuing_pem), "--verify-signature", str(ca.work / "ee.pem"))
    assert linted.code == 0, str(linted)
    assert pkilint_adapter.lint_certificate(ours) == ()  # pkilint's RFC 5280 checks, 2.5.4.45 mapped
    findings = lint_certificate(ours, LintContext(issuer_der=issuing.public_bytes(serialization.Encoding.DER),
                                                  check_signature=True))
    assert findings == ()


def test_ca_certificates_lint_clean_and_chain(ca: CaHome) -> None:
    root_pem, issuing_pem = ca.ca_pems()
    assert ca.run("lint", str(root_pem)).code == 0
    result = ca.run("lint", "--issuer", str(root_pem), "--verify-signature", str(issuing_pem))
    assert result.code == 0, str(result)
    verify = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", str(root_pem), str(issuing_pem)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    issuing = x509.load_pem_x509_certificate(issuing_pem.read_bytes())
    constraints = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = issuing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature


def test_issued_record_carries_policy_hash_and_signed_statement(ca: CaHome) -> None:
    record = ca.issue_new()
    shown = ca.ok("--json", "cert", "show", str(record["id"])).json()
    assert shown["policy_hash"] == record["policy_hash"] and len(record["policy_hash"]) == 64
    issue_records = [a for a in ca.audit() if a["event"] == "cert.issue" and a["outcome"] == "ok"]
    assert issue_records and issue_records[-1]["statements"].count('"operator":"carol"') >= 1
