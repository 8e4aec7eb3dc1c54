"""`cert issue`: an approved request through the issuance pipeline to a stored certificate.

Written as numbered steps, each one call into a named stage of `s1spki.issuance` or the store. What the
request, its approvals and the registry say is relied on only as s1spki wrote it (their authenticators), and
checked again inside the transaction that stores the certificate; the request is claimed before a serial is
reserved, so that of two commands issuing it one stops before the HSM is asked for anything.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.record import AuditEvent
from s1spki.command import Command
from s1spki.errors import NotFound, PolicyRefused, Refused
from s1spki.issuance.approvals import ApprovalCount, count_approvals, digest_of
from s1spki.issuance.intake import CertificationRequest
from s1spki.issuance.issuer import Issuer, Reserve
from s1spki.issuance.lint_gate import lint_context
from s1spki.issuance.profile import end_entity_builder, end_entity_name, new_serial
from s1spki.issuance.registration import RequestSubject, check_request, refuse_known_key
from s1spki.lint import LintContext
from s1spki.oplog import fields
from s1spki.ra.cas import issuing_ca, open_issuer
from s1spki.store import ApprovalRecord, CaRecord, CertificateRecord, Duplicate, RequestRecord, StoreReader
from s1spki.store.writer import ChangeTx
from s1spki.values.clock import parse_iso

# A claim on a request older than this, by a command on another host, is taken to be of a command that died
# (on this host, a claim whose process is gone is taken over at once).
CLAIM_LEASE = timedelta(minutes=10)
log = logging.getLogger("s1spki.ra")


def new_claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def stale_claim(cmd: Command, request: RequestRecord) -> bool:
    """Whether the command that claimed `request` is gone: its process on this host has ended, or its lease ran
    out (a command on another host)."""
    if request.status != "issuing" or not request.claimed_by:
        return False
    host, _, rest = request.claimed_by.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    claimed_at = parse_iso(request.claimed_at) if request.claimed_at else None
    return claimed_at is None or cmd.clock.now() - claimed_at > CLAIM_LEASE


def _pending(cmd: Command, request_id: int) -> RequestRecord:
    pending = cmd.reader.request(request_id)
    if pending is None:
        raise NotFound(f"no request {request_id}")
    if pending.status == "issued":
        raise PolicyRefused(f"request {request_id} is already issued (certificate {pending.certificate_id}):"
                            " a request is issued once")
    if pending.status == "issuing" and not stale_claim(cmd, pending):
        raise PolicyRefused(f"request {request_id} is being issued by another command (since {pending.claimed_at}): "
                            "a request is issued once")
    if pending.status not in ("submitted", "issuing"):
        raise PolicyRefused(f"request {request_id} is {pending.status}: it cannot be issued")
    cmd.trust("requests", pending.id, f"request {request_id}")
    return pending


def reservation_record(event: AuditEvent, issuer_cn: str, serial: str, purpose: str,
                       request_id: int | None) -> AuditEvent:
    """The `serial.reserve` record that explains a reserved serial, by the actor of the issuance it is for."""
    return AuditEvent("serial.reserve", event.actor, event.actor_role, object_type="serial",
                      object_id=f"{issuer_cn}/{serial}", details={"purpose": purpose, "request_id": request_id},
                      correlation_id=event.correlation_id, policy_hash=event.policy_hash, rapp_hash=event.rapp_hash)


def reserve_serial(cmd: Command, issuer_cn: str, purpose: str, request_id: int | None, event: AuditEvent,
                   claim: tuple[str, str | None] | None = None) -> Reserve:
    """The reservation step a stage calls before anything is signed: committed, with its own audit record. With
    `claim` (claimant, stale claim to take over), the request is claimed in the same transaction: if another
    command holds it, nothing is reserved."""

    def reserve(serial: str) -> None:
        record = reservation_record(event, issuer_cn, serial, purpose, request_id)
        try:
            with cmd.store.change(record) as tx:
                if claim is not None and request_id is not None:
                    tx.claim_request(request_id, claim[0], stale=claim[1])
                tx.reserve_serial(issuer_cn, serial, purpose, request_id)
        except Duplicate as exc:
            if claim is not None and "request" in exc.message:
                raise PolicyRefused(f"{exc.message}: nothing was reserved or signed") from None
            raise Refused(f"serial {serial} is already reserved for {issuer_cn}: try again") from None
        cmd.runtime.seams.reached("serial-reserved")

    return reserve


def issue_request(cmd: Command, request_id: int, ca_name: str | None = None) -> CertificateRecord:
    event = cmd.event("cert.issue", "request", str(request_id))
    claimant = new_claimant()
    with cmd.refusals_recorded(event, undo=lambda tx: tx.release_claim(request_id, claimant)):
        with cmd.store.one_read():  # steps 1 to 4 read one snapshot of the store, in one read transaction
            what, event = judge_request(cmd, event, request_id, ca_name, claimant)
            issuer = open_issuer(cmd, what.ca)  # step 4 here: the CA row it checks is the one the judgement read
        return issue_certificate(cmd, event, what, issuer)


def judge_request(cmd: Command, event: AuditEvent, request_id: int, ca_name: str | None,
                  claimant: str) -> tuple[ToIssue, AuditEvent]:
    """Steps 1 to 3 of `cert issue`: whether the request may be issued now, and by whom."""
    # 1. The request, still waiting to be issued, as s1spki wrote it.
    pending = _pending(cmd, request_id)
    if pending.csr_der is None:
        raise PolicyRefused(f"request {request_id} is an enrolment authorisation: the component enrols it over "
                            "EST (`s1spki est enroll`), with its one-time secret")
    # 2. Intake and registration again (the registry or the policy may have changed since submission), under
    #    the checks and approvals of the rule recorded at submission; approvals count only over the digest of
    #    what the request holds now.
    request = CertificationRequest.from_der(pending.csr_der)
    if request.key_sha256 != pending.key_sha256 or digest_of(pending) != pending.digest:
        raise PolicyRefused(f"request {request_id} no longer holds what was submitted: refused")
    subject = subject_of(pending)
    checks = tuple(pending.rule["checks"])
    org, aro = check_request(cmd.reader, cmd.policy, checks, subject, cmd.trust)
    refuse_known_key(cmd.reader, request.key_sha256, pending_id=request_id)
    decisions = cmd.reader.approvals(request_id)
    count = count_approvals(cmd.reader, pending, decisions, cmd.clock.now(), cmd.trust)
    approvers = count.require(request_id)
    judged = judged_registry(cmd.reader, org.id, aro.id if aro else None, pending, decisions, count)
    # 3. The issuing CA and the operator who issues.
    ca = issuing_ca(cmd, ca_name)
    auth = cmd.authorise("cert.issue", {"request": request_id, "key_sha256": pending.key_sha256,
                                        "issuer": ca.name})
    event = event.attributed(auth.actor, auth.actor_role, auth.records(), issuer=ca.name,
                             organisation=pending.org_name, aro=pending.aro, eui64=pending.eui64,
                             role=pending.role, key_usage=pending.key_usage, approvers=list(approvers),
                             request_digest=pending.digest)
    return ToIssue(pending, request.public_key, ca, org.id, checks, approvers, claimant, judged), event


def judged_registry(reader: StoreReader, org_id: int, aro_id: int | None, pending: RequestRecord,
                    decisions: list[ApprovalRecord], count: ApprovalCount) -> JudgedRegistry | None:
    """What a judgement read in one snapshot relied on, for `recheck` to compare: the seal versions of the rows as
    the judgement read them (kept by its reader), not read again. None outside one snapshot, or if a row relied on
    was not kept."""
    if reader.sealed is None or count.valid_until is None:
        return None
    approvers = {decision.operator for decision in decisions if decision.decision == "approve"}
    operators = [(table, row_id) for (table, row_id), kept in reader.sealed.items()
                 if table == "operators" and kept.fields["name"] in approvers]
    relied_on = [("organisations", org_id), *([("officers", aro_id)] if aro_id is not None else []),
                 *(("approvals", decision.id) for decision in decisions), *operators]
    if any(key not in reader.sealed for key in relied_on) or len(operators) != len(approvers):
        return None
    versions = frozenset((table, row_id, reader.sealed[(table, row_id)].sealed_seq) for table, row_id in relied_on)
    return JudgedRegistry(versions, org_id, aro_id, count.valid_until)


def subject_of(request: RequestRecord) -> RequestSubject:
    return RequestSubject(request.org_name, request.aro, request.role, request.key_usage, request.eui64)


@dataclass(frozen=True)
class JudgedRegistry:
    """The seal versions of the registry rows a judgement relied on (StoreReader.registry_versions), read in the
    judgement's snapshot, and when its first counted approval expires."""

    versions: frozenset[tuple[str, int, int | None]]
    org_id: int
    aro_id: int | None
    valid_until: datetime

    def still_holds(self, reader: StoreReader, request_id: int, now: datetime) -> bool:
        """Whether every row relied on is unwritten since, and every approval counted still young enough."""
        return now <= self.valid_until and reader.registry_versions(self.org_id, self.aro_id,
                                                                    request_id) == self.versions


