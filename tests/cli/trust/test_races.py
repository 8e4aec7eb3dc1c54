"""Checks repeated inside the transaction that stores a certificate: a request rejected or an organisation
withdrawn while a certificate is being issued leaves no valid certificate behind, and of two commands issuing
one request the loser stops before it reserves a serial or asks the HSM for anything. The window is held
open through the test-only entry point's seams, not by sleeping in product code."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import ACME, CaHome
from tests.support.held import held_at

pytestmark = pytest.mark.both_engines


def test_a_request_rejected_while_it_is_issued_gets_no_certificate(ca: CaHome) -> None:
    request_id = str(ca.submit_approved())
    issuing, release = held_at(ca, "serial-reserved", "cert", "issue", request_id, "--as", "carol")
    rejected = ca.run("request", "reject", request_id, "--reason", "withdrawn by the subscriber", "--as", "erin")
    release.touch()
    out, err = issuing.communicate(timeout=120)
    # the issuance had claimed the request: the rejection loses as a whole, and says why
    assert rejected.code == 3 and "being issued" in rejected.stderr, str(rejected)
    assert issuing.returncode == 0, err
    assert ca.ok("--json", "request", "show", request_id).json()["status"] == "issued"


def test_an_organisation_withdrawn_while_it_is_issued_keeps_no_valid_certificate(ca: CaHome) -> None:
    request_id = str(ca.submit_approved())
    issuing, release = held_at(ca, "signed", "cert", "issue", request_id, "--as", "carol")
    ca.ok("org", "withdraw", ACME, "--as", "carol")
    release.touch()
    _, err = issuing.communicate(timeout=120)
    assert issuing.returncode == 3 and "withdrawn" in err, err
    certificates = ca.ok("--json", "cert", "list", "--org", ACME).json()
    assert all(c["status"] != "valid" for c in certificates), certificates


def test_the_second_of_two_commands_issuing_one_request_stops_before_reserving(ca: CaHome) -> None:
    request_id = str(ca.submit_approved())
    first, release = held_at(ca, "serial-reserved", "cert", "issue", request_id, "--as", "carol")
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()
    second = ca.run("cert", "issue", request_id, "--as", "carol")
    assert second.code == 3 and "being issued" in second.stderr, str(second)
    assert ca.ok("--json", "cert", "list", "--reserved").json() == reserved  # it reserved nothing
    release.touch()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err


def test_an_approver_withdrawn_while_it_is_issued_gets_no_certificate(ca: CaHome) -> None:
    """The storing transaction sees that a row the judgement relied on (the approver's) was written since, and
    checks the approvals again in full: with dave withdrawn, his approval no longer counts."""
    request_id = str(ca.submit_approved())
    issuing, release = held_at(ca, "signed", "cert", "issue", request_id, "--as", "carol")
    ca.ok("operator", "withdraw", "dave", "--as", "carol", "--as", "alice")
    release.touch()
    _, err = issuing.communicate(timeout=120)
    assert issuing.returncode == 3 and "not counted: dave: withdrawn" in err, err
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []
    assert ca.ok("--json", "request", "show", request_id).json()["status"] == "submitted"  # the claim given back


def test_an_approval_that_expires_while_it_is_issued_gets_no_certificate(ca: CaHome) -> None:
    """Nothing the judgement read was written since, but time went on: an approval that was young enough when the
    request was judged and is too old where the certificate would be stored no longer counts."""
    request_id = str(ca.submit_approved())
    approved_at = time.time()
    # the clock runs so far ahead that dave's approval (valid 72 h) has 10 s left when the command starts (room for
    # a slow machine to reach the judgement)
    shift = {"S1SPKI_TEST_CLOCK_SHIFT": str(72 * 3600 - 10)}
    os.environ.update(shift)
    try:
        issuing, release = held_at(ca, "signed", "cert", "issue", request_id, "--as", "carol")
    finally:
        del os.environ["S1SPKI_TEST_CLOCK_SHIFT"]
    time.sleep(max(0.0, approved_at + 11 - time.time()))  # held past the approval's last moment
    release.touch()
    _, err = issuing.communicate(timeout=120)
    assert issuing.returncode == 3 and "not counted: dave: expired" in err, err
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []
