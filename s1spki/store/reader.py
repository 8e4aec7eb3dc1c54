"""Reads: use-case queries returning value objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from s1spki.errors import NotFound, UsageError
from s1spki.store import schema as t
from s1spki.store import sealing
from s1spki.store.engine import translated_errors
from s1spki.store.records import (
    ApprovalRecord,
    CaRecord,
    CertificateRecord,
    CheckRecord,
    CrlNumberRecord,
    CrlRecord,
    OfficerRecord,
    OperatorRecord,
    OrgRecord,
    RequestRecord,
    RevocationRecord,
    SerialRecord,
    Unlisted,
)

# Rows fetched at a time by the streamed listings: a listing of any length holds about this many in memory.
STREAM_BATCH = 2000
LONG_AGO = "1970-01-01T00:00:00.000000Z"  # the time of a revocation that is counted but not there
CHECKPOINT_BATCH = 16  # checkpoints fetched at a time, newest first (the first is nearly always the one sought)


@dataclass(frozen=True)
class CertificateQuery:
    """Which certificates a listing wants (every field optional), in id order."""

    kind: str | None = None
    org: str | None = None
    status: str | None = None  # valid | revoked
    expires_before: str | None = None  # UTC, as stored: not_after earlier than this
    serial: str | None = None  # the start of the serial, upper-case hex without colons
    limit: int | None = None


@dataclass(frozen=True)
class RequestQuery:
    """Which requests a listing wants (every field optional), in id order."""

    status: str | None = None
    org: str | None = None
    limit: int | None = None


def _by(column: Any, *more: Any) -> Any:
    """`column = :name` (and more) as bound parameters: a statement built once is compiled once (`_statement`)."""
    return sa.and_(*(c == sa.bindparam(c.name) for c in (column, *more)))


# The queries of the issuance path, built once per process with bound parameters: SQLAlchemy then reuses their
# compiled form without building the expression again (scripts/bench measures what a certificate costs).
@cache
def _statement(name: str) -> Any:
    nominator = t.officers.alias("nominator")
    return {
        "operator": lambda: (sa.select(t.operators, sealing.latest_column("operators"))
                             .where(_by(t.operators.c.name))),
        "organisation": lambda: (sa.select(t.organisations, sealing.latest_column("organisations"))
                                 .where(_by(t.organisations.c.name))),
        # an organisation's EUI-64s and roles in one statement, sorted by the caller (Python's order, not a collation's)
        "org_holdings": lambda: sa.union_all(
            sa.select(sa.literal_column("'eui64'").label("kind"), t.org_entities.c.eui64.label("value"))
            .where(t.org_entities.c.org_id == sa.bindparam("org")),
            sa.select(sa.literal_column("'role'").label("kind"), t.org_roles.c.role.label("value"))
            .where(t.org_roles.c.org_id == sa.bindparam("org"))),
        "officer": lambda: (sa.select(t.officers, t.organisations.c.name.label("org_name"),
                                      nominator.c.name.label("nominator"), sealing.latest_column("officers"))
                            .join(t.organisations, t.organisations.c.id == t.officers.c.org_id)
                            .outerjoin(nominator, nominator.c.id == t.officers.c.nominated_by)
                            .where(t.organisations.c.name == sa.bindparam("org_name"),
                                   t.officers.c.kind == sa.bindparam("kind"),
                                   t.officers.c.name == sa.bindparam("officer"))
                            .order_by(t.officers.c.id)),
        "approvals": lambda: (sa.select(t.approvals).where(_by(t.approvals.c.request_id))
                              .order_by(t.approvals.c.id)),
        # the seal version of every registry row an issuance relies on (StoreReader.registry_versions)
        "registry_versions": lambda: sa.union_all(*(
            sa.select(sa.literal_column(f"'{table.name}'").label("tbl"), table.c.id, table.c.sealed_seq).where(where)
            for table, where in (
                (t.organisations, t.organisations.c.id == sa.bindparam("org_id")),
                (t.officers, t.officers.c.id == sa.bindparam("aro_id")),
                (t.approvals, t.approvals.c.request_id == sa.bindparam("request_id")),
                (t.operators, t.operators.c.name.in_(
                    sa.select(t.approvals.c.operator).where(t.approvals.c.request_id == sa.bindparam("request_id"),
                                                            t.approvals.c.decision == "approve")))))),
        "request": lambda: (_request_query().add_columns(sealing.latest_column("requests"))
                            .where(t.requests.c.id == sa.bindparam("request_id"))),
        # where a public key is in use, in one statement: its certificate (a key is certified once), the requests
        # waiting with it
        "key_uses": lambda: sa.union_all(
            sa.select(sa.literal_column("'certificate'").label("kind"), t.certificates.c.id)
            .where(_by(t.certificates.c.key_sha256)),
            sa.select(sa.literal_column("'request'").label("kind"), t.requests.c.id).where(
                _by(t.requests.c.key_sha256), t.requests.c.status.in_(("submitted", "issuing")))),
        "key_certified": lambda: sa.select(t.certificates.c.id).where(_by(t.certificates.c.key_sha256)).limit(1),
        "certificate": lambda: sa.select(t.certificates).where(_by(t.certificates.c.id)),
        "cas": lambda: (sa.select(t.cas, t.certificates, sealing.latest_column("cas"))
                        .join(t.certificates, t.certificates.c.id == t.cas.c.certificate_id).order_by(t.cas.c.id)),
        "cas_of_kind": lambda: (sa.select(t.cas, t.certificates, sealing.latest_column("cas"))
                                .join(t.certificates, t.certificates.c.id == t.cas.c.certificate_id)
                                .where(t.cas.c.kind == sa.bindparam("kind")).order_by(t.cas.c.id)),
    }[name]()


class StoreReader:
    """Reads over the engine (each in a connection of its own), or inside one transaction (`ChangeTx.reader`).

    With `sealed` (a read transaction whose seal checks may rely on its reads, `Store.one_read`), each protected
    row read for a record is kept there as its seal check sees it (sealing.SealedRow, by table and id): the check
    verifies the very row the record was made from, without reading it again."""

    def __init__(self, source: Engine | Connection,
                 sealed: dict[tuple[str, int], sealing.SealedRow] | None = None) -> None:
        self._source = source
        self.sealed = sealed

    def _keep(self, table: str, row: Any, related: dict[str, Any] | None = None) -> None:
        if self.sealed is not None:
            kept = sealing.row_as_read(table, row._mapping, related)
            self.sealed[(table, kept.fields["id"])] = kept

    def _connect(self) -> AbstractContextManager[Connection]:
        if isinstance(self._source, Connection):
            return nullcontext(self._source)
        return self._source.connect()

    def _rows(self, query: Any, what: str, parameters: dict[str, Any] | None = None) -> list[Any]:
        with translated_errors(what), self._connect() as conn:
            return list(conn.execute(query, parameters))

    def _stream(self, query: Any, what: str) -> Iterator[Any]:
        """The rows of `query`, fetched STREAM_BATCH at a time while the caller consumes them."""
        with translated_errors(what), self._connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(query)
            for partition in result.partitions():
                yield from partition

    # operators
    def operator(self, name: str) -> OperatorRecord | None:
        rows = self._rows(_statement("operator"), "reading an operator", {"name": name})
        if not rows:
            return None
        self._keep("operators", rows[0])
        return _operator(rows[0])

    def operators(self) -> list[OperatorRecord]:
        query = sa.select(t.operators).order_by(t.operators.c.name)
        return [_operator(r) for r in self._rows(query, "listing operators")]

    # organisations
    def organisation(self, name: str) -> OrgRecord | None:
        with translated_errors("reading an organisation"), self._connect() as conn:
            row = conn.execute(_statement("organisation"), {"name": name}).first()
            if row is None:
                return None
            org = _organisation(conn, row)
        self._keep("organisations", row, {"eui64s": sorted(org.eui64s), "roles": sorted(org.roles)})
        return org

    def organisations(self) -> list[OrgRecord]:
        with translated_errors("listing organisations"), self._connect() as conn:
            rows = conn.execute(sa.select(t.organisations).order_by(t.organisations.c.name)).all()
            return [_organisation(conn, r) for r in rows]

    def owner_of(self, eui64: str) -> str | None:
        query = (sa.select(t.organisations.c.name)
                 .join(t.org_entities, t.org_entities.c.org_id == t.organisations.c.id)
                 .where(t.org_entities.c.eui64 == eui64))
        rows = self._rows(query, "looking up an EUI-64")
        return rows[0][0] if rows else None

    # officers (SROs and AROs)
    def officers(self, org_name: str | None = None, kind: str | None = None) -> list[OfficerRecord]:
        where = sa.true()
        if org_name is not None:
            where = sa.and_(where, t.organisations.c.name == org_name)
        if kind is not None:
            where = sa.and_(where, t.officers.c.kind == kind)
        with translated_errors("reading officers"), self._connect() as conn:
            return _officers(conn, where)

    def officer(self, org_name: str, kind: str, name: str) -> OfficerRecord | None:
        """One officer, looked up by name (not by reading every officer of the organisation)."""
        with translated_errors("reading an officer"), self._connect() as conn:
            found = _officer_records(conn, conn.execute(_statement("officer"),
                                                        {"org_name": org_name, "kind": kind, "officer": name}),
                                     self._keep)
        return found[0] if found else None

    # approvals
    def approvals(self, request_id: int) -> list[ApprovalRecord]:
        rows = self._rows(_statement("approvals"), "reading approvals", {"request_id": request_id})
        for row in rows:
            self._keep("approvals", row)
        return [ApprovalRecord(r.request_id, r.operator, tuple(r.roles.split()), r.decision, json.loads(r.statement),
                               r.at, r.id) for r in rows]

    def registry_versions(self, org_id: int, aro_id: int | None,
                          request_id: int) -> frozenset[tuple[str, int, int | None]]:
        """(table, id, seal version) of the registry rows an issuance of `request_id` relies on: its organisation,
        its ARO, every decision on it and the operators who approved it. Every write s1spki makes reseals its row
        with the seq of its own record, so the same set read twice means none of them was written in between
        (a decision added or removed changes the set too)."""
        rows = self._rows(_statement("registry_versions"), "reading the registry's versions",
                          {"org_id": org_id, "aro_id": -1 if aro_id is None else aro_id, "request_id": request_id})
        return frozenset((r[0], r[1], r[2]) for r in rows)

    # requests
    def request(self, request_id: int) -> RequestRecord | None:
        rows = self._rows(_statement("request"), "reading a request", {"request_id": request_id})
        if not rows:
            return None
        self._keep("requests", rows[0])
        return _request(rows[0])

    def requests(self, status: str | None = None) -> list[RequestRecord]:
        query = _request_query().order_by(t.requests.c.id)
        if status:
            query = query.where(t.requests.c.status == status)
        return [_request(r) for r in self._rows(query, "listing requests")]

    def iter_requests(self, query: RequestQuery = RequestQuery()) -> Iterator[RequestRecord]:
        """Requests in id order, streamed (a listing of any length in little memory)."""
        select = _request_query().order_by(t.requests.c.id)
        if query.status:
            select = select.where(t.requests.c.status == query.status)
        if query.org:
            select = select.where(t.organisations.c.name == query.org)
        if query.limit is not None:
            select = select.limit(query.limit)
        return (_request(r) for r in self._stream(select, "listing requests"))

    def key_uses(self, key_sha256: str) -> tuple[bool, list[int]]:
        """Whether a certificate of this public key exists, and the requests waiting with it (submitted or being
        issued), in id order."""
        rows = self._rows(_statement("key_uses"), "checking a public key", {"key_sha256": key_sha256})
        return any(r[0] == "certificate" for r in rows), sorted(r[1] for r in rows if r[0] == "request")

    # certificates
    def key_certified(self, key_sha256: str) -> bool:
        return bool(self._rows(_statement("key_certified"), "checking a public key", {"key_sha256": key_sha256}))

    def certificate(self, cert_id: int) -> CertificateRecord | None:
        rows = self._rows(_statement("certificate"), "reading a certificate", {"id": cert_id})
        return certificate_record(rows[0]) if rows else None

    def certificate_by_fingerprint(self, fingerprint: str) -> CertificateRecord | None:
        """The certificate whose DER has this SHA-256 (hex), e.g. the one a TLS client presented."""
        rows = self._rows(sa.select(t.certificates).where(t.certificates.c.fingerprint == fingerprint),
                          "reading a certificate")
        return certificate_record(rows[0]) if rows else None

    def valid_certificates_of(self, eui64: str, key_usage: str) -> list[CertificateRecord]:
        """The valid end-entity certificates for an EUI-64 and key usage, oldest first."""
        query = (sa.select(t.certificates).where(t.certificates.c.eui64 == eui64, t.certificates.c.kind == "end-entity",
                                                 t.certificates.c.key_usage == key_usage,
                                                 t.certificates.c.status == "valid").order_by(t.certificates.c.id))
        return [certificate_record(r) for r in self._rows(query, "reading certificates")]

    def certificate_by_serial(self, serial: str, issuer_cn: str | None = None) -> list[CertificateRecord]:
        query = sa.select(t.certificates).where(t.certificates.c.serial == serial)
        if issuer_cn is not None:
            query = query.where(t.certificates.c.issuer_cn == issuer_cn)
        return [certificate_record(r) for r in self._rows(query, "reading a certificate")]

    def one_certificate_by_serial(self, serial: str, issuer_cn: str | None) -> CertificateRecord:
        """The certificate with this serial (hex, colons allowed), from `issuer_cn` when two CAs used it."""
        serial = serial.upper().replace(":", "")
        found = self.certificate_by_serial(serial, issuer_cn)
        if not found:
            raise NotFound(f"no certificate with serial {serial}" + (f" from {issuer_cn}" if issuer_cn else "") +
                           ": see `s1spki cert list`")
        if len(found) > 1:
            raise UsageError(f"serial {serial} was issued by several CAs: give --issuer")
        return found[0]

    def certificates(self, kind: str | None = None, org: str | None = None) -> Iterator[CertificateRecord]:
        query = sa.select(t.certificates).order_by(t.certificates.c.id)
        if kind:
            query = query.where(t.certificates.c.kind == kind)
        if org:
            query = (query.join(t.requests, t.requests.c.id == t.certificates.c.request_id)
                     .join(t.organisations, t.organisations.c.id == t.requests.c.org_id)
                     .where(t.organisations.c.name == org))
        return (certificate_record(r) for r in self._rows(query, "listing certificates"))

    def iter_certificates(self, query: CertificateQuery = CertificateQuery()) -> Iterator[CertificateRecord]:
        """Certificates in id order, streamed (a listing of any length in little memory)."""
        select = sa.select(t.certificates).order_by(t.certificates.c.id)
        if query.kind:
            select = select.where(t.certificates.c.kind == query.kind)
        if query.status:
            select = select.where(t.certificates.c.status == query.status)
        if query.expires_before:
            select = select.where(t.certificates.c.not_after < query.expires_before)
        if query.serial:
            if any(c not in "0123456789ABCDEF" for c in query.serial):
                raise UsageError(f"a serial is hexadecimal, not {query.serial!r}")
            select = select.where(t.certificates.c.serial.startswith(query.serial))
        if query.org:
            select = (select.join(t.requests, t.requests.c.id == t.certificates.c.request_id)
                      .join(t.organisations, t.organisations.c.id == t.requests.c.org_id)
                      .where(t.organisations.c.name == query.org))
        if query.limit is not None:
            select = select.limit(query.limit)
        return (_listed_certificate(r) for r in self._stream(select, "listing certificates"))

    # CAs
    def cas(self, kind: str | None = None) -> list[CaRecord]:
        if kind:
            rows = self._rows(_statement("cas_of_kind"), "reading the CAs", {"kind": kind})
        else:
            rows = self._rows(_statement("cas"), "reading the CAs")
        for row in rows:
            self._keep("cas", row)
        return [_ca(r) for r in rows]

    def ca(self, name: str) -> CaRecord | None:
        found = [c for c in self.cas() if c.name == name]
        return found[0] if found else None

    # serial reservations
    def serials(self, status: str | None = None) -> list[SerialRecord]:
        exists = (sa.select(t.certificates.c.id)
                  .where(t.certificates.c.issuer_cn == t.serials.c.issuer_cn,
                         t.certificates.c.serial == t.serials.c.serial).exists())
        query = sa.select(t.serials, exists.label("issued")).order_by(t.serials.c.id)
        if status:
            query = query.where(t.serials.c.status == status)
        return [SerialRecord(r.issuer_cn, r.serial, r.status, r.purpose, r.request_id, r.reserved_at, bool(r.issued))
                for r in self._rows(query, "listing serial reservations")]

    def iter_serials(self, limit: int | None = None) -> Iterator[SerialRecord]:
        """Serial reservations in id order, each saying whether its certificate exists, streamed."""
        exists = (sa.select(t.certificates.c.id)
                  .where(t.certificates.c.issuer_cn == t.serials.c.issuer_cn,
                         t.certificates.c.serial == t.serials.c.serial).exists())
        select = sa.select(t.serials, exists.label("issued")).order_by(t.serials.c.id)
        if limit is not None:
            select = select.limit(limit)
        return (SerialRecord(r.issuer_cn, r.serial, r.status, r.purpose, r.request_id, r.reserved_at, bool(r.issued))
                for r in self._stream(select, "listing serial reservations"))

    # audit
    def audit_records(self) -> list[dict[str, Any]]:
        rows = self._rows(sa.select(t.audit).order_by(t.audit.c.seq), "reading the audit trail")
        return [dict(r._mapping) for r in rows]

    def audit_count(self) -> int:
        return int(self._rows(sa.select(sa.func.count()).select_from(t.audit), "counting audit records")[0][0])

    # --- audit trail (s1spki.audit): the chain head, checkpoints, audit keys, a consistent snapshot ---

    def audit_head(self) -> tuple[int, str]:
        row = self._rows(sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1),
                         "reading the audit chain head")
        return (int(row[0][0]), row[0][1]) if row else (0, "")

    def audit_hash_of(self, seq: int) -> str | None:
        rows = self._rows(sa.select(t.audit.c.hash).where(t.audit.c.seq == seq), "reading an audit record")
        return rows[0][0] if rows else None

    def nodes(self) -> list[dict[str, Any]]:
        """The nodes sharing this store (node_id, checkpoints_file, joined_at), in the order they joined."""
        query = sa.select(t.nodes).order_by(t.nodes.c.joined_at, t.nodes.c.node_id)
        return [dict(r._mapping) for r in self._rows(query, "listing the nodes")]

    def audit_rows_with_mac(self, first: int, last: int) -> list[Any]:
        """Records first..last as rows in audit.chain.COLUMNS order with the authenticator last."""
        columns = [*(t.audit.c[name] for name in AuditSnapshot.COLUMNS), t.audit.c.mac]
        query = sa.select(*columns).where(t.audit.c.seq.between(first, last)).order_by(t.audit.c.seq)
        return [tuple(r) for r in self._rows(query, "reading audit records")]

    def audit_rows_of_events(self, events: tuple[str, ...], about: tuple[str, str] | None = None
                             ) -> list[tuple[int, str, str | None, str]]:
        """(seq, event, object_id, details) of the successful records of these events (with `about`, only those
        about that object: its type and id), oldest first."""
        query = (sa.select(t.audit.c.seq, t.audit.c.event, t.audit.c.object_id, t.audit.c.details)
                 .where(t.audit.c.event.in_(events), t.audit.c.outcome == "ok").order_by(t.audit.c.seq))
        if about is not None:
            query = query.where(t.audit.c.object_type == about[0], t.audit.c.object_id == about[1])
        return [tuple(r) for r in self._rows(query, "reading audit records")]  # type: ignore[misc]

    def protected_ids(self, table: str, pending_only: bool = False) -> list[int]:
        """Ids of a protected table's rows (store/sealing.py); with `pending_only`, those that grant power now."""
        source = t.metadata.tables[table]
        query = sa.select(source.c.id).order_by(source.c.id)
        if pending_only and table == "requests":
            query = query.where(source.c.status.in_(("submitted", "issuing")))
        elif pending_only and "status" in source.c:
            query = query.where(source.c.status != "withdrawn")
        return [r[0] for r in self._rows(query, f"listing {table}")]

    def checkpoint_rows_newest_first(self) -> Iterator[dict[str, Any]]:
        """The checkpoints, the newest (highest seq) first, fetched a few at a time: the checkpointer looks for the
        newest valid one, which is nearly always the first, among as many as the trail has had commands."""
        query = (sa.select(t.audit_checkpoints)
                 .order_by(t.audit_checkpoints.c.seq.desc(), t.audit_checkpoints.c.id)
                 .limit(CHECKPOINT_BATCH).offset(sa.bindparam("skip")))
        skip = 0
        while True:  # a page at a time, each a query of its own: nothing is held open between them
            page = self._rows(query, "reading audit checkpoints", {"skip": skip})
            yield from (dict(row._mapping) for row in page)
            if len(page) < CHECKPOINT_BATCH:
                return
            skip += CHECKPOINT_BATCH

    def last_checkpoint_seq(self) -> int:
        rows = self._rows(sa.select(sa.func.max(t.audit_checkpoints.c.seq)), "reading the last audit checkpoint")
        return int(rows[0][0] or 0)

    def audit_signers(self) -> list[dict[str, Any]]:
        rows = self._rows(sa.select(t.audit_signers).order_by(t.audit_signers.c.id), "reading the audit keys")
        return [dict(r._mapping) for r in rows]

    def audit_seq_range(self, start_at: str | None, end_at: str | None) -> tuple[int, int] | None:
        """The first record at or after `start_at` and the last at or before `end_at` (UTC ISO strings)."""
        first = sa.select(sa.func.min(t.audit.c.seq))
        last = sa.select(sa.func.max(t.audit.c.seq))
        if start_at:
            first = first.where(t.audit.c.at >= start_at)
        if end_at:
            last = last.where(t.audit.c.at <= end_at)
        with translated_errors("finding a period of the audit trail"), self._connect() as conn:
            low, high = conn.execute(first).scalar(), conn.execute(last).scalar()
        return None if low is None or high is None or low > high else (int(low), int(high))

    @contextmanager
    def audit_snapshot(self) -> Iterator[AuditSnapshot]:
        """Head, checkpoints and records read in one transaction, so they agree with each other."""
        with translated_errors("reading the audit trail"), self._connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            yield AuditSnapshot(conn)

    # --- revocation, CRLs and ARLs (revocation.py, crl.py, repository.py) ---

    def revocation(self, certificate_id: int) -> RevocationRecord | None:
        query = sa.select(t.revocations).where(t.revocations.c.certificate_id == certificate_id)
        rows = self._rows(query, "reading a revocation")
        return _revocation(rows[0]) if rows else None

    def revocations(self, issuer_cn: str | None = None) -> list[RevocationRecord]:
        query = sa.select(t.revocations).order_by(t.revocations.c.id)
        if issuer_cn is not None:
            query = query.where(t.revocations.c.issuer_cn == issuer_cn)
        return [_revocation(r) for r in self._rows(query, "listing revocations")]

    def revoked_entries(self, issuer_cn: str) -> Iterator[bytes]:
        """The CRL entries of the certificates `issuer_cn` issued and that are revoked, oldest first, streamed."""
        query = (sa.select(t.revocations.c.entry_der).where(t.revocations.c.issuer_cn == issuer_cn)
                 .order_by(t.revocations.c.id))
        with translated_errors("reading revoked certificates"), self._connect() as conn:
            for (entry,) in conn.execution_options(stream_results=True, yield_per=50_000).execute(query):
                yield entry

    def revocations_counted(self, issuer_cn: str) -> int | None:
        """How many revocations of `issuer_cn`'s certificates the revocations themselves counted (revocation_counts);
        None where the store keeps no count for it."""
        rows = self._rows(sa.select(t.revocation_counts.c.revoked).where(t.revocation_counts.c.ca == issuer_cn),
                          "reading the revocation count")
        return int(rows[0][0]) if rows else None

    def first_revoked_entry_per_reason(self, issuer_cn: str) -> list[bytes]:
        """For each reason among the certificates `issuer_cn` revoked, the CRL entry of the first."""
        first = (sa.select(sa.func.min(t.revocations.c.id)).where(t.revocations.c.issuer_cn == issuer_cn)
                 .group_by(t.revocations.c.reason))
        query = sa.select(t.revocations.c.entry_der).where(t.revocations.c.id.in_(first)).order_by(t.revocations.c.id)
        return [bytes(r[0]) for r in self._rows(query, "reading revoked certificates")]

    def last_crl_number(self, ca: str) -> int:
        """The highest cRLNumber `ca` reserved or issued; 0 before its first."""
        query = sa.select(sa.func.max(t.crls.c.crl_number)).where(t.crls.c.ca == ca)
        return int(self._rows(query, "reading CRL numbers")[0][0] or 0)

    def crl(self, ca: str, number: int | None = None) -> CrlRecord | None:
        """The issued CRL or ARL `number` of `ca`; without a number, its current (highest-numbered) one."""
        query = (sa.select(t.crls).where(t.crls.c.ca == ca, t.crls.c.status == "issued")
                 .order_by(t.crls.c.crl_number.desc()).limit(1))
        if number is not None:
            query = query.where(t.crls.c.crl_number == number)
        rows = self._rows(query, "reading a CRL")
        return _crl(rows[0]) if rows else None

    def crls(self, ca: str | None = None) -> list[CrlRecord]:
        """Every issued CRL and ARL (of `ca`), in the order they were issued; only current ones carry `der`."""
        query = sa.select(t.crls).where(t.crls.c.status == "issued").order_by(t.crls.c.issued_at, t.crls.c.id)
        if ca is not None:
            query = query.where(t.crls.c.ca == ca)
        return [_crl(r) for r in self._rows(query, "listing CRLs")]

    def crl_numbers(self, ca: str | None = None) -> list[CrlNumberRecord]:
        """Every cRLNumber reserved (of `ca`), issued or not, by CA and number."""
        c = t.crls.c
        query = (sa.select(c.ca, c.kind, c.crl_number, c.status, c.reserved_at, c.issued_at)
                 .order_by(c.ca, c.crl_number))
        if ca is not None:
            query = query.where(c.ca == ca)
        return [CrlNumberRecord(r.ca, r.kind, int(r.crl_number), r.status, r.reserved_at, r.issued_at)
                for r in self._rows(query, "listing cRLNumber reservations")]

    def unlisted(self) -> list[Unlisted]:
        """The CAs with revocations on no CRL or ARL yet. A CA's every CRL lists all its revocations (none is ever
        taken back), so those beyond the entry count of its current one are on none."""
        # the count kept by each revocation (one row); a count over the revocations where that row is missing
        counted = (sa.select(t.revocation_counts.c.revoked).where(t.revocation_counts.c.ca == t.cas.c.name)
                   .scalar_subquery())
        revoked = sa.func.coalesce(counted, sa.select(sa.func.count()).select_from(t.revocations)
                                   .where(t.revocations.c.issuer_cn == t.cas.c.name).scalar_subquery())
        listed = (sa.select(t.crls.c.entries).where(t.crls.c.ca == t.cas.c.name, t.crls.c.status == "issued")
                  .order_by(t.crls.c.crl_number.desc()).limit(1).scalar_subquery())
        query = (sa.select(t.cas.c.name, t.cas.c.kind, t.certificates.c.status, revoked.label("revoked"),
                           sa.func.coalesce(listed, 0).label("listed"))
                 .join(t.certificates, t.certificates.c.id == t.cas.c.certificate_id).order_by(t.cas.c.id))
        gaps = [(r.name, r.kind, r.status, int(r.revoked) - int(r.listed))
                for r in self._rows(query, "counting revocations on no CRL") if int(r.revoked) > int(r.listed)]
        return [Unlisted(name, kind, status, missing, self._oldest_unlisted(name, missing))
                for name, kind, status, missing in gaps]

    def _oldest_unlisted(self, issuer_cn: str, missing: int) -> str:
        latest = self.latest_revocations(issuer_cn, missing)
        # none there: rows counted by their revocations are gone (the next CRL is refused for it, ra/crl.py), so
        # the gap is told at once, as one left behind
        return latest[-1].revoked_at if latest else LONG_AGO

    def latest_revocations(self, issuer_cn: str, count: int) -> list[RevocationRecord]:
        """The `count` latest revocations of certificates `issuer_cn` issued, newest first."""
        query = (sa.select(t.revocations).where(t.revocations.c.issuer_cn == issuer_cn)
                 .order_by(t.revocations.c.id.desc()).limit(count))
        return [_revocation(r) for r in self._rows(query, "listing revocations")]




