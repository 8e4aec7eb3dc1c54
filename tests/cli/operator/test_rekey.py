"""`operator rekey NAME --public-key FILE`: a person whose key is lost gets a new one instead of a new name, under
the RAPP as a role grant is (rapp/roles.toml [grants]; the operator being rekeyed never counts). The record keeps
the new key, so the person's later statements verify offline; the operator's row is resealed with it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import CaHome, assert_refused
from tests.support.terminal import run_on_terminal


def _new_key(ca: CaHome, name: str = "dave") -> Path:
    """The person's new credential, made in a folder of its own (their new machine)."""
    folder = ca.work / f"{name}-new"
    secret = ca.work / f"{name}-new.pass"
    secret.write_text(f"the new passphrase of {name}\n")
    ca.ok("operator", "keygen", name, "--credentials-dir", str(folder), "--passphrase-file", str(secret))
    return folder


def test_a_rekeyed_operator_signs_with_the_new_key_only(ca: CaHome) -> None:
    folder = _new_key(ca)

    done = ca.ok("--json", "operator", "rekey", "dave", "--public-key", str(folder / "dave.pub.pem"),
                 "--as", "carol", "--as", "alice").json()

    record = ca.audit()[-1]
    assert record["event"] == "operator.rekey" and record["object_id"] == "dave" and record["outcome"] == "ok"
    details = json.loads(record["details"])
    assert details["public_key_pem"] == (folder / "dave.pub.pem").read_text(), details
    assert done["key_sha256"] == ca.ok("--json", "operator", "show", "dave").json()["key_sha256"]
    request = ca.submit(ca.csr()).json()["id"]
    old = ca.run("request", "approve", str(request), "--as", "dave")  # the old credential, in HOME/credentials
    assert old.code == 4 and "not their registered key" in old.stderr, str(old)
    ca.ok("request", "approve", str(request), "--as", "dave", env={"S1SPKI_CREDENTIALS": str(folder)})
    ca.ok("audit", "verify", "--deep")  # the row's seal, and dave's new statements against the recorded key


def test_rekey_is_granted_as_the_role_is_and_never_by_the_person(ca: CaHome) -> None:
    folder = _new_key(ca)
    key = str(folder / "dave.pub.pem")
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, ca.run("operator", "rekey", "dave", "--public-key", key, "--as", "carol"), 4, before,
                   audit_before, "needs 2 distinct participants")
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, ca.run("operator", "rekey", "dave", "--public-key", key, "--as", "alice", "--as", "bob"), 4,
                   before, audit_before, "may not take part in operator.rekey")
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, ca.run("operator", "rekey", "dave", "--public-key", key, "--as", "carol", "--as", "dave"), 4,
                   before, audit_before, "cannot rekey themselves")
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, ca.run("operator", "rekey", "dave", "--public-key",
                              str(ca.home / "credentials" / "erin.pub.pem"), "--as", "carol", "--as", "alice"), 3,
                   before, audit_before, "already registered to operator 'erin'")
    result = ca.run("--json", "operator", "rekey", "nobody", "--public-key", key, "--as", "carol", "--as", "alice")
    assert result.code == 2 and result.json()["error"] == "not-found", str(result)


def test_a_database_edit_of_an_operators_key_is_refused(ca: CaHome) -> None:
    folder = _new_key(ca)
    theirs = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = theirs.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with sqlite3.connect(ca.home / "s1spki.db") as conn:  # a database writer swaps dave's key for one they hold
        conn.execute("update operators set public_key_der=?, key_sha256=? where name='dave'",
                     (der, hashlib.sha256(der).hexdigest()))
    result = ca.run("operator", "rekey", "dave", "--public-key", str(folder / "dave.pub.pem"), "--as", "carol",
                    "--as", "alice")
    assert result.code == 3 and "integrity" in result.stderr, str(result)


def test_a_new_passphrase_is_asked_twice(ca: CaHome) -> None:
    def keygen(first: str, second: str, name: str) -> str:
        answers = iter([first, second])
        run = run_on_terminal([sys.executable, "-m", "s1spki", "--home", str(ca.home), "operator", "keygen", name],
                              env={**os.environ, "TERM": "xterm"}, cwd=str(ca.work),
                              answers=[(r"a new passphrase for \w+'s key(?:, again)?:", lambda _m: next(answers))])
        return f"{run.code}\n{run.output}"

    mistyped = keygen("a long passphrase one", "a long passphrase two", "gina")
    assert mistyped.startswith("2\n") and "differ" in mistyped, mistyped
    assert not list((ca.home / "credentials").glob("gina*"))  # nothing was made
    made = keygen("a long passphrase one", "a long passphrase one", "gina")
    assert made.startswith("0\n") and "again" in made, made
    assert (ca.home / "credentials" / "gina.credential.toml").is_file()


def test_keygen_refuses_a_name_that_differs_from_an_operator_only_in_case(ca: CaHome) -> None:
    secret = ca.work / "x.pass"
    secret.write_text("a passphrase of eight or more\n")
    result = ca.run("operator", "keygen", "DAVE", "--credentials-dir", str(ca.work / "elsewhere"),
                    "--passphrase-file", str(secret))
    assert result.code == 3 and "only in case" in result.stderr, str(result)
    assert not (ca.work / "elsewhere").exists()
