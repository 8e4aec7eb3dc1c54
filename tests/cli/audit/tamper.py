"""Tampering as an attacker with write access to the CA's store would do it: with the sqlite3 module and plain
file edits, or on PostgreSQL as its superuser with psycopg (what psql does), never through s1spki. An attacker
first gets past the append-only triggers: on SQLite by dropping them, on PostgreSQL by switching them off for the
session (session_replication_role), which leaves no trace in the catalogue."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tests.support import engines
from tests.support.engines import PgConnection

if TYPE_CHECKING:
    from tests.conftest import CaHome

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


def open_db(store: Path | CaHome) -> Any:
    """The attacker's connection, each statement committed at once: to a SQLite file, or to a home's store."""
    if not isinstance(store, Path):
        if store.database_url is not None:
            conn = PgConnection(store.database_url, autocommit=True)
            conn.execute("set session_replication_role = replica")  # a superuser's: no trigger fires
            return conn
        store = store.home / "s1spki.db"
    return _open_sqlite(store)


def _open_sqlite(path: Path) -> CoveringConnection:
    conn = sqlite3.connect(path, isolation_level=None, factory=CoveringConnection)
    conn.row_factory = sqlite3.Row
    conn.triggers = []
    for name, sql in conn.execute("select name, sql from sqlite_master where type = 'trigger'").fetchall():
        conn.triggers.append(sql)
        conn.execute(f"drop trigger {name}")
    return conn


def copy_store(ca: CaHome) -> Path | str:
    """A copy of the home's store as it is now (a backup an attacker keeps): a file, or a database on the server."""
    if ca.database_url is None:
        copy = ca.work / f"copy-{uuid.uuid4().hex[:8]}.db"
        _backup(sqlite3.connect(ca.home / "s1spki.db"), sqlite3.connect(copy))
        return copy
    name = engines.unique_name("copy")
    engines.create_database(engines.server_url(), name, template=_database(ca))
    return name


def put_back(ca: CaHome, copy: Path | str) -> None:
    """The copy put back in the store's place (the copy is used up)."""
    if isinstance(copy, Path):
        _backup(sqlite3.connect(copy), sqlite3.connect(ca.home / "s1spki.db"))
        return
    server = engines.server_url()
    engines.drop_database(server, _database(ca))
    engines.rename_database(server, copy, _database(ca))


def _database(ca: CaHome) -> str:
    return str(sa.engine.make_url(str(ca.database_url)).database)


def _backup(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    source.backup(target)
    source.close()
    target.close()


def rows(conn: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("select * from audit order by seq")]


def forged_hash(prev: str, row: dict[str, Any]) -> str:
    """The record hash, recomputed from the published definition (SHA-256 of prev || canonical JSON)."""
    fields = {k: row[k] for k in FIELDS} | {"details": json.loads(row["details"]),
                                           "statements": json.loads(row["statements"])}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + text.encode()).hexdigest()


def set_payload(conn: Any, seq: int, row: dict[str, Any]) -> None:
    conn.execute(f"update audit set {', '.join(f'{k} = ?' for k in PAYLOAD)} where seq = ?",
                 [row[k] for k in PAYLOAD] + [seq])


def set_head(conn: Any) -> None:
    seq, digest = conn.execute("select seq, hash from audit order by seq desc limit 1").fetchone()
    conn.execute("update audit_head set seq = ?, hash = ?", (seq, digest))
