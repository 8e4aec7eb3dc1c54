"""`cert issue --all-approved`: the approved requests issued in batches, every gate on for each request.

    judge each request as `cert issue` does (its own snapshot: intake, registry checks, approvals, the operator's
        signed statement) ─► lint each ─► claim every request and reserve every serial: one transaction, with a
        `serial.reserve` record each ─► the HSM signs each ─► each one's checks made again, and every certificate
        with its `cert.issue` record: one transaction

A batch groups transactions (two per batch instead of two per certificate); no gate is left out or shared. A
refusal stops only its own request and is recorded as `cert issue` records it. A crash leaves, for each request of
the batch, what a crash of `cert issue` leaves: a committed reservation explained by its own record (`cert list
--reserved`), a certificate stored only with its record, and the claims taken over by the next command. Should a
batch transaction fail as a whole (a request claimed meanwhile by another command, a serial already taken), its
requests are issued one at a time by `cert issue`'s own steps instead, so that one conflict refuses no other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from s1spki.audit.record import AuditEvent
from s1spki.command import Command
from s1spki.errors import AuthError, HsmError, Refused, StoreError
from s1spki.issuance.approvals import count_approvals
from s1spki.issuance.issuer import Issuer, Prepared
from s1spki.ra import issue
from s1spki.ra.cas import open_issuer
from s1spki.store import CertificateRecord, Duplicate
from s1spki.store.writer import ChangeTx


@dataclass(frozen=True)
class BatchOutcome:
    issued: tuple[CertificateRecord, ...]
    refused: tuple[tuple[int, Refused], ...]  # (request, why): each recorded in the trail as its own refusal


@dataclass
class _Item:
    """One request of a batch, as far as it got."""

    what: issue.ToIssue
    event: AuditEvent  # its `cert.issue` event, attributed to the operator who issues
    prepared: Prepared | None = None
    certificate: x509.Certificate | None = None

    @property
    def request_id(self) -> int:
        return self.what.pending.id

    def undo(self) -> Callable[[ChangeTx], None]:
        """Give back this batch's claim on the request (nothing if it was never claimed)."""
        return lambda tx: tx.release_claim(self.request_id, self.what.claimant)


def approved_requests(cmd: Command) -> list[int]:
    """The submitted requests (with a CSR) whose approvals count now, and those a command that died had claimed,
    oldest first: what `--all-approved` issues. Each is judged again, in full, when it is issued."""
    ready = []
    with cmd.store.one_read():
        waiting = [*cmd.reader.requests("submitted"),
                   *(r for r in cmd.reader.requests("issuing") if issue.stale_claim(cmd, r))]
        for request in sorted(waiting, key=lambda r: r.id):
            if request.csr_der is None:
                continue  # an enrolment authorisation: the component enrols over EST
            if not count_approvals(cmd.reader, request, cmd.reader.approvals(request.id), cmd.clock.now()).missing:
                ready.append(request.id)
    return ready


def issue_all_approved(cmd: Command, ca_name: str | None, batch_size: int) -> BatchOutcome:
    """`cert issue --all-approved`: every approved request through the whole pipeline, in batches of
    `batch_size`; a refusal stops only its own request. An HSM or database failure stops the run (what was
    stored stays stored; the rest of its batch is recorded as not issued)."""
    issued: list[CertificateRecord] = []
    refused: list[tuple[int, Refused]] = []
    ready = approved_requests(cmd)
    for start in range(0, len(ready), batch_size):
        _Batch(cmd, ca_name, issued, refused).run(ready[start:start + batch_size])
    return BatchOutcome(tuple(issued), tuple(refused))


