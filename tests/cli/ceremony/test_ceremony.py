"""Key ceremonies: CA keys on their tokens as sensitive and non-extractable, transcripts and bundles bound by
the custodians' signatures, one root per root home, several issuing CAs."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

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


def _hsm(home: Path, label: str, pin_file: str) -> Hsm:
    pin = (home / "secrets" / pin_file).read_text().strip()
    return Hsm.connect(HsmSettings(find_softhsm_module(), label, pin, home / "softhsm" / "softhsm2.conf"))


def test_ca_keys_read_back_from_their_tokens_as_sensitive_and_non_extractable(ca: CaHome) -> None:
    assert ca.root is not None
    with ca.db() as conn:
        issuing = conn.execute("select key_label from cas where kind = 'issuing'").fetchone()[0]
    with sqlite3.connect(ca.root.home / "s1spki.db") as conn:
        root = conn.execute("select key_label from cas where kind = 'root'").fetchone()[0]
    try:
        for hsm, label in ((_hsm(ca.home, "s1spki", "hsm-user.pin"), issuing),
                           (_hsm(ca.root.home, "s1spki-root", "hsm-user.pin"), root)):
            attributes = hsm.key_attributes(label)
            assert attributes.sensitive and attributes.always_sensitive
            assert not attributes.extractable and attributes.never_extractable
            assert attributes.sign and not attributes.decrypt and not attributes.unwrap and not attributes.derive
            assert attributes.key_type == "EC" and attributes.curve == "secp256r1" and attributes.local
    finally:
        Hsm.close_all()


def _signed_by_alice_and_bob(ca: CaHome, attestations: list[dict[str, object]], field: str, digest: str) -> None:
    signers = set()
    for attestation in attestations:
        body = attestation["body"]
        assert isinstance(body, dict) and body["object"][field] == digest
        _public_key(ca, str(attestation["operator"])).verify(base64.b64decode(str(attestation["signature"])),
                                                              canonical_json(body), ec.ECDSA(hashes.SHA256()))
        signers.add(attestation["operator"])
    assert signers == {"alice", "bob"}


def test_the_root_transcript_names_the_participants_token_key_and_certificate_and_is_signed(ca: CaHome) -> None:
    assert ca.root is not None
    [path] = sorted((ca.root.home / "ceremonies").glob("*.json"))
    assert path.name.startswith("root-")
    [listed] = ca.root.ok("--json", "cert", "list", "--kind", "root").json()
    document = json.loads(path.read_text())
    transcript = document["transcript"]
    assert transcript["ceremony"] == "root"
    assert [p["name"] for p in transcript["participants"]] == ["alice", "bob"]
    assert {r for p in transcript["participants"] for r in p["roles"]} == {"key_custodian"}
    assert transcript["token"]["label"] == "s1spki-root" and transcript["token"]["serial"]
    assert transcript["key"]["sensitive"] is True and transcript["key"]["extractable"] is False
    der = x509.load_pem_x509_certificate(transcript["certificate"]["pem"].encode()).public_bytes(
        serialization.Encoding.DER)
    assert transcript["certificate"]["sha256_fingerprint"] == hashlib.sha256(der).hexdigest()
    assert listed["sha256_fingerprint"] == hashlib.sha256(der).hexdigest()
    digest = hashlib.sha256(canonical_json(transcript)).hexdigest()
    assert document["transcript_sha256"] == digest
    _signed_by_alice_and_bob(ca, document["attestations"], "transcript_sha256", digest)


def test_the_issuing_bundles_hold_the_request_the_transcript_and_the_custodians_signatures(ca: CaHome) -> None:
    assert ca.root is not None
    [request_path] = sorted((ca.home / "bundles").glob("issuing-request-*.json"))
    [response_path] = sorted((ca.root.home / "bundles").glob("issuing-response-*.json"))
    request, response = json.loads(request_path.read_text()), json.loads(response_path.read_text())
    body = request["body"]
    assert request["sha256"] == hashlib.sha256(canonical_json(body)).hexdigest()
    assert [p["name"] for p in body["participants"]] == ["alice", "bob"]
    assert body["token"]["label"] == "s1spki" and body["key_attributes"]["extractable"] is False
    csr = x509.load_pem_x509_csr(body["csr_pem"].encode())
    assert csr.is_signature_valid
    _signed_by_alice_and_bob(ca, request["attestations"], "bundle_sha256", request["sha256"])
    answer = response["body"]
    assert answer["request_sha256"] == request["sha256"]
    assert response["sha256"] == hashlib.sha256(canonical_json(answer)).hexdigest()
    _signed_by_alice_and_bob(ca, response["attestations"], "bundle_sha256", response["sha256"])
    certificate = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
    assert certificate.public_key() == csr.public_key() and certificate.subject == csr.subject
    [installed] = ca.ok("--json", "cert", "list", "--kind", "issuing").json()
    assert installed["sha256_fingerprint"] == hashlib.sha256(
        certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_a_second_root_is_refused_and_a_second_issuing_ca_needs_choosing(ca: CaHome) -> None:
    assert ca.root is not None
    again = ca.root.run("ceremony", "root", "--as", "alice", "--as", "bob", "--name", "Another Root")
    assert again.code == 3 and "root CA already exists" in again.stderr, str(again)
    ca.new_issuing("S1SPKI Issuing CA 2")
    duplicate = ca.run("ceremony", "issuing", "--as", "alice", "--as", "bob", "--name", "S1SPKI Issuing CA 2")
    assert duplicate.code == 3 and "already exists" in duplicate.stderr, str(duplicate)
    request_id = ca.submit_approved()
    ambiguous = ca.run("cert", "issue", str(request_id), "--as", "carol")
    assert ambiguous.code == 2 and "--ca" in ambiguous.stderr, str(ambiguous)
    issued = ca.ok("--json", "cert", "issue", str(request_id), "--as", "carol", "--ca",
                   "S1SPKI Issuing CA 2").json()
    assert issued["issuer_cn"] == "S1SPKI Issuing CA 2"


def test_ceremony_audit_records_keep_both_custodians_statements(ca: CaHome) -> None:
    assert ca.root is not None
    for home, event in ((ca.root, "ceremony.root"), (ca.root, "ceremony.sign-issuing"), (ca, "ceremony.issuing"),
                        (ca, "ceremony.import-issuing")):
        records = [a for a in home.audit() if a["event"] == event and a["outcome"] == "ok"]
        assert len(records) == 1, event
        statements = json.loads(records[0]["statements"])
        operations = sorted((s["operator"], s["body"]["operation"]) for s in statements)
        attest = [] if event == "ceremony.import-issuing" else [f"{event}.attest"]
        assert operations == sorted([(p, op) for p in ("alice", "bob") for op in [event, *attest]]), event
