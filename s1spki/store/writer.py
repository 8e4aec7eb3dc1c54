"""Writes: every change is one transaction that ends by appending its audit record.

`Store.change(event)` opens the transaction; the use-case methods of `ChangeTx` make the change; the
audit record is chained and written last, inside the same transaction, so the change and its record
commit together or not at all. A refusal is recorded by `Store.record_refusal` in a transaction of its
own, after the refused change was rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..audit_record import GENESIS_HASH, AuditEvent, chain_hash, hashed_fields
from ..canonical import canonical_json
from ..clock import Clock, iso
from ..errors import Refused, StoreError
from . import schema as t
from .engine import make_engine, translated_errors
from .reader import StoreReader


class Duplicate(Refused):
    """A uniqueness rule of the store was hit (the caller says which one in its own words)."""

    kind = "duplicate"


class ChangeTx:
    """Use-case writes inside one audited transaction."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.now = iso(clock.now())

    def _insert(self, table: sa.Table, values: dict[str, Any], duplicate: str) -> int:
        try:
            with self.conn.begin_nested():
                result = self.conn.execute(table.insert().values(**values))
        except sa.exc.IntegrityError:
            raise Duplicate(duplicate) from None
        key = result.inserted_primary_key
        return key[0] if key and isinstance(key[0], int) else 0

    def use_nonces(self, statements: Sequence[dict[str, Any]]) -> None:
        """Each operator statement is good for one change only (replay protection)."""
        for statement in statements:
            self._insert(t.used_nonces, {"nonce": statement["nonce"], "operator": statement["operator"],
                                         "at": self.now}, f"statement nonce {statement['nonce']} was already used")

    def add_operator(self, name: str, role: str, public_key_der: bytes, key_sha256: str) -> None:
        self._insert(t.operators, {"name": name, "role": role, "public_key_der": public_key_der,
                                   "key_sha256": key_sha256, "status": "active", "created_at": self.now},
                     f"operator {name!r} is already registered")

    def withdraw_operator(self, name: str) -> None:
        self.conn.execute(t.operators.update().where(t.operators.c.name == name)
                          .values(status="withdrawn", withdrawn_at=self.now))

    def add_organisation(self, name: str, eui64s: Sequence[str], roles: Sequence[str]) -> int:
        org_id = self._insert(t.organisations, {"name": name, "status": "active", "created_at": self.now},
                              f"organisation {name!r} is already registered")
        for eui in eui64s:
            self._insert(t.org_entities, {"eui64": eui, "org_id": org_id},
                         f"EUI-64 {eui} is already registered to an organisation")
        for role in roles:
            self._insert(t.org_roles, {"org_id": org_id, "role": role}, f"role {role} listed twice")
        return org_id

    def add_request(self, values: dict[str, Any]) -> int:
        return self._insert(t.requests, {**values, "status": "submitted", "submitted_at": self.now},
                            "request already exists")

    def add_certificate(self, values: dict[str, Any]) -> int:
        cert_id = self._insert(t.certificates, {**values, "issued_at": self.now, "status": "valid"},
                               "this public key or serial is already certified")
        self.conn.execute(t.serials.update()
                          .where(t.serials.c.issuer_cn == values["issuer_cn"], t.serials.c.serial == values["serial"])
                          .values(status="issued"))
        return cert_id

    def mark_request_issued(self, request_id: int, certificate_id: int) -> None:
        self.conn.execute(t.requests.update().where(t.requests.c.id == request_id)
                          .values(status="issued", certificate_id=certificate_id))

    def add_ca(self, values: dict[str, Any]) -> int:
        return self._insert(t.cas, {**values, "created_at": self.now},
                            f"a CA named {values['name']!r} or key label {values['key_label']!r} already exists")

    def reserve_serial(self, issuer_cn: str, serial: str, purpose: str, request_id: int | None) -> None:
        self._insert(t.serials, {"issuer_cn": issuer_cn, "serial": serial, "status": "reserved",
                                 "purpose": purpose, "request_id": request_id, "reserved_at": self.now},
                     f"serial {serial} is already reserved for {issuer_cn}")

    def append_audit(self, event: AuditEvent) -> tuple[int, str]:
        """Chain and write the record; the head-row update serialises concurrent writers."""
        head = self.conn.execute(sa.select(t.audit_head).where(t.audit_head.c.id == 1).with_for_update()).one()
        seq = int(head.seq) + 1
        fields = hashed_fields(seq, self.now, event)
        digest = chain_hash(head.hash, fields)
        self.conn.execute(t.audit.insert().values(
            seq=seq, at=self.now, actor=event.actor, actor_role=event.actor_role, event=event.event,
            object_type=event.object_type, object_id=event.object_id, outcome=event.outcome,
            correlation_id=event.correlation_id, policy_hash=event.policy_hash, rapp_hash=event.rapp_hash,
            details=canonical_json(fields["details"]).decode(),
            statements=canonical_json(fields["statements"]).decode(),
            prev_hash=head.hash, hash=digest))
        self.conn.execute(t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=seq, hash=digest))
        return seq, digest


class Store:
    """The CA's database: `reader` for queries, `change()` and `record_refusal()` for writes."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.reader = StoreReader(engine)

    @classmethod
    def create(cls, url: str, clock: Clock, home_id: str) -> Store:
        engine = make_engine(url)
        with translated_errors("creating the schema"), engine.begin() as conn:
            if sa.inspect(conn).has_table("meta"):
                raise Refused("the database already holds an s1spki store: refusing to initialise it again")
            t.metadata.create_all(conn)
            conn.execute(t.meta.insert(), [{"key": "schema_version", "value": t.SCHEMA_VERSION},
                                           {"key": "home_id", "value": home_id}])
            conn.execute(t.audit_head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
        return cls(engine, clock)

    @classmethod
    def open(cls, url: str, clock: Clock) -> Store:
        engine = make_engine(url)
        with translated_errors("opening the database"), engine.connect() as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise StoreError("the database named in s1spki.toml holds no s1spki store: run `s1spki init`")
            version = conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
        if version != t.SCHEMA_VERSION:
            raise StoreError(f"database schema version {version} is not the {t.SCHEMA_VERSION} this s1spki expects")
        return cls(engine, clock)

    def meta(self, key: str) -> str | None:
        with translated_errors("reading store metadata"), self.engine.connect() as conn:
            return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    @contextmanager
    def change(self, event: AuditEvent) -> Iterator[ChangeTx]:
        """One audited transaction; the record is written only if the body completes."""
        with translated_errors(f"recording {event.event}"), self.engine.begin() as conn:
            tx = ChangeTx(conn, self.clock)
            tx.use_nonces([dict(s) for s in event.statements])
            yield tx
            tx.append_audit(event)

    def record_refusal(self, event: AuditEvent) -> None:
        with translated_errors(f"recording the refusal of {event.event}"), self.engine.begin() as conn:
            ChangeTx(conn, self.clock).append_audit(event)

    def dispose(self) -> None:
        self.engine.dispose()
