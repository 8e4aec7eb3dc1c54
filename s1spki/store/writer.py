"""Writes: every change is one transaction that ends by appending its audit record.

`Store.change(event)` opens the transaction; the use-case methods of `ChangeTx` make the change; the
audit record is chained and written last, inside the same transaction, so the change and its record
commit together or not at all. A refusal is recorded by `Store.record_refusal` in a transaction of its
own, after the refused change was rolled back.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.engine import Connection, Engine

from s1spki.audit.record import GENESIS_HASH, AuditEvent, chain_hash, hashed_fields
from s1spki.errors import IntegrityRefused, Refused, StoreError
from s1spki.store import migrations, sealing
from s1spki.store import schema as t
from s1spki.store.engine import make_engine, shared_engine, translated_errors, write_transaction
from s1spki.store.reader import SnapshotReader, StoreReader, certificate_record
from s1spki.store.records import CertificateRecord
from s1spki.store.sealing import Authenticator
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import Clock, iso
from s1spki.values.keys import key_sha256


# The writes of the issuance path, built once per process with bound parameters (compiled once; scripts/bench
# measures what a certificate costs).
@cache
def _statement(name: str) -> Any:
    b = sa.bindparam
    requests = t.requests
    return {
        "audit_head": lambda: sa.select(t.audit_head).where(t.audit_head.c.id == 1).with_for_update(),
        "audit_head_update": lambda: t.audit_head.update().where(t.audit_head.c.id == 1).values(
            seq=b("new_seq"), hash=b("new_hash")),
        # FOR NO KEY UPDATE on PostgreSQL: it still waits for a withdrawal (an update of the row), but not for the
        # key-share lock a foreign-key check takes, which another node's transaction holding the audit head takes
        # when it updates one of the organisation's requests for the second time (claim, then seal): FOR UPDATE
        # here deadlocked two nodes issuing at once
        "lock_organisation": lambda: (sa.select(t.organisations.c.id)
                                      .where(t.organisations.c.id == b("org_id")).with_for_update(key_share=True)),
        "claim": lambda: requests.update().where(
            requests.c.id == b("request_id"), requests.c.status == "submitted").values(
            status="issuing", claimed_by=b("claimant"), claimed_at=b("now")).returning(*requests.columns),
        "claim_stale": lambda: requests.update().where(
            requests.c.id == b("request_id"),
            sa.or_(requests.c.status == "submitted",
                   sa.and_(requests.c.status == "issuing", requests.c.claimed_by == b("stale")))).values(
            status="issuing", claimed_by=b("claimant"), claimed_at=b("now")).returning(*requests.columns),
        "certificate_insert": lambda: t.certificates.insert().returning(*t.certificates.columns),
        "revocation_counted": lambda: t.revocation_counts.update().where(
            t.revocation_counts.c.ca == b("counted_ca")).values(revoked=t.revocation_counts.c.revoked + 1),
        "serial_issued": lambda: t.serials.update().where(
            t.serials.c.issuer_cn == b("issuer"), t.serials.c.serial == b("serial_hex")).values(status="issued"),
        "request_issued": lambda: requests.update().where(
            requests.c.id == b("request_id"), requests.c.status == "issuing",
            requests.c.claimed_by == b("claimant")).values(status="issued", certificate_id=b("new_certificate_id"))
        .returning(*requests.columns),
    }[name]()


class Duplicate(Refused):
    """A uniqueness rule of the store was hit (the caller says which one in its own words)."""

    kind = "duplicate"


class ChangeTx:
    """Use-case writes inside one audited transaction."""

    def __init__(self, conn: Connection, clock: Clock, authenticator: Authenticator | None,
                 node_id: str | None = None) -> None:
        self.conn = conn
        self.node_id = node_id  # the node writing (None: the original node), in each record it appends
        self.now = iso(clock.now())
        self.object_id: str | None = None  # set when the change creates the object its record is about
        self.reader = StoreReader(conn)  # reads inside this transaction: checks repeated where they commit
        self._authenticator = authenticator
        # protected rows to reseal, in the order written; each with the row its last write returned, if it did
        self._written: dict[tuple[str, int], Any] = {}
        self.last_record: tuple[int, str] | None = None  # (seq, hash) of the last `record()`

    def _wrote(self, table: str, *row_ids: int, returned: Any = None) -> None:
        """Mark rows to reseal; `returned`: the one row as the write that changed it returned it (UPDATE ...
        RETURNING), so that its seal is made from it rather than from reading it back."""
        for row_id in row_ids:
            self._written[(table, row_id)] = returned

    @property
    def wrote_any(self) -> bool:
        """Whether a protected row was written in this transaction."""
        return bool(self._written)

    def _authenticator_or_refuse(self) -> Authenticator:
        if self._authenticator is None:
            raise StoreError("this store was opened without the HSM's record key: nothing can be recorded")
        return self._authenticator

    def reseal_all(self) -> int:
        """Mark every protected row written (the store is being brought under authenticators); how many."""
        for table in sealing.FIELDS:
            source = sealing.TABLES[table]
            self._wrote(table, *self.conn.execute(sa.select(source.c.id).order_by(source.c.id)).scalars())
        return len(self._written)

    def seal_written(self, seq: int) -> None:
        """Reseal every protected row this change wrote, bound to its audit record `seq` (store/sealing.py)."""
        authenticator = self._authenticator_or_refuse()
        for (table, row_id), returned in self._written.items():
            sealing.seal(self.conn, authenticator, table, row_id, seq, returned)

    def _insert(self, table: sa.Table, values: dict[str, Any], duplicate: str) -> int:
        result = self._inserting(table.insert(), values, duplicate)
        key = result.inserted_primary_key
        return key[0] if key and isinstance(key[0], int) else 0

    def _inserting(self, insert: Any, values: dict[str, Any], duplicate: str) -> Any:
        # parameters rather than .values(): the statement compiles once. SQLite undoes a statement that breaks a
        # constraint and keeps the transaction, which is what a savepoint does elsewhere (two round trips fewer).
        try:
            if self.conn.dialect.name == "sqlite":
                return self.conn.execute(insert, values)
            with self.conn.begin_nested():
                return self.conn.execute(insert, values)
        except sa.exc.IntegrityError:
            raise Duplicate(duplicate) from None

    def use_nonces(self, statements: Sequence[dict[str, Any]]) -> None:
        """Each operator statement is good for one change only (replay protection)."""
        for statement in statements:
            self._insert(t.used_nonces, {"nonce": statement["nonce"], "operator": statement["operator"],
                                         "at": self.now}, f"statement nonce {statement['nonce']} was already used")

    def add_operator(self, name: str, roles: Sequence[str], public_key_der: bytes, key_sha256: str) -> None:
        self._wrote("operators", self._insert(
            t.operators, {"name": name, "roles": " ".join(roles), "public_key_der": public_key_der,
                          "key_sha256": key_sha256, "status": "active", "created_at": self.now},
            f"operator {name!r} is already registered"))

    def set_operator_key(self, name: str, public_key_der: bytes, key_sha256: str) -> None:
        """An active operator's new public key (`operator rekey`); the row is resealed with the change."""
        changed = self.conn.execute(t.operators.update().where(t.operators.c.name == name,
                                                               t.operators.c.status == "active")
                                    .values(public_key_der=public_key_der, key_sha256=key_sha256)
                                    .returning(t.operators.c.id))
        self._wrote("operators", *changed.scalars())

    def withdraw_operator(self, name: str) -> None:
        changed = self.conn.execute(t.operators.update().where(t.operators.c.name == name,
                                                               t.operators.c.status == "active")
                                    .values(status="withdrawn", withdrawn_at=self.now).returning(t.operators.c.id))
        self._wrote("operators", *changed.scalars())

    def add_organisation(self, name: str, eui64s: Sequence[str], roles: Sequence[str]) -> int:
        org_id = self._insert(t.organisations, {"name": name, "status": "active", "created_at": self.now},
                              f"organisation {name!r} is already registered")
        for eui in eui64s:
            self._insert(t.org_entities, {"eui64": eui, "org_id": org_id},
                         f"EUI-64 {eui} is already registered to an organisation")
        for role in roles:
            self._insert(t.org_roles, {"org_id": org_id, "role": role}, f"role {role} listed twice")
        self._wrote("organisations", org_id)
        return org_id

    def set_organisation_status(self, org_id: int, status: str) -> None:
        self.conn.execute(t.organisations.update().where(t.organisations.c.id == org_id).values(status=status))
        self._wrote("organisations", org_id)

    def lock_organisation(self, org_id: int) -> None:
        """PostgreSQL: hold the organisation's row until commit, so that a withdrawal and an issuance relying on it
        serialise (SQLite's BEGIN IMMEDIATE already serialises every writer: nothing to ask it)."""
        if self.conn.dialect.name != "sqlite":
            self.conn.execute(_statement("lock_organisation"), {"org_id": org_id})

    def add_officer(self, org_id: int, kind: str, name: str, status: str, nominated_by: int | None) -> int:
        officer_id = self._insert(t.officers, {"org_id": org_id, "kind": kind, "name": name, "status": status,
                                               "nominated_by": nominated_by, "created_at": self.now},
                                  f"{kind.upper()} {name!r} is already registered for this organisation")
        self._wrote("officers", officer_id)
        return officer_id

    def add_officer_check(self, officer_id: int, check: str, evidence: str, checked_by: str) -> None:
        self._insert(t.officer_checks, {"officer_id": officer_id, "check": check, "evidence": evidence,
                                        "checked_by": checked_by, "checked_at": self.now},
                     f"the {check} check of this officer is already recorded")
        self._wrote("officers", officer_id)

    def set_officer_status(self, officer_id: int, status: str) -> None:
        values: dict[str, Any] = {"status": status}
        if status == "withdrawn":
            values["withdrawn_at"] = self.now
        self.conn.execute(t.officers.update().where(t.officers.c.id == officer_id).values(**values))
        self._wrote("officers", officer_id)

    def withdraw_officers_of(self, org_id: int) -> None:
        changed = self.conn.execute(t.officers.update()
                                    .where(t.officers.c.org_id == org_id, t.officers.c.status != "withdrawn")
                                    .values(status="withdrawn", withdrawn_at=self.now).returning(t.officers.c.id))
        self._wrote("officers", *changed.scalars())

    def add_approval(self, request_id: int, operator: str, roles: Sequence[str], decision: str,
                     statement: dict[str, Any]) -> None:
        approval_id = self._insert(t.approvals, {"request_id": request_id, "operator": operator,
                                                 "roles": " ".join(roles), "decision": decision,
                                                 "statement": canonical_json(statement).decode(), "at": self.now},
                                   f"{operator} has already given a decision on request {request_id}")
        self._wrote("approvals", approval_id)
        self._wrote("requests", request_id)  # its record is about the request: the request is resealed with it

    def set_request_digest(self, request_id: int, digest: str) -> None:
        self.conn.execute(t.requests.update().where(t.requests.c.id == request_id).values(digest=digest))
        self._wrote("requests", request_id)

    def set_request_status(self, request_id: int, status: str, *, was: str = "submitted") -> None:
        """Move a request on from status `was`; Duplicate if it is not in that status any more (a concurrent
        decision or issuance won)."""
        changed = self.conn.execute(t.requests.update().where(t.requests.c.id == request_id,
                                                              t.requests.c.status == was).values(status=status))
        if changed.rowcount != 1:
            raise Duplicate(f"request {request_id} is no longer {was}: another command decided on it meanwhile")
        self._wrote("requests", request_id)

    def claim_request(self, request_id: int, claimant: str, *, stale: str | None = None) -> None:
        """Claim a submitted request for issuance (or take over the claim `stale` of a process that died);
        Duplicate if another process holds it or it was decided meanwhile."""
        parameters = {"request_id": request_id, "claimant": claimant, "now": self.now}
        if stale is None:
            changed = self.conn.execute(_statement("claim"), parameters)
        else:
            changed = self.conn.execute(_statement("claim_stale"), {**parameters, "stale": stale})
        claimed = changed.mappings().first()
        if claimed is None:
            raise Duplicate(f"request {request_id} is being or was issued by another command, or was decided "
                            "meanwhile")
        self._wrote("requests", request_id, returned=claimed)

    def add_request(self, values: dict[str, Any]) -> int:
        request_id = self._insert(t.requests, {**values, "status": "submitted", "submitted_at": self.now},
                                  "request already exists")
        self._wrote("requests", request_id)
        return request_id

    def add_certificate(self, certificate: x509.Certificate, *, kind: str, issuer_cn: str, serial: str,
                        policy_hash: str, **extra: Any) -> CertificateRecord:
        """Store a signed certificate (its reserved serial becomes issued); returns it as stored (the row its INSERT
        returned)."""
        values = certificate_row(certificate, kind=kind, issuer_cn=issuer_cn, serial=serial, policy_hash=policy_hash,
                                 **extra)
        stored = self._inserting(_statement("certificate_insert"), {**values, "issued_at": self.now, "status": "valid"},
                                 "this public key or serial is already certified").one()
        self.conn.execute(_statement("serial_issued"), {"issuer": issuer_cn, "serial_hex": serial})
        return certificate_record(stored)

    def release_claim(self, request_id: int, claimant: str) -> None:
        """Give back a claim this command holds: the request is submitted again."""
        changed = self.conn.execute(t.requests.update()
                                    .where(t.requests.c.id == request_id, t.requests.c.status == "issuing",
                                           t.requests.c.claimed_by == claimant)
                                    .values(status="submitted", claimed_by=None, claimed_at=None))
        if changed.rowcount:
            self._wrote("requests", request_id)

    def abandon_request(self, request_id: int, claimant: str) -> None:
        """A component's request that could not be issued ends rejected (its key is then free for another
        request): while it waits, or while this command holds its claim."""
        changed = self.conn.execute(t.requests.update()
                                    .where(t.requests.c.id == request_id,
                                           sa.or_(t.requests.c.status == "submitted",
                                                  sa.and_(t.requests.c.status == "issuing",
                                                          t.requests.c.claimed_by == claimant)))
                                    .values(status="rejected", claimed_by=None, claimed_at=None))
        if changed.rowcount:
            self._wrote("requests", request_id)

    def mark_request_issued(self, request_id: int, certificate_id: int, claimant: str) -> None:
        """The claimed request is issued; Duplicate unless this command still holds its claim."""
        changed = self.conn.execute(_statement("request_issued"), {"request_id": request_id, "claimant": claimant,
                                                                   "new_certificate_id": certificate_id})
        issued = changed.mappings().first()
        if issued is None:
            raise Duplicate(f"request {request_id} was taken over or decided meanwhile: this certificate is not stored")
        self._wrote("requests", request_id, returned=issued)

    def add_ca(self, values: dict[str, Any]) -> int:
        ca_id = self._insert(t.cas, {**values, "created_at": self.now},
                             f"a CA named {values['name']!r} or key label {values['key_label']!r} already exists")
        self.conn.execute(t.revocation_counts.delete().where(t.revocation_counts.c.ca == values["name"]))
        self.conn.execute(t.revocation_counts.insert().from_select(
            ["ca", "revoked"], sa.select(sa.literal(values["name"]), sa.func.count())
            .select_from(t.revocations).where(t.revocations.c.issuer_cn == values["name"])))
        self._wrote("cas", ca_id)
        return ca_id

    def reserve_serial(self, issuer_cn: str, serial: str, purpose: str, request_id: int | None) -> None:
        self._insert(t.serials, {"issuer_cn": issuer_cn, "serial": serial, "status": "reserved",
                                 "purpose": purpose, "request_id": request_id, "reserved_at": self.now},
                     f"serial {serial} is already reserved for {issuer_cn}")

    def record(self, event: AuditEvent) -> None:
        """Inside `Store.change_many`: the record of the change just written (its operators' statements used up)."""
        self.use_nonces([dict(s) for s in event.statements])
        self.last_record = self.append_audit(event)

    def append_audit(self, event: AuditEvent) -> tuple[int, str]:
        """Chain, authenticate and write the record; the head-row update serialises concurrent writers."""
        head = self.conn.execute(_statement("audit_head")).one()
        seq = int(head.seq) + 1
        fields = hashed_fields(seq, self.now, event, self.node_id)
        digest = chain_hash(head.hash, fields)
        # parameters rather than .values(): the statement compiles once, which keeps the trail's cost per
        # issuance small (scripts/bench measures it)
        self.conn.execute(t.audit.insert(), dict(
            seq=seq, at=self.now, actor=event.actor, actor_role=event.actor_role, event=event.event,
            object_type=event.object_type, object_id=event.object_id, outcome=event.outcome,
            correlation_id=event.correlation_id, policy_hash=event.policy_hash, rapp_hash=event.rapp_hash,
            details=canonical_json(fields["details"]).decode(),
            statements=canonical_json(fields["statements"]).decode(),
            prev_hash=head.hash, hash=digest, node_id=self.node_id,
            mac=self._authenticator_or_refuse().mac(sealing.record_mac_input(digest))))
        self.conn.execute(_statement("audit_head_update"), {"new_seq": seq, "new_hash": digest})
        return seq, digest

    def add_node(self, node_id: str, checkpoints_file: str | None) -> None:
        """List a node of this store with the checkpoint file it appends to; Duplicate if the id is taken."""
        self._insert(t.nodes, {"node_id": node_id, "checkpoints_file": checkpoints_file, "joined_at": self.now},
                     f"node id {node_id!r} is taken by a node of this store: give another --node-id")

    def remove_node(self, node_id: str) -> None:
        """Take a node off the list again (its join failed after listing it)."""
        self.conn.execute(t.nodes.delete().where(t.nodes.c.node_id == node_id))

    # --- audit trail (s1spki.audit): the audit key ---

    def add_audit_signer(self, values: dict[str, Any]) -> None:
        self._insert(t.audit_signers, {**values, "created_at": self.now},
                     f"audit key {values['key_label']!r} is already registered")


    # --- revocation, CRLs and ARLs (revocation.py, crl.py) ---

    def revoke_certificate(self, certificate_id: int, values: dict[str, Any]) -> None:
        """Mark a valid certificate revoked and record the revocation; Duplicate if it is not valid any more."""
        changed = self.conn.execute(t.certificates.update()
                                    .where(t.certificates.c.id == certificate_id, t.certificates.c.status == "valid")
                                    .values(status="revoked"))
        if changed.rowcount != 1:
            raise Duplicate(f"certificate {values['issuer_cn']}/{values['serial']} is already revoked")
        self._wrote("revocations", self._insert(t.revocations, {**values, "certificate_id": certificate_id},
                                                f"certificate {values['issuer_cn']}/{values['serial']} is already "
                                                "revoked"))
        self.conn.execute(_statement("revocation_counted"), {"counted_ca": values["issuer_cn"]})

    def _lock_ca(self, ca: str) -> None:
        # PostgreSQL: the CA's row lock serialises CRL numbering and storing per CA; SQLite's BEGIN IMMEDIATE
        # already serialises every writer.
        if self.conn.execute(sa.select(t.cas.c.id).where(t.cas.c.name == ca).with_for_update()).first() is None:
            raise Refused(f"no CA named {ca!r}")

    def reserve_crl_number(self, ca: str, kind: str, number: int) -> None:
        """Reserve cRLNumber `number` of `ca`; Duplicate unless it exceeds every number the CA reserved (spec 5)."""
        self._lock_ca(ca)
        last = self.conn.execute(sa.select(sa.func.max(t.crls.c.crl_number)).where(t.crls.c.ca == ca)).scalar()
        if last is not None and int(last) >= number:
            raise Duplicate(f"cRLNumber {last} of {ca} was reserved meanwhile")
        self._insert(t.crls, {"ca": ca, "kind": kind, "crl_number": number, "status": "reserved",
                              "reserved_at": self.now}, f"cRLNumber {number} of {ca} is already reserved")

    def store_crl(self, ca: str, number: int, values: dict[str, Any]) -> None:
        """Issue reserved CRL `number` of `ca` as the current one; Duplicate if a higher number was stored first."""
        self._lock_ca(ca)
        newest = self.conn.execute(sa.select(sa.func.max(t.crls.c.crl_number))
                                   .where(t.crls.c.ca == ca, t.crls.c.status == "issued")).scalar()
        if newest is not None and int(newest) >= number:
            raise Duplicate(f"cRLNumber {newest} of {ca} was issued meanwhile, after {number} was reserved")
        self.conn.execute(t.crls.update().where(t.crls.c.ca == ca, t.crls.c.der.is_not(None)).values(der=None))
        changed = self.conn.execute(t.crls.update()
                                    .where(t.crls.c.ca == ca, t.crls.c.crl_number == number,
                                           t.crls.c.status == "reserved")
                                    .values(status="issued", issued_at=self.now, **values))
        if changed.rowcount != 1:
            raise Duplicate(f"cRLNumber {number} of {ca} is not reserved")

