"""Opening the database: one SQLAlchemy engine, set up so that write transactions serialise.

SQLite: WAL, FULL sync (a CA must not lose a committed issuance), a busy timeout, foreign keys on, and
`BEGIN IMMEDIATE` for writers so two processes never both read-then-upgrade into a deadlock (readers use a
deferred BEGIN and never block writers). PostgreSQL: the audit head row update serialises audited writers
(schema.audit_head); a pooled connection is pinged before use, so that a long-running process (`est serve`) outlives
a restart of the server.

Failures reach the user as one line (exit 5): a database that cannot be reached, or a full disk, said as such
(SQLite reports a full disk as "disk I/O error" when it cannot grow its WAL or shared-memory file).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from s1spki.errors import DiskFull, StoreError

WRITE_OPTION = "s1spki_write"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it starts with BEGIN IMMEDIATE."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


# Below this much free space, an SQLite I/O error in the database's folder is the disk being full.
FULL_BELOW_BYTES = 1 << 20
_SQLITE_FULL_CODES = (sqlite3.SQLITE_FULL,)
_SQLITE_DISK_CODES = (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL)
PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def make_engine(url: str) -> Engine:
    try:
        sqlite = sa.engine.make_url(url).get_backend_name() == "sqlite"
        # a server may restart under a long-running process: a pooled connection is checked before it is used
        engine = sa.create_engine(url, future=True, **({} if sqlite else {"pool_pre_ping": True}))
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"database URL in s1spki.toml is not usable: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    _say_disk_full(engine)
    return engine


_SHARED: dict[str, Engine] = {}


def shared_engine(url: str) -> Engine:
    """This process's engine for `url`, made once. A process that opens the store again and again (an EST worker
    opens it for every request) keeps SQLAlchemy's compiled statements, which are the engine's: compiling them
    again was a third of a request's time. A store that closes disposes of its connections, not of the engine."""
    engine = _SHARED.get(url)
    if engine is None:
        engine = _SHARED[url] = make_engine(url)
    return engine


def close_shared_connections(settle: bool = False) -> None:
    """At the end of a process that kept its shared engines' connections (an EST worker): close them. With `settle`
    (the EST server's master, once its workers are gone): connect to each SQLite database once more and close, so
    that this last connection checkpoints the write-ahead log into the database and removes it, as a command leaves
    it (workers that close at the same moment may each leave that to the other)."""
    for engine in _SHARED.values():
        engine.dispose()
        if settle and engine.dialect.name == "sqlite":
            with suppress(sa.exc.SQLAlchemyError, OSError):  # a courtesy: the server's end never fails on it
                with engine.connect():
                    pass
                engine.dispose()


def forget_inherited_connections() -> None:
    """In a process just forked (an EST worker): the shared engines' pooled connections are the parent's and are
    left to it, never used or closed here (SQLAlchemy's rule for a fork)."""
    for engine in _SHARED.values():
        engine.dispose(close=False)


def _say_disk_full(engine: Engine) -> None:
    folder = _sqlite_folder(engine)

    @sa.event.listens_for(engine, "handle_error")
    def _on_error(context: sa.engine.ExceptionContext) -> None:
        where = disk_full_at(context.original_exception, folder)
        if where is not None:
            raise DiskFull(where) from None


def _sqlite_folder(engine: Engine) -> Path | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().parent


def disk_full_at(error: BaseException, sqlite_folder: Path | None) -> str | None:
    """Where the disk is full, if that is what `error` (a driver's) means; None otherwise."""
    if isinstance(error, sqlite3.Error) and sqlite_folder is not None:
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in _SQLITE_FULL_CODES or (primary in _SQLITE_DISK_CODES and _nearly_full(sqlite_folder)):
            return f"{sqlite_folder} (the database's folder)"
        return None
    if getattr(error, "sqlstate", None) == PG_DISK_FULL or "No space left on device" in str(error):
        return "the PostgreSQL server (its data directory)"
    return None


def _nearly_full(folder: Path) -> bool:
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < FULL_BELOW_BYTES


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    try:
        found = os.stat(path) if path is not None else None
    except OSError:
        return None
    return None if found is None else (found.st_dev, found.st_ino)


def _tune_sqlite(engine: Engine) -> None:
    database = engine.url.database
    path = Path(database) if database and database != ":memory:" and not database.startswith("file:") else None

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        record.info["file"] = _file_identity(path)

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(_dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        # a pooled connection kept between requests (an EST worker) must not go on with a database file that was
        # replaced meanwhile (a backup put back): the pool drops it and connects to the file now there
        if record.info.get("file") != _file_identity(path):
            raise sa.exc.DisconnectionError("the database file was replaced")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # writers take the write lock up front; readers take none and see a consistent WAL snapshot
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


_SECRETS = (re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE), re.compile(r"(://[^:/@\s]*:)[^@\s]*(@)"))


def _scrubbed(text: str) -> str:
    """A driver's message with any password it quotes (a connection string, a URL) blanked."""
    text = _SECRETS[0].sub(r"\1***", text)
    return _SECRETS[1].sub(r"\1***\2", text)


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn driver failures into StoreError (exit 5) naming the operation, never the URL's password."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        reason = _scrubbed(str(exc.orig).strip().splitlines()[0]) if exc.orig and str(exc.orig).strip() \
            else type(exc).__name__
        if exc.connection_invalidated or "connection" in reason.lower() or "server" in reason.lower():
            reason += ": check that the database server is running and reachable, then retry"
        raise StoreError(f"database unavailable while {what}: {reason}") from None
    except sa.exc.DBAPIError as exc:
        if isinstance(exc, sa.exc.IntegrityError):
            raise
        raise StoreError(f"database error while {what}: {type(exc.orig).__name__}") from None
