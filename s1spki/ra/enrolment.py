"""Enrolment of S1SP components over EST (RFC 7030): the RA's authorisation, a component's first enrolment, and
its re-enrolment without a person.

    est authorise   an RA operator makes an enrolment authorisation: a request without a CSR (organisation, ARO,
                    role, key usage, EUI-64, optional CN, expiry), approved like any other (`request approve`),
                    with a one-time secret handed to the component and stored only as its salted hash
    est.enroll      the component, with the authorisation's id and secret (HTTP Basic): its CSR through intake,
                    the channel binding, every registry check of `cert issue`, the approvals, then the issuance
                    stages (`ra.issue.issue_certificate`); the authorisation is used once
    est.reenroll    the component, with its current certificate over mutual TLS, inside policy/'s renewal window:
                    a certificate for a new key with the same organisation, ARO, EUI-64, role and key usage; the
                    old one is then revoked as superseded and a new CRL issued

Only the public key is taken from a CSR; every refusal is recorded (`Command.refusals_recorded`) and leaves
nothing else behind.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from s1spki.audit.record import AuditEvent
from s1spki.command import Command, Component
from s1spki.command.authorise import Authorisation
from s1spki.errors import AuthError, PolicyRefused, S1spkiError
from s1spki.issuance.approvals import count_approvals, digest_of, est_facts, request_digest
from s1spki.issuance.intake import CertificationRequest, EstHints, est_hints, parse_request
from s1spki.issuance.registration import RequestSubject, check_request, refuse_known_key
from s1spki.oplog import bind_correlation
from s1spki.ra import revocation
from s1spki.ra.cas import issuing_ca
from s1spki.ra.issue import ToIssue, issue_certificate, new_claimant, stale_claim, subject_of
from s1spki.store import CertificateRecord, RequestRecord
from s1spki.values import names
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import iso, parse_iso
from s1spki.values.eui64 import normalise_eui64
from s1spki.values.one_time_secret import hash_secret, new_secret, secret_matches

log = logging.getLogger("s1spki.est")
ENROLMENT, REENROLMENT = "enrolment", "reenrolment"


@dataclass(frozen=True)
class Channel:
    """What the TLS layer says about the connection a request came over."""

    version: str  # "TLSv1.2" | "TLSv1.3"
    tls_unique: bytes | None  # RFC 5929 tls-unique, defined for TLS 1.2 only


# --- est authorise ------------------------------------------------------------------------------------------

def authorise_enrolment(cmd: Command, org: str, aro: str | None, role: str, key_usage: str, eui64: str,
                        common_name: str | None, valid_for_seconds: int | None) -> tuple[RequestRecord, str]:
    """An enrolment authorisation and its one-time secret (returned once, never stored)."""
    entity = normalise_eui64(eui64)
    subject = RequestSubject(org, aro, role, key_usage, entity)
    event = cmd.event("est.authorise", "request", None, organisation=org, aro=aro, role=role, key_usage=key_usage,
                      eui64=entity, common_name=common_name)
    with cmd.refusals_recorded(event):
        if common_name is not None:
            names.common_name(common_name, cmd.policy.names.common_name)
        settings = cmd.policy.est
        seconds = settings.authorisation_default_hours * 3600 if valid_for_seconds is None else valid_for_seconds
        if seconds > settings.authorisation_max_hours * 3600:
            raise PolicyRefused(f"an enrolment authorisation is good for at most {settings.authorisation_max_hours} h "
                                "(policy/policy.toml est.authorisation_max_hours)")
        expires_at = iso(cmd.clock.now() + timedelta(seconds=seconds))
        auth = cmd.authorise("est.authorise", {"organisation": org, "aro": aro, "role": role, "key_usage": key_usage,
                                               "eui64": entity, "common_name": common_name,
                                               "expires_at": expires_at})
        operation = cmd.rapp.operations["est.authorise"]
        org_record, aro_record = check_request(cmd.reader, cmd.policy, operation.checks, subject, cmd.trust)
        rule = {**operation.approval.as_dict(), "checks": list(operation.checks), "rapp_hash": cmd.rapp.hash}
        secret = new_secret()
        secret_hash = hash_secret(secret)
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), rule=rule, expires_at=expires_at)
        with cmd.store.change(done) as tx:
            request_id = tx.add_request({
                "org_id": org_record.id, "aro_id": aro_record.id if aro_record else None, "role": role,
                "key_usage": key_usage, "eui64": entity, "common_name": common_name, "csr_der": None,
                "key_sha256": None, "rule": canonical_json(rule).decode(), "digest": "", "submitted_by": auth.actor,
                "policy_hash": cmd.policy.hash, "rapp_hash": cmd.rapp.hash, "kind": ENROLMENT,
                "expires_at": expires_at, "secret_hash": secret_hash})
            tx.object_id = str(request_id)
            facts = {"kind": ENROLMENT, "expires_at": expires_at, "secret_hash": secret_hash, "renews": None}
            tx.set_request_digest(request_id, request_digest(request_id, subject, common_name, None, None, rule,
                                                             facts))
    record = cmd.reader.request(request_id)
    assert record is not None
    return record, secret


# --- est.enroll ---------------------------------------------------------------------------------------------

def enrol(cmd: Command, authorisation_id: int, secret: str, csr: bytes, channel: Channel,
          ca_name: str | None = None) -> CertificateRecord:
    """A component's first enrolment under an approved authorisation, with its one-time secret."""
    event = cmd.event("est.enroll", "request", str(authorisation_id))
    claimant = new_claimant()
    with cmd.refusals_recorded(event, undo=lambda tx: tx.release_claim(authorisation_id, claimant)):
        pending = _authorisation(cmd, authorisation_id, secret)
        request = parse_request(csr, cmd.policy.max_request_bytes)
        hints = est_hints(request)
        bound = _check_binding(cmd, hints, channel)
        subject = subject_of(pending)
        if hints.eui64 is not None and hints.eui64 != pending.eui64:
            raise AuthError(f"the request asks for EUI-64 {hints.eui64}; enrolment authorisation {authorisation_id} "
                            f"is for {pending.eui64}")
        # every check of cert issue, and those recorded with the authorisation
        checks = tuple(dict.fromkeys([*pending.rule["checks"], *cmd.rapp.operations["cert.issue"].checks]))
        org, _ = check_request(cmd.reader, cmd.policy, checks, subject, cmd.trust)
        refuse_known_key(cmd.reader, request.key_sha256)
        approvers = count_approvals(cmd.reader, pending, cmd.reader.approvals(authorisation_id), cmd.clock.now(),
                                    cmd.trust).require(authorisation_id)
        ca = issuing_ca(cmd, ca_name)
        auth = cmd.authorise("est.enroll", {"request": authorisation_id, "key_sha256": request.key_sha256})
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), issuer=ca.name,
                                 organisation=pending.org_name, aro=pending.aro, eui64=pending.eui64,
                                 role=pending.role, key_usage=pending.key_usage, approvers=list(approvers),
                                 request_digest=pending.digest, channel_bound=bound, tls=channel.version,
                                 request_der_b64=base64.b64encode(request.der).decode("ascii"))
        return issue_certificate(cmd, event, ToIssue(pending, request.public_key, ca, org.id, checks, approvers,
                                                     claimant))


def _authorisation(cmd: Command, authorisation_id: int, secret: str) -> RequestRecord:
    """The authorisation the secret opens, still usable; AuthError otherwise (the secret is checked first, so
    that nothing is said about an id without it)."""
    pending = cmd.reader.request(authorisation_id)
    if pending is not None and pending.kind != ENROLMENT:
        pending = None
    if not secret_matches(secret, pending.secret_hash if pending else None) or pending is None:
        raise AuthError("unknown enrolment authorisation or wrong secret", challenge=True)
    cmd.trust("requests", pending.id, f"enrolment authorisation {authorisation_id}")
    if digest_of(pending) != pending.digest:
        raise PolicyRefused(f"enrolment authorisation {authorisation_id} no longer holds what was authorised")
    if pending.status == "issued":
        raise AuthError(f"enrolment authorisation {authorisation_id} was already used (certificate "
                        f"{pending.certificate_id}): it is good once")
    if pending.status == "issuing" and not stale_claim(cmd, pending):
        raise PolicyRefused(f"enrolment authorisation {authorisation_id} is being used by another request",
                            conflict="in-progress")
    if pending.status not in ("submitted", "issuing"):
        raise AuthError(f"enrolment authorisation {authorisation_id} is {pending.status}")
    if pending.expires_at is None or parse_iso(pending.expires_at) <= cmd.clock.now():
        raise AuthError(f"enrolment authorisation {authorisation_id} expired at {pending.expires_at}")
    return pending


def _check_binding(cmd: Command, hints: EstHints, channel: Channel) -> bool:
    """RFC 7030 3.5: a challengePassword must be the base64 of this channel's tls-unique (TLS 1.2); policy/ may
    require one. Returns whether the request was bound."""
    if hints.challenge_password is None:
        if cmd.policy.est.channel_binding == "required":
            raise AuthError("policy/ requires the CSR to be bound to the TLS channel: put the base64 of the "
                            "connection's tls-unique in its challengePassword (RFC 7030 3.5), over TLS 1.2")
        return False
    if channel.tls_unique is None:
        raise AuthError(f"the CSR carries a channel binding, but over {channel.version} tls-unique is not defined "
                        "and this server offers no tls-exporter (RFC 9266): enrol over TLS 1.2")
    expected = base64.b64encode(channel.tls_unique)
    if hints.challenge_password.strip() != expected:
        raise AuthError("the CSR's challengePassword is not this TLS channel's tls-unique: it was made for another "
                        "connection (RFC 7030 3.5)")
    return True


