"""Reads: use-case queries returning value objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import schema as t
from .engine import translated_errors
from .records import CaRecord, CertificateRecord, OperatorRecord, OrgRecord, RequestRecord, SerialRecord


class StoreReader:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _rows(self, query: Any, what: str) -> list[Any]:
        with translated_errors(what), self._engine.connect() as conn:
            return list(conn.execute(query))

    # operators
    def operator(self, name: str) -> OperatorRecord | None:
        rows = self._rows(sa.select(t.operators).where(t.operators.c.name == name), "reading an operator")
        return _operator(rows[0]) if rows else None

    def operators(self) -> list[OperatorRecord]:
        query = sa.select(t.operators).order_by(t.operators.c.name)
        return [_operator(r) for r in self._rows(query, "listing operators")]

    # organisations
    def organisation(self, name: str) -> OrgRecord | None:
        with translated_errors("reading an organisation"), self._engine.connect() as conn:
            row = conn.execute(sa.select(t.organisations).where(t.organisations.c.name == name)).first()
            return _organisation(conn, row) if row else None

    def organisations(self) -> list[OrgRecord]:
        with translated_errors("listing organisations"), self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.organisations).order_by(t.organisations.c.name)).all()
            return [_organisation(conn, r) for r in rows]

    def owner_of(self, eui64: str) -> str | None:
        query = (sa.select(t.organisations.c.name)
                 .join(t.org_entities, t.org_entities.c.org_id == t.organisations.c.id)
                 .where(t.org_entities.c.eui64 == eui64))
        rows = self._rows(query, "looking up an EUI-64")
        return rows[0][0] if rows else None

    # requests
    def request(self, request_id: int) -> RequestRecord | None:
        rows = self._rows(_request_query().where(t.requests.c.id == request_id), "reading a request")
        return _request(rows[0]) if rows else None

    def requests(self, status: str | None = None) -> list[RequestRecord]:
        query = _request_query().order_by(t.requests.c.id)
        if status:
            query = query.where(t.requests.c.status == status)
        return [_request(r) for r in self._rows(query, "listing requests")]

    def pending_requests_for_key(self, key_sha256: str) -> list[int]:
        query = sa.select(t.requests.c.id).where(t.requests.c.key_sha256 == key_sha256,
                                                 t.requests.c.status == "submitted")
        return [r[0] for r in self._rows(query, "checking pending requests")]

    # certificates
    def key_certified(self, key_sha256: str) -> bool:
        query = sa.select(t.certificates.c.id).where(t.certificates.c.key_sha256 == key_sha256)
        return bool(self._rows(query, "checking a public key"))

    def certificate(self, cert_id: int) -> CertificateRecord | None:
        rows = self._rows(sa.select(t.certificates).where(t.certificates.c.id == cert_id), "reading a certificate")
        return _certificate(rows[0]) if rows else None

    def certificate_by_serial(self, serial: str, issuer_cn: str | None = None) -> list[CertificateRecord]:
        query = sa.select(t.certificates).where(t.certificates.c.serial == serial)
        if issuer_cn is not None:
            query = query.where(t.certificates.c.issuer_cn == issuer_cn)
        return [_certificate(r) for r in self._rows(query, "reading a certificate")]

    def certificates(self, kind: str | None = None, org: str | None = None) -> Iterator[CertificateRecord]:
        query = sa.select(t.certificates).order_by(t.certificates.c.id)
        if kind:
            query = query.where(t.certificates.c.kind == kind)
        if org:
            query = (query.join(t.requests, t.requests.c.id == t.certificates.c.request_id)
                     .join(t.organisations, t.organisations.c.id == t.requests.c.org_id)
                     .where(t.organisations.c.name == org))
        return (_certificate(r) for r in self._rows(query, "listing certificates"))

    # CAs
    def cas(self, kind: str | None = None) -> list[CaRecord]:
        query = (sa.select(t.cas, t.certificates)
                 .join(t.certificates, t.certificates.c.id == t.cas.c.certificate_id).order_by(t.cas.c.id))
        if kind:
            query = query.where(t.cas.c.kind == kind)
        return [_ca(r) for r in self._rows(query, "reading the CAs")]

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

    # audit
    def audit_records(self) -> list[dict[str, Any]]:
        rows = self._rows(sa.select(t.audit).order_by(t.audit.c.seq), "reading the audit trail")
        return [dict(r._mapping) for r in rows]

    def audit_count(self) -> int:
        return int(self._rows(sa.select(sa.func.count()).select_from(t.audit), "counting audit records")[0][0])


def _operator(row: Any) -> OperatorRecord:
    return OperatorRecord(row.name, row.role, bytes(row.public_key_der), row.key_sha256, row.status,
                          row.created_at, row.withdrawn_at)


def _organisation(conn: Connection, row: Any) -> OrgRecord:
    euis = conn.execute(sa.select(t.org_entities.c.eui64).where(t.org_entities.c.org_id == row.id)
                        .order_by(t.org_entities.c.eui64)).scalars().all()
    roles = conn.execute(sa.select(t.org_roles.c.role).where(t.org_roles.c.org_id == row.id)
                         .order_by(t.org_roles.c.role)).scalars().all()
    return OrgRecord(row.id, row.name, row.status, row.created_at, tuple(euis), tuple(roles))


def _request_query() -> Any:
    return sa.select(t.requests, t.organisations.c.name.label("org_name")).join(
        t.organisations, t.organisations.c.id == t.requests.c.org_id)


def _request(row: Any) -> RequestRecord:
    return RequestRecord(row.id, row.org_id, row.org_name, row.role, row.key_usage, row.eui64, row.common_name,
                         bytes(row.csr_der), row.key_sha256, row.status, row.submitted_by, row.submitted_at,
                         row.policy_hash, row.rapp_hash, row.certificate_id)


def _certificate(row: Any) -> CertificateRecord:
    m = row._mapping
    return CertificateRecord(m[t.certificates.c.id], m[t.certificates.c.kind],
                             m[t.certificates.c.issuer_cn], m[t.certificates.c.serial],
                             m[t.certificates.c.request_id], m[t.certificates.c.subject_cn],
                             m[t.certificates.c.eui64], m[t.certificates.c.role], m[t.certificates.c.key_usage],
                             m[t.certificates.c.key_sha256], m[t.certificates.c.not_before],
                             m[t.certificates.c.not_after], bytes(m[t.certificates.c.der]),
                             m[t.certificates.c.fingerprint], m[t.certificates.c.policy_hash],
                             m[t.certificates.c.issued_at], m[t.certificates.c.status])


def _ca(row: Any) -> CaRecord:
    m = row._mapping
    return CaRecord(m[t.cas.c.id], m[t.cas.c.kind], m[t.cas.c.name], m[t.cas.c.key_label], m[t.cas.c.token_label],
                    m[t.cas.c.token_serial], m[t.cas.c.created_at], _certificate(row))
