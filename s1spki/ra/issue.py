"""`cert issue`: an approved request through the issuance pipeline to a stored certificate.

Written as numbered steps, each one call into a named stage of `s1spki.issuance` or the store.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization

from s1spki.audit.record import AuditEvent
from s1spki.command import Command
from s1spki.errors import NotFound, PolicyRefused, Refused
from s1spki.issuance.approvals import count_approvals
from s1spki.issuance.intake import CertificationRequest
from s1spki.issuance.issuer import Reserve
from s1spki.issuance.lint_gate import lint_context
from s1spki.issuance.profile import end_entity_builder, end_entity_name, new_serial
from s1spki.issuance.registration import RequestSubject, check_request, refuse_known_key
from s1spki.ra.cas import issuing_ca, open_issuer
from s1spki.store import CertificateRecord, Duplicate, RequestRecord


def _pending(cmd: Command, request_id: int) -> RequestRecord:
    pending = cmd.reader.request(request_id)
    if pending is None:
        raise NotFound(f"no request {request_id}")
    if pending.status == "issued":
        raise PolicyRefused(f"request {request_id} is already issued (certificate {pending.certificate_id}):"
                            " a request is issued once")
    if pending.status != "submitted":
        raise PolicyRefused(f"request {request_id} is {pending.status}: it cannot be issued")
    return pending


def reserve_serial(cmd: Command, issuer_cn: str, purpose: str, request_id: int | None, event: AuditEvent) -> Reserve:
    """The reservation step a stage calls before anything is signed: committed, with its own audit record."""

    def reserve(serial: str) -> None:
        record = AuditEvent("serial.reserve", event.actor, event.actor_role, object_type="serial",
                            object_id=f"{issuer_cn}/{serial}", details={"purpose": purpose, "request_id": request_id},
                            correlation_id=event.correlation_id, policy_hash=event.policy_hash,
                            rapp_hash=event.rapp_hash)
        try:
            with cmd.store.change(record) as tx:
                tx.reserve_serial(issuer_cn, serial, purpose, request_id)
        except Duplicate:
            raise Refused(f"serial {serial} is already reserved for {issuer_cn}: try again") from None
        cmd.runtime.seams.reached("serial-reserved")

    return reserve


def issue_request(cmd: Command, request_id: int, ca_name: str | None = None) -> CertificateRecord:
    event = cmd.event("cert.issue", "request", str(request_id))
    with cmd.refusals_recorded(event):
        # 1. The request, still waiting to be issued.
        pending = _pending(cmd, request_id)
        # 2. Intake and registration again (the registry or the policy may have changed since submission), under
        #    the checks and approvals of the rule recorded at submission.
        request = CertificationRequest.from_der(pending.csr_der)
        subject = RequestSubject(pending.org_name, pending.aro, pending.role, pending.key_usage, pending.eui64)
        check_request(cmd.reader, cmd.policy, tuple(pending.rule["checks"]), subject)
        refuse_known_key(cmd.reader, request.key_sha256, pending_id=request_id)
        approvers = count_approvals(cmd.reader, pending, cmd.reader.approvals(request_id),
                                    cmd.clock.now()).require(request_id)
        # 3. The issuing CA and the operator who issues.
        ca = issuing_ca(cmd, ca_name)
        auth = cmd.authorise("cert.issue", {"request": request_id, "key_sha256": pending.key_sha256,
                                            "issuer": ca.name})
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), issuer=ca.name,
                                 organisation=pending.org_name, aro=pending.aro, eui64=pending.eui64,
                                 role=pending.role, key_usage=pending.key_usage, approvers=list(approvers),
                                 request_digest=pending.digest)
        # 4. The issuer opened (certificate paired with its HSM key) before anything is reserved: an unavailable
        #    HSM or a key that is not the CA's must not leave a reserved, unissued serial behind.
        issuer = open_issuer(cmd, ca)
        # 5. The profile decides the contents; the request gives only its key.
        profile = cmd.policy.profile_for(pending.key_usage)
        name = end_entity_name(pending.common_name, cmd.policy.role_hex(pending.role), pending.eui64)
        builder = end_entity_builder(cmd.policy, profile, issuer.facts, name, request.public_key,
                                     new_serial(cmd.policy.serial_octets), cmd.clock.now())
        # 6. Lint, reserve the serial (committed), sign once, check the signed bytes.
        prepared = issuer.prepare(builder, lint_context(cmd.policy, issuer.certificate, profile),
                                  reserve_serial(cmd, ca.name, "end-entity", request_id, event))
        certificate = issuer.issue(prepared)
        # 7. The certificate and its audit record, in one transaction.
        der = certificate.public_bytes(serialization.Encoding.DER)
        done = event.with_outcome("ok", serial=prepared.serial, sha256_fingerprint=hashlib.sha256(der).hexdigest(),
                                  certificate_der_b64=base64.b64encode(der).decode("ascii"))
        try:
            with cmd.store.change(done) as tx:
                certificate_id = tx.add_certificate(
                    certificate, kind="end-entity", issuer_cn=ca.name, serial=prepared.serial,
                    policy_hash=cmd.policy.hash, issuer_certificate_id=ca.certificate.id, request_id=request_id,
                    subject_cn=pending.common_name, eui64=pending.eui64, role=pending.role,
                    key_usage=pending.key_usage)
                tx.mark_request_issued(request_id, certificate_id)
        except Duplicate:
            raise PolicyRefused("this public key was certified meanwhile: the signed certificate was discarded and "
                                f"serial {prepared.serial} stays reserved, unissued") from None
    record = cmd.reader.certificate(certificate_id)
    assert record is not None
    return record
