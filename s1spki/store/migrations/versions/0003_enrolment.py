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

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite changes a column's nullability by copying the table; approvals, serials and certificates refer to
        # it, so their references are checked at commit (defer_foreign_keys holds only for this transaction).
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("csr_der", existing_type=sa.LargeBinary(), nullable=True)
        batch.alter_column("key_sha256", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.String(32), nullable=True))
        batch.add_column(sa.Column("secret_hash", sa.String(200), nullable=True))
        batch.add_column(sa.Column("renews", sa.Integer(), nullable=True))
        batch.create_foreign_key("requests_renews_fkey", "certificates", ["renews"], ["id"])


def downgrade() -> None:
    raise NotImplementedError("enrolment columns are not removed: restore a backup instead")
