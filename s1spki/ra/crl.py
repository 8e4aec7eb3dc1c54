"""CRLs and ARLs (spec 5): `crl issue`, `crl arl`, and the new CRL or ARL every revocation brings.

    reserve the cRLNumber (committed) ─► TBSCertList from the store ─► lint ─► HSM signs ─► verify
        ─► store + audit, one transaction (retried with a new number if another process stored a higher one)

The cRLNumbers of a CA's stored CRLs strictly increase in the order they are issued, with several processes
too (store/schema.py `crls`). The TBSCertList itself is the pipeline's CRL stage (`s1spki.issuance.crl`).

A revocation is committed before its CRL is issued: a command that ends between the two (killed, the HSM gone)
leaves a certificate revoked in the store and on no CRL. Until a CRL lists it, that CRL is due whatever the
re-issue period says (`crl issue --if-due` issues it and says why), every command that reads the store warns, and
the next command that changes an online home issues it (`complete_unlisted`), under the authority of the revocation
that asked for it: nobody has to remember, and nobody can leave it out. The warnings and the completion wait until
the revocation is older than its own command could be (records.LEFT_BEHIND_AFTER): before that, it may be another
node's, between its two steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from s1spki.audit.record import AuditEvent
from s1spki.command import Command
from s1spki.errors import IntegrityRefused, PolicyRefused, Refused
from s1spki.issuance.crl import Built, build, sign
from s1spki.issuance.issuer import Issuer
from s1spki.issuance.lint_gate import lint_context
from s1spki.oplog import fields
from s1spki.ra.cas import issuing_ca, open_issuer, root_ca
from s1spki.store import CaRecord, Duplicate
from s1spki.store.records import CrlRecord, Unlisted
from s1spki.values.clock import iso, parse_iso

# How often to take a new number when other processes keep storing higher-numbered CRLs of the same CA first,
# and the longest wait between two tries: a loser waits a random, growing while, so that two processes issuing
# in step (each storing a higher number while the other signs) fall out of step instead of both giving up.
STORE_ATTEMPTS = 12
MAX_BACKOFF_S = 0.5
OPERATIONS = {"crl": "crl.issue", "arl": "crl.arl"}
log = logging.getLogger("s1spki.ra")


def kind_of(ca: CaRecord) -> str:
    """An issuing CA issues a CRL, the root an ARL."""
    return "arl" if ca.kind == "root" else "crl"


def _next_update(cmd: Command, kind: str, this_update: datetime) -> datetime:
    if kind == "arl":
        return this_update + timedelta(days=cmd.policy.arl_next_update_days)
    return this_update + timedelta(hours=cmd.policy.crl_next_update_hours)


def _reserve(cmd: Command, ca: CaRecord, event: AuditEvent) -> int | None:
    """Reserve the next cRLNumber in a committed transaction of its own; None if another process got it."""
    number = cmd.reader.last_crl_number(ca.name) + 1
    reserve = AuditEvent(f"{kind_of(ca)}.reserve", event.actor, event.actor_role, object_type="crl",
                         object_id=f"{ca.name}/{number}", correlation_id=event.correlation_id,
                         policy_hash=event.policy_hash, rapp_hash=event.rapp_hash)
    try:
        with cmd.store.change(reserve) as tx:
            tx.reserve_crl_number(ca.name, kind_of(ca), number)
    except Duplicate:
        return None
    return number


def build_crl(cmd: Command, ca: CaRecord, issuer: Issuer, number: int) -> Built:
    """CRL `number` of `ca` from the store, linted, ready for its issuer's signature; refused if the store holds
    other than as many revocations as the revocations counted (a row removed or added outside s1spki)."""
    this_update = cmd.clock.now().astimezone(UTC).replace(microsecond=0)
    with cmd.store.one_read():  # the entries and the count from one snapshot: a revocation meanwhile is in both
        entries = list(cmd.reader.revoked_entries(ca.name))
        counted = cmd.reader.revocations_counted(ca.name)
    if counted is not None and counted != len(entries):
        raise IntegrityRefused(f"the store holds {len(entries)} revocations of {ca.name}'s certificates, but "
                               f"{counted} were made: a revocation was removed or added outside s1spki; no "
                               f"{kind_of(ca).upper()} is signed; run `s1spki audit verify --deep` and restore the "
                               "store from a backup", ca=ca.name, entries=len(entries), counted=counted)
    return build(issuer, kind_of(ca), number, entries,
                 lambda: cmd.reader.first_revoked_entry_per_reason(ca.name), this_update,
                 _next_update(cmd, kind_of(ca), this_update), lint_context(cmd.policy, issuer.certificate))


def issue(cmd: Command, ca: CaRecord, issuer: Issuer, event: AuditEvent) -> CrlRecord:
    """Issue the next CRL (issuing CA) or ARL (root) of `ca`, signed by its issuer; refusals are recorded."""
    kind = kind_of(ca)
    with cmd.refusals_recorded(event):
        if ca.certificate.status != "valid":
            raise PolicyRefused(f"CA {ca.name!r} is {ca.certificate.status}: it issues no more {kind.upper()}s")
        for attempt in range(STORE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, min(MAX_BACKOFF_S, 0.01 * 2 ** attempt)))
            number = _reserve(cmd, ca, event)
            if number is None:
                continue
            cmd.runtime.seams.reached("crl-number-reserved")
            built = build_crl(cmd, ca, issuer, number)
            der = sign(built)
            values = {"this_update": iso(built.header.this_update), "next_update": iso(built.header.next_update),
                      "entries": built.entries, "sha256": hashlib.sha256(der).hexdigest()}
            done = dataclasses.replace(event, object_id=f"{ca.name}/{number}").with_outcome(
                "ok", kind=kind, crl_number=number, entries_linted=built.entries_linted, **values)
            try:
                with cmd.store.change(done) as tx:
                    tx.store_crl(ca.name, number, {**values, "der": der})
            except Duplicate:
                continue  # a higher number of this CA was stored first: this one would go backwards
            log.info("%s %d of %s issued: %d entries", kind.upper(), number, ca.name, built.entries,
                     extra=fields(ca=ca.name, crl_number=number, entries=built.entries))
            record = cmd.reader.crl(ca.name, number)
            assert record is not None
            return record
        raise Refused(f"other processes kept issuing {kind.upper()}s of {ca.name} meanwhile: try again")


def due_at(cmd: Command, ca: CaRecord) -> datetime | None:
    """When the CA's next CRL or ARL is due by policy/'s re-issue period (None: now, there is none yet)."""
    current = cmd.reader.crl(ca.name)
    if current is None:
        return None
    if kind_of(ca) == "arl":
        period = timedelta(days=cmd.policy.arl_reissue_days)
    else:
        period = timedelta(hours=cmd.policy.crl_reissue_hours)
    return parse_iso(current.this_update) + period


def unlisted_reason(gap: Unlisted | None) -> str | None:
    """Why a CA's CRL or ARL is due now, whatever the re-issue period: revocations on none yet."""
    if gap is None or gap.missing <= 0:
        return None
    what = "ARL" if gap.kind == "root" else "CRL"
    return f"{gap.missing} revocation{'s' if gap.missing > 1 else ''} of {gap.ca} on no {what} yet"


