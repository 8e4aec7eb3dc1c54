"""Approvals: which approvals of a request count now under the rule recorded with it (spec 6).

An approval counts only from a distinct, active operator holding an approver role of the recorded rule,
never from a submitter, when its signed statement verifies under the approver's registered key over this
request's digest, and while it is younger than the rule's validity. `cert issue` refuses on too few;
`request list` shows the same count, so what it says is missing is what issuance would refuse on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from s1spki.credentials.statements import SignedStatement, verify_statement
from s1spki.errors import PolicyRefused
from s1spki.rapp import ApprovalRule
from s1spki.store import ApprovalRecord, RequestRecord, StoreReader
from s1spki.values.clock import parse_iso


def approval_object(request: RequestRecord) -> dict[str, Any]:
    """What an approval statement is about: the request and the digest of everything it asks for."""
    return {"request": request.id, "digest": request.digest}


def submitters(request: RequestRecord) -> set[str]:
    return set(request.submitted_by.split("+"))


@dataclass(frozen=True)
class ApprovalCount:
    rule: ApprovalRule
    counted: tuple[str, ...]  # approvers whose approval counts, in the order given
    not_counted: tuple[str, ...]  # "name: why" for approvals that do not

    @property
    def missing(self) -> int:
        return max(self.rule.approvals - len(self.counted), 0)

    def require(self, request_id: int) -> tuple[str, ...]:
        """The approvers that count; PolicyRefused if they are fewer than the rule needs."""
        if self.missing:
            detail = f"; not counted: {', '.join(self.not_counted)}" if self.not_counted else ""
            raise PolicyRefused(f"request {request_id} has {len(self.counted)} valid approval(s) of the "
                                f"{self.rule.approvals} its rule needs (from {', '.join(self.rule.approver_roles)})"
                                f"{detail}")
        return self.counted


def count_approvals(reader: StoreReader, request: RequestRecord, approvals: Sequence[ApprovalRecord],
                    now: datetime) -> ApprovalCount:
    """Count the approvals of `request` under its recorded rule at time `now`."""
    rule = ApprovalRule.from_dict(request.rule)
    counted: list[str] = []
    not_counted: list[str] = []
    for approval in approvals:
        if approval.decision != "approve":
            continue
        reason = _why_not_counted(reader, request, rule, approval, now)
        if reason:
            not_counted.append(f"{approval.operator}: {reason}")
        elif approval.operator not in counted:
            counted.append(approval.operator)
    return ApprovalCount(rule, tuple(counted), tuple(not_counted))


def _why_not_counted(reader: StoreReader, request: RequestRecord, rule: ApprovalRule, approval: ApprovalRecord,
                     now: datetime) -> str | None:
    operator = reader.operator(approval.operator)
    if operator is None or operator.status != "active":
        return "withdrawn"
    if approval.operator in submitters(request):
        return "the submitter"
    if not set(approval.roles) & set(rule.approver_roles):
        return "not an approver role"
    statement = SignedStatement.from_record(approval.statement)
    if statement.body.get("object") != approval_object(request) or not verify_statement(operator.public_key_der,
                                                                                          statement):
        return "statement does not verify"
    if now - parse_iso(str(statement.body["time"])) > timedelta(seconds=rule.valid_seconds):
        return "expired"
    return None
