"""`cert list` and `request list` stream what they read, with filters: --limit, --status, --org, --expires-before,
--serial. Their tables fit the terminal and never cut a serial or a fingerprint; `cert show`, `cert export` and
`cert revoke` take an id or a serial, and `--ca` names a CA in every command."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tests.conftest import ACME, OTHER, OTHER_ARO, OTHER_EUI, CaHome
from tests.support.terminal import run_on_terminal

pytestmark = pytest.mark.both_engines


def _ids(ca: CaHome, *args: str) -> list[int]:
    return [c["id"] for c in ca.ok("--json", "cert", "list", *args).json()]


def test_certificate_filters(ca: CaHome) -> None:
    first, second = ca.issue_new(), ca.issue_new("keyAgreement")
    other_request = ca.submit_approved(org=OTHER, role="wanProvider", eui64=OTHER_EUI, aro=OTHER_ARO)
    other = ca.ok("--json", "cert", "issue", str(other_request), "--as", "carol").json()
    ca.ok("cert", "revoke", str(second["id"]), "--reason", "superseded", "--as", "dave")

    assert _ids(ca) == [1, 2, first["id"], second["id"], other["id"]]
    assert _ids(ca, "--limit", "2") == [1, 2]
    assert _ids(ca, "--status", "revoked") == [second["id"]]
    assert _ids(ca, "--org", ACME) == [first["id"], second["id"]]
    assert _ids(ca, "--org", ACME, "--status", "valid") == [first["id"]]
    assert _ids(ca, "--serial", other["serial"][:10].lower()) == [other["id"]]
    assert _ids(ca, "--serial", ":".join(re.findall("..", other["serial"]))) == [other["id"]]
    assert _ids(ca, "--kind", "end-entity", "--expires-before", "2099-12-31") == [first["id"], second["id"],
                                                                                  other["id"]]
    assert _ids(ca, "--kind", "end-entity", "--expires-before", first["not_after"]) == []
    assert ca.run("cert", "list", "--status", "suspended").code == 2
    empty = ca.ok("cert", "list", "--org", ACME, "--status", "valid", "--serial", "F" * 30)
    assert "no certificates" in empty.stdout


def test_request_filters(ca: CaHome) -> None:
    issued = ca.issue_new()
    waiting = ca.submit(ca.csr()).json()["id"]
    other = ca.submit(ca.csr(), org=OTHER, role="wanProvider", eui64=OTHER_EUI, aro=OTHER_ARO).json()["id"]

    def ids(*args: str) -> list[int]:
        return [r["id"] for r in ca.ok("--json", "request", "list", *args).json()]

    assert ids() == [issued["request_id"], waiting, other]
    assert ids("--status", "submitted") == [waiting, other]
    assert ids("--org", OTHER) == [other]
    assert ids("--limit", "1") == [issued["request_id"]]
    assert ca.run("request", "list", "--org", "Nobody Ltd").code == 2


def test_tables_fit_a_narrow_terminal_and_keep_serials_whole(ca: CaHome) -> None:
    ca.issue_new()
    listed = ca.ok("--json", "cert", "list").json()
    operators = ca.ok("--json", "operator", "list").json()
    env = {**os.environ, "TERM": "xterm"}
    for args, whole in ((["cert", "list"], [c["serial"] for c in listed]),
                        (["operator", "list"], [o["key_sha256"] for o in operators])):
        run = run_on_terminal([sys.executable, "-m", "s1spki", "--home", str(ca.home), *args], env=env,
                              cwd=str(ca.work), columns=100)
        assert run.code == 0, str(run)
        for value in whole:  # a serial or a fingerprint is what `cert revoke` and a check need: never cut
            assert value in run.output, f"{value} cut in:\n{run.output}"
        assert "…" not in run.output
    # piped, a table is as wide as its rows: nothing wrapped
    piped = ca.ok("cert", "list").stdout
    assert all(c["serial"] in piped and c["issuer_cn"] in piped for c in listed), piped


def test_show_export_and_revoke_take_an_id_or_a_serial_and_ca_names_the_ca(ca: CaHome) -> None:
    leaf = ca.issue_new()
    by_id = ca.ok("--json", "cert", "show", str(leaf["id"])).json()
    by_serial = ca.ok("--json", "cert", "show", leaf["serial"], "--ca", leaf["issuer_cn"]).json()
    assert by_id == by_serial
    out = ca.work / "by-serial.pem"
    ca.ok("cert", "export", leaf["serial"].lower(), "--ca", leaf["issuer_cn"], "--out", str(out))
    assert out.read_text() == by_id["pem"]
    assert ca.run("cert", "show", leaf["serial"], "--issuer", leaf["issuer_cn"]).code == 2  # one flag name: --ca
    revoked = ca.ok("--json", "cert", "revoke", str(leaf["id"]), "--reason", "superseded", "--as", "dave").json()
    assert revoked["serial"] == leaf["serial"], revoked
