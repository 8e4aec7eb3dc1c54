"""Operators' names: ASCII letters, digits, '.', '-' and '_', starting with a letter or digit, within the
policy's limit, and never equal to another operator's ignoring case. So neither a confusable (Cyrillic 'с'
beside Latin 'c') nor a path ('../../x') can be an operator, and `operator keygen` writes nothing anywhere
for a refused name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli.names import assert_name_refused
from tests.conftest import CaHome, run_s1spki

CYRILLIC_CAROL = "\u0441arol"  # CYRILLIC SMALL LETTER ES, then "arol": looks like carol


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every file and symlink under root, with its content or target (the database is compared apart)."""
    found: dict[str, bytes | str] = {}
    for path in root.rglob("*"):
        if path.is_symlink():
            found[str(path)] = "-> " + os.readlink(path)
        elif path.is_file() and not path.name.endswith((".db", "-wal", "-shm")):
            found[str(path)] = path.read_bytes()
    return found


def _passphrase(ca: CaHome) -> Path:
    path = ca.work / "new.pass"
    path.write_text("a passphrase of eight or more\n")
    return path


def _public_key(ca: CaHome, name: str = "key.pub.pem") -> Path:
    path = ca.work / name
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.mark.parametrize(("name", "words"), [
    ("../../x", "U+002E FULL STOP at position 1"),
    ("sub/dir", "U+002F SOLIDUS at position 4"),
    ("/tmp/x", "U+002F SOLIDUS at position 1"),
    (CYRILLIC_CAROL, "U+0441 CYRILLIC SMALL LETTER ES at position 1"),
    (".hidden", "starting with a letter or digit"),
    ("_private", "starting with a letter or digit"),
    ("carol\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("carol\n", "U+000A at position 6"),
    ("x" * 65, "must be 1 to 64 letters, digits"),
], ids=["dot-dot-path", "slash", "absolute-path", "cyrillic-confusable", "leading-dot", "leading-underscore", "bidi",
        "newline", "too-long"])
def test_keygen_refuses_a_name_before_writing_anything(ca: CaHome, name: str, words: str) -> None:
    everything = ca.home.parent  # the test's own temporary folder, where ../../x from credentials/ would land
    files, before, audit_before = _tree(everything), ca.snapshot(), len(ca.audit())

    result = ca.run("operator", "keygen", name, "--passphrase-file", str(_passphrase(ca)))

    assert_name_refused(ca, result, before, audit_before, words)
    assert "operator name" in result.stderr
    assert _tree(everything) == {**files, str(ca.work / "new.pass"): b"a passphrase of eight or more\n"}


def test_keygen_before_init_refuses_a_path_with_the_shipped_limits(tmp_path: Path) -> None:
    home, passphrase = tmp_path / "a" / "b" / "home", tmp_path / "p.pass"
    passphrase.write_text("a passphrase of eight or more\n")

    result = run_s1spki(home, "operator", "keygen", "../../../x", "--passphrase-file", str(passphrase))

    assert result.code == 2 and "operator name '../../../x' must be 1 to 64" in result.stderr, str(result)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["p.pass"]


@pytest.mark.parametrize("name", ["../x", CYRILLIC_CAROL, "Dave\u200b", "x" * 65])
def test_operator_add_refuses_a_name_that_is_no_operator_name(ca: CaHome, name: str) -> None:
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("operator", "add", name, "--role", "ra_officer", "--public-key", str(_public_key(ca)),
                    "--as", "carol")

    assert_name_refused(ca, result, before, audit_before, "operator name")


def test_operator_add_refuses_a_name_equal_to_another_ignoring_case(ca: CaHome) -> None:
    # the attacker's own key, in a folder of their own (keygen refuses the name 'Carol' itself), registered
    # under a name that differs from carol's only in case
    ca.ok("operator", "keygen", "mallory", "--out", str(ca.work), "--passphrase-file", str(_passphrase(ca)))
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("operator", "add", "Carol", "--role", "ra_officer", "--public-key",
                    str(ca.work / "mallory.pub.pem"), "--as", "carol")

    assert_name_refused(ca, result, before, audit_before, "differs from operator 'carol' only in case", code=3)
    assert [o["name"] for o in ca.ok("--json", "operator", "list").json()].count("Carol") == 0


def test_keygen_refuses_a_name_equal_to_a_credential_ignoring_case(ca: CaHome) -> None:
    credentials = ca.home / "credentials"
    files = _tree(credentials)

    result = ca.run("operator", "keygen", "DAVE", "--passphrase-file", str(_passphrase(ca)))

    assert result.code == 3 and "only in case" in result.stderr, str(result)
    assert _tree(credentials) == files


def test_init_refuses_a_bootstrap_operator_name_that_is_a_path(ca_template: Path, tmp_path: Path) -> None:
    keys, home = ca_template / "home" / "credentials", tmp_path / "new-home"

    result = run_s1spki(home, "init", "--softhsm", "--custodian", f"../alice={keys / 'alice.pub.pem'}",
                        "--custodian", f"bob={keys / 'bob.pub.pem'}", "--ra-manager", f"carol={keys / 'carol.pub.pem'}")

    assert result.code == 2 and "operator name '../alice'" in result.stderr, str(result)
    assert not home.exists()