def certificate_row(certificate: x509.Certificate, **values: Any) -> dict[str, Any]:
    """The `certificates` row of a signed certificate: its bytes and the facts looked up by."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return {
        **values,
        "key_sha256": key_sha256(certificate.public_key()),
        "not_before": certificate.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "der": der,
        "fingerprint": hashlib.sha256(der).hexdigest(),
    }


def refuse_missing_file(engine: Engine) -> None:
    """An SQLite store whose file is gone is refused before SQLite would create an empty one in its place."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:") and not Path(database).exists():
        raise StoreError(f"the database {database} is missing: restore it from backup (a new CA home is made with "
                         "`s1spki init`)")


def schema_revision(engine: Engine) -> str:
    """The store's schema revision; a store made before migrations is stamped at the baseline first. Refused
    (StoreError) for a missing database file, a database without an s1spki store, or one made by a newer
    s1spki."""
    refuse_missing_file(engine)
    with translated_errors("opening the database"), engine.connect() as conn:
        if not sa.inspect(conn).has_table("meta"):
            raise StoreError("the database named in s1spki.toml holds no s1spki store: run `s1spki init`")
        revision = migrations.current_revision(conn)
        legacy = conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
    if revision is None:
        if legacy != t.SCHEMA_VERSION:
            raise StoreError(f"database schema version {legacy} is not one this s1spki knows")
        with translated_errors("stamping the schema revision"), write_transaction(engine) as conn:
            migrations.stamp(conn, migrations.BASELINE)  # the schema is the baseline's: recorded, not changed
        revision = migrations.BASELINE
    if revision not in migrations.known_revisions():
        raise StoreError(f"the store's schema is at revision {revision}, which this s1spki does not know (it knows "
                         f"up to {migrations.HEAD}): it was made by a newer s1spki; use that version")
    return revision