class SnapshotReader(StoreReader):
    """Reads inside one read transaction that many checks share (`Store.one_read(memo=True)`, a batch of
    issuances): the registry rows every one of them reads (operators, organisations, officers, CAs) are read once
    for the block. The checks that decide where a certificate is stored read afresh (`ChangeTx.reader`)."""

    def __init__(self, conn: Connection, sealed: dict[tuple[str, int], sealing.SealedRow] | None = None) -> None:
        super().__init__(conn, sealed)
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _once(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = read()
        return self._memo[key]

    def operator(self, name: str) -> OperatorRecord | None:
        return self._once(("operator", name), lambda: StoreReader.operator(self, name))  # type: ignore[no-any-return]

    def organisation(self, name: str) -> OrgRecord | None:
        return self._once(("organisation", name),  # type: ignore[no-any-return]
                          lambda: StoreReader.organisation(self, name))

    def officer(self, org_name: str, kind: str, name: str) -> OfficerRecord | None:
        return self._once(("officer", org_name, kind, name),  # type: ignore[no-any-return]
                          lambda: StoreReader.officer(self, org_name, kind, name))

    def cas(self, kind: str | None = None) -> list[CaRecord]:
        return list(self._once(("cas", kind), lambda: StoreReader.cas(self, kind)))


class AuditSnapshot:
    """Reads of the audit trail inside one transaction (see `StoreReader.audit_snapshot`)."""

    COLUMNS = ("seq", "prev_hash", "hash", "at", "actor", "actor_role", "event", "object_type", "object_id",
               "outcome", "correlation_id", "policy_hash", "rapp_hash", "details", "statements", "node_id")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def head(self) -> tuple[int, str]:
        row = self._conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)
                                 .where(t.audit_head.c.id == 1)).first()
        return (int(row[0]), row[1]) if row else (0, "")

    def checkpoints(self) -> list[dict[str, Any]]:
        query = sa.select(t.audit_checkpoints).order_by(t.audit_checkpoints.c.seq, t.audit_checkpoints.c.id)
        return [dict(r._mapping) for r in self._conn.execute(query)]

    def signers(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self._conn.execute(sa.select(t.audit_signers).order_by(t.audit_signers.c.id))]

    def hash_of(self, seq: int) -> str | None:
        return self._conn.execute(sa.select(t.audit.c.hash).where(t.audit.c.seq == seq)).scalar()

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    @property
    def database(self) -> str | None:
        """The SQLite database file (for readers of their own), or None."""
        name = self._conn.engine.url.database
        return name if self.dialect == "sqlite" and name and name != ":memory:" else None

    def seq_span(self) -> tuple[int, int] | None:
        low, high = self._conn.execute(sa.select(sa.func.min(t.audit.c.seq), sa.func.max(t.audit.c.seq))).one()
        return None if low is None else (int(low), int(high))

    def row(self, seq: int) -> Any:
        """One audit row (COLUMNS order), or None."""
        return self._conn.execute(sa.select(*(t.audit.c[name] for name in self.COLUMNS))
                                  .where(t.audit.c.seq == seq)).first()

    def rows(self, first: int | None = None, last: int | None = None, batch: int = 10000) -> Iterator[Any]:
        """Audit rows in seq order as tuples in COLUMNS order (streamed)."""
        query = sa.select(*(t.audit.c[name] for name in self.COLUMNS)).order_by(t.audit.c.seq)
        if first is not None:
            query = query.where(t.audit.c.seq >= first)
        if last is not None:
            query = query.where(t.audit.c.seq <= last)
        return self.stream(query, batch)

    def stream(self, query: Any, batch: int = 10000) -> Iterator[Any]:
        """Any query over the audit tables, its rows streamed (s1spki.audit builds fast ones)."""
        result = self._conn.execution_options(yield_per=batch).execute(query)
        for partition in result.partitions():
            yield from partition


