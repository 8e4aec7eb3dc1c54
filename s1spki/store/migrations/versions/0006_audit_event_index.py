"""An index of the audit trail by event: `audit verify` finds the records of the audit keys (and the revocation
and CRL listings their records) without reading the whole trail, which grew with every record.

Revision ID: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event", "audit", ["event"])


def downgrade() -> None:
    op.drop_index("ix_audit_event", table_name="audit")
