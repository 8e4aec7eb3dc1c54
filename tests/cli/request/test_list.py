"""`request list` counts approvals exactly as `cert issue` does: what it says is missing is what issuance
refuses on, for an approval that has expired and for an approver who was withdrawn."""

from __future__ import annotations

import pytest

from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines

# rapp/operations.toml: cert.issue approvals are valid 72 h.
PAST_VALIDITY = {"S1SPKI_TEST_CLOCK_SHIFT": str(73 * 3600)}


def _listed(ca: CaHome, request_id: int, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    rows = ca.ok("--json", "request", "list", env=env, seams=env is not None).json()
    return next(r for r in rows if r["id"] == request_id)


def test_an_expired_approval_is_missing_in_the_list_as_issuance_refuses(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    assert _listed(ca, request_id)["approvals_missing"] == 0

    listed = _listed(ca, request_id, PAST_VALIDITY)
    refused = ca.run("cert", "issue", str(request_id), "--as", "carol", env=PAST_VALIDITY, seams=True)

    assert listed["approvals_missing"] == 1 and listed["not_counted"] == ["dave: expired"], listed
    assert refused.code == 3 and "not counted: dave: expired" in refused.stderr, str(refused)


def test_a_withdrawn_approver_is_missing_in_the_list_as_issuance_refuses(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    ca.ok("operator", "withdraw", "dave", "--as", "carol", "--as", "alice")

    listed = _listed(ca, request_id)
    refused = ca.run("cert", "issue", str(request_id), "--as", "carol")

    assert listed["approvals_missing"] == 1 and listed["not_counted"] == ["dave: withdrawn"], listed
    assert listed["approved_by"] == ["dave"]  # given, but it no longer counts
    assert refused.code == 3 and "not counted: dave: withdrawn" in refused.stderr, str(refused)
