"""Checks repeated inside the transaction that stores a certificate: a request rejected or an organisation
withdrawn while a certificate is being issued leaves no valid certificate behind, and of two commands issuing
one request the loser stops before it reserves a serial or asks the HSM for anything. The window is held
open through the test-only entry point's seams, not by sleeping in product code."""

from __future__ import annotations

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