def _operator(row: Any) -> OperatorRecord:
    return OperatorRecord(row.name, tuple(row.roles.split()), bytes(row.public_key_der), row.key_sha256, row.status,
                          row.created_at, row.withdrawn_at, row.id)


def _organisation(conn: Connection, row: Any) -> OrgRecord:
    holdings = conn.execute(_statement("org_holdings"), {"org": row.id}).all()
    euis = sorted(value for kind, value in holdings if kind == "eui64")
    roles = sorted(value for kind, value in holdings if kind == "role")
    return OrgRecord(row.id, row.name, row.status, row.created_at, tuple(euis), tuple(roles))


def _request_query() -> Any:
    return (sa.select(t.requests, t.organisations.c.name.label("org_name"), t.officers.c.name.label("aro_name"))
            .join(t.organisations, t.organisations.c.id == t.requests.c.org_id)
            .outerjoin(t.officers, t.officers.c.id == t.requests.c.aro_id))


def _request(row: Any) -> RequestRecord:
    return RequestRecord(row.id, row.org_id, row.org_name, row.role, row.key_usage, row.eui64, row.common_name,
                         None if row.csr_der is None else bytes(row.csr_der), row.key_sha256, row.status,
                         row.submitted_by, row.submitted_at, row.policy_hash, row.rapp_hash, row.certificate_id,
                         row.aro_name, json.loads(row.rule), row.digest, row.claimed_by, row.claimed_at, row.kind,
                         row.expires_at, row.secret_hash, row.renews)


