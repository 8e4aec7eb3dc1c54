"""Copying the store into one file, consistent while other processes write: SQLite through its online backup
API, PostgreSQL through `pg_dump` in its custom format (`pg_restore` reads it back).

What the copy holds (schema revision, audit chain head) is read from the copy itself (SQLite) or from the very
snapshot pg_dump dumps (PostgreSQL: this process exports its snapshot and pg_dump uses it), never from the live
database a moment later, when another node may have written.

The file is written under a temporary name in the target folder, mode 0600 from its creation, fsynced, then
linked into place: a file of that name that appeared meanwhile is never replaced. The temporary file is locked
(flock) while its backup runs, so that a later backup in the folder can tell one left by a killed backup (a
partial copy of the store, which it removes) from one being written now. The database password never
reaches a command line or a message: pg_dump finds it in its own environment (PGPASSWORD).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from s1spki.errors import StoreError, Unavailable, UsageError
from s1spki.store import migrations
from s1spki.store import schema as t
from s1spki.store.engine import translated_errors

PG_DUMP = "pg_dump"
_PARTIAL = re.compile(r"\..+\.[0-9a-f]{8}\.partial")  # staged()'s names
# A partial copy younger than this is never taken for one left behind: a backup creates its file, then locks it.
LEFT_BEHIND_AFTER_S = 60
_held: dict[Path, int] = {}  # the partial files this process is writing, each locked while it is


@dataclass(frozen=True)
class Copied:
    """What a backup file holds: its engine, schema revision and the audit chain head it contains."""

    engine: str
    revision: str
    head_seq: int
    head_hash: str


def engine_name(engine: Engine) -> str:
    return str(engine.dialect.name)


def require_pg_dump() -> str:
    """pg_dump's path on PATH; UsageError if it is not installed (nothing is written then)."""
    found = shutil.which(PG_DUMP)
    if found is None:
        raise UsageError("pg_dump is not on PATH: a PostgreSQL store is backed up with it; install the PostgreSQL "
                         "client programs (Debian: postgresql-client) of the server's version or newer")
    return found


def staged(target: Path) -> Path:
    """A new empty file beside `target`, mode 0600, that the copy is written into (UsageError if the folder
    cannot be written: nothing is left then)."""
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"{target.parent} is not writable ({exc.strerror}): choose another place for the "
                         "backup") from None
    fcntl.flock(fd, fcntl.LOCK_EX)  # until this backup ends (released with its process if it is killed)
    _held[partial] = fd
    return partial


def remove_left_behind(folder: Path) -> list[str]:
    """Remove the partial copies in `folder` that no running backup holds (left by backups that were killed): the
    names removed."""
    removed = []
    for path in sorted(folder.glob(".*.partial")):
        if not _PARTIAL.fullmatch(path.name) or path in _held:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if time.time() - os.fstat(fd).st_mtime < LEFT_BEHIND_AFTER_S:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a backup writing it now
            path.unlink(missing_ok=True)
            removed.append(path.name)
        finally:
            os.close(fd)
    return removed


def unstage(partial: Path) -> None:
    """Remove `partial` (from `staged`) and release its lock."""
    with suppress(FileNotFoundError):
        partial.unlink()
    fd = _held.pop(partial, None)
    if fd is not None:
        os.close(fd)


def copy_store(engine: Engine, partial: Path, target: Path) -> Copied:
    """Copy the store into `partial` (from `staged`), then link it to the new name `target` (refused if that
    exists); `partial` is removed in any case. Says what the copy holds."""
    try:
        copied = _sqlite(engine, partial) if engine_name(engine) == "sqlite" else _postgresql(engine, partial)
        _fsync(partial)
        try:
            os.link(partial, target)  # never replaces a file: fails if one appeared since the checks
        except FileExistsError:
            raise UsageError(f"{target} exists: a backup never overwrites a file, choose another name") from None
        _fsync(target.parent)
    finally:
        unstage(partial)
    return copied


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _contents(conn: Connection) -> tuple[str, int, str]:
    """(schema revision, head seq, head hash) as `conn` sees the store."""
    revision = migrations.current_revision(conn) or migrations.BASELINE
    row = conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)).one()
    return revision, int(row[0]), str(row[1])


def _sqlite(engine: Engine, partial: Path) -> Copied:
    source_path = engine.url.database
    if not source_path or not Path(source_path).is_file():
        raise StoreError(f"the database {source_path} is missing: there is nothing to back up")
    try:
        source = sqlite3.connect(source_path)
        try:
            source.execute("PRAGMA busy_timeout = 30000")
            copy = sqlite3.connect(partial)
            try:
                # in one step: the whole copy is read from one snapshot, whatever other processes commit meanwhile
                source.backup(copy)
                # one self-contained file (no -wal beside it); s1spki turns WAL on again when it opens a restored one
                copy.execute("PRAGMA journal_mode = DELETE")
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"the SQLite backup failed: {exc}") from None
    reading = sa.create_engine(f"sqlite:///{partial}")
    try:
        with translated_errors("reading the backup"), reading.connect() as conn:
            revision, seq, digest = _contents(conn)
    finally:
        reading.dispose()
    return Copied("sqlite", revision, seq, digest)


def _postgresql(engine: Engine, partial: Path) -> Copied:
    program = require_pg_dump()
    conninfo, password = _libpq(engine.url)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if password is not None:
        env["PGPASSWORD"] = password  # the child's environment only, never its command line
    with translated_errors("backing up the database"), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # the first statement fixes this transaction's snapshot; pg_dump dumps that same snapshot
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            revision, seq, digest = _contents(conn)
            try:
                done = subprocess.run([program, "--format=custom", f"--snapshot={snapshot}", f"--file={partial}",
                                       f"--dbname={conninfo}"], env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True)
            except OSError as exc:
                raise Unavailable(f"pg_dump could not be started: {exc.strerror}") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        if password:
            said = said.replace(password, "***")
        raise Unavailable(f"pg_dump failed: {said}")
    return Copied("postgresql", revision, seq, digest)


def _libpq(url: sa.URL) -> tuple[str, str | None]:
    """A libpq connection string for `url` without its password, and the password."""
    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    password = url.password if url.password is not None else params.pop("password", None)
    params.pop("password", None)
    for key, value in (("host", url.host), ("port", url.port), ("user", url.username), ("dbname", url.database)):
        if value is not None and value != "":
            params.setdefault(key, str(value))
    return " ".join(f"{key}={_quoted(value)}" for key, value in params.items()), (
        str(password) if password is not None else None)


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
