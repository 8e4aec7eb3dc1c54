"""`s1spki cert issue --all-approved`: every request whose approvals count goes through the whole pipeline, each
with its own reservation and records; one refused stops only itself, and says so with exit 3."""

from __future__ import annotations

import pytest

from tests.conftest import OTHER, OTHER_ARO, OTHER_EUI, CaHome

pytestmark = pytest.mark.both_engines


def test_all_approved_requests_are_issued_and_a_refused_one_stops_only_itself(ca: CaHome) -> None:
    first = ca.submit_approved()
    other = ca.submit_approved(org=OTHER, role="wanProvider", eui64=OTHER_EUI, aro=OTHER_ARO)
    waiting = ca.submit(ca.csr()).json()["id"]  # not approved: left alone
    last = ca.submit_approved()
    ca.ok("org", "aro", "withdraw", OTHER, OTHER_ARO, "--as", "dave")  # the other's request is refused at issue

    result = ca.run("--json", "cert", "issue", "--all-approved", "--as", "carol")

    assert result.code == 3, str(result)
    body = result.json()
    assert sorted(c["request_id"] for c in body["issued"]) == [first, last]
    assert [r["request"] for r in body["refused"]] == [other]
    assert "withdrawn" in body["refused"][0]["message"]
    statuses = {r["id"]: r["status"] for r in ca.ok("--json", "request", "list").json()}
    assert statuses[first] == statuses[last] == "issued"
    assert statuses[other] == statuses[waiting] == "submitted"
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()
    assert all(s["certificate_exists"] for s in reserved)  # nothing reserved for the refused one
    outcomes = sorted((r["event"], r["object_id"], r["outcome"]) for r in ca.audit() if r["event"] == "cert.issue")
    assert outcomes == [("cert.issue", str(first), "ok"), ("cert.issue", str(other), "refused"),
                        ("cert.issue", str(last), "ok")]


def test_all_approved_with_nothing_to_issue_and_a_request_id_together(ca: CaHome) -> None:
    assert ca.ok("--json", "cert", "issue", "--all-approved", "--as", "carol").json() == {"issued": [], "refused": []}
    both = ca.run("cert", "issue", "1", "--all-approved", "--as", "carol")
    neither = ca.run("cert", "issue", "--as", "carol")
    for result in (both, neither):
        assert result.code == 2 and "give the request ids or --all-approved" in result.stderr