def _officers(conn: Connection, where: Any) -> list[OfficerRecord]:
    nominator = t.officers.alias("nominator")
    query = (sa.select(t.officers, t.organisations.c.name.label("org_name"), nominator.c.name.label("nominator"))
             .join(t.organisations, t.organisations.c.id == t.officers.c.org_id)
             .outerjoin(nominator, nominator.c.id == t.officers.c.nominated_by)
             .where(where).order_by(t.officers.c.id))
    return _officer_records(conn, conn.execute(query))


def _officer_records(conn: Connection, rows: Any,
                     keep: Callable[[str, Any, dict[str, Any]], None] | None = None) -> list[OfficerRecord]:
    """Officers with their verifications (in the order they were recorded); each row given to `keep` with its
    verifications as its seal covers them."""
    result = []
    for row in rows.all():
        m = row._mapping
        sealed_checks = sealing.officer_checks(conn.execute(sealing.officer_checks_query(), {"id": m[t.officers.c.id]}))
        if keep is not None:
            keep("officers", row, {"checks": sealed_checks})
        checks = sorted(sealed_checks, key=lambda c: c["id"])
        result.append(OfficerRecord(m[t.officers.c.id], m[t.officers.c.org_id], m["org_name"], m[t.officers.c.kind],
                                    m[t.officers.c.name], m[t.officers.c.status], m["nominator"],
                                    m[t.officers.c.created_at], m[t.officers.c.withdrawn_at],
                                    tuple(CheckRecord(c["check"], c["evidence"], c["checked_by"], c["checked_at"])
                                          for c in checks)))
    return result


