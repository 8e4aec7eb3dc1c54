"""Schema migrations (Alembic): one revision per change of the store's schema, from the baseline on.

`HEAD` is the revision this code expects; a store at an older one is upgraded by `s1spki db upgrade`, a store
at a revision this code does not know (made by a newer s1spki) is refused. Reading the revision needs no
Alembic import, so opening a store stays quick.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

HEAD = "0004"
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
_HERE = Path(__file__).resolve().parent


def current_revision(conn: Connection) -> str | None:
    """The store's revision, or None for a store made before migrations (or an empty database)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def known_revisions() -> tuple[str, ...]:
    """The revisions this code carries, oldest first (read from the files' names: NNNN_what.py)."""
    return tuple(sorted(p.name.split("_", 1)[0] for p in (_HERE / "versions").glob("[0-9]*_*.py")))


def _config(conn: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config  # only commands that migrate pay for importing Alembic

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = conn
    return config


def upgrade(conn: Connection, target: str = "head") -> None:
    """Run the migrations up to `target` on `conn`, in its transaction."""
    from alembic import command

    command.upgrade(_config(conn), target)


def stamp(conn: Connection, revision: str) -> None:
    """Record that the store is at `revision` without changing its schema."""
    from alembic import command

    command.stamp(_config(conn), revision)


# The database refuses to change or remove audit records, checkpoints and audit keys (the baseline revision's
# triggers). A store whose triggers were dropped is refused: someone worked on it outside s1spki.
SQLITE_GUARDS = frozenset({f"{table}_no_{op}" for table in ("audit", "audit_checkpoints", "audit_signers")
                           for op in ("update", "delete")} | {"audit_head_no_delete"})
POSTGRESQL_GUARDS = frozenset(f"{table}_append_only" for table in
                              ("audit", "audit_checkpoints", "audit_signers", "audit_head"))


def missing_guards(conn: Connection) -> list[str]:
    """The append-only triggers the store lacks (or has disabled), by name."""
    if conn.dialect.name == "sqlite":
        present = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        return sorted(SQLITE_GUARDS - present)
    present = set(conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"))
                  .scalars())
    return sorted(POSTGRESQL_GUARDS - present)
