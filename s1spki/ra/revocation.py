"""Revocation (spec 5): `cert revoke`, of an end-entity certificate or of an issuing CA's.

    certificate (issuer CN + serial) ─► checks: valid, not the root, reason allowed by policy/, issuer not revoked,
        requester ─► authorise as rapp/ says: cert.revoke (end entity) or ca.revoke (issuing CA)
        ─► store: status, revocation with its CRL entry, audit record, one transaction
        ─► a new CRL of the issuing CA, or for an issuing CA a new ARL of the root (crl.py)

A revocation is requested by the subscriber's ARO, by the RA on its own initiative, or by the policy management
authority (spec 5); who asked is recorded with it. Certificates are never suspended: there is no
certificateHold and no un-revoking.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from s1spki.audit.record import AuditEvent
from s1spki.command import Authorisation, Command
from s1spki.errors import NotFound, PolicyRefused, S1spkiError, UsageError
from s1spki.issuance.crl import entry_der
from s1spki.issuance.issuer import Issuer
from s1spki.oplog import bind_correlation, fields
from s1spki.ra import crl
from s1spki.ra.cas import open_issuer
from s1spki.store import CaRecord, CertificateRecord
from s1spki.store.records import CrlRecord, RevocationRecord
from s1spki.values.clock import iso

OPERATIONS = {"end-entity": "cert.revoke", "issuing": "ca.revoke"}
# Who may ask for a revocation (spec 5): "aro:<name>" is an active ARO of the certificate's organisation.
REQUESTERS = {"ra": "the RA on its own initiative", "pma": "the policy management authority"}
log = logging.getLogger("s1spki.ra")


@dataclass(frozen=True)
class Recorded:
    """A committed revocation, before its CRL or ARL is issued."""

    certificate: CertificateRecord
    revocation: RevocationRecord
    signer: CaRecord  # the CA whose CRL (or, for an issuing CA, the root whose ARL) lists it
    issuer: Issuer  # the signer's certificate and HSM key
    crl_event: AuditEvent


@dataclass(frozen=True)
class Revoked:
    revocation: RevocationRecord
    crl: CrlRecord

    def as_dict(self) -> dict[str, Any]:
        return {**self.revocation.as_dict(), self.crl.kind: self.crl.as_dict()}


def revoke(cmd: Command, serial: str, issuer: str | None, reason: str,
           requested_by: str = "ra") -> Revoked:
    """Revoke a certificate and issue the new CRL or ARL at once (spec 5)."""
    recorded = record_revocation(cmd, serial, issuer, reason, requested_by)
    cmd.runtime.seams.reached("revocation-recorded")
    try:
        issued = crl.issue(cmd, recorded.signer, recorded.issuer, recorded.crl_event)
    except S1spkiError as exc:
        what = crl.kind_of(recorded.signer)
        exc.message = (f"{_name(recorded.certificate)} is revoked, but the new {what.upper()} was not issued: "
                       f"{exc.message}; then run `s1spki crl {'arl' if what == 'arl' else 'issue'}`")
        raise
    return Revoked(recorded.revocation, issued)


def record_revocation(cmd: Command, serial: str, issuer: str | None, reason: str,
                      requested_by: str = "ra", *, by: Authorisation | None = None) -> Recorded:
    """Check, authorise and commit a revocation; the CRL or ARL is `revoke`'s next step (scripts/bench times
    this part alone). `by` is an authorisation already given for an operation this revocation is part of (a
    component's re-enrolment supersedes its old certificate): then `requested_by` is recorded as given."""
    serial = serial.upper().replace(":", "")
    event = cmd.event("cert.revoke", "certificate", f"{issuer or '?'}/{serial}", reason=reason,
                      requested_by=requested_by)
    with cmd.refusals_recorded(event):
        certificate = cmd.reader.one_certificate_by_serial(serial, issuer)
    operation = OPERATIONS.get(certificate.kind, "cert.revoke")
    event = dataclasses.replace(event, event=operation, object_id=_name(certificate))
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(operation)
        signer = _check(cmd, certificate, reason)
        requester = requested_by if by is not None else _requester(cmd, certificate, requested_by)
        if cmd.rapp.operations[operation].approval.approvals:
            raise PolicyRefused(f"rapp/operations.toml asks for approvals of {operation}, which apply to requests; "
                                "`cert revoke` takes its participants (--as) as rapp/ says instead")
        signing_issuer = open_issuer(cmd, signer)  # an unavailable HSM fails before anything changes
        auth = by or cmd.authorise(operation, {"certificate": _name(certificate),
                                               "fingerprint": certificate.fingerprint, "reason": reason,
                                               "requested_by": requester})
        revoked_at = cmd.clock.now().astimezone(UTC).replace(microsecond=0)
        values = {"issuer_cn": certificate.issuer_cn, "serial": certificate.serial, "reason": reason,
                  "revoked_at": iso(revoked_at), "requested_by": requester, "revoked_by": auth.actor,
                  "entry_der": entry_der(int(certificate.serial, 16), revoked_at, cmd.policy.reason_code(reason))}
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), requested_by=requester,
                                revoked_at=values["revoked_at"], sha256_fingerprint=certificate.fingerprint,
                                eui64=certificate.eui64, role=certificate.role, key_usage=certificate.key_usage)
        with cmd.store.change(done) as tx:
            tx.revoke_certificate(certificate.id, values)
    log.info("certificate revoked: serial %s by %s (%s)", certificate.serial, certificate.issuer_cn, reason,
             extra=fields(serial=certificate.serial, ca=certificate.issuer_cn, reason=reason))
    revocation = cmd.reader.revocation(certificate.id)
    assert revocation is not None
    crl_event = cmd.event(crl.OPERATIONS[crl.kind_of(signer)], "crl", signer.name, actor=auth.actor,
                          actor_role=auth.actor_role, cause=f"{operation} {_name(certificate)}")
    bind_correlation(event.correlation_id)  # the CRL's records carry the revocation's correlation id
    return Recorded(certificate, revocation, signer, signing_issuer,
                    dataclasses.replace(crl_event, correlation_id=event.correlation_id))


