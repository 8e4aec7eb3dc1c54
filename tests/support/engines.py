"""The two database engines the store, CLI and audit tests run on: SQLite (a file in the home) and PostgreSQL (the
server `scripts/test` starts, its URL in S1SPKI_TEST_PG).

A test module asks for both with `pytestmark = pytest.mark.both_engines`: its tests that use the `engine` fixture
(directly or through `ca`) run once per engine, with ids `sqlite` and `postgresql`. Without a PostgreSQL they skip,
saying why; under CI=true they fail instead, so that a CI run can never pass without having run them.

On PostgreSQL, `connect` gives the raw DB-API connection a database writer would use (psycopg), wrapped so that the
tests' SQL written for sqlite3 (`?` and `:name` placeholders, rows read by index or by column name, `with conn:`
committing) runs there unchanged.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

ENGINES = ("sqlite", "postgresql")
URL_VARIABLE = "S1SPKI_TEST_PG"
MARKER = "both_engines"
# what a database refusing a statement raises, on either engine
DB_ERRORS = (sqlite3.Error, psycopg.Error)


@cache
def _server() -> tuple[str | None, str]:
    """The PostgreSQL URL to use, or None and why not."""
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        return None, f"{URL_VARIABLE} is not set (scripts/test starts a PostgreSQL and sets it)"
    try:
        psycopg.connect(libpq_url(url), connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no usable server
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"PostgreSQL at {URL_VARIABLE} is unreachable: {reason}"
    return url, ""


def server_url() -> str:
    """The server's URL; without one, the calling test skips, or fails under CI=true."""
    url, why = _server()
    if url is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: the PostgreSQL tests must run, but {why}", pytrace=False)
        pytest.skip(why)
    return url


def database_url(base: str, database: str) -> str:
    """The SQLAlchemy URL of another database on the same server."""
    return sa.engine.make_url(base).set(database=database).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg, psql) takes it."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _admin(base: str, sql: str) -> int:
    """Run `sql` outside a transaction; returns the server's version number."""
    with psycopg.connect(libpq_url(base), autocommit=True) as conn:
        if sql:
            conn.execute(sql)
        return conn.info.server_version


@cache
def _file_copy(base: str) -> str:
    # PostgreSQL 15 copies a template block by block through the WAL by default; copying its files is several
    # times faster for a small database (the test cluster runs without fsync)
    return " STRATEGY FILE_COPY" if _admin(base, "") >= 150000 else ""


def create_database(base: str, name: str, template: str | None = None) -> str:
    """A new database on the server (a copy of `template` if named: fast, file level); returns its URL."""
    _admin(base, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"{_file_copy(base)}' if template else ""))
    return database_url(base, name)


def drop_database(base: str, name: str) -> None:
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rename_database(base: str, old: str, new: str) -> None:
    _admin(base, f'ALTER DATABASE "{old}" RENAME TO "{new}"')


class Row(tuple):  # type: ignore[type-arg]
    """A row read by index or by column name, and dict(row) gives the columns (as sqlite3.Row does)."""

    _columns: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return super().__getitem__(self._columns.index(key))
        return super().__getitem__(key)

    def keys(self) -> tuple[str, ...]:
        return self._columns


def _row_factory(cursor: Any) -> Any:
    columns = tuple(d.name for d in cursor.description or ())
    kind = type("Row", (Row,), {"_columns": columns})
    return lambda values: kind(values)


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_]\w*)|%")


def to_psycopg(sql: str) -> str:
    """sqlite3's placeholders (`?`, `:name`) as psycopg's; string literals are left as they are."""
    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text.replace("%", "%%")
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _PLACEHOLDER.sub(one, sql)


class PgConnection:
    """A psycopg connection that takes the tests' sqlite3-style SQL. `with conn:` commits (rolls back on an error)
    and closes, so that no connection outlives the test's database."""

    row_factory: Any = None  # set by tests written for sqlite3 (sqlite3.Row); rows here always have names

    def __init__(self, url: str, autocommit: bool = False) -> None:
        self.raw = psycopg.connect(libpq_url(url), autocommit=autocommit, row_factory=_row_factory)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.raw.execute(to_psycopg(sql), params)  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Sequence[Any]) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(to_psycopg(sql), rows)

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        if not self.raw.closed:
            if self.raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                self.raw.rollback()
            else:
                self.raw.commit()
            self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:
            self.raw.rollback()
        self.close()


def tables(conn: Any, engine: str) -> Iterator[str]:
    sql = ("select name from sqlite_master where type = 'table'" if engine == "sqlite"
           else "select tablename from pg_tables where schemaname = 'public'")
    return (r[0] for r in conn.execute(sql).fetchall())
