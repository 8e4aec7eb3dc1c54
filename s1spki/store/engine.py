"""Opening the database: one SQLAlchemy engine, set up so that write transactions serialise.

SQLite: WAL, FULL sync (a CA must not lose a committed issuance), a busy timeout, foreign keys on, and
`BEGIN IMMEDIATE` for writers so two processes never both read-then-upgrade into a deadlock (readers use a
deferred BEGIN and never block writers). PostgreSQL: the audit head row update serialises audited writers
(schema.audit_head).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from s1spki.errors import StoreError

WRITE_OPTION = "s1spki_write"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it starts with BEGIN IMMEDIATE."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def make_engine(url: str) -> Engine:
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"database URL in s1spki.toml is not usable: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # writers take the write lock up front; readers take none and see a consistent WAL snapshot
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn driver failures into StoreError (exit 5) naming the operation, never the URL's password."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreError(f"database unavailable while {what}: {reason}") from None
    except sa.exc.DBAPIError as exc:
        if isinstance(exc, sa.exc.IntegrityError):
            raise
        raise StoreError(f"database error while {what}: {type(exc.orig).__name__}") from None
