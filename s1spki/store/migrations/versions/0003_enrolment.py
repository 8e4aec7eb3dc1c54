"""Enrolment over EST: a request may be an enrolment authorisation (no CSR yet) or a re-enrolment.

An enrolment authorisation (`est authorise`) is a request without a CSR: `csr_der` and `key_sha256` become
optional, and a request says what it is (`kind`: NULL for a request with a CSR submitted by an operator,
"enrolment" for an authorisation, "reenrolment" for a component's renewal), until when an authorisation may be
used (`expires_at`), the hash of its one-time secret (`secret_hash`, scrypt; the secret itself is never stored),
and which certificate a re-enrolment replaces (`renews`). The new columns are sealed with the rest of the row
(store/sealing.py), which leaves them out while they are NULL, so the seals of earlier requests still hold.

Revision ID: 0003
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


_NEW_COLUMNS = (("kind", sa.String(16)), ("expires_at", sa.String(32)), ("secret_hash", sa.String(200)),
                ("renews", sa.Integer()))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite()
        return
    op.alter_column("requests", "csr_der", existing_type=sa.LargeBinary(), nullable=True)
    op.alter_column("requests", "key_sha256", existing_type=sa.String(64), nullable=True)
    for name, kind in _NEW_COLUMNS:
        op.add_column("requests", sa.Column(name, kind, nullable=True))
    op.create_foreign_key("requests_renews_fkey", "requests", "certificates", ["renews"], ["id"])


_OPTIONAL = (re.compile(r"(\bcsr_der\s+BLOB)\s+NOT NULL"), re.compile(r"(\bkey_sha256\s+VARCHAR\(64\))\s+NOT NULL"))


def _sqlite() -> None:
    """SQLite cannot drop a NOT NULL with ALTER TABLE, and making the table again would rewrite, with foreign keys on,
    every reference to it. Dropping a NOT NULL changes nothing stored, so it is done as SQLite documents for such
    changes (ALTER TABLE, "Making Other Kinds Of Table Schema Changes"): the table's definition edited in the
    schema table and the schema version moved on, inside this transaction."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'").scalar()
    for pattern in _OPTIONAL:
        sql, found = pattern.subn(r"\1", str(sql))
        if found != 1:
            raise RuntimeError(f"the requests table is not as revision 0002 made it ({pattern.pattern})")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'requests'", (sql,))
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    for name, kind in _NEW_COLUMNS[:-1]:
        op.add_column("requests", sa.Column(name, kind, nullable=True))
    conn.exec_driver_sql("ALTER TABLE requests ADD COLUMN renews INTEGER CONSTRAINT requests_renews_fkey "
                         "REFERENCES certificates (id)")


def downgrade() -> None:
    raise NotImplementedError("enrolment columns are not removed: restore a backup instead")
