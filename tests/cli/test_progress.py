"""Progress on long work: drawn on stderr when it is a terminal, once the work has begun (never over a prompt),
gone before the result is printed; nothing under --json, nothing when stderr is not a terminal."""

from __future__ import annotations

import os
import re
import sys

from tests.conftest import CaHome
from tests.support.terminal import run_on_terminal


def _at_terminal(ca: CaHome, *args: str) -> str:
    run = run_on_terminal([sys.executable, "-m", "s1spki", "--home", str(ca.home), *args],
                          env={**os.environ, "TERM": "xterm"}, cwd=str(ca.work))
    assert run.code == 0, str(run)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", run.output)  # what the terminal shows, less its controls


def test_long_work_shows_progress_at_a_terminal(ca: CaHome) -> None:
    requests = [str(ca.submit_approved()) for _ in range(3)]

    issued = _at_terminal(ca, "cert", "issue", *requests, "--as", "carol")
    assert "issuing certificates" in issued
    assert issued.count("certificate ") >= 3 and "issued: serial" in issued.splitlines()[-1], issued

    assert "exporting audit records" in _at_terminal(ca, "audit", "export", "--out", str(ca.work / "t.jsonl"),
                                                     "--as", "fred")
    assert "verifying t.jsonl" in _at_terminal(ca, "audit", "verify", str(ca.work / "t.jsonl"), "--cert",
                                               str(ca.home / "audit" / "audit-cert.pem"))
    assert "verifying the audit trail" in _at_terminal(ca, "audit", "verify")
    assert "reporting issuance" in _at_terminal(ca, "audit", "report", "--out", str(ca.work / "r.csv"),
                                                "--as", "fred")
    crl = _at_terminal(ca, "crl", "issue", "--as", "dave")
    assert "issuing the CRL" in crl and crl.rstrip().splitlines()[-1].startswith("CRL "), crl


def test_no_progress_under_json_or_without_a_terminal(ca: CaHome) -> None:
    requests = [str(ca.submit_approved()) for _ in range(2)]
    quiet = _at_terminal(ca, "--json", "cert", "issue", *requests, "--as", "carol")
    assert "issuing certificates" not in quiet and "━" not in quiet, quiet
    assert "verifying" not in _at_terminal(ca, "--json", "audit", "verify")

    piped = ca.ok("audit", "export", "--out", str(ca.work / "p.jsonl"), "--as", "fred")
    assert "exporting" not in piped.stderr and "━" not in piped.stderr, str(piped)