# --- est.reenroll -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reenrolled:
    certificate: CertificateRecord
    superseded: CertificateRecord
    crl_number: int | None  # None when superseding failed (told in `problem`)
    problem: str | None = None


def reenrol(cmd: Command, client_certificate: bytes | None, csr: bytes, channel: Channel,
            ca_name: str | None = None) -> Reenrolled:
    """A component's renewal with its current certificate (the TLS client certificate, verified by the TLS layer
    against this home's CAs): a new key, the same registry facts, inside the renewal window."""
    principal = cmd.principal
    assert isinstance(principal, Component)
    event = cmd.event("est.reenroll", "certificate", f"{principal.issuer}/{principal.serial}")
    claimant = new_claimant()
    created: list[int] = []
    with cmd.refusals_recorded(event, undo=lambda tx: [tx.abandon_request(i, claimant) for i in created]):
        current = _current(cmd, client_certificate)
        request = parse_request(csr, cmd.policy.max_request_bytes)
        hints = est_hints(request)
        bound = _check_binding(cmd, hints, channel)
        if hints.eui64 is not None and hints.eui64 != current.eui64:
            raise AuthError(f"the TLS client certificate is for EUI-64 {current.eui64}; the request asks for "
                            f"{hints.eui64}: a component renews only its own certificates")
        target = _renewed(cmd, current, hints)
        original = cmd.reader.request(target.request_id) if target.request_id else None
        if original is None:
            raise PolicyRefused(f"certificate {target.issuer_cn}/{target.serial} was not issued on a request: it "
                                "cannot be renewed over EST")
        cmd.trust("requests", original.id, f"request {original.id}")
        _in_window(cmd, target)
        subject = subject_of(original)
        checks = cmd.rapp.operations["est.reenroll"].checks
        org, aro = check_request(cmd.reader, cmd.policy, checks, subject, cmd.trust)
        refuse_known_key(cmd.reader, request.key_sha256)  # the same key again is refused (spec 5)
        ca = issuing_ca(cmd, ca_name or target.issuer_cn)
        auth = cmd.authorise("est.reenroll", {"certificate": f"{target.issuer_cn}/{target.serial}",
                                              "key_sha256": request.key_sha256})
        pending = _record_reenrolment(cmd, event, original, org.id, aro.id if aro else None, target, request, created)
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), issuer=ca.name,
                                 organisation=original.org_name, aro=original.aro, eui64=original.eui64,
                                 role=original.role, key_usage=original.key_usage, request=pending.id,
                                 renews=f"{target.issuer_cn}/{target.serial}", channel_bound=bound,
                                 tls=channel.version, request_der_b64=base64.b64encode(request.der).decode("ascii"))
        event = dataclasses.replace(event, object_type="request", object_id=str(pending.id))
        issued = issue_certificate(cmd, event, ToIssue(pending, request.public_key, ca, org.id, checks, (),
                                                       claimant))
    return _supersede(cmd, auth, issued, target)


def _current(cmd: Command, der: bytes | None) -> CertificateRecord:
    """The client certificate as this home issued it: an end-entity certificate, valid now, not revoked."""
    if der is None:
        raise AuthError("re-enrolment needs the component's current certificate as the TLS client certificate",
                        challenge=True)
    current = cmd.reader.certificate_by_fingerprint(hashlib.sha256(der).hexdigest())
    if current is None or current.kind != "end-entity":
        raise AuthError("the TLS client certificate is not an end-entity certificate this CA issued")
    name = f"{current.issuer_cn}/{current.serial}"
    if current.status != "valid":
        raise AuthError(f"the TLS client certificate {name} is {current.status}")
    # the trail, not the certificate's status column (which no seal covers), says whether it was revoked
    revoked = cmd.runtime.authentic_records(("cert.revoke",), about=("certificate", name))
    if revoked:
        raise AuthError(f"the TLS client certificate {name} is revoked (audit record {revoked[0][0]})")
    now = cmd.clock.now()
    if not _time(current.not_before) <= now <= _time(current.not_after):
        raise AuthError(f"the TLS client certificate {current.issuer_cn}/{current.serial} is not valid now (it runs "
                        f"{current.not_before} to {current.not_after})")
    return current