def unlisted_of(cmd: Command, ca: CaRecord) -> Unlisted | None:
    return next((gap for gap in cmd.reader.unlisted() if gap.ca == ca.name), None)


def due(cmd: Command, ca: CaRecord) -> bool:
    """Whether the CA's current CRL or ARL is older than policy/'s re-issue period (or there is none yet), or a
    revocation is on none yet."""
    when = due_at(cmd, ca)
    return when is None or when <= cmd.clock.now() or unlisted_of(cmd, ca) is not None


@dataclass(frozen=True)
class NotDue:
    """`--if-due` found the current CRL or ARL within policy/'s re-issue period: nothing issued."""

    ca: str
    due_at: datetime


def issue_scheduled(cmd: Command, kind: str, ca_name: str | None = None, if_due: bool = False,
                    started: Callable[[], None] | None = None,
                    because: Callable[[str], None] | None = None) -> CrlRecord | NotDue:
    """`crl issue` (kind "crl") or `crl arl` (kind "arl"): issue now, or with `if_due` only when policy/'s
    re-issue period has passed or a revocation is on no CRL or ARL yet (NotDue, saying when it will be, if not);
    authorised as rapp/ says for crl.issue or crl.arl. `started` is told when the long part begins, once the
    participants are authorised (a progress bar); `because`, why it was due early, if it was."""
    operation = OPERATIONS[kind]
    event = cmd.event(operation, "crl", ca_name)
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(operation)
        ca = root_ca(cmd, ca_name) if kind == "arl" else issuing_ca(cmd, ca_name)
        when = due_at(cmd, ca)
        reason = unlisted_reason(unlisted_of(cmd, ca))
        if if_due and reason is None and when is not None and when > cmd.clock.now():
            return NotDue(ca.name, when)
        issuer = open_issuer(cmd, ca)  # an unavailable HSM or a mismatched key fails before anything changes
        auth = cmd.authorise(operation, {"ca": ca.name, "kind": kind})
        event = dataclasses.replace(event, object_id=ca.name).attributed(auth.actor, auth.actor_role, auth.records())
    if reason is not None:
        event = dataclasses.replace(event, details={**event.details, "due_because": reason})
        if because is not None:
            because(reason)
    if started is not None:
        started()
    return issue(cmd, ca, issuer, event)


def complete_unlisted(cmd: Command) -> list[str]:
    """After a command that changed this home: the CRL of each valid issuing CA with revocations on no CRL yet
    (a `cert revoke` that ended before its CRL), issued as that revocation's own next step, which its
    participants authorised; recorded as s1spki's, with the revocations it completes. Returns what was done.
    An ARL is not issued here (it is carried to the online home as a bundle): every command warns until `crl arl`
    issues it."""
    done = []
    now = cmd.clock.now()
    for gap in cmd.reader.unlisted():
        if gap.kind != "issuing" or gap.status != "valid" or not gap.left_behind(now):
            continue  # an ARL goes to the online home as a bundle; a fresh revocation's own command is at work
        ca = cmd.reader.ca(gap.ca)
        if ca is None:
            continue
        named = [f"{r.issuer_cn}/{r.serial}" for r in cmd.reader.latest_revocations(ca.name, min(gap.missing, 5))]
        listing = ", ".join(named) + (" and others" if gap.missing > len(named) else "")
        event = cmd.event(OPERATIONS["crl"], "crl", ca.name, actor="s1spki", actor_role="system",
                          cause=f"revocations on no CRL yet: {listing}", during=cmd.principal.label,
                          due_because=unlisted_reason(gap))
        record = issue(cmd, ca, open_issuer(cmd, ca), event)
        done.append(f"CRL {record.number} of {ca.name} issued at the end of this command: it lists {listing}, "
                    "revoked by a command that ended before issuing its CRL")
    return done