def certificate_record(row: Any) -> CertificateRecord:
    """A `certificates` row (selected, or returned by the INSERT that stored it) as its record."""
    m = row._mapping
    return CertificateRecord(m[t.certificates.c.id], m[t.certificates.c.kind],
                             m[t.certificates.c.issuer_cn], m[t.certificates.c.serial],
                             m[t.certificates.c.request_id], m[t.certificates.c.subject_cn],
                             m[t.certificates.c.eui64], m[t.certificates.c.role], m[t.certificates.c.key_usage],
                             m[t.certificates.c.key_sha256], m[t.certificates.c.not_before],
                             m[t.certificates.c.not_after], bytes(m[t.certificates.c.der]),
                             m[t.certificates.c.fingerprint], m[t.certificates.c.policy_hash],
                             m[t.certificates.c.issued_at], m[t.certificates.c.status])


# CertificateRecord's fields, in order, as positions in a row of `select(t.certificates)` (a listing turns rows
# into records by position: looking each column up by name costs more than the rest of the listing)
_CERTIFICATE_FIELDS = ("id", "kind", "issuer_cn", "serial", "request_id", "subject_cn", "eui64", "role", "key_usage",
                       "key_sha256", "not_before", "not_after", "der", "fingerprint", "policy_hash", "issued_at",
                       "status")
_CERTIFICATE_AT = tuple(list(t.certificates.columns.keys()).index(name) for name in _CERTIFICATE_FIELDS)
_DER_AT = _CERTIFICATE_FIELDS.index("der")


def _listed_certificate(row: Any) -> CertificateRecord:
    values = [row[i] for i in _CERTIFICATE_AT]
    values[_DER_AT] = bytes(values[_DER_AT])
    return CertificateRecord(*values)


def _ca(row: Any) -> CaRecord:
    m = row._mapping
    return CaRecord(m[t.cas.c.id], m[t.cas.c.kind], m[t.cas.c.name], m[t.cas.c.key_label], m[t.cas.c.token_label],
                    m[t.cas.c.token_serial], m[t.cas.c.created_at], certificate_record(row))


def _revocation(row: Any) -> RevocationRecord:
    return RevocationRecord(row.certificate_id, row.issuer_cn, row.serial, row.reason, row.revoked_at,
                            row.requested_by, row.revoked_by)


def _crl(row: Any) -> CrlRecord:
    return CrlRecord(row.ca, row.kind, int(row.crl_number), row.this_update, row.next_update, row.entries, row.sha256,
                     row.issued_at, bytes(row.der) if row.der is not None else None)