class _Batch:
    def __init__(self, cmd: Command, ca_name: str | None, issued: list[CertificateRecord],
                 refused: list[tuple[int, Refused]]) -> None:
        self.cmd, self.ca_name = cmd, ca_name
        self.issued, self.refused = issued, refused

    def run(self, request_ids: list[int]) -> None:
        with self.cmd.store.one_read(memo=True):  # one snapshot: the registry rows they share are read once
            items = [item for item in map(self._judge, request_ids) if item is not None]
        if not items:
            return
        self.cmd.runtime.seams.reached("batch-judged")
        try:  # one CA for all: they were judged in one snapshot
            with self.cmd.refusals_recorded(items[0].event):
                issuer = open_issuer(self.cmd, items[0].what.ca)  # before anything is reserved, as `cert issue`
        except Refused as exc:
            self.refused.append((items[0].request_id, exc))
            self._refuse(items[1:], exc)
            return
        try:
            items = self._prepare(issuer, items)
        except Duplicate:
            self._one_at_a_time(items)  # rolled back whole: nothing of it was claimed or reserved
            return
        try:
            self._sign(issuer, items)
            self._store([item for item in items if item.certificate is not None])
        except (HsmError, StoreError, AuthError) as exc:
            self._give_back([item for item in items if item.prepared is not None], exc)
            raise

    def _judge(self, request_id: int) -> _Item | None:
        """Steps 1 to 3 of `cert issue` for one request, recorded as its refusal if it is refused."""
        event = self.cmd.event("cert.issue", "request", str(request_id))
        try:
            with self.cmd.refusals_recorded(event):  # inside run()'s snapshot
                what, attributed = issue.judge_request(self.cmd, event, request_id, self.ca_name, issue.new_claimant())
        except Refused as exc:
            self.refused.append((request_id, exc))
            return None
        return _Item(what, attributed)

    def _prepare(self, issuer: Issuer, items: list[_Item]) -> list[_Item]:
        """Lint each (a refusal is its own), then claim the rest and reserve their serials in one transaction;
        Duplicate if that transaction failed as a whole. The items prepared, in order."""
        ca = items[0].what.ca.name

        def reserve_all(linted: list[tuple[int, str]]) -> None:
            if not linted:
                return
            with self.cmd.store.change_many("a batch of serial reservations") as tx:
                for index, serial in linted:
                    item = items[index]
                    tx.claim_request(item.request_id, item.what.claimant, stale=issue.stale_claimant(item.what.pending))
                    tx.reserve_serial(ca, serial, "end-entity", item.request_id)
                    tx.record(issue.reservation_record(item.event, ca, serial, "end-entity", item.request_id))
            self.cmd.runtime.seams.reached("serial-reserved")

        outcomes = issuer.prepare_many([issue.to_be_signed(self.cmd, issuer, item.what) for item in items], reserve_all)
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Prepared):
                item.prepared = outcome
            else:
                self._refuse([item], outcome)
        return [item for item in items if item.prepared is not None]

    def _sign(self, issuer: Issuer, items: list[_Item]) -> None:
        for item in items:
            assert item.prepared is not None
            try:
                with self.cmd.refusals_recorded(item.event, undo=item.undo()):
                    item.certificate = issuer.issue(item.prepared)
            except Refused as exc:
                self.refused.append((item.request_id, exc))
                item.prepared = None  # recorded: not given back again
                continue
            except (HsmError, AuthError):
                item.prepared = None  # recorded as this request's error: only the others are given back
                raise
            self.cmd.runtime.seams.reached("signed")

    def _store(self, items: list[_Item]) -> None:
        """Every signed certificate with its record, in one transaction that checks again, for each, what it relied
        on; one whose checks no longer hold is left out and refused. If the transaction fails as a whole, each
        is stored in a transaction of its own."""
        if not items:
            return
        left_out: list[tuple[_Item, Refused]] = []
        stored: list[CertificateRecord] = []
        try:
            with self.cmd.store.change_many("a batch of issued certificates") as tx:
                for org_id in sorted({item.what.org_id for item in items}):
                    tx.lock_organisation(org_id)
                for item in items:
                    assert item.certificate is not None and item.prepared is not None
                    try:
                        issue.recheck(self.cmd, tx.reader, item.what)  # reads only: a refusal leaves nothing to undo
                    except Refused as exc:
                        left_out.append((item, exc))
                        continue
                    stored.append(issue.write_issued(self.cmd, tx, item.what, item.certificate, item.prepared.serial))
                    tx.record(issue.issued_record(item.event, item.prepared.serial, item.certificate))
        except Duplicate:
            self._store_each(items)
            return
        for item in items:
            item.prepared = None  # stored or refused below: nothing left to give back
        self.issued.extend(stored)
        for item, exc in left_out:
            self._refuse([item], exc)

    def _store_each(self, items: list[_Item]) -> None:
        for item in items:
            assert item.certificate is not None and item.prepared is not None
            try:
                with self.cmd.refusals_recorded(item.event, undo=item.undo()):
                    self.issued.append(issue.store_issued(self.cmd, item.event, item.what, item.certificate,
                                                    item.prepared.serial))
            except Refused as exc:
                self.refused.append((item.request_id, exc))
            item.prepared = None

    def _one_at_a_time(self, items: list[_Item]) -> None:
        for item in items:
            try:
                self.issued.append(issue.issue_request(self.cmd, item.request_id, self.ca_name))
            except Refused as exc:
                self.refused.append((item.request_id, exc))

    def _refuse(self, items: list[_Item], exc: Refused) -> None:
        """Record each item's refusal (its claim given back), as `cert issue` records one."""
        for item in items:
            self.cmd.record_refusal(item.event, exc, item.undo())
            self.refused.append((item.request_id, exc))

    def _give_back(self, items: list[_Item], exc: HsmError | StoreError | AuthError) -> None:
        """The batch stopped (HSM or database): each request it had claimed and not yet stored or refused is
        recorded as not issued, and given back; its reserved serial stays reserved, unissued, explained by its
        record."""
        for item in items:
            self.cmd.record_refusal(item.event, exc, item.undo(), reason=f"the batch stopped: {exc.message}")
