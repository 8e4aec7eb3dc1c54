"""Schema migrations (Alembic): one revision per change of the store's schema, from the baseline on.

`HEAD` is the revision this code expects; a store at an older one is upgraded by `s1spki db upgrade`, a store
at a revision this code does not know (made by a newer s1spki) is refused. Reading the revision needs no
Alembic import, so opening a store stays quick.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

HEAD = "0007"
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
# triggers). A store whose triggers were dropped, switched off or made harmless is refused: someone worked on it
# outside s1spki. What each must be is written here as the baseline made it (migrations never change it since).
_APPEND_ONLY = ("audit", "audit_checkpoints", "audit_signers")
SQLITE_GUARDS = {
    **{f"{table}_no_{op.lower()}": f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                                   f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
       for table in _APPEND_ONLY for op in ("UPDATE", "DELETE")},
    "audit_head_no_delete": "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
                            "BEGIN SELECT RAISE(ABORT, 'audit_head is never deleted'); END",
}
# PostgreSQL: (table, pg_trigger.tgtype) of each trigger: FOR EACH ROW (1) BEFORE (2) DELETE (8) [UPDATE (16)];
# and from revision 0005 one per table BEFORE (2) TRUNCATE (32), for each statement
POSTGRESQL_GUARDS = {f"{table}_append_only": (table, 27) for table in _APPEND_ONLY} | \
    {"audit_head_append_only": ("audit_head", 11)} | \
    {f"{table}_no_truncate": (table, 34) for table in (*_APPEND_ONLY, "audit_head")}
POSTGRESQL_GUARD_BODY = "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' rows are append-only'; END"
# Each trigger as it stands: enabled for ordinary sessions ('O', or 'A' for always; 'R' fires for replication
# only, 'D' never), no WHEN condition or column list narrowing it, and the function it runs.
_POSTGRESQL_TRIGGERS = sa.text(
    "SELECT t.tgname, c.relname, t.tgtype, t.tgenabled IN ('O', 'A') AND t.tgqual IS NULL AND t.tgattr::text = '', "
    "p.proname, p.prosrc FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
    "WHERE NOT t.tgisinternal")


def missing_guards(conn: Connection) -> list[str]:
    """The append-only triggers the store lacks, has switched off or changed, by name."""
    if conn.dialect.name == "sqlite":
        present = dict(conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
        return sorted(name for name, sql in SQLITE_GUARDS.items() if present.get(name) != sql)
    good = {name for name, table, kind, enabled, function, body in conn.execute(_POSTGRESQL_TRIGGERS)
            if POSTGRESQL_GUARDS.get(name) == (table, kind) and enabled and function == "s1spki_append_only"
            and body == POSTGRESQL_GUARD_BODY}
    return sorted(set(POSTGRESQL_GUARDS) - good)
