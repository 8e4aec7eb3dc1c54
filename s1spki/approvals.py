"""Dual control of requests (spec 6): approvals and rejections, and the count `cert issue` requires.

An approval is the approver's signed statement over the request's digest, so it is bound to that request
and verifiable offline; its nonce is good once. It counts only from a distinct, active operator holding
an approver role of the rule recorded at submission, never from the submitter, and only within the
rule's validity.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from .app import App
from .clock import parse_iso
from .errors import AuthError, NotFound, PolicyRefused, UsageError
from .operators import SignedStatement, sign_statement, verify_statement
from .operators.authorise import active_operator, check_statement
from .operators.statements import statement_body
from .rapp import ApprovalRule
from .store import ApprovalRecord, Duplicate, RequestRecord

APPROVE = "request.approve"


def _pending(app: App, request_id: int) -> RequestRecord:
    request = app.store.reader.request(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    if request.status != "submitted":
        raise PolicyRefused(f"request {request_id} is {request.status}: it takes no more decisions")
    return request


def _object(request: RequestRecord) -> dict[str, Any]:
    return {"request": request.id, "digest": request.digest}


def submitters(request: RequestRecord) -> set[str]:
    return set(request.submitted_by.split("+"))


def sign_approval(app: App, name: str, request_id: int) -> SignedStatement:
    """An approval statement signed now by `name`, to be handed in later with `request approve --statement`."""
    request = _pending(app, request_id)
    return sign_statement(app.operator_key(name), statement_body(APPROVE, _object(request), name, app.clock.now(),
                                                                  app.ca_id))


def read_statement(path: Path) -> SignedStatement:
    try:
        return SignedStatement.from_record(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot read statement {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise AuthError(f"{path} is not a signed s1spki statement") from None


def decide(app: App, names: list[str], request_id: int, decision: str, reason: str | None = None,
           statement: SignedStatement | None = None) -> ApprovalRecord:
    """Record an approval or a rejection; a rejection ends the request."""
    operation = APPROVE if decision == "approve" else "request.reject"
    actor = statement.operator if statement is not None else "+".join(names)
    event = app.event(operation, actor, "", "request", str(request_id), reason=reason)
    with app.refusals_recorded(event):
        request = _pending(app, request_id)
        rule = ApprovalRule.from_dict(request.rule)
        if statement is None:
            auth = app.authorise(operation, _object(request) | ({"reason": reason} if reason else {}), names)
            operator, signed = auth.operators[0], auth.statements[0]
        else:
            operator, signed = _presigned(app, request, rule, statement)
        if operator.name in submitters(request):
            raise AuthError(f"{operator.name} submitted request {request_id} and may not decide on it (spec 6)")
        if decision == "approve" and not set(operator.roles) & set(rule.approver_roles):
            raise AuthError(f"{operator.name} ({', '.join(operator.roles)}) is not an approver for request "
                            f"{request_id}: its rule counts {', '.join(rule.approver_roles)}")
        if any(a.operator == operator.name for a in app.store.reader.approvals(request_id)):
            raise AuthError(f"{operator.name} has already decided on request {request_id}: one person counts once")
        done = event.attributed(operator.name, "+".join(operator.roles), (signed.as_record(),),
                                request_digest=request.digest)
        try:
            with app.store.change(done) as tx:
                tx.add_approval(request_id, operator.name, operator.roles, decision, signed.as_record())
                if decision == "reject":
                    tx.set_request_status(request_id, "rejected")
        except Duplicate:
            raise AuthError(f"this statement was already used (nonce {signed.nonce}): a replayed approval is "
                            "refused") from None
    return next(a for a in app.store.reader.approvals(request_id) if a.operator == operator.name)


def _presigned(app: App, request: RequestRecord, rule: ApprovalRule, statement: SignedStatement
               ) -> tuple[Any, SignedStatement]:
    """A statement signed elsewhere: it must be the named operator's, for this request, and not stale."""
    operator = active_operator(app.store.reader, statement.operator)
    if not app.rapp.may_any(operator.roles, APPROVE):
        raise AuthError(f"operator {operator.name!r} may not approve requests")
    check_statement(operator, statement, APPROVE, app.clock, max_age=timedelta(seconds=rule.valid_seconds))
    if statement.body.get("object") != _object(request) or statement.body.get("ca") != app.ca_id:
        raise AuthError(f"the statement by {operator.name} approves {statement.body.get('object')}, not request "
                        f"{request.id} with digest {request.digest[:16]}...: refused")
    return operator, statement


def require_approvals(app: App, request: RequestRecord) -> list[str]:
    """The approvers that count now under the request's recorded rule; refuse if they are too few."""
    rule = ApprovalRule.from_dict(request.rule)
    counted: list[str] = []
    not_counted: list[str] = []
    now = app.clock.now()
    for approval in app.store.reader.approvals(request.id):
        if approval.decision != "approve":
            continue
        reason = _why_not_counted(app, request, rule, approval, now)
        if reason:
            not_counted.append(f"{approval.operator}: {reason}")
        elif approval.operator not in counted:
            counted.append(approval.operator)
    if len(counted) < rule.approvals:
        detail = f"; not counted: {', '.join(not_counted)}" if not_counted else ""
        raise PolicyRefused(f"request {request.id} has {len(counted)} valid approval(s) of the {rule.approvals} its "
                            f"rule needs (from {', '.join(rule.approver_roles)}){detail}")
    return counted


def _why_not_counted(app: App, request: RequestRecord, rule: ApprovalRule, approval: ApprovalRecord, now: Any
                     ) -> str | None:
    operator = app.store.reader.operator(approval.operator)
    if operator is None or operator.status != "active":
        return "withdrawn"
    if approval.operator in submitters(request):
        return "the submitter"
    if not set(approval.roles) & set(rule.approver_roles):
        return "not an approver role"
    statement = SignedStatement.from_record(approval.statement)
    if statement.body.get("object") != _object(request) or not verify_statement(operator.public_key_der, statement):
        return "statement does not verify"
    if now - parse_iso(str(statement.body["time"])) > timedelta(seconds=rule.valid_seconds):
        return "expired"
    return None
