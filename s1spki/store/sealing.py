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
from functools import cache
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

    # the HMAC the HSM gave for these bytes before in this process, if it is kept (for checks only)
    def given(self, data: bytes) -> str | None: ...


class RememberedMacs:
    """The HMACs checks compare with: the HSM's own answer for the exact bytes when its session gave one lately
    (`Authenticator.given`: an HMAC is a function of its key and bytes, so a row unchanged since it was checked or
    sealed is checked without asking again, and a row changed in any byte is a new question), else a new answer.
    Only checks use it; every seal and record authenticator written is made by the HSM."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def mac(self, data: bytes) -> str:
        return self.authenticator.given(data) or self.authenticator.mac(data)


def record_mac_input(record_hash: str) -> bytes:
    return RECORD_DOMAIN + record_hash.encode("ascii")


def _bytes(value: Any) -> Any:
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else value


def _columns(table: sa.Table) -> list[sa.Column]:  # type: ignore[type-arg]
    return [c for c in table.columns if c.name not in ("mac", "sealed_seq")]


# Columns added after rows were first sealed (revision 0003): left out of a seal while NULL, so that the seals of
# rows written before them still verify; once set, they are sealed like every other column.
_LATER_COLUMNS = {"requests": ("kind", "expires_at", "secret_hash", "renews")}


# The statements of sealing and checking, built once per process with bound parameters (compiled once); a check
# is on the path of every issuance (scripts/bench measures what a certificate costs).
@cache
def _row_query(table: str) -> Any:
    """The whole row, its seal (mac, sealed_seq) included: one read for the check and the fields."""
    source = TABLES[table]
    return sa.select(*_columns(source), source.c.mac, source.c.sealed_seq).where(source.c.id == sa.bindparam("id"))


LATEST = "latest_ok_seq"  # the column a check adds: the latest successful record about the row's object


def latest_column(table: str) -> Any:
    """For a row that changes after it is made (`OBJECTS`): the latest successful audit record about its object, as
    a column (`LATEST`) a query of the row adds, so that its freshness is read with it."""
    object_type, object_id = OBJECTS[table]
    return (sa.select(sa.func.max(t.audit.c.seq))
            .where(t.audit.c.object_type == object_type, t.audit.c.object_id == object_id(TABLES[table]),
                   t.audit.c.outcome == "ok").scalar_subquery().label(LATEST))


@cache
def _check_query(table: str) -> Any:
    """The row query of a check, with (for a row that changes after it is made) `latest_column` in the same
    statement."""
    if table not in OBJECTS:
        return _row_query(table)
    return _row_query(table).add_columns(latest_column(table))


@cache
def _statement(name: str) -> Any:
    return {
        "org_euis": lambda: (sa.select(t.org_entities.c.eui64)
                             .where(t.org_entities.c.org_id == sa.bindparam("id")).order_by(t.org_entities.c.eui64)),
        "org_roles": lambda: (sa.select(t.org_roles.c.role)
                              .where(t.org_roles.c.org_id == sa.bindparam("id")).order_by(t.org_roles.c.role)),
        "officer_checks": lambda: (sa.select(*_columns(t.officer_checks))
                                   .where(t.officer_checks.c.officer_id == sa.bindparam("id"))
                                   .order_by(t.officer_checks.c.check)),
    }[name]()


@cache
def _seal_update(table: str) -> Any:
    source = TABLES[table]
    return source.update().where(source.c.id == sa.bindparam("row_id")).values(
        mac=sa.bindparam("new_mac"), sealed_seq=sa.bindparam("new_seq"))


@dataclass(frozen=True)
class SealedRow:
    """One protected row as a check sees it: what its seal covers (`sealed_fields`), the seal, and the latest
    successful record about its object (None where not read)."""

    fields: dict[str, Any]
    mac: Any
    sealed_seq: Any
    latest: Any = None


def sealed_fields(table: str, columns: Mapping[str, Any], related: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the seal of a row covers, from the row's columns by name: every column but the seal's (bytes as hex; a
    later column left out while NULL) and what is sealed with the row (`related`: an organisation's `eui64s` and
    `roles` in sorted order, an officer's `checks` as rows in `check` order)."""
    fields = {name: _bytes(columns[name]) for name in _COLUMN_NAMES[table]}
    for column in _LATER_COLUMNS.get(table, ()):
        if fields[column] is None:
            del fields[column]
    return {**fields, **(related or {})}


def _read(conn: Connection, table: str, row_id: int, query: Any = None) -> SealedRow | None:
    """One row as a check sees it (the latest record about its object if `query` reads it), or None if it is
    missing."""
    found = conn.execute(_row_query(table) if query is None else query, {"id": row_id}).mappings().first()
    if found is None:
        return None
    related: dict[str, Any] = {}
    if table == "organisations":  # the EUI-64s and roles an organisation holds are sealed with it
        related["eui64s"] = sorted(conn.execute(_statement("org_euis"), {"id": row_id}).scalars())
        related["roles"] = sorted(conn.execute(_statement("org_roles"), {"id": row_id}).scalars())
    elif table == "officers":  # and an officer's verifications with the officer
        related["checks"] = officer_checks(conn.execute(_statement("officer_checks"), {"id": row_id}))
    return SealedRow(sealed_fields(table, found, related), found["mac"], found["sealed_seq"], found.get(LATEST))


