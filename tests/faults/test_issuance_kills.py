"""A node killed with SIGKILL mid-issuance, on PostgreSQL: after the serial was reserved, after the HSM signed,
and inside the transaction that stores the certificate (its row locks held). The next command on the same database
explains everything: each reserved serial is shown by `cert list --reserved`, no certificate exists without
its audit record, the requests are issued again under new serials, and the trail verifies."""

from __future__ import annotations

import json
import signal
from collections import Counter

from tests.faults.conftest import PgHome

KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)
POINTS = ("serial-reserved", "signed", "certificate-written")


def test_a_node_killed_mid_issuance_leaves_nothing_the_next_command_cannot_explain(pg_ca: PgHome) -> None:
    requests = {point: pg_ca.submit_approved() for point in POINTS}
    for point, request_id in requests.items():
        killed = pg_ca.run("cert", "issue", str(request_id), "--as", "carol", env={"S1SPKI_TEST_KILL_AT": point},
                           seams=True)
        assert killed.code in KILLED, f"{point}: {killed}"

    reserved = pg_ca.ok("--json", "cert", "list", "--reserved").json()
    orphans = {r["request_id"]: r for r in reserved if r["request_id"] in requests.values()}
    assert sorted(orphans) == sorted(requests.values())
    assert all(r["status"] == "reserved" and r["certificate_exists"] is False for r in orphans.values()), orphans
    assert pg_ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []  # the uncommitted one is gone

    issued = {point: pg_ca.ok("--json", "cert", "issue", str(request_id), "--as", "carol").json()
              for point, request_id in requests.items()}  # the killed node's claims are taken over

    assert all(issued[p]["serial"] != orphans[requests[p]]["serial"] for p in POINTS)
    certificates = pg_ca.ok("--json", "cert", "list", "--kind", "end-entity").json()
    after = pg_ca.ok("--json", "cert", "list", "--reserved").json()
    assert not [s for s, n in Counter((r["issuer_cn"], r["serial"]) for r in after).items() if n > 1]
    reservations = {(r["issuer_cn"], r["serial"]): r for r in after}
    # every certificate has its reservation and its audit record; every reservation is issued or shown unissued
    recorded = {json.loads(r["details"]).get("serial") for r in pg_ca.audit()
                if r["event"] == "cert.issue" and r["outcome"] == "ok"}
    assert {c["serial"] for c in certificates} == recorded
    assert all(reservations[(c["issuer_cn"], c["serial"])]["certificate_exists"] for c in certificates)
    assert {r["serial"] for r in after if not r["certificate_exists"]} == {o["serial"] for o in orphans.values()}
    assert pg_ca.ok("audit", "verify").code == 0


def test_a_node_killed_mid_batch_leaves_every_reservation_explained_and_every_certificate_recorded(
        pg_ca: PgHome) -> None:
    """`cert issue --all-approved` killed after its batch's serials were reserved together, after its first
    signature, and inside the transaction that stores the batch: each request's reservation is explained by its
    own record, nothing is stored, and the next run issues every request under new serials."""
    for point in POINTS:
        requests = [pg_ca.submit_approved() for _ in range(3)]
        killed = pg_ca.run("cert", "issue", "--all-approved", "--as", "carol", env={"S1SPKI_TEST_KILL_AT": point},
                           seams=True)
        assert killed.code in KILLED, f"{point}: {killed}"
        reserved = {r["request_id"]: r for r in pg_ca.ok("--json", "cert", "list", "--reserved").json()
                    if r["request_id"] in requests}
        assert sorted(reserved) == requests, point  # all three were reserved in the one transaction
        assert not any(r["certificate_exists"] for r in reserved.values()), point
        explained = {json.loads(a["details"])["request_id"] for a in pg_ca.audit() if a["event"] == "serial.reserve"}
        assert set(requests) <= explained, point
        assert not [c for c in pg_ca.ok("--json", "cert", "list", "--kind", "end-entity").json()
                    if c["request_id"] in requests], point

        issued = pg_ca.ok("--json", "cert", "issue", "--all-approved", "--as", "carol").json()  # claims taken over
        assert sorted(c["request_id"] for c in issued["issued"]) == requests and issued["refused"] == [], point
        assert not {c["serial"] for c in issued["issued"]} & {r["serial"] for r in reserved.values()}, point
    recorded = {json.loads(r["details"]).get("serial") for r in pg_ca.audit()
                if r["event"] == "cert.issue" and r["outcome"] == "ok"}
    assert {c["serial"] for c in pg_ca.ok("--json", "cert", "list", "--kind", "end-entity").json()} == recorded
    assert pg_ca.ok("audit", "verify").code == 0
