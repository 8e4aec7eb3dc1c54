"""End-entity certificates: taking a request (intake + registration) and issuing it (profile, lint,
reserve, HSM signature, store) through the pipeline of design.md."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .app import App
from .approvals import require_approvals
from .canonical import canonical_json
from .errors import NotFound, PolicyRefused, UsageError
from .eui64 import normalise_eui64
from .intake import CertificationRequest, parse_request
from .issuance import certificate_values, lint_context, prepare, sign
from .profile import Issuer, end_entity_builder, end_entity_name, new_serial
from .registration import RequestSubject, check_request
from .store import CaRecord, CertificateRecord, Duplicate, RequestRecord

MAX_COMMON_NAME = 64  # RFC 5280 ub-common-name


def request_rule(app: App) -> dict[str, Any]:
    """The RAPP rule in force for issuing a request, recorded with it at submission and kept (spec 6)."""
    operation = app.rapp.operations["cert.issue"]
    return {**operation.approval.as_dict(), "checks": list(operation.checks), "rapp_hash": app.rapp.hash}


def request_digest(request_id: int, subject: RequestSubject, common_name: str | None, key_sha256: str,
                   csr_der: bytes, rule: dict[str, Any]) -> str:
    """What approvers sign: the request's id and everything it asks for."""
    return hashlib.sha256(canonical_json({
        "request": request_id, "organisation": subject.organisation, "aro": subject.aro, "role": subject.role,
        "key_usage": subject.key_usage, "eui64": subject.eui64, "common_name": common_name,
        "key_sha256": key_sha256, "csr_sha256": hashlib.sha256(csr_der).hexdigest(), "rule": rule})).hexdigest()


def submit_request(app: App, names: list[str], org: str, role: str, key_usage: str, eui64: str,
                   common_name: str | None, csr: bytes, aro: str | None = None) -> RequestRecord:
    entity = normalise_eui64(eui64)
    subject = RequestSubject(org, aro, role, key_usage, entity)
    event = app.event("request.submit", "+".join(names), "", "request", None, organisation=org, aro=aro,
                      role=role, key_usage=key_usage, eui64=entity, common_name=common_name,
                      request_sha256=hashlib.sha256(csr).hexdigest())
    with app.refusals_recorded(event):
        if common_name is not None and not 0 < len(common_name) <= MAX_COMMON_NAME:
            raise UsageError(f"--cn must have 1 to {MAX_COMMON_NAME} characters")
        # who is asking is settled before anything about the request is judged
        obj = {"organisation": org, "aro": aro, "role": role, "key_usage": key_usage, "eui64": entity,
               "common_name": common_name, "request_sha256": hashlib.sha256(csr).hexdigest()}
        auth = app.authorise("request.submit", obj, names)
        request = parse_request(csr, app.policy.max_request_bytes)
        checks = app.rapp.operations["request.submit"].checks
        org_record, aro_record = check_request(app.store.reader, app.policy, checks, subject)
        _refuse_known_key(app, request)
        rule = request_rule(app)
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), rule=rule,
                                request_der_b64=base64.b64encode(request.der).decode("ascii"))
        with app.store.change(done) as tx:
            request_id = tx.add_request({
                "org_id": org_record.id, "aro_id": aro_record.id if aro_record else None, "role": role,
                "key_usage": key_usage, "eui64": entity, "common_name": common_name, "csr_der": request.der,
                "key_sha256": request.key_sha256, "rule": canonical_json(rule).decode(), "digest": "",
                "submitted_by": auth.actor, "policy_hash": app.policy.hash, "rapp_hash": app.rapp.hash})
            tx.object_id = str(request_id)
            tx.set_request_digest(request_id, request_digest(request_id, subject, common_name, request.key_sha256,
                                                             request.der, rule))
    record = app.store.reader.request(request_id)
    assert record is not None
    return record


def _refuse_known_key(app: App, request: CertificationRequest, pending_id: int | None = None) -> None:
    """spec 5: a public key already certified is refused; so is one already waiting in another request."""
    if app.store.reader.key_certified(request.key_sha256):
        raise PolicyRefused("this public key is already certified: a new certificate needs a new key pair")
    for other in app.store.reader.pending_requests_for_key(request.key_sha256):
        if other != pending_id:
            raise PolicyRefused(f"this public key is already in request {other}")