def upgrade_schema(engine: Engine) -> tuple[str, str]:
    """Migrate the store to the head revision; returns (from, to)."""
    before = schema_revision(engine)
    if before != migrations.HEAD:
        with translated_errors("upgrading the schema"), write_transaction(engine) as conn:
            migrations.upgrade(conn)
    return before, migrations.HEAD


class Store:
    """The CA's database: `reader` for queries, `change()` and `record_refusal()` for writes."""

    def __init__(self, engine: Engine, clock: Clock, authenticator: Authenticator | None = None,
                 node_id: str | None = None) -> None:
        self.engine = engine
        self.node_id = node_id or None  # this process's node ("" and None: the original node)
        self.clock = clock
        self._reader = StoreReader(engine)
        self._pinned = threading.local()  # the connection of `one_read()` in this thread, if any
        # makes the authenticators of records and protected rows in the HSM; None opens the store for reading
        self.authenticator = authenticator
        self._remembered: sealing.RememberedMacs | None = None  # for seal checks (sealing.RememberedMacs)
        # called with each committed record's seq (the audit checkpointer)
        self.on_append: Callable[[int], None] | None = None

    @classmethod
    def create(cls, url: str, clock: Clock, home_id: str, authenticator: Authenticator | None = None,
               node_id: str | None = None) -> Store:
        """A new store: the schema made by the migrations up to the head, the home's id, the chain's genesis."""
        engine = make_engine(url)
        with translated_errors("creating the schema"), write_transaction(engine) as conn:
            if sa.inspect(conn).has_table("meta"):
                raise Refused("the database already holds an s1spki store: refusing to initialise it again (another "
                              "node joins it with `s1spki init --join`)")
            migrations.upgrade(conn)
            conn.execute(t.meta.insert(), [{"key": "schema_version", "value": t.SCHEMA_VERSION},
                                           {"key": "home_id", "value": home_id}])
            conn.execute(t.audit_head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
        return cls(engine, clock, authenticator, node_id)

    @classmethod
    def open(cls, url: str, clock: Clock, authenticator: Authenticator | None = None,
             node_id: str | None = None) -> Store:
        """The store at `url`, whose schema must be the one this code expects (`s1spki db upgrade` moves it on)."""
        engine = shared_engine(url)
        revision = schema_revision(engine)
        if revision != migrations.HEAD:
            raise StoreError(f"the store's schema is at revision {revision}; this s1spki needs {migrations.HEAD}: "
                             "run `s1spki db upgrade` (after a backup)")
        with translated_errors("opening the database"), engine.connect() as conn:
            missing = migrations.missing_guards(conn)
        if missing:
            raise IntegrityRefused(f"the store's append-only triggers {', '.join(missing)} are missing or disabled: "
                                   "it was changed outside s1spki; run `s1spki audit verify` on a copy restored from "
                                   "a backup")
        return cls(engine, clock, authenticator, node_id)

    @property
    def reader(self) -> StoreReader:
        """Queries, each in a connection of its own (or, inside `one_read()`, in its one read transaction)."""
        return getattr(self._pinned, "reader", None) or self._reader

    @contextmanager
    def one_read(self, memo: bool = False) -> Iterator[None]:
        """The reads and seal checks of this block share one connection and one read transaction: one snapshot of
        the store (REPEATABLE READ on PostgreSQL), and one round trip per query rather than three. A seal check of a
        row the block has read verifies that read rather than reading the row again (store/reader.py). Writes
        (`change()`) use connections of their own; what they commit is not seen by the block's reads (re-read after
        it). With `memo` (a batch judged in one block), the registry rows and the seal checks every judgement
        repeats are made once for the block (store/reader.py SnapshotReader)."""
        if getattr(self._pinned, "reader", None) is not None:
            yield  # already inside one
            return
        with translated_errors("reading the store"), self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # its default, READ COMMITTED, sees each statement's own moment
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            reader = SnapshotReader(conn, sealed={}) if memo else StoreReader(conn, sealed={})
            self._pinned.reader, self._pinned.conn = reader, conn
            self._pinned.seals = {} if memo else None
            try:
                yield
            finally:
                self._pinned.reader = self._pinned.conn = self._pinned.seals = None

    def meta(self, key: str) -> str | None:
        with translated_errors("reading store metadata"), self.engine.connect() as conn:
            return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    @contextmanager
    def change(self, event: AuditEvent) -> Iterator[ChangeTx]:
        """One audited transaction; the record is written only if the body completes."""
        with translated_errors(f"recording {event.event}"), write_transaction(self.engine) as conn:
            tx = ChangeTx(conn, self.clock, self.authenticator, self.node_id)
            tx.use_nonces([dict(s) for s in event.statements])
            yield tx
            if tx.object_id is not None:  # an object the change itself created, e.g. a new request's id
                event = replace(event, object_id=tx.object_id)
            appended = tx.append_audit(event)
            tx.seal_written(appended[0])
        self._appended(appended)

    @contextmanager
    def change_many(self, what: str) -> Iterator[ChangeTx]:
        """One transaction of several changes (a batch of issuances), each followed by its own record
        (`tx.record(event)`): all of them and all their records commit together, or none. The rows written are
        sealed once, bound to the last record. `what` names the batch in an error."""
        with translated_errors(f"recording {what}"), write_transaction(self.engine) as conn:
            tx = ChangeTx(conn, self.clock, self.authenticator, self.node_id)
            yield tx
            if tx.last_record is None:
                if tx.wrote_any:
                    raise StoreError(f"{what} wrote rows without their records: not committed")
                return  # every change of the batch was left out: nothing to commit
            tx.seal_written(tx.last_record[0])
        self._appended(tx.last_record)

    def record_refusal(self, event: AuditEvent, undo: Callable[[ChangeTx], None] | None = None) -> None:
        """The record of a refusal, in a transaction of its own; `undo` (a committed step to take back, such as a
        claim) runs in the same transaction."""
        with translated_errors(f"recording the refusal of {event.event}"), write_transaction(self.engine) as conn:
            tx = ChangeTx(conn, self.clock, self.authenticator, self.node_id)
            if undo is not None:
                undo(tx)
            appended = tx.append_audit(event)
            tx.seal_written(appended[0])
        self._appended(appended)

    def dispose(self) -> None:
        self.engine.dispose()

    # --- audit trail: what the checkpointer asks of the store (s1spki.audit.checkpoint.CheckpointStore) ---

    def audit_head(self) -> tuple[int, str]:
        return self.reader.audit_head()

    def last_checkpoint_seq(self) -> int:
        return self.reader.last_checkpoint_seq()

    def audit_hash_of(self, seq: int) -> str | None:
        return self.reader.audit_hash_of(seq)

    def checkpoint_rows_newest_first(self) -> Iterator[dict[str, Any]]:
        return self.reader.checkpoint_rows_newest_first()

    def audit_signers(self) -> list[dict[str, Any]]:
        return self.reader.audit_signers()

    def _appended(self, appended: tuple[int, str] | None) -> None:
        if appended is not None and self.on_append is not None:
            self.on_append(appended[0])

    def seal_problem(self, table: str, row_id: int) -> sealing.SealProblem | None:
        """Whether a protected row is as s1spki last wrote it (sealing.check); needs the HSM's record key."""
        if self.authenticator is None:
            raise StoreError("this store was opened without the HSM's record key: integrity cannot be checked")
        pinned, seals = getattr(self._pinned, "conn", None), getattr(self._pinned, "seals", None)
        if seals is not None and (table, row_id) in seals:
            return seals[(table, row_id)]  # type: ignore[no-any-return]
        reader: StoreReader | None = getattr(self._pinned, "reader", None)
        kept = reader.sealed.get((table, row_id)) if reader is not None and reader.sealed is not None else None
        if kept is not None:  # the row this block's reader made its record from, verified as it was read
            problem = sealing.verify(self._remembered_macs(self.authenticator), table, row_id, kept)
        else:
            with translated_errors("checking a row's authenticator"), \
                    (nullcontext(pinned) if pinned is not None else self.engine.connect()) as conn:
                problem = sealing.check(conn, self._remembered_macs(self.authenticator), table, row_id)
        if seals is not None:
            seals[(table, row_id)] = problem
        return problem

    def _remembered_macs(self, authenticator: Authenticator) -> sealing.RememberedMacs:
        if self._remembered is None or self._remembered.authenticator is not authenticator:
            self._remembered = sealing.RememberedMacs(authenticator)
        return self._remembered

    def add_checkpoint(self, values: dict[str, Any], checkpoints_file: str | None = None) -> bool:
        """Keep a signed checkpoint; False if this signer already checkpointed that seq. Not itself audited:
        a checkpoint is the trail's own signature, and a record of it would move the head it signs. With
        `checkpoints_file`, this node's entry in `nodes` that names no file yet (a store from before nodes) is
        given it."""
        try:
            with translated_errors("storing an audit checkpoint"), write_transaction(self.engine) as conn:
                conn.execute(t.audit_checkpoints.insert().values({**values, "node_id": self.node_id}))
                if checkpoints_file is not None:
                    conn.execute(t.nodes.update().where(t.nodes.c.node_id == (self.node_id or ""),
                                                        t.nodes.c.checkpoints_file.is_(None))
                                 .values(checkpoints_file=checkpoints_file))
        except sa.exc.IntegrityError:
            return False
        return True

    def nodes(self) -> list[dict[str, Any]]:
        """The nodes of this store (node_id, checkpoints_file, joined_at), oldest first."""
        return self.reader.nodes()
