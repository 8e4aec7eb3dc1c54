"""Attacks on dual control, each refused through the CLI and recorded in the audit trail."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import ACME, ACME_ARO, OTHER_ARO, OTHER_EUI, CaHome


def _last_refusal(ca: CaHome, event: str) -> dict:
    last = ca.audit()[-1]
    assert last["outcome"] == "refused" and last["event"] == event, last
    return last


def _set_rule(ca: CaHome, old: str, new: str) -> None:
    """A reviewed change of rapp/, adopted by two key custodians (an edit alone takes no effect)."""
    path = ca.home / "rapp" / "operations.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    ca.ok("policy", "adopt", "--as", "alice", "--as", "bob")


def _submit(ca: CaHome, as_: str = "carol") -> str:
    result = ca.submit(ca.csr(), as_=as_)
    assert result.code == 0, str(result)
    return str(result.json()["id"])


def _point_credential_at(ca: CaHome, operator: str, other: str) -> None:
    """Make `operator`'s credential use `other`'s key: someone signing in another's name."""
    descriptor = ca.home / "credentials" / f"{operator}.credential.toml"
    theirs = (ca.home / "credentials" / f"{other}.credential.toml").read_text()
    descriptor.write_text(theirs.replace(f'operator = "{other}"', f'operator = "{operator}"'))


def test_self_approval_is_refused(ca: CaHome) -> None:
    request = _submit(ca, as_="carol")
    result = ca.run("request", "approve", request, "--as", "carol")
    assert result.code == 4 and "submitted request" in result.stderr, str(result)
    _last_refusal(ca, "request.approve")
    assert ca.run("cert", "issue", request, "--as", "carol").code == 3


def test_one_person_approving_twice_counts_once(ca: CaHome) -> None:
    _set_rule(ca, "approvals = 1\n", "approvals = 2\n")
    request = _submit(ca)
    ca.ok("request", "approve", request, "--as", "dave")
    again = ca.run("request", "approve", request, "--as", "dave")
    assert again.code == 4 and "one person counts once" in again.stderr, str(again)
    _last_refusal(ca, "request.approve")
    refused = ca.run("cert", "issue", request, "--as", "carol")
    assert refused.code == 3 and "1 valid approval(s) of the 2" in refused.stderr, str(refused)
    shown = ca.ok("--json", "request", "show", request).json()
    assert shown["approved_by"] == ["dave"] and shown["approvals_missing"] == 1


def test_an_approval_signed_with_another_key_is_refused(ca: CaHome) -> None:
    request = _submit(ca)
    _point_credential_at(ca, "dave", "fred")
    direct = ca.run("request", "approve", request, "--as", "dave")
    assert direct.code == 4 and "not their registered key" in direct.stderr, str(direct)
    _last_refusal(ca, "request.approve")
    # the same forgery signed "offline" and handed in as a statement file
    statement = ca.work / "forged.json"
    ca.ok("request", "approve", request, "--sign-only", "--out", str(statement), "--as", "dave")
    handed_in = ca.run("request", "approve", request, "--statement", str(statement))
    assert handed_in.code == 4 and "not their registered key" in handed_in.stderr, str(handed_in)
    _last_refusal(ca, "request.approve")
    assert ca.ok("--json", "request", "show", request).json()["approved_by"] == []


def test_replaying_an_approval_on_another_request_is_refused(ca: CaHome) -> None:
    first, second = _submit(ca), _submit(ca)
    statement = ca.work / "approval.json"
    ca.ok("request", "approve", first, "--sign-only", "--out", str(statement), "--as", "dave")
    ca.ok("request", "approve", first, "--statement", str(statement))
    replayed = ca.run("request", "approve", second, "--statement", str(statement))
    assert replayed.code == 4 and f"not request {second}" in replayed.stderr, str(replayed)
    _last_refusal(ca, "request.approve")
    # the statement taken from the audit trail and re-targeted by editing its body no longer verifies
    record = json.loads(statement.read_text())
    record["body"]["object"]["request"] = int(second)
    digest = ca.ok("--json", "request", "show", second).json()["digest"]
    record["body"]["object"]["digest"] = digest
    edited = ca.work / "edited.json"
    edited.write_text(json.dumps(record))
    forged = ca.run("request", "approve", second, "--statement", str(edited))
    assert forged.code == 4 and "not their registered key" in forged.stderr, str(forged)
    assert ca.run("cert", "issue", second, "--as", "carol").code == 3
    assert ca.run("cert", "issue", first, "--as", "carol").code == 0


def test_acting_after_withdrawal_is_refused_and_old_approvals_stop_counting(ca: CaHome) -> None:
    request, other = _submit(ca), _submit(ca)
    ca.ok("request", "approve", request, "--as", "dave")
    ca.ok("operator", "withdraw", "dave", "--as", "carol", "--as", "alice")
    acting = ca.run("request", "approve", other, "--as", "dave")
    assert acting.code == 4 and "withdrawn" in acting.stderr, str(acting)
    _last_refusal(ca, "request.approve")
    issue = ca.run("cert", "issue", request, "--as", "carol")
    assert issue.code == 3 and "dave: withdrawn" in issue.stderr, str(issue)
    _last_refusal(ca, "cert.issue")


