"""Approvals: which approvals of a request count now under the rule recorded with it (spec 6).

An approval counts only from a distinct, active operator holding an approver role of the recorded rule,
never from a submitter, when its signed statement verifies under the approver's registered key over this
request's digest (recomputed from what the request holds: an approval binds what is issued), and while it
is younger than the rule's validity. `cert issue` refuses on too few;
`request list` shows the same count, so what it says is missing is what issuance would refuse on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from s1spki.audit.statements import SignedStatement, verify_statement
from s1spki.errors import PolicyRefused
from s1spki.issuance.intake import CertificationRequest
from s1spki.issuance.registration import RequestSubject
from s1spki.rapp import ApprovalRule
from s1spki.store import ApprovalRecord, RequestRecord, StoreReader
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import parse_iso

# Checks that a protected row is as s1spki last wrote it, refusing otherwise: (table, row id, what it is).
Trust = Callable[[str, int, str], None]


def request_digest(request_id: int, subject: RequestSubject, common_name: str | None, key_sha256: str | None,
                   csr_der: bytes | None, rule: Mapping[str, Any], over_est: Mapping[str, Any] | None = None) -> str:
    """What approvers sign: the request's id and everything it asks for, the rule it is judged by included. An
    enrolment authorisation has no CSR yet: `over_est` (its kind, expiry and secret's hash; a re-enrolment's kind
    and the certificate it renews) is signed instead."""
    body: dict[str, Any] = {
        "request": request_id, "organisation": subject.organisation, "aro": subject.aro, "role": subject.role,
        "key_usage": subject.key_usage, "eui64": subject.eui64, "common_name": common_name,
        "key_sha256": key_sha256, "csr_sha256": None if csr_der is None else hashlib.sha256(csr_der).hexdigest(),
        "rule": dict(rule)}
    if over_est is not None:
        body["est"] = dict(over_est)
    return hashlib.sha256(canonical_json(body)).hexdigest()


def est_facts(request: RequestRecord) -> dict[str, Any] | None:
    """What an authorisation or re-enrolment adds to its digest (None for a request with a CSR)."""
    if request.kind is None:
        return None
    return {"kind": request.kind, "expires_at": request.expires_at, "secret_hash": request.secret_hash,
            "renews": request.renews}


def digest_of(request: RequestRecord) -> str:
    """The digest recomputed from what the request holds now (its stored digest column is not trusted): the
    public key is taken from the CSR itself."""
    subject = RequestSubject(request.org_name, request.aro, request.role, request.key_usage, request.eui64)
    key = None if request.csr_der is None else CertificationRequest.from_der(request.csr_der).key_sha256
    return request_digest(request.id, subject, request.common_name, key, request.csr_der, request.rule,
                          est_facts(request))


def approval_object(request: RequestRecord) -> dict[str, Any]:
    """What an approval statement is about: the request and the digest of everything it asks for."""
    return {"request": request.id, "digest": digest_of(request)}


def submitters(request: RequestRecord) -> set[str]:
    return set(request.submitted_by.split("+"))


@dataclass(frozen=True)
class ApprovalCount:
    rule: ApprovalRule
    counted: tuple[str, ...]  # approvers whose approval counts, in the order given
    not_counted: tuple[str, ...]  # "name: why" for approvals that do not
    valid_until: datetime | None = None  # when the first counted approval expires (None: none counted)

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
                    now: datetime, trust: Trust | None = None) -> ApprovalCount:
    """Count the approvals of `request` under its recorded rule at time `now`; with `trust`, every approval and
    approver relied on must be as s1spki wrote it. Statements count only over the digest recomputed from the
    request as it stands."""
    rule = ApprovalRule.from_dict(request.rule)
    counted: list[str] = []
    not_counted: list[str] = []
    expiries: list[datetime] = []
    target = approval_object(request)
    for approval in approvals:
        if approval.decision != "approve":
            continue
        if trust is not None:
            trust("approvals", approval.id, f"approval by {approval.operator} of request {request.id}")
        reason = _why_not_counted(reader, request, rule, approval, now, target, trust)
        if reason:
            not_counted.append(f"{approval.operator}: {reason}")
        elif approval.operator not in counted:
            counted.append(approval.operator)
            expiries.append(_signed_at(approval) + timedelta(seconds=rule.valid_seconds))
    return ApprovalCount(rule, tuple(counted), tuple(not_counted), min(expiries, default=None))


def _signed_at(approval: ApprovalRecord) -> datetime:
    return parse_iso(str(SignedStatement.from_record(approval.statement).body["time"]))


def _why_not_counted(reader: StoreReader, request: RequestRecord, rule: ApprovalRule, approval: ApprovalRecord,
                     now: datetime, target: Mapping[str, Any], trust: Trust | None) -> str | None:
    operator = reader.operator(approval.operator)
    if operator is None or operator.status != "active":
        return "withdrawn"
    if trust is not None:
        trust("operators", operator.id, f"operator {operator.name}")
    if approval.operator in submitters(request):
        return "the submitter"
    if not set(approval.roles) & set(rule.approver_roles):
        return "not an approver role"
    statement = SignedStatement.from_record(approval.statement)
    if statement.body.get("object") != target or not verify_statement(operator.public_key_der, statement):
        return "statement does not verify"
    if now - parse_iso(str(statement.body["time"])) > timedelta(seconds=rule.valid_seconds):
        return "expired"
    return None
