"""A process that opens the store again and again (an EST worker, for every request) shares one engine per database
and keeps its pooled connections between openings (store/engine.py shared_engine, Runtime.close): it must go on
with the database file that is there now, not with one that was replaced (a backup put back) under it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from s1spki.audit.record import AuditEvent
from s1spki.store import Store
from s1spki.values.clock import Clock
from tests.store.test_transactions import KEY


def _register(store: Store, name: str) -> None:
    with store.change(AuditEvent("org.register", "carol", "ra_manager")) as tx:
        tx.add_organisation(name, [], ["supplier"])


def test_a_kept_connection_does_not_outlive_its_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.create(url, Clock(), "home", KEY).dispose()
    first = Store.open(url, Clock(), KEY)
    _register(first, "Acme")
    earlier = tmp_path / "earlier.db"  # a backup, taken with SQLite's own copy
    with sqlite3.connect(tmp_path / "store.db") as source, sqlite3.connect(earlier) as copy:
        source.backup(copy)
    _register(first, "Later")
    with first.engine.connect() as conn:  # the kept connection's log emptied into the file, as a quiet store has it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    again = Store.open(url, Clock(), KEY)
    assert again.engine is first.engine  # one engine for the process: its connections kept, nothing compiled again
    assert [o.name for o in again.reader.organisations()] == ["Acme", "Later"]

    os.replace(earlier, tmp_path / "store.db")  # the backup put back under the process
    reopened = Store.open(url, Clock(), KEY)
    try:
        assert [o.name for o in reopened.reader.organisations()] == ["Acme"]
        _register(reopened, "After")  # written to the file now there, not to the one replaced
        with sqlite3.connect(tmp_path / "store.db") as conn:
            assert sorted(r[0] for r in conn.execute("select name from organisations")) == ["Acme", "After"]
    finally:
        reopened.dispose()
