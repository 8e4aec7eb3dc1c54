"""Who may act: `--as` names an operator who must be registered, active, in a role that may perform the
operation, and prove it with their own key. Refusals exit 4 with one line and leave only their audit record;
the signed statement of an accepted change verifies offline from the audit record."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.values.canonical import canonical_json
from tests.conftest import ACME, ACME_ARO, ACME_EUI, CaHome, assert_refused

NEW_ORG = ["org", "register", "New Energy Ltd", "--eui64", "90B3D51F30030000", "--role", "supplier"]
SECOND_ISSUING = ["ceremony", "issuing", "--name", "S1SPKI Issuing CA 2"]


def nothing(ca: CaHome) -> list[str]:
    return []


def carol_holds_daves_key(ca: CaHome) -> list[str]:
    """carol's credential descriptor now names dave's key file and passphrase: a key that is not carol's."""
    credentials = ca.home / "credentials"
    daves = (credentials / "dave.credential.toml").read_text()
    assert 'key_file = "dave.key.pem"' in daves and "dave.pass" in daves
    (credentials / "carol.credential.toml").write_text(daves.replace('operator = "dave"', 'operator = "carol"'))
    return []


def dave_withdrawn(ca: CaHome) -> list[str]:
    ca.ok("operator", "withdraw", "dave", "--as", "carol", "--as", "alice")
    return ["--csr", str(ca.csr())]


REQUEST = ["request", "submit", "--org", ACME, "--role", "supplier", "--key-usage", "digitalSignature",
           "--eui64", ACME_EUI, "--aro", ACME_ARO]

# (id, prepares the home and returns extra arguments, the command, words on stderr)
CASES: list[tuple[str, Callable[[CaHome], list[str]], list[str], str]] = [
    ("unknown-operator", nothing, [*NEW_ORG, "--as", "mallory"], "unknown operator 'mallory'"),
    ("not-the-registered-key", carol_holds_daves_key, [*NEW_ORG, "--as", "carol"],
     "not their registered key"),
    ("no-operator-named", nothing, NEW_ORG, "name the operator with --as"),
    ("role-may-not", nothing, [*NEW_ORG, "--as", "alice"], "'alice' (key_custodian) may not take part in org.register"),
    ("withdrawn-operator", dave_withdrawn, [*REQUEST, "--as", "dave"], "'dave' was withdrawn"),
    ("one-custodian", nothing, [*SECOND_ISSUING, "--as", "alice"], "needs 2 distinct participants"),
    ("same-custodian-twice", nothing, [*SECOND_ISSUING, "--as", "alice", "--as", "alice"],
     "alice named more than once"),
    ("ra-manager-as-custodian", nothing, [*SECOND_ISSUING, "--as", "alice", "--as", "carol"],
     "'carol' (ra_manager) may not take part in ceremony.issuing"),
]


@pytest.mark.parametrize(("prepare", "command", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_operator(ca: CaHome, prepare: Callable[[CaHome], list[str]], command: list[str],
                          words: str) -> None:
    extra = prepare(ca)
    before, audit_before = ca.snapshot(), len(ca.audit())
    bundles = sorted((ca.home / "bundles").iterdir())

    result = ca.run(*command, *extra)

    assert_refused(ca, result, 4, before, audit_before, words)
    refusal = ca.audit()[-1]
    assert refusal["event"] == ".".join(command[:2]) and json.loads(refusal["details"])["error"] == "auth"
    assert json.loads(refusal["statements"]) == []  # no statement of a refused operator is kept as if valid
    assert sorted((ca.home / "bundles").iterdir()) == bundles  # no request bundle of a refused ceremony


def _audit_column(ca: CaHome, column: str, event: str, object_id: str | None = None) -> Any:
    """One audit row's JSON column, read straight from the database as an auditor would."""
    with closing(sqlite3.connect(ca.home / "s1spki.db")) as conn:
        rows = conn.execute(f"select {column} from audit where event = ? and outcome = 'ok'"
                            " and (? is null or object_id = ?)", (event, object_id, object_id)).fetchall()
    assert len(rows) == 1, rows
    return json.loads(rows[0][0])


def _verifies(public_key: ec.EllipticCurvePublicKey, record: dict[str, Any]) -> bool:
    try:
        public_key.verify(base64.b64decode(record["signature"]), canonical_json(record["body"]),
                          ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def test_signed_statement_of_org_register_verifies_offline(ca: CaHome) -> None:
    ca.ok(*NEW_ORG, "--as", "carol")

    [record] = _audit_column(ca, "statements", "org.register", "New Energy Ltd")
    assert record["operator"] == "carol" == record["body"]["operator"]
    assert record["nonce"] == record["body"]["nonce"] and len(record["nonce"]) == 32
    assert record["body"]["operation"] == "org.register"
    assert record["body"]["object"] == {"name": "New Energy Ltd", "eui64s": ["90B3D51F30030000"],
                                        "roles": ["supplier"]}
    carol = serialization.load_pem_public_key((ca.home / "credentials" / "carol.pub.pem").read_bytes())
    assert isinstance(carol, ec.EllipticCurvePublicKey)
    # the key to check with is the one the audit trail itself registered for carol at init
    [carol_at_init] = [o for o in _audit_column(ca, "details", "init")["operators"] if o["name"] == "carol"]
    assert carol_at_init["public_key_pem"].encode() == (ca.home / "credentials" / "carol.pub.pem").read_bytes()

    assert _verifies(carol, record)
    tampered = json.loads(json.dumps(record))
    tampered["body"]["object"]["roles"] = ["supplier", "wanProvider"]
    assert not _verifies(carol, tampered)
    dave = serialization.load_pem_public_key((ca.home / "credentials" / "dave.pub.pem").read_bytes())
    assert isinstance(dave, ec.EllipticCurvePublicKey)
    assert not _verifies(dave, record)
