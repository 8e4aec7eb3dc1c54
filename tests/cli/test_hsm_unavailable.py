"""When the HSM cannot be used, `cert issue` exits 5 with one line that says what to fix and never shows the
PIN; the request stays submitted and nothing is kept: no certificate, no reserved serial. The refusal is
recorded when the audit token still works (only the CA token is broken); when the audit token cannot be used
there is no audit record either, since a record is written only with its authenticator, which that token makes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CaHome

WRONG_PIN = "not-the-pin-4711"


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert count == 1, f"{pattern} not found in {path}"
    path.write_text(text)


def wrong_pin(home: Path) -> None:
    (home / "secrets" / "hsm-user.pin").write_text(WRONG_PIN + "\n")


def _edit_table(home: Path, table: str, pattern: str, replacement: str) -> None:
    """Edit `s1spki.toml` inside one table only (`[hsm]` and `[audit_hsm]` have the same keys)."""
    path = home / "s1spki.toml"
    head, _, rest = path.read_text().partition(f"[{table}]\n")
    body, newline, tail = rest.partition("\n[")
    body, count = re.subn(pattern, replacement, body, flags=re.MULTILINE)
    assert count == 1, f"{pattern} not found in [{table}] of {path}"
    path.write_text(f"{head}[{table}]\n{body}{newline}{tail}")


def unknown_token(home: Path) -> None:
    _edit_table(home, "hsm", r'^token_label = ".*"$', 'token_label = "no-such-token"')


def missing_module(home: Path) -> None:
    _edit_table(home, "hsm", r'^module = ".*"$', 'module = "/nonexistent/libsofthsm2.so"')


def wrong_audit_pin(home: Path) -> None:
    (home / "secrets" / "audit-user.pin").write_text(WRONG_PIN + "\n")


def missing_token_dir(home: Path) -> None:
    _edit(home / "softhsm" / "softhsm2.conf", r"^directories\.tokendir\s*=.*$",
          f"directories.tokendir = {home / 'softhsm' / 'no-such-folder'}")


def garbage_softhsm_conf(home: Path) -> None:
    (home / "softhsm" / "softhsm2.conf").write_bytes(b"\x00\xff this is = not = a softhsm2 config\n[[[\n")


# (what breaks, words of the one line, whether the failure is recorded: the audit token still works)
CASES = [
    pytest.param(wrong_pin, ["wrong PIN", "s1spki.toml"], True, id="wrong-pin"),
    pytest.param(unknown_token, ["no token labelled 'no-such-token'", "token_label"], True, id="unknown-token-label"),
    pytest.param(missing_module, ["/nonexistent/libsofthsm2.so", "module"], True, id="missing-module"),
    pytest.param(wrong_audit_pin, ["wrong PIN", "s1spki-audit"], False, id="wrong-audit-pin"),
    pytest.param(missing_token_dir, ["softhsm2.conf", "tokendir"], False, id="token-dir-missing"),
    pytest.param(garbage_softhsm_conf, ["softhsm2.conf", "tokendir"], False, id="garbage-softhsm-conf"),
]


@pytest.mark.parametrize(("breaks", "words", "recorded"), CASES)
def test_cert_issue_with_unusable_hsm(ca: CaHome, breaks: Callable[[Path], None], words: list[str],
                                      recorded: bool) -> None:
    request_id = str(ca.submit_approved())
    pin = (ca.home / "secrets" / "hsm-user.pin").read_text().strip()
    breaks(ca.home)
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("--json", "cert", "issue", request_id, "--as", "carol")

    assert result.code == 5, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, str(result)
    for word in words:
        assert word.lower() in lines[0].lower(), str(result)
    assert result.json()["error"] == "hsm"
    assert ca.snapshot() == before  # request still submitted, no certificate, no serial reserved
    audit = ca.audit()
    if recorded:
        [refusal] = audit[audit_before:]
        assert (refusal["event"], refusal["outcome"]) == ("cert.issue", "error"), refusal  # HSM unavailable
    else:
        assert len(audit) == audit_before
    for secret in (pin, WRONG_PIN):
        assert secret not in result.stdout + result.stderr
        assert secret not in repr(audit)
    assert ca.ok("--json", "request", "show", request_id).json()["status"] == "submitted"
