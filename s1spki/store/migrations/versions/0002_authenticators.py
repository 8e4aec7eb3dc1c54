"""Authenticators: every audit record and every row that grants power carries an HMAC made in the HSM.

Adds `mac` to the audit trail, and `mac` with `sealed_seq` (the audit record of the change that last wrote
the row) to operators, organisations, officers, requests, approvals, CAs and revocations; an index finds
the latest record about an object; a request records which command claimed it for issuance. Rows and
records of a store made before this revision have no authenticator: `s1spki db upgrade` seals them with
the HSM once the trail verifies (store/sealing.py).

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEALED = ("operators", "organisations", "officers", "requests", "approvals", "cas", "revocations")


def upgrade() -> None:
    op.add_column("audit", sa.Column("mac", sa.String(64), nullable=True))
    for table in SEALED:
        op.add_column(table, sa.Column("mac", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("sealed_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_audit_object", "audit", ["object_type", "object_id"])
    # a request is claimed by the command issuing it before a serial is reserved (ra/issue.py)
    op.add_column("requests", sa.Column("claimed_by", sa.String(128), nullable=True))
    op.add_column("requests", sa.Column("claimed_at", sa.String(32), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("authenticators are not removed: restore a backup instead")