@dataclass(frozen=True)
class ToIssue:
    """A request judged fit to issue: what the issuance stages need (the request gives only its key)."""

    pending: RequestRecord  # as judged; claimed by `claimant` when the serial is reserved
    public_key: ec.EllipticCurvePublicKey
    ca: CaRecord
    org_id: int
    checks: tuple[str, ...]  # the registry checks, run again where the certificate is stored
    approvers: tuple[str, ...]  # the approvals relied on, which must still count there
    claimant: str
    judged: JudgedRegistry | None = None  # judged in one snapshot: what `recheck` compares first


def issue_certificate(cmd: Command, event: AuditEvent, what: ToIssue,
                      issuer: Issuer | None = None) -> CertificateRecord:
    """Steps 4 to 7 of every issuance (`cert issue`, and enrolment over EST): the issuer opened (unless given, opened
    by the caller), the profile, lint, the request claimed and the serial reserved, one HSM signature, the
    certificate stored with its audit record (`event`, attributed) after the checks it relied on are made again.
    Call inside `cmd.refusals_recorded`, with an undo that releases the claim."""
    ca, request_id = what.ca, what.pending.id
    # 4. The issuer opened (certificate paired with its HSM key) before anything is reserved: an unavailable
    #    HSM or a key that is not the CA's must not leave a reserved, unissued serial behind.
    issuer = issuer or open_issuer(cmd, ca)
    # 5. The profile decides the contents; the request gives only its key.
    builder, context = to_be_signed(cmd, issuer, what)
    # 6. Lint, claim the request and reserve the serial (committed together), sign once, check the bytes.
    prepared = issuer.prepare(builder, context, reserve_serial(cmd, ca.name, "end-entity", request_id, event,
                                                               (what.claimant, stale_claimant(what.pending))))
    certificate = issuer.issue(prepared)
    cmd.runtime.seams.reached("signed")
    # 7. The certificate and its audit record, in one transaction that checks again what it relied on.
    return store_issued(cmd, event, what, certificate, prepared.serial)


