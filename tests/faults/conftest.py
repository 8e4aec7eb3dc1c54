"""Fault tests' fixtures: a PostgreSQL cluster of the test module's own (so that a test may stop and start it), and
a copy of the template's online home whose store lives in a database of that cluster.

The store is moved to PostgreSQL as a migration tool would: the schema made by the migrations, then every row
copied over as it is (ids, authenticators and audit records unchanged), and s1spki.toml pointed at the new
database; the SQLite file is removed, so that nothing can still read it.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import CaHome
from tests.support import pgcluster
from tests.support.disks import small_disk  # noqa: F401 - a fixture of these tests

_databases = itertools.count(1)


class Cluster:
    def __init__(self, base: Path) -> None:
        self.base = base

    def start(self) -> None:
        pgcluster.start(self.base)

    def stop(self) -> None:
        pgcluster.stop(self.base)

    def url(self, database: str = pgcluster.SUPERUSER) -> str:
        return pgcluster.url(self.base, database)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    """A private cluster this module may stop and start (the session's, in S1SPKI_TEST_PG, is shared)."""
    try:
        pgcluster.bin_dir()
    except pgcluster.ClusterError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(str(exc))
    # not under pytest's own temporary folder: as root, the server runs as `postgres`, which must reach it
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="s1spki-faults-pg-")))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)


def move_store_to_postgresql(ca: CaHome, cluster: Cluster) -> str:
    """Copy `ca`'s SQLite store into a new database of `cluster` and point the home at it; returns its URL."""
    from s1spki.store import schema
    from s1spki.store.migrations import upgrade

    name = f"faults_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = cluster.url(name)
    engine = sa.create_engine(url)
    source = sqlite3.connect(ca.home / "s1spki.db")
    source.row_factory = sqlite3.Row
    with engine.begin() as conn:
        upgrade(conn)
        for table in schema.metadata.sorted_tables:
            rows = [dict(r) for r in source.execute(f"SELECT * FROM {table.name}")]
            if rows:
                conn.execute(table.insert(), rows)
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and table.c.id.primary_key:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    source.close()
    engine.dispose()
    config = ca.home / "s1spki.toml"
    text, count = re.subn(r'(?m)^url = ".*"$', f'url = "{url}"', config.read_text())
    assert count == 1, "the home's s1spki.toml has no [database] url line"
    config.write_text(text)
    for leftover in ca.home.glob("s1spki.db*"):
        leftover.unlink()
    return url


class PgHome(CaHome):
    """A CA home whose store is a PostgreSQL database: the store helpers read it there."""

    url: str

    def db(self) -> Any:  # type: ignore[override]
        raise AssertionError("a PostgreSQL home has no SQLite file: use rows()")

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(query))]
        finally:
            engine.dispose()

    def audit(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM audit ORDER BY seq"))]
        finally:
            engine.dispose()


@pytest.fixture
def pg_ca(ca: CaHome, pg_cluster: Cluster) -> PgHome:
    """The template's online home (a copy, as `ca`), its store moved to a PostgreSQL database of its own."""
    home = PgHome(ca.home, ca.work, ca.root)
    home.url = move_store_to_postgresql(ca, pg_cluster)
    return home