def test_an_expired_approval_does_not_count(ca: CaHome) -> None:
    _set_rule(ca, 'approval_valid_for = "72h"', 'approval_valid_for = "2s"')
    request = _submit(ca)
    ca.ok("request", "approve", request, "--as", "dave")
    time.sleep(2.5)
    issue = ca.run("cert", "issue", request, "--as", "carol")
    assert issue.code == 3 and "dave: expired" in issue.stderr, str(issue)
    _last_refusal(ca, "cert.issue")


def test_an_aro_of_another_organisation_is_refused(ca: CaHome) -> None:
    before = ca.snapshot()
    result = ca.submit(ca.csr(), org=ACME, aro=OTHER_ARO)
    assert result.code == 3 and f"not an ARO of '{ACME}'" in result.stderr, str(result)
    assert ca.snapshot() == before
    _last_refusal(ca, "request.submit")


def test_an_eui64_or_role_the_organisation_does_not_hold_is_refused(ca: CaHome) -> None:
    eui = ca.submit(ca.csr(), eui64=OTHER_EUI, aro=ACME_ARO)
    assert eui.code == 3 and "does not belong" in eui.stderr, str(eui)
    _last_refusal(ca, "request.submit")
    role = ca.submit(ca.csr(), role="wanProvider", aro=ACME_ARO)
    assert role.code == 3 and "may not hold role" in role.stderr, str(role)
    _last_refusal(ca, "request.submit")


def test_the_rule_in_force_at_submission_is_kept(ca: CaHome) -> None:
    _set_rule(ca, "approvals = 1\n", "approvals = 2\n")
    strict = _submit(ca)
    _set_rule(ca, "approvals = 2\n", "approvals = 1\n")  # loosened after submission
    ca.ok("request", "approve", strict, "--as", "dave")
    refused = ca.run("cert", "issue", strict, "--as", "carol")
    assert refused.code == 3 and "of the 2" in refused.stderr, str(refused)
    assert ca.ok("--json", "request", "show", strict).json()["rule"]["approvals"] == 2
    lenient = _submit(ca)  # submitted under the loosened rule
    ca.ok("request", "approve", lenient, "--as", "dave")
    assert ca.run("cert", "issue", lenient, "--as", "carol").code == 0


def test_a_rejected_request_cannot_be_issued_or_approved(ca: CaHome) -> None:
    request = _submit(ca)
    ca.ok("request", "reject", request, "--reason", "wrong EUI-64", "--as", "dave")
    assert ca.run("request", "approve", request, "--as", "dave").code == 3
    issue = ca.run("cert", "issue", request, "--as", "carol")
    assert issue.code == 3 and "rejected" in issue.stderr, str(issue)


@pytest.mark.parametrize(("reason", "said"), [
    ("wrong EUI-64\n2026-12-04 request 7 approved by erin", "U+000A at position 13 is a control character"),
    ("wrong \u202eEUI", "U+202E RIGHT-TO-LEFT OVERRIDE at position 7 is a format character"),
    (" ", "must not be whitespace only"),
    ("x" * 1025, "characters, not 1025"),  # the limit of policy/ [names] evidence
])
def test_a_rejection_reason_that_is_not_one_line_of_text_is_refused(ca: CaHome, reason: str, said: str) -> None:
    # a reason goes into the trail and every listing of it: a forged line or a reordered one must not
    request = _submit(ca)
    before, audit = ca.snapshot(), len(ca.audit())
    result = ca.run("request", "reject", request, "--reason", reason, "--as", "dave")
    assert result.code == 2 and said in result.stderr and len(result.stderr.splitlines()) == 1, str(result)
    assert "the rejection's reason" in result.stderr
    assert ca.snapshot() == before and len(ca.audit()) == audit
    assert ca.ok("--json", "request", "show", request).json()["status"] == "submitted"


def test_approvals_verify_offline_from_the_audit_trail(ca: CaHome) -> None:
    from cryptography.hazmat.primitives import serialization

    from s1spki.audit.statements import SignedStatement, verify_statement

    request = _submit(ca)
    ca.ok("request", "approve", request, "--as", "dave")
    record = next(a for a in reversed(ca.audit()) if a["event"] == "request.approve")
    statement = SignedStatement.from_record(json.loads(record["statements"])[0])
    public = serialization.load_pem_public_key((ca.home / "credentials" / "dave.pub.pem").read_bytes())
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_statement(der, statement)
    digest = ca.ok("--json", "request", "show", request).json()["digest"]
    assert statement.body["object"] == {"request": int(request), "digest": digest}