def to_be_signed(cmd: Command, issuer: Issuer, what: ToIssue) -> tuple[x509.CertificateBuilder, LintContext]:
    """The certificate the profile makes for a judged request (the request gives only its key), and the lint
    context it is checked in."""
    pending = what.pending
    profile = cmd.policy.profile_for(pending.key_usage)
    name = end_entity_name(pending.common_name, cmd.policy.role_hex(pending.role), pending.eui64)
    builder = end_entity_builder(cmd.policy, profile, issuer.facts, name, what.public_key,
                                 new_serial(cmd.policy.serial_octets), cmd.clock.now())
    return builder, lint_context(cmd.policy, issuer.certificate, profile)


def stale_claimant(pending: RequestRecord) -> str | None:
    """The claim of a command that died, which the issuance takes over (judged so by `_pending`)."""
    return pending.claimed_by if pending.status == "issuing" else None


def issued_record(event: AuditEvent, serial: str, certificate: x509.Certificate) -> AuditEvent:
    """The `cert.issue` record of a signed certificate: its serial, fingerprint and bytes."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return event.with_outcome("ok", serial=serial, sha256_fingerprint=hashlib.sha256(der).hexdigest(),
                              certificate_der_b64=base64.b64encode(der).decode("ascii"))


def store_issued(cmd: Command, event: AuditEvent, what: ToIssue, certificate: x509.Certificate,
                 serial: str) -> CertificateRecord:
    """Step 7 for one certificate: stored with its record (`event`, attributed) in one transaction, after the
    checks it relied on are made again there."""
    try:
        with cmd.store.change(issued_record(event, serial, certificate)) as tx:
            tx.lock_organisation(what.org_id)
            recheck(cmd, tx.reader, what)
            record = write_issued(cmd, tx, what, certificate, serial)
    except Duplicate as exc:
        raise PolicyRefused(f"{exc.message}: the signed certificate was discarded and serial {serial} "
                            "stays reserved, unissued") from None
    return record


def write_issued(cmd: Command, tx: ChangeTx, what: ToIssue, certificate: x509.Certificate,
                 serial: str) -> CertificateRecord:
    """Inside the storing transaction, after `recheck`: the certificate stored and its request marked issued; the
    record as stored (the caller writes its audit record next)."""
    pending, ca = what.pending, what.ca
    record = tx.add_certificate(
        certificate, kind="end-entity", issuer_cn=ca.name, serial=serial, policy_hash=cmd.policy.hash,
        issuer_certificate_id=ca.certificate.id, request_id=pending.id, subject_cn=pending.common_name,
        eui64=pending.eui64, role=pending.role, key_usage=pending.key_usage)
    tx.mark_request_issued(pending.id, record.id, what.claimant)
    cmd.runtime.seams.reached("certificate-written")  # inside the transaction, before its audit record
    log.info("certificate issued: serial %s by %s", serial, ca.name,
             extra=fields(serial=serial, ca=ca.name, certificate_id=record.id, request_id=pending.id))
    return record


def recheck(cmd: Command, reader: StoreReader, what: ToIssue) -> None:
    """Inside the storing transaction: the registry state and the approvals relied on still hold (a withdrawal,
    rejection or revocation that committed meanwhile wins, as a whole)."""
    request_id = what.pending.id
    if what.judged is not None and what.judged.still_holds(reader, request_id, cmd.clock.now()):
        # the rows the judgement checked are as it read them: its checks hold as they did (the request itself is
        # marked issued only while this command's claim holds, `ChangeTx.mark_request_issued`)
        return
    current = reader.request(request_id)
    if current is None or current.status != "issuing":
        raise PolicyRefused(f"request {request_id} was decided meanwhile: the signed certificate was discarded")
    check_request(reader, cmd.policy, what.checks, subject_of(what.pending))
    counted = count_approvals(reader, current, reader.approvals(request_id), cmd.clock.now()).require(request_id)
    if not set(what.approvers) <= set(counted):
        raise PolicyRefused(f"the approvals of request {request_id} changed meanwhile: the signed certificate was "
                            "discarded")

