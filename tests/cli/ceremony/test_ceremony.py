"""Key ceremonies: CA keys on the token as sensitive and non-extractable, transcripts bound by the
custodians' signatures, one root per home, several issuing CAs."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.hsm import Hsm, HsmSettings, find_softhsm_module
from s1spki.values.canonical import canonical_json
from tests.conftest import CaHome


def _public_key(ca: CaHome, person: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key((ca.home / "credentials" / f"{person}.pub.pem").read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def test_ca_keys_read_back_from_the_token_as_sensitive_and_non_extractable(ca: CaHome) -> None:
    with ca.db() as conn:
        labels = dict(conn.execute("select kind, key_label from cas").fetchall())
    assert set(labels) == {"root", "issuing"}
    pin = (ca.home / "secrets" / "hsm-user.pin").read_text().strip()
    hsm = Hsm.connect(HsmSettings(find_softhsm_module(), "s1spki", pin, ca.home / "softhsm" / "softhsm2.conf"))
    try:
        for label in labels.values():
            attributes = hsm.key_attributes(label)
            assert attributes.sensitive and attributes.always_sensitive
            assert not attributes.extractable and attributes.never_extractable
            assert attributes.sign and not attributes.decrypt and not attributes.unwrap and not attributes.derive
            assert attributes.key_type == "EC" and attributes.curve == "secp256r1" and attributes.local
    finally:
        Hsm.close_all()


def test_transcripts_name_the_participants_token_key_and_certificate_and_are_signed(ca: CaHome) -> None:
    transcripts = sorted((ca.home / "ceremonies").glob("*.json"))
    assert [p.name.split("-")[0] for p in transcripts] == ["issuing", "root"]
    listed = {c["kind"]: c for c in ca.ok("--json", "cert", "list").json() if c["kind"] != "end-entity"}
    for path in transcripts:
        document = json.loads(path.read_text())
        transcript = document["transcript"]
        kind = transcript["ceremony"]
        assert [p["name"] for p in transcript["participants"]] == ["alice", "bob"]
        assert {r for p in transcript["participants"] for r in p["roles"]} == {"key_custodian"}
        assert transcript["token"]["label"] == "s1spki" and transcript["token"]["serial"]
        assert transcript["key"]["sensitive"] is True and transcript["key"]["extractable"] is False
        pem = transcript["certificate"]["pem"].encode()
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        assert transcript["certificate"]["sha256_fingerprint"] == hashlib.sha256(der).hexdigest()
        assert listed[kind]["sha256_fingerprint"] == hashlib.sha256(der).hexdigest()
        digest = hashlib.sha256(canonical_json(transcript)).hexdigest()
        assert document["transcript_sha256"] == digest
        signers = set()
        for attestation in document["attestations"]:
            body = attestation["body"]
            assert body["object"]["transcript_sha256"] == digest
            _public_key(ca, attestation["operator"]).verify(base64.b64decode(attestation["signature"]),
                                                             canonical_json(body), ec.ECDSA(hashes.SHA256()))
            signers.add(attestation["operator"])
        assert signers == {"alice", "bob"}


def test_a_second_root_is_refused_and_a_second_issuing_ca_needs_choosing(ca: CaHome) -> None:
    again = ca.run("ceremony", "root", "--as", "alice", "--as", "bob", "--name", "Another Root")
    assert again.code == 3 and "root CA already exists" in again.stderr, str(again)
    ca.ok("ceremony", "issuing", "--as", "alice", "--as", "bob", "--name", "S1SPKI Issuing CA 2")
    duplicate = ca.run("ceremony", "issuing", "--as", "alice", "--as", "bob", "--name", "S1SPKI Issuing CA 2")
    assert duplicate.code == 3 and "already exists" in duplicate.stderr, str(duplicate)
    request_id = ca.submit_approved()
    ambiguous = ca.run("cert", "issue", str(request_id), "--as", "carol")
    assert ambiguous.code == 2 and "--ca" in ambiguous.stderr, str(ambiguous)
    issued = ca.ok("--json", "cert", "issue", str(request_id), "--as", "carol", "--ca",
                   "S1SPKI Issuing CA 2").json()
    assert issued["issuer_cn"] == "S1SPKI Issuing CA 2"


def test_ceremony_audit_record_keeps_both_custodians_statements(ca: CaHome) -> None:
    records = [a for a in ca.audit() if a["event"] == "ceremony.root" and a["outcome"] == "ok"]
    assert len(records) == 1
    statements = json.loads(records[0]["statements"])
    operations = sorted((s["operator"], s["body"]["operation"]) for s in statements)
    assert operations == [("alice", "ceremony.root"), ("alice", "ceremony.root.attest"),
                          ("bob", "ceremony.root"), ("bob", "ceremony.root.attest")]