def _name(certificate: CertificateRecord) -> str:
    return f"{certificate.issuer_cn}/{certificate.serial}"


def _check(cmd: Command, certificate: CertificateRecord, reason: str) -> CaRecord:
    """What must hold before anything changes; returns the CA whose CRL or ARL will list the certificate."""
    if certificate.kind == "root":
        raise PolicyRefused("the root CA certificate cannot be revoked: no ARL above it can list it; retire the "
                            "hierarchy instead")
    if certificate.status != "valid":
        previous = cmd.reader.revocation(certificate.id)
        when = f" ({previous.reason}, {previous.revoked_at})" if previous else ""
        if previous is not None and not _listed(cmd, certificate):
            what, command = ("ARL", "crl arl --as NAME --as NAME") if certificate.kind == "issuing" else \
                ("CRL", "crl issue --as NAME")
            raise PolicyRefused(f"certificate {_name(certificate)} is already {certificate.status}{when}, but is on "
                                f"no {what} yet (the command that revoked it ended first): issue the {what} with "
                                f"`s1spki {command}`")
        raise PolicyRefused(f"certificate {_name(certificate)} is already {certificate.status}{when}")
    if reason not in cmd.policy.revocation_reasons:
        never = " (S1SPKI never suspends a certificate)" if reason == "certificateHold" else ""
        raise PolicyRefused(f"revocation reason {reason!r} is not allowed{never}: policy/policy.toml [revocation] "
                            f"allows {', '.join(cmd.policy.revocation_reasons)}")
    signer = cmd.reader.ca(certificate.issuer_cn)
    if signer is None:
        raise NotFound(f"the issuer {certificate.issuer_cn!r} of {_name(certificate)} is not a CA of this home")
    cmd.trust("cas", signer.id, f"CA {signer.name}")
    if signer.certificate.status != "valid":
        raise PolicyRefused(f"the issuer {signer.name!r} of {_name(certificate)} is itself revoked: its certificates "
                            "are no longer valid anywhere")
    return signer


def _listed(cmd: Command, certificate: CertificateRecord) -> bool:
    """Whether the current CRL or ARL of the certificate's issuer lists it."""
    from cryptography import x509

    current = cmd.reader.crl(certificate.issuer_cn)
    if current is None or current.der is None:
        return False
    listing = x509.load_der_x509_crl(current.der)
    return listing.get_revoked_certificate_by_serial_number(int(certificate.serial, 16)) is not None


def _requester(cmd: Command, certificate: CertificateRecord, requested_by: str) -> str:
    """`ra`, `pma`, or `aro:<name>`, an active ARO of the organisation the certificate was issued to (spec 5)."""
    if requested_by in REQUESTERS:
        return requested_by
    kind, _, name = requested_by.partition(":")
    if kind != "aro" or not name:
        raise UsageError(f"--requested-by is ra, pma or aro:NAME, not {requested_by!r}")
    request = cmd.reader.request(certificate.request_id) if certificate.request_id else None
    if request is None:
        raise PolicyRefused(f"{_name(certificate)} was not issued to a subscriber: an ARO cannot request its "
                            "revocation")
    officer = cmd.reader.officer(request.org_name, "aro", name)
    if officer is not None:
        cmd.trust("officers", officer.id, f"ARO {name} of {request.org_name}")
    if officer is None or officer.status != "active":
        state = "not an ARO" if officer is None else f"an ARO in status {officer.status}"
        raise PolicyRefused(f"{name!r} is {state} of {request.org_name!r}, the subscriber of {_name(certificate)}")
    return requested_by
