"""A second checkpoint sink receives every checkpoint: a file on other storage, and a syslog collector (a real
UDP socket on 127.0.0.1 here). An older database put back together with the checkpoint file is still caught
by the second file sink."""

from __future__ import annotations

import json
import socket

import pytest

from tests.cli.audit.tamper import copy_store, put_back
from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def _add_sinks(ca: CaHome, *sinks: str) -> None:
    config = ca.home / "s1spki.toml"
    text = config.read_text()
    listed = ", ".join(json.dumps(s) for s in sinks)
    config.write_text(text.replace("[audit]\n", f"[audit]\nsinks = [{listed}]\n", 1))


def test_every_checkpoint_reaches_the_file_sink_and_the_syslog_collector(ca: CaHome) -> None:
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.settimeout(10)
    second = ca.work / "other-storage" / "checkpoints.jsonl"
    _add_sinks(ca, str(second), f"syslog://127.0.0.1:{collector.getsockname()[1]}")

    ca.ok("org", "register", "Sink Gas Ltd", "--eui64", "90B3D51F300BBBBB", "--role", "supplier", "--as", "carol")

    head = ca.audit()[-1]["seq"]
    assert json.loads(second.read_text().splitlines()[-1])["seq"] == head
    message = collector.recv(65536).decode()
    assert "s1spki checkpoint" in message and f'"seq":{head}' in message
    collector.close()


def test_an_older_database_put_back_with_the_checkpoint_file_is_caught_by_the_second_sink(ca: CaHome) -> None:
    second = ca.work / "other-storage" / "checkpoints.jsonl"
    _add_sinks(ca, str(second))
    ca.ok("org", "register", "First Gas Ltd", "--eui64", "90B3D51F300CCCCC", "--role", "supplier", "--as", "carol")
    old_db, old_file = copy_store(ca), (ca.home / "audit" / "checkpoints.jsonl").read_text()
    ca.issue_new()
    put_back(ca, old_db)  # the backup put back, the file too
    (ca.home / "audit" / "checkpoints.jsonl").write_text(old_file)

    verify = ca.run("audit", "verify")

    assert verify.code == 3 and "rolled back" in verify.stderr, str(verify)