def row_as_read(table: str, row: Mapping[Any, Any], related: Mapping[str, Any] | None = None) -> SealedRow:
    """A protected row as another query read it, for `verify` without reading it again: `row` holds the table's
    columns (keyed by column) and, for a table in `OBJECTS`, `latest_column` (a KeyError without it); `related` as
    `sealed_fields` takes it."""
    columns = {c.name: row[c] for c in TABLES[table].columns}
    return SealedRow(sealed_fields(table, columns, related), columns["mac"], columns["sealed_seq"],
                     row[LATEST] if table in OBJECTS else None)


def officer_checks_query() -> Any:
    """An officer's verifications (bound parameter `id`: the officer) in the order its seal covers them."""
    return _statement("officer_checks")


def officer_checks(result: Any) -> list[dict[str, Any]]:
    """The rows of `officer_checks_query` as its seal covers them."""
    return [dict(c) for c in result.mappings()]


def _fields(table: str) -> Callable[[Connection, int], dict[str, Any] | None]:
    def fields(conn: Connection, row_id: int) -> dict[str, Any] | None:
        read = _read(conn, table, row_id)
        return None if read is None else read.fields
    return fields


# What a seal covers, per protected table.
FIELDS: Mapping[str, Callable[[Connection, int], dict[str, Any] | None]] = {
    name: _fields(name) for name in ("operators", "organisations", "officers", "requests", "approvals", "cas",
                                     "revocations")
}
TABLES: Mapping[str, sa.Table] = {name: t.metadata.tables[name] for name in FIELDS}
_COLUMN_NAMES: Mapping[str, tuple[str, ...]] = {name: tuple(c.name for c in _columns(TABLES[name])) for name in TABLES}


def _officer_object(officers: sa.Table) -> Any:
    org = (sa.select(t.organisations.c.name).where(t.organisations.c.id == officers.c.org_id)
           .correlate(officers).scalar_subquery())
    return org + "/" + officers.c.kind + "/" + officers.c.name


# How the audit trail names the object a row belongs to, for the rows that change after they are made
# (approvals and revocations never change): an SQL expression over the row's own columns.
OBJECTS: Mapping[str, tuple[str, Callable[[sa.Table], Any]]] = {
    "operators": ("operator", lambda source: source.c.name),
    "organisations": ("organisation", lambda source: source.c.name),
    "officers": ("officer", _officer_object),
    "requests": ("request", lambda source: sa.cast(source.c.id, sa.String)),
    "cas": ("ca", lambda source: source.c.name),
}


def row_mac_input(table: str, row_id: int, sealed_seq: int, fields: Mapping[str, Any]) -> bytes:
    return ROW_DOMAIN + canonical_json({"table": table, "id": row_id, "sealed_seq": sealed_seq, "row": dict(fields)})


def seal(conn: Connection, authenticator: Authenticator, table: str, row_id: int, seq: int,
         returned: Mapping[str, Any] | None = None) -> None:
    """Write the seal of one row as it now stands, bound to audit record `seq`: read back, or `returned` (the row
    as the transaction's last write of it returned it, by column name; not for a row sealed with others')."""
    if returned is not None and table not in ("organisations", "officers"):
        fields: dict[str, Any] | None = sealed_fields(table, returned)
    else:
        read = _read(conn, table, row_id)
        fields = None if read is None else read.fields
    if fields is None:
        return
    mac = authenticator.mac(row_mac_input(table, row_id, seq, fields))
    conn.execute(_seal_update(table), {"row_id": row_id, "new_mac": mac, "new_seq": seq})


@dataclass(frozen=True)
class SealProblem:
    table: str
    row_id: int
    reason: str

    def line(self) -> str:
        return f"{self.table} row {self.row_id} {self.reason}"


def check(conn: Connection, authenticator: Authenticator, table: str, row_id: int) -> SealProblem | None:
    """Whether one row is as the last change wrote it (`verify`), read for the check. None when it holds."""
    return verify(authenticator, table, row_id, _read(conn, table, row_id, _check_query(table)))


def verify(authenticator: Authenticator, table: str, row_id: int, read: SealedRow | None) -> SealProblem | None:
    """Whether one row, as read (None: missing), is as the last change wrote it: its seal verifies and no later
    change of its object was recorded (a replayed older version). None when it holds. Its freshness is checked from
    `read.latest`: a row of a table in `OBJECTS` read by another query comes through `row_as_read`, which refuses
    one read without it."""
    if read is None:
        return SealProblem(table, row_id, "is missing")
    if read.mac is None or read.sealed_seq is None:
        return SealProblem(table, row_id, "has no authenticator: it was not written by s1spki")
    expected = authenticator.mac(row_mac_input(table, row_id, int(read.sealed_seq), read.fields))
    if not hmac.compare_digest(expected, str(read.mac)):
        return SealProblem(table, row_id, "does not match its authenticator: it was changed outside s1spki")
    if read.latest is not None and int(read.latest) > int(read.sealed_seq):
        return SealProblem(table, row_id, f"is an older version than audit record {read.latest} left it: it was put "
                           "back outside s1spki")
    return None