def issuing_ca(app: App, name: str | None) -> CaRecord:
    cas = app.store.reader.cas("issuing")
    if name is not None:
        cas = [c for c in cas if c.name == name]
        if not cas:
            raise NotFound(f"no issuing CA named {name!r}")
    if not cas:
        raise PolicyRefused("there is no issuing CA yet: run `s1spki ceremony issuing` first")
    if len(cas) > 1:
        raise UsageError(f"several issuing CAs exist ({', '.join(c.name for c in cas)}): choose one with --ca")
    if cas[0].certificate.status != "valid":  # spec 5: a revoked CA is on the root's ARL
        raise PolicyRefused(f"issuing CA {cas[0].name!r} is {cas[0].certificate.status}: it issues nothing more")
    return cas[0]


def issue_request(app: App, names: list[str], request_id: int, ca_name: str | None = None) -> CertificateRecord:
    event = app.event("cert.issue", "+".join(names), "", "request", str(request_id))
    with app.refusals_recorded(event):
        pending = app.store.reader.request(request_id)
        if pending is None:
            raise NotFound(f"no request {request_id}")
        if pending.status == "issued":
            raise PolicyRefused(f"request {request_id} is already issued (certificate {pending.certificate_id}):"
                                " a request is issued once")
        if pending.status != "submitted":
            raise PolicyRefused(f"request {request_id} is {pending.status}: it cannot be issued")
        # Intake and registration again: the registry or the policy may have changed since submission. The
        # checks and approvals are those of the rule recorded at submission.
        request = CertificationRequest.from_der(pending.csr_der)
        subject = RequestSubject(pending.org_name, pending.aro, pending.role, pending.key_usage, pending.eui64)
        check_request(app.store.reader, app.policy, tuple(pending.rule["checks"]), subject)
        _refuse_known_key(app, request, pending_id=request_id)
        approvers = require_approvals(app, pending)
        ca = issuing_ca(app, ca_name)
        auth = app.authorise("cert.issue", {"request": request_id, "key_sha256": pending.key_sha256,
                                            "issuer": ca.name}, names)
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), issuer=ca.name,
                                 organisation=pending.org_name, aro=pending.aro, eui64=pending.eui64,
                                 role=pending.role, key_usage=pending.key_usage, approvers=approvers,
                                 request_digest=pending.digest)
        ca_cert = ca.certificate.certificate()
        profile = app.policy.profile_for(pending.key_usage)
        subject = end_entity_name(pending.common_name, app.policy.role_hex(pending.role), pending.eui64)
        builder = end_entity_builder(app.policy, profile, Issuer(ca_cert), subject, request.public_key,
                                     new_serial(app.policy.serial_octets), app.clock.now())
        # Reach the HSM before reserving: an unavailable HSM must not leave a reserved, unissued serial behind.
        signing_key = app.hsm().signing_key(ca.key_label)
        prepared = prepare(app.store, builder, lint_context(app.policy, ca_cert, profile), ca.name, "end-entity",
                           request_id, event)
        certificate = sign(prepared, signing_key, ca_cert.public_key())
        values = certificate_values(certificate, "end-entity", ca.name, prepared.serial, app.policy.hash,
                                    issuer_certificate_id=ca.certificate.id, request_id=request_id,
                                    subject_cn=pending.common_name, eui64=pending.eui64, role=pending.role,
                                    key_usage=pending.key_usage)
        done = event.with_outcome("ok", serial=prepared.serial, sha256_fingerprint=values["fingerprint"],
                                  certificate_der_b64=base64.b64encode(values["der"]).decode("ascii"))  # type: ignore[arg-type]
        try:
            with app.store.change(done) as tx:
                certificate_id = tx.add_certificate(values)
                tx.mark_request_issued(request_id, certificate_id)
        except Duplicate:
            raise PolicyRefused("this public key was certified meanwhile: the signed certificate was discarded and "
                                f"serial {prepared.serial} stays reserved, unissued") from None
    record = app.store.reader.certificate(certificate_id)
    assert record is not None
    return record
