"""Several CA nodes on one store: each audit record and checkpoint names the node that wrote it, and the nodes
are listed with the checkpoint file each appends to.

`audit.node_id` and `audit_checkpoints.node_id` are NULL for what the original node wrote, records written
before this revision included: their hashes do not cover a node id, and still verify. `nodes` lists the nodes;
the original node of a store made before this revision is listed with no checkpoint file yet, which its next
checkpoint fills in.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit", sa.Column("node_id", sa.String(64), nullable=True))
    op.add_column("audit_checkpoints", sa.Column("node_id", sa.String(64), nullable=True))
    nodes = op.create_table(
        "nodes",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("checkpoints_file", sa.Text(), nullable=True),
        sa.Column("joined_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("node_id"),
    )
    conn = op.get_bind()
    first = conn.execute(sa.text("SELECT min(at) FROM audit")).scalar()
    if first is not None:  # a store in use: its original node, whose checkpoint file its next checkpoint names
        op.bulk_insert(nodes, [{"node_id": "", "checkpoints_file": None, "joined_at": first}])


def downgrade() -> None:
    raise NotImplementedError("node ids are not removed: restore a backup instead")
