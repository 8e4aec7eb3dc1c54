"""A crash between reserving a serial and signing: the store still says, for the reserved serial, that no
certificate exists; the request (claimed by the command that died) can be issued again, under a new serial,
and no serial is used twice."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def test_kill_after_reserve_leaves_a_reserved_unissued_serial(ca: CaHome) -> None:
    request_id = str(ca.submit_approved())

    killed = ca.run("cert", "issue", request_id, "--as", "carol", env={"S1SPKI_TEST_KILL_AT": "serial-reserved"},
                    seams=True)

    assert killed.code in (-signal.SIGKILL, 128 + signal.SIGKILL), str(killed)
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()
    [orphan] = [r for r in reserved if r["request_id"] == int(request_id)]
    assert orphan["purpose"] == "end-entity"
    assert orphan["status"] == "reserved" and orphan["certificate_exists"] is False
    # the request was claimed with the reservation, by a command that then died: the next one takes it over
    assert ca.ok("--json", "request", "show", request_id).json()["status"] == "issuing"
    assert [a["event"] for a in ca.audit()][-1] == "serial.reserve"  # the reservation committed; nothing after

    issued = ca.ok("--json", "cert", "issue", request_id, "--as", "carol").json()

    assert issued["serial"] != orphan["serial"] and issued["request_id"] == int(request_id)
    certificates = ca.ok("--json", "cert", "list").json()
    reserved_after = ca.ok("--json", "cert", "list", "--reserved").json()
    assert not [s for s, n in Counter(c["serial"] for c in certificates).items() if n > 1]
    assert not [s for s, n in Counter((r["issuer_cn"], r["serial"]) for r in reserved_after).items() if n > 1]
    signed_here = [c for c in certificates if c["kind"] == "end-entity"]  # the CA certificates came from the root
    assert {(c["issuer_cn"], c["serial"]) for c in signed_here} <= {(r["issuer_cn"], r["serial"])
                                                                   for r in reserved_after}
    [still] = [r for r in reserved_after if r["serial"] == orphan["serial"]]
    assert still["status"] == "reserved" and still["certificate_exists"] is False
    [reissue] = [r for r in reserved_after if r["serial"] == issued["serial"]]
    assert reissue["status"] == "issued" and reissue["certificate_exists"] is True
    assert reissue["request_id"] == int(request_id)
    assert ca.ok("--json", "request", "show", request_id).json()["status"] == "issued"
