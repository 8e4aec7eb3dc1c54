"""Dual control of requests (spec 6): `request approve` and `request reject`.

An approval is the approver's signed statement over the request's digest, so it is bound to that request
and verifiable offline; its nonce is good once. Which approvals count at issuance is the pipeline's
approvals stage (`s1spki.issuance.approvals`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from s1spki.audit.statements import SignedStatement, sign_statement, statement_body
from s1spki.command import Command
from s1spki.command.authorise import active_operator, check_statement
from s1spki.errors import AuthError, NotFound, PolicyRefused, UsageError
from s1spki.issuance.approvals import approval_object, submitters
from s1spki.ra.issue import stale_claim
from s1spki.rapp import ApprovalRule
from s1spki.store import ApprovalRecord, Duplicate, RequestRecord
from s1spki.values.names import reason as reason_text

APPROVE = "request.approve"


def _pending(cmd: Command, request_id: int) -> RequestRecord:
    request = cmd.reader.request(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    if request.status == "issuing" and not stale_claim(cmd, request):
        raise PolicyRefused(f"request {request_id} is being issued (since {request.claimed_at}): it takes no more "
                            "decisions")
    if request.status not in ("submitted", "issuing"):
        raise PolicyRefused(f"request {request_id} is {request.status}: it takes no more decisions")
    return request


def sign_approval(cmd: Command, name: str, request_id: int) -> SignedStatement:
    """An approval statement signed now by `name`, to be handed in later with `request approve --statement`."""
    request = _pending(cmd, request_id)
    body = statement_body(APPROVE, approval_object(request), name, cmd.clock.now(), cmd.home_id)
    return sign_statement(cmd.runtime.operator_key(name), body)


def read_statement(path: Path) -> SignedStatement:
    try:
        return SignedStatement.from_record(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot read statement {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested past any statement's
        raise AuthError(f"{path} is not a signed s1spki statement") from None


def decide(cmd: Command, request_id: int, decision: str, reason: str | None = None,
           statement: SignedStatement | None = None) -> ApprovalRecord:
    """Record an approval or a rejection; a rejection ends the request. A rejection's reason is one line of text
    (values/names.py), refused before anything is recorded: it goes into the trail and every listing of it."""
    operation = APPROVE if decision == "approve" else "request.reject"
    if reason is not None:
        reason = reason_text(reason, cmd.policy.names.evidence, "the rejection's")
    actor = statement.operator if statement is not None else cmd.principal.label
    event = cmd.event(operation, "request", str(request_id), actor=actor, reason=reason)
    with cmd.refusals_recorded(event):
        request = _pending(cmd, request_id)
        cmd.trust("requests", request.id, f"request {request_id}")
        rule = ApprovalRule.from_dict(request.rule)
        if statement is None:
            auth = cmd.authorise(operation, approval_object(request) | ({"reason": reason} if reason else {}))
            operator, signed = auth.operators[0], auth.statements[0]
        else:
            operator, signed = _presigned(cmd, request, rule, statement)
        if operator.name in submitters(request):
            raise AuthError(f"{operator.name} submitted request {request_id} and may not decide on it: dual control "
                            "needs someone else")
        if decision == "approve" and not set(operator.roles) & set(rule.approver_roles):
            raise AuthError(f"{operator.name} ({', '.join(operator.roles)}) is not an approver for request "
                            f"{request_id}: its rule counts {', '.join(rule.approver_roles)}")
        if any(a.operator == operator.name for a in cmd.reader.approvals(request_id)):
            raise AuthError(f"{operator.name} has already decided on request {request_id}: one person counts once")
        done = event.attributed(operator.name, "+".join(operator.roles), (signed.as_record(),),
                                request_digest=request.digest)
        try:
            with cmd.store.change(done) as tx:
                tx.add_approval(request_id, operator.name, operator.roles, decision, signed.as_record())
                if decision == "reject":
                    tx.set_request_status(request_id, "rejected", was=request.status)
        except Duplicate as exc:
            if "nonce" not in exc.message:
                raise PolicyRefused(exc.message) from None
            raise AuthError(f"this statement was already used (nonce {signed.nonce}): a replayed approval is "
                            "refused") from None
    return next(a for a in cmd.reader.approvals(request_id) if a.operator == operator.name)


def _presigned(cmd: Command, request: RequestRecord, rule: ApprovalRule, statement: SignedStatement
               ) -> tuple[Any, SignedStatement]:
    """A statement signed elsewhere: it must be the named operator's, for this request, and not stale."""
    operator = active_operator(cmd.reader, statement.operator)
    if not cmd.rapp.may_any(operator.roles, APPROVE):
        raise AuthError(f"operator {operator.name!r} may not approve requests")
    check_statement(operator, statement, APPROVE, cmd.clock, max_age=timedelta(seconds=rule.valid_seconds))
    if statement.body.get("object") != approval_object(request) or statement.body.get("ca") != cmd.home_id:
        raise AuthError(f"the statement by {operator.name} approves {statement.body.get('object')}, not request "
                        f"{request.id} with digest {request.digest[:16]}...: refused")
    return operator, statement
