"""Synthetic audit chains made with the product's own record definition (audit_record), in the form the
store keeps them (rows in s1spki.audit.chain.COLUMNS order), and checkpoints signed with a software key."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.chain import link, link_hash, record_bytes
from s1spki.audit.checkpoint import Checkpoint
from s1spki.audit.record import GENESIS_HASH, AuditEvent, chain_hash, hashed_fields
from s1spki.values.canonical import canonical_json

HOME_ID = "0a6a4c1e-0000-4000-8000-000000000001"
EVENTS = ("request.submit", "serial.reserve", "cert.issue", "org.register", "operator.add")


def event(i: int) -> AuditEvent:
    statement = {"operator": "carol", "nonce": f"{i:032x}", "signature": "MEUCIQ" + "A" * 90,
                 "body": {"v": 1, "operation": EVENTS[i % len(EVENTS)], "object": {"request": i, "note": "ü \"q\""},
                          "operator": "carol", "time": "2026-01-01T00:00:00.000000Z", "nonce": f"{i:032x}"}}
    return AuditEvent(event=EVENTS[i % len(EVENTS)], actor="carol", actor_role="ra_manager" if i % 3 else "",
                      outcome="ok" if i % 7 else "refused", object_type=None if i % 4 == 0 else "request",
                      object_id=None if i % 5 == 0 else str(i), details={"i": i, "text": "naïve \\ \n tab\t"},
                      statements=(statement,) if i % 2 else (), correlation_id=f"00000000-0000-4000-8000-{i:012d}",
                      policy_hash="p" * 64, rapp_hash=None if i % 6 == 0 else "r" * 64)


def row_for(seq: int, prev: str, ev: AuditEvent, at: str | None = None, node_id: str | None = None
            ) -> tuple[Any, ...]:
    """A stored row, as Store's ChangeTx.append_audit writes it (written by node `node_id`; None: the original)."""
    at = at or f"2026-01-01T00:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z"
    fields = hashed_fields(seq, at, ev, node_id)
    digest = chain_hash(prev, fields)
    return (seq, prev, digest, at, ev.actor, ev.actor_role, ev.event, ev.object_type, ev.object_id, ev.outcome,
            ev.correlation_id, ev.policy_hash, ev.rapp_hash, canonical_json(fields["details"]).decode(),
            canonical_json(fields["statements"]).decode(), node_id)


def chain(n: int, start: int = 1, prev: str = GENESIS_HASH, offset: int = 0) -> list[tuple[Any, ...]]:
    rows = []
    for seq in range(start, start + n):
        row = row_for(seq, prev, event(seq + offset))
        rows.append(row)
        prev = row[2]
    return rows


def links(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [link(r) for r in rows]


def rehash(row: tuple[Any, ...], prev: str | None = None, seq: int | None = None) -> tuple[Any, ...]:
    """The row with a recomputed hash, as a tamperer who knows the algorithm would write it."""
    row = list(row)
    if prev is not None:
        row[1] = prev
    if seq is not None:
        row[0] = seq
    body = record_bytes(row)
    assert body is not None
    row[2] = link_hash(row[1], body)
    return tuple(row)


def rechain(rows: list[tuple[Any, ...]], prev: str) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        row = rehash(row, prev=prev)
        out.append(row)
        prev = row[2]
    return out


class Signer:
    """A software audit key and its 'certificate' fingerprint (verify only needs the key and a name)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.fingerprint = hashlib.sha256(der).hexdigest()

    @property
    def trusted(self) -> dict[str, ec.EllipticCurvePublicKey]:
        return {self.fingerprint: self.key.public_key()}

    def checkpoint(self, row: tuple[Any, ...], source: str = "file", home_id: str = HOME_ID) -> Checkpoint:
        made = Checkpoint.sign(self.key, row[0], row[2], "2026-01-02T00:00:00.000000Z", home_id, self.fingerprint)
        return Checkpoint(made.seq, made.hash, made.at, made.home_id, made.signer, made.signature, made.v, source)
