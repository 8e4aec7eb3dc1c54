"""Tampering as an attacker with write access to the CA's files would do it: with the sqlite3 module and
plain file edits, never through s1spki. An attacker first drops the append-only triggers."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

FIELDS = ("seq", "at", "actor", "actor_role", "event", "object_type", "object_id", "outcome", "correlation_id",
          "policy_hash", "rapp_hash")
PAYLOAD = ("at", "actor", "actor_role", "event", "object_type", "object_id", "outcome", "correlation_id",
           "policy_hash", "rapp_hash", "details", "statements", "prev_hash", "hash")


class CoveringConnection(sqlite3.Connection):
    """The attacker's connection: the append-only triggers are dropped to tamper, and put back on close, so that
    nothing shows the store was opened outside s1spki but what the tampering did."""

    triggers: list[str]

    def close(self) -> None:
        for sql in self.triggers:
            self.execute(sql)
        super().close()


def open_db(path: Path) -> CoveringConnection:
    conn = sqlite3.connect(path, isolation_level=None, factory=CoveringConnection)
    conn.row_factory = sqlite3.Row
    conn.triggers = []
    for name, sql in conn.execute("select name, sql from sqlite_master where type = 'trigger'").fetchall():
        conn.triggers.append(sql)
        conn.execute(f"drop trigger {name}")
    return conn


def rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("select * from audit order by seq")]


def forged_hash(prev: str, row: dict[str, Any]) -> str:
    """The record hash, recomputed from the published definition (SHA-256 of prev || canonical JSON)."""
    fields = {k: row[k] for k in FIELDS} | {"details": json.loads(row["details"]),
                                           "statements": json.loads(row["statements"])}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + text.encode()).hexdigest()


def set_payload(conn: sqlite3.Connection, seq: int, row: dict[str, Any]) -> None:
    conn.execute(f"update audit set {', '.join(f'{k} = ?' for k in PAYLOAD)} where seq = ?",
                 [row[k] for k in PAYLOAD] + [seq])


def set_head(conn: sqlite3.Connection) -> None:
    seq, digest = conn.execute("select seq, hash from audit order by seq desc limit 1").fetchone()
    conn.execute("update audit_head set seq = ?, hash = ?", (seq, digest))