def _time(text: str) -> datetime:
    """A certificate row's notBefore/notAfter."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _renewed(cmd: Command, current: CertificateRecord, hints: EstHints) -> CertificateRecord:
    """Which certificate the request renews: the client certificate itself, or (a key-agreement certificate, which
    cannot authenticate a TLS client) the same component's valid certificate of that key usage."""
    usage = hints.key_usage or current.key_usage
    if usage == current.key_usage:
        return current
    assert current.eui64 is not None and usage is not None
    found = [c for c in cmd.reader.valid_certificates_of(current.eui64, usage)
             if _same_organisation(cmd, c, current)]
    if not found:
        raise PolicyRefused(f"EUI-64 {current.eui64} holds no valid {usage} certificate of this organisation to "
                            "renew: a first certificate needs an enrolment authorisation")
    # several (a prepayment key-agreement certificate beside the usual one): the one nearest its end first
    return min(found, key=lambda c: (c.not_after, c.id))


def _same_organisation(cmd: Command, one: CertificateRecord, other: CertificateRecord) -> bool:
    first = cmd.reader.request(one.request_id) if one.request_id else None
    second = cmd.reader.request(other.request_id) if other.request_id else None
    return first is not None and second is not None and first.org_id == second.org_id


def _in_window(cmd: Command, target: CertificateRecord) -> None:
    days = cmd.policy.est.renewal_window_days
    opens = _time(target.not_after) - timedelta(days=days)
    if cmd.clock.now() < opens:
        raise PolicyRefused(f"certificate {target.issuer_cn}/{target.serial} is not due for renewal: its renewal "
                            f"window (the last {days} days, policy/policy.toml est.renewal_window_days) opens "
                            f"{opens:%Y-%m-%d %H:%M:%SZ}", not_before=iso(opens))


def _record_reenrolment(cmd: Command, event: AuditEvent, original: RequestRecord, org_id: int, aro_id: int | None,
                        target: CertificateRecord, request: CertificationRequest, created: list[int]) -> RequestRecord:
    """The re-enrolment as a request of the component's (committed with its record), so that the certificate, like
    every other, is issued on a request; a refusal after this ends it rejected."""
    operation = cmd.rapp.operations["est.reenroll"]
    rule = {**operation.approval.as_dict(), "checks": list(operation.checks), "rapp_hash": cmd.rapp.hash}
    submit = cmd.event("request.submit", "request", None, organisation=original.org_name, aro=original.aro,
                       role=original.role, key_usage=original.key_usage, eui64=original.eui64,
                       common_name=original.common_name, kind=REENROLMENT,
                       renews=f"{target.issuer_cn}/{target.serial}", rule=rule,
                       request_der_b64=base64.b64encode(request.der).decode("ascii"))
    submit = dataclasses.replace(submit, correlation_id=event.correlation_id)
    bind_correlation(event.correlation_id)
    with cmd.store.change(submit) as tx:
        request_id = tx.add_request({
            "org_id": org_id, "aro_id": aro_id, "role": original.role, "key_usage": original.key_usage,
            "eui64": original.eui64, "common_name": original.common_name, "csr_der": request.der,
            "key_sha256": request.key_sha256, "rule": canonical_json(rule).decode(), "digest": "",
            "submitted_by": cmd.principal.label, "policy_hash": cmd.policy.hash, "rapp_hash": cmd.rapp.hash,
            "kind": REENROLMENT, "renews": target.id})
        tx.object_id = str(request_id)
        created.append(request_id)
        facts = {"kind": REENROLMENT, "expires_at": None, "secret_hash": None, "renews": target.id}
        tx.set_request_digest(request_id, request_digest(request_id, subject_of(original), original.common_name,
                                                         request.key_sha256, request.der, rule, facts))
    pending = cmd.reader.request(request_id)
    assert pending is not None and est_facts(pending) == facts
    return pending


def _supersede(cmd: Command, auth: Authorisation, issued: CertificateRecord, old: CertificateRecord) -> Reenrolled:
    """The renewed certificate revoked with policy/'s superseded reason, and the new CRL issued at once. The new
    certificate stands if this fails (the failure is recorded and told): an operator revokes the old one."""
    reason = cmd.policy.est.superseded_reason
    try:
        recorded = revocation.record_revocation(cmd, old.serial, old.issuer_cn, reason,
                                                requested_by=cmd.principal.label, by=auth)
        crl = revocation.crl.issue(cmd, recorded.signer, recorded.issuer, recorded.crl_event)
    except S1spkiError as exc:
        log.error("re-enrolment issued %s/%s but %s/%s was not superseded: %s", issued.issuer_cn, issued.serial,
                  old.issuer_cn, old.serial, exc.message)
        return Reenrolled(issued, old, None, exc.message)
    return Reenrolled(issued, old, crl.number)
