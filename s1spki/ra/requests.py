"""Certificate requests: `request submit` (intake and registration, the rule in force recorded with the
request, the digest approvers sign) and what a request still waits for (`request list`, `request show`)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography import x509

from s1spki.command import Command
from s1spki.errors import IntakeRefused
from s1spki.issuance.approvals import count_approvals, request_digest
from s1spki.issuance.intake import parse_request
from s1spki.issuance.registration import RequestSubject, check_request, refuse_known_key
from s1spki.store import RequestRecord
from s1spki.values import names
from s1spki.values.canonical import canonical_json
from s1spki.values.eui64 import normalise_eui64


def request_rule(cmd: Command) -> dict[str, Any]:
    """The RAPP rule in force for issuing a request, recorded with it at submission and kept (spec 6)."""
    operation = cmd.rapp.operations["cert.issue"]
    return {**operation.approval.as_dict(), "checks": list(operation.checks), "rapp_hash": cmd.rapp.hash}


def submit_request(cmd: Command, org: str, role: str, key_usage: str, eui64: str,
                   common_name: str | None, csr: bytes, aro: str | None = None) -> RequestRecord:
    entity = normalise_eui64(eui64)
    subject = RequestSubject(org, aro, role, key_usage, entity)
    event = cmd.event("request.submit", "request", None, organisation=org, aro=aro,
                      role=role, key_usage=key_usage, eui64=entity, common_name=common_name,
                      request_sha256=hashlib.sha256(csr).hexdigest())
    with cmd.refusals_recorded(event):
        if common_name is not None:
            names.common_name(common_name, cmd.policy.names.common_name)
        # who is asking is settled before anything about the request is judged
        obj = {"organisation": org, "aro": aro, "role": role, "key_usage": key_usage, "eui64": entity,
               "common_name": common_name, "request_sha256": hashlib.sha256(csr).hexdigest()}
        auth = cmd.authorise("request.submit", obj)
        try:
            request = parse_request(csr, cmd.policy.max_request_bytes)
        except x509.InvalidVersion:  # cryptography's own error, outside intake's ValueError family
            raise IntakeRefused("the request's version field is not v1 (0): not a PKCS#10 request s1spki "
                                "accepts") from None
        checks = cmd.rapp.operations["request.submit"].checks
        with cmd.store.one_read():  # the registry as s1spki wrote it (its seals), in one snapshot
            org_record, aro_record = check_request(cmd.reader, cmd.policy, checks, subject, cmd.trust)
        refuse_known_key(cmd.reader, request.key_sha256)
        rule = request_rule(cmd)
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), rule=rule,
                                request_der_b64=base64.b64encode(request.der).decode("ascii"))
        with cmd.store.change(done) as tx:
            request_id = tx.add_request({
                "org_id": org_record.id, "aro_id": aro_record.id if aro_record else None, "role": role,
                "key_usage": key_usage, "eui64": entity, "common_name": common_name, "csr_der": request.der,
                "key_sha256": request.key_sha256, "rule": canonical_json(rule).decode(), "digest": "",
                "submitted_by": auth.actor, "policy_hash": cmd.policy.hash, "rapp_hash": cmd.rapp.hash})
            tx.object_id = str(request_id)
            tx.set_request_digest(request_id, request_digest(request_id, subject, common_name, request.key_sha256,
                                                             request.der, rule))
    record = cmd.reader.request(request_id)
    assert record is not None
    return record


def waiting_for(cmd: Command, record: RequestRecord) -> dict[str, Any]:
    """Who the request waits for: the approvals given, and those still missing counted exactly as `cert issue`
    counts them (expired, withdrawn or unverifiable approvals do not count)."""
    approvals = cmd.reader.approvals(record.id)
    count = count_approvals(cmd.reader, record, approvals, cmd.clock.now())
    missing = count.missing if record.status == "submitted" else 0
    given = [a.operator for a in approvals if a.decision == "approve"]
    return {"approvals": [a.as_dict() for a in approvals], "approved_by": given,
            "not_counted": list(count.not_counted), "approvals_missing": missing,
            "approver_roles": list(count.rule.approver_roles)}
