"""Operational logs (s1spki/oplog.py): lines at the level asked for, each naming the correlation id of the audit
record it concerns, as plain or JSON lines, to stderr, syslog or the journal; the command's own output untouched;
never a secret, over the whole demo."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, CaHome
from tests.est.conftest import authorise, openssl_csr, start_server, stop_server

PLAIN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) s1spki[.\w]* \[([-0-9a-f]+)\] ")


def _correlation(ca: CaHome, event: str) -> str:
    with ca.db() as conn:
        row = conn.execute("select correlation_id from audit where event = ? order by seq desc limit 1",
                           (event,)).fetchone()
    return str(row[0])


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_verbose_lines_name_the_audit_record_and_leave_the_output_alone(ca: CaHome) -> None:
    done = ca.ok("-v", "crl", "issue", "--as", "carol")
    issued = _correlation(ca, "crl.issue")
    lines = done.stderr.splitlines()
    assert all(PLAIN.match(line) for line in lines), done.stderr  # -v: log lines only, each one line
    assert not any(PLAIN.match(line) for line in done.stdout.splitlines()), done.stdout
    by_message = {PLAIN.sub("", line).split(":")[0]: PLAIN.match(line).group(2) for line in lines}  # type: ignore
    assert by_message["crl issue started"] == "-"  # no audit record yet
    crl_line = next(m for m in by_message if m.startswith("CRL ") and m.endswith(" issued"))
    assert by_message[crl_line] == issued and by_message["crl issue done (exit 0) outcome=done exit_code=0"] == issued
    assert any(m.startswith("HSM session opened on token") for m in by_message), lines

    # a refusal with --json: stdout is still the one error document, stderr its one line and the JSON log lines
    refused = ca.run("--json", "--log-format", "json", "-vv", "crl", "issue", "--as", "fred")
    assert refused.code == 4, str(refused)
    assert json.loads(refused.stdout)["exit_code"] == 4
    told = [line for line in refused.stderr.splitlines() if not line.startswith("{")]
    assert len(told) == 1 and told[0].startswith("s1spki: "), refused.stderr
    logged = _json_lines(refused.stderr)
    outcome = logged[-1]
    assert outcome["message"].startswith("crl issue refused (exit 4)"), logged
    assert outcome["correlation_id"] == _correlation(ca, "crl.issue") != issued
    assert (outcome["command"], outcome["home"], outcome["fields"]) == (
        "crl issue", str(ca.home), {"outcome": "refused", "exit_code": 4})
    assert {line["logger"] for line in logged} >= {"s1spki.cli"} and all(line["time"] for line in logged)


def test_quiet_and_bad_settings(ca: CaHome) -> None:
    quiet = ca.ok("-q", "cert", "list", env={"S1SPKI_LOG_LEVEL": "info"})  # the command line wins
    assert quiet.stderr == "" and "certificates" in quiet.stdout, str(quiet)
    loud = ca.ok("cert", "list", env={"S1SPKI_LOG_LEVEL": "info"})
    assert "cert list started" in loud.stderr, str(loud)
    for args, env, words in ((["--log-to", "syslog:relative/path"], {}, "--log-to"),
                             ([], {"S1SPKI_LOG_FORMAT": "xml"}, "S1SPKI_LOG_FORMAT")):
        bad = ca.run(*args, "cert", "list", env=env)
        assert bad.code == 2 and bad.stdout == "", str(bad)
        assert len(bad.stderr.splitlines()) == 1 and words in bad.stderr, str(bad)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder whose socket paths fit AF_UNIX's 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="s1log"))
    yield path
    shutil.rmtree(path)


def _received(sock: socket.socket) -> list[bytes]:
    """What reached the socket: a datagram sent on this host is queued before its sender exits."""
    sock.setblocking(False)
    got = []
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            return got


def test_syslog_and_journald_receive_the_lines(ca: CaHome, short_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
        udp.bind(("127.0.0.1", 0))
        journal.bind(str(short_dir / "journal.sock"))
        # the home's [logging] table, the environment for the format
        with (ca.home / "s1spki.toml").open("a") as toml:
            toml.write(f'\n[logging]\nlevel = "info"\nto = "syslog://127.0.0.1:{udp.getsockname()[1]}"\n')
        to_syslog = ca.ok("cert", "list", env={"S1SPKI_LOG_FORMAT": "json"})
        assert to_syslog.stderr == "", str(to_syslog)
        datagrams = [d.decode() for d in _received(udp)]
        assert len(datagrams) == 2 and all(re.match(r"<\d+>s1spki\[\d+\]: \{", d) for d in datagrams), datagrams
        lines = [json.loads(d.split(": ", 1)[1].rstrip("\x00")) for d in datagrams]
        assert [line["message"] for line in lines] == ["cert list started", "cert list done (exit 0)"]

        to_journal = ca.ok("--log-to", f"journald:{short_dir / 'journal.sock'}", "cert", "list")
        assert to_journal.stderr == "" and _received(udp) == [], str(to_journal)
        entries = [dict(f.split("=", 1) for f in d.decode().strip("\n").split("\n")) for d in _received(journal)]
    assert [e["MESSAGE"] for e in entries] == ["cert list started", "cert list done (exit 0)"], entries
    assert all((e["PRIORITY"], e["SYSLOG_IDENTIFIER"], e["S1SPKI_COMMAND"], e["S1SPKI_HOME"]) ==
               ("6", "s1spki", "cert list", str(ca.home)) for e in entries), entries
    assert entries[1]["S1SPKI_EXIT_CODE"] == "0"


def _secrets(*folders: Path, patterns: tuple[str, ...] = ("*",)) -> set[str]:
    found = {f.read_text().strip() for folder in folders for p in patterns for f in folder.glob(p) if f.is_file()}
    assert found and all(len(s) >= 8 for s in found), found
    return found


def test_the_est_server_logs_each_request_under_its_own_correlation_id(ca: CaHome, ca_template: Path) -> None:
    authorisation, secret = authorise(ca)
    server = start_server(ca, workers=1, env={"S1SPKI_LOG_LEVEL": "debug", "S1SPKI_LOG_FORMAT": "json"})
    try:
        _, csr = openssl_csr(ca, "logged")
        status, _, raw = server.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}",
                                     "--data-binary", f"@{csr}", "-H", "Content-Type: application/pkcs10")
        assert status == 200, raw
        assert server.curl("cacerts")[0] == 200
    finally:
        stop_server(server)
    log = server.log_text()
    lines = _json_lines(log)
    enrolled = _correlation(ca, "est.enroll")
    requests = [line for line in lines if line["logger"] == "s1spki.est" and '"' in line["message"]
                and "/health" not in line["message"]]
    assert [(r["message"].split('"')[1], r["correlation_id"]) for r in requests] == [
        ("POST /.well-known/est/simpleenroll", enrolled), ("GET /.well-known/est/cacerts", None)], requests
    assert any(line["message"].startswith("certificate issued") and line["correlation_id"] == enrolled
               for line in lines), lines
    for value in {secret.read_text().strip(), *_secrets(ca.home / "secrets"), *_secrets(ca_template / "secrets")}:
        assert value not in log


@pytest.mark.slow
@pytest.mark.hsm
def test_a_demo_run_logged_at_debug_holds_no_secret(tmp_path: Path) -> None:
    """scripts/demo as it stands, its setup step left out (this checkout is already installed), every command
    logging at debug in JSON; then every PIN and passphrase of its homes is looked for in what it wrote."""
    scripts = tmp_path / "checkout" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "demo", scripts / "demo")
    (scripts / "setup").write_text("#!/bin/sh\n")
    (scripts / "setup").chmod(0o755)
    (tmp_path / "checkout" / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("S1SPKI_")},
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "S1SPKI_LOG_LEVEL": "debug", "S1SPKI_LOG_FORMAT": "json"}
    demo = tmp_path / "demo"
    done = subprocess.run(["bash", str(scripts / "demo"), str(demo)], capture_output=True, text=True, env=env,
                          timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = _json_lines(done.stderr)
    messages = [line["message"] for line in lines]
    assert sum(m.startswith("certificate issued") for m in messages) >= 2, messages
    assert any(m.startswith("CRL ") for m in messages) and any(line["level"] == "debug" for line in lines)
    assert all(line["correlation_id"] for line in lines if line["message"].startswith("certificate issued"))
    secrets = (_secrets(demo / "root" / "secrets", demo / "online" / "secrets")
               | _secrets(demo / "online" / "credentials", patterns=("*.pass",)))
    for value in secrets:
        assert value not in done.stderr and value not in done.stdout
