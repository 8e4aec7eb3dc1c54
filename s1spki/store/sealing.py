"""Authenticators of what grants power: an HMAC made in the HSM over every audit record and every row of
the tables below, so that a database writer who cannot use the HSM cannot add, alter or replay any of it
unnoticed.

- An audit record's authenticator is the HMAC of its chain hash (which covers every field and the record
  before it), made when the record is written, in the same transaction.
- A protected row's authenticator (its *seal*) is the HMAC of the row's fields, its table and id, and
  `sealed_seq`: the audit record of the change that last wrote it. Every change reseals the rows it wrote,
  after its record is chained, in the same transaction.
- A seal can be replayed (an older version of a row put back with its older seal): a row is *fresh* only if
  no later successful audit record is about its object (`OBJECTS`), and every change that writes a row is
  about that row's object or reseals it.

The HMAC key never leaves the HSM; the store only calls an `Authenticator`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from s1spki.store import schema as t
from s1spki.values.canonical import canonical_json

RECORD_DOMAIN = b"s1spki audit record\x00"
ROW_DOMAIN = b"s1spki row\x00"


class Authenticator(Protocol):
    """Makes the HMAC-SHA256 of some bytes with the home's key in the HSM (hex)."""

    def mac(self, data: bytes) -> str: ...


def record_mac_input(record_hash: str) -> bytes:
    return RECORD_DOMAIN + record_hash.encode("ascii")


def _bytes(value: Any) -> Any:
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else value


def _columns(table: sa.Table) -> list[sa.Column]:  # type: ignore[type-arg]
    return [c for c in table.columns if c.name not in ("mac", "sealed_seq")]


def _plain(conn: Connection, table: sa.Table, row_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(*_columns(table)).where(table.c.id == row_id)).mappings().first()
    return None if row is None else {k: _bytes(v) for k, v in row.items()}


def _organisation(conn: Connection, row_id: int) -> dict[str, Any] | None:
    row = _plain(conn, t.organisations, row_id)
    if row is not None:  # the EUI-64s and roles an organisation holds are sealed with it
        row["eui64s"] = sorted(conn.execute(sa.select(t.org_entities.c.eui64)
                                            .where(t.org_entities.c.org_id == row_id)).scalars())
        row["roles"] = sorted(conn.execute(sa.select(t.org_roles.c.role).where(t.org_roles.c.org_id == row_id))
                              .scalars())
    return row


# Columns added after rows were first sealed (revision 0003): left out of a seal while NULL, so that the seals of
# rows written before them still verify; once set, they are sealed like every other column.
_LATER_COLUMNS = {"requests": ("kind", "expires_at", "secret_hash", "renews")}


def _request(conn: Connection, row_id: int) -> dict[str, Any] | None:
    row = _plain(conn, t.requests, row_id)
    if row is not None:
        for column in _LATER_COLUMNS["requests"]:
            if row[column] is None:
                del row[column]
    return row


def _officer(conn: Connection, row_id: int) -> dict[str, Any] | None:
    row = _plain(conn, t.officers, row_id)
    if row is not None:  # and an officer's verifications with the officer
        checks = conn.execute(sa.select(*_columns(t.officer_checks))
                              .where(t.officer_checks.c.officer_id == row_id)
                              .order_by(t.officer_checks.c.check)).mappings()
        row["checks"] = [dict(c) for c in checks]
    return row


# What a seal covers, per protected table.
FIELDS: Mapping[str, Callable[[Connection, int], dict[str, Any] | None]] = {
    "operators": lambda conn, i: _plain(conn, t.operators, i),
    "organisations": _organisation,
    "officers": _officer,
    "requests": _request,
    "approvals": lambda conn, i: _plain(conn, t.approvals, i),
    "cas": lambda conn, i: _plain(conn, t.cas, i),
    "revocations": lambda conn, i: _plain(conn, t.revocations, i),
}
TABLES: Mapping[str, sa.Table] = {name: t.metadata.tables[name] for name in FIELDS}


def _officer_object(conn: Connection, row_id: int) -> str | None:
    row = conn.execute(sa.select(t.organisations.c.name, t.officers.c.kind, t.officers.c.name.label("officer"))
                       .join(t.organisations, t.organisations.c.id == t.officers.c.org_id)
                       .where(t.officers.c.id == row_id)).first()
    return None if row is None else f"{row.name}/{row.kind}/{row.officer}"


def _named(table: sa.Table) -> Callable[[Connection, int], str | None]:
    return lambda conn, i: conn.execute(sa.select(table.c.name).where(table.c.id == i)).scalar()


# How the audit trail names the object a row belongs to, for the rows that change after they are made
# (approvals and revocations never change).
OBJECTS: Mapping[str, tuple[str, Callable[[Connection, int], str | None]]] = {
    "operators": ("operator", _named(t.operators)),
    "organisations": ("organisation", _named(t.organisations)),
    "officers": ("officer", _officer_object),
    "requests": ("request", lambda conn, i: str(i)),
    "cas": ("ca", _named(t.cas)),
}


def row_mac_input(table: str, row_id: int, sealed_seq: int, fields: Mapping[str, Any]) -> bytes:
    return ROW_DOMAIN + canonical_json({"table": table, "id": row_id, "sealed_seq": sealed_seq, "row": dict(fields)})


def seal(conn: Connection, authenticator: Authenticator, table: str, row_id: int, seq: int) -> None:
    """Write the seal of one row as it now stands, bound to audit record `seq`."""
    fields = FIELDS[table](conn, row_id)
    if fields is None:
        return
    mac = authenticator.mac(row_mac_input(table, row_id, seq, fields))
    conn.execute(TABLES[table].update().where(TABLES[table].c.id == row_id).values(mac=mac, sealed_seq=seq))


@dataclass(frozen=True)
class SealProblem:
    table: str
    row_id: int
    reason: str

    def line(self) -> str:
        return f"{self.table} row {self.row_id} {self.reason}"


def check(conn: Connection, authenticator: Authenticator, table: str, row_id: int) -> SealProblem | None:
    """Whether one row is as the last change wrote it: its seal verifies and no later change of its object
    was recorded (a replayed older version). None when it holds."""
    found = conn.execute(sa.select(TABLES[table].c.mac, TABLES[table].c.sealed_seq)
                         .where(TABLES[table].c.id == row_id)).first()
    if found is None:
        return SealProblem(table, row_id, "is missing")
    mac, sealed_seq = found
    fields = FIELDS[table](conn, row_id)
    if mac is None or sealed_seq is None or fields is None:
        return SealProblem(table, row_id, "has no authenticator: it was not written by s1spki")
    expected = authenticator.mac(row_mac_input(table, row_id, int(sealed_seq), fields))
    if not hmac.compare_digest(expected, str(mac)):
        return SealProblem(table, row_id, "does not match its authenticator: it was changed outside s1spki")
    if table in OBJECTS:
        object_type, name_of = OBJECTS[table]
        latest = conn.execute(sa.select(sa.func.max(t.audit.c.seq))
                              .where(t.audit.c.object_type == object_type, t.audit.c.object_id == name_of(conn, row_id),
                                     t.audit.c.outcome == "ok")).scalar()
        if latest is not None and int(latest) > int(sealed_seq):
            return SealProblem(table, row_id, f"is an older version than audit record {latest} left it: it was put "
                               "back outside s1spki")
    return None
