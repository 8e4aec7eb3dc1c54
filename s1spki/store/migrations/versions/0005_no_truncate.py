"""PostgreSQL: the append-only tables refuse TRUNCATE too.

The baseline's row triggers refuse UPDATE and DELETE, but PostgreSQL's TRUNCATE fires no row trigger: the owner of
the tables could empty the audit trail, its checkpoints or the audit keys without the database refusing. A statement
trigger before TRUNCATE runs the same refusal. SQLite has no TRUNCATE (a DELETE without WHERE fires the row
triggers), so nothing changes there.

Revision ID: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("audit", "audit_checkpoints", "audit_signers", "audit_head")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION s1spki_append_only()")


def downgrade() -> None:
    raise NotImplementedError("the append-only guards are not removed: restore a backup instead")
