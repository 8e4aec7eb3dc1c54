"""Each CA's count of revocations, kept by every revocation: the end of every command asks whether a CA has
revocations on no CRL yet, which counted every revocation the CA ever had (26-34 ms over a million, at every command
and EST request), and a CRL build compares the count with the revocations it lists. The counts of a store's
existing revocations are made here.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocation_counts",
        sa.Column("ca", sa.String(64), primary_key=True),
        sa.Column("revoked", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO revocation_counts (ca, revoked) SELECT cas.name, (SELECT count(*) FROM revocations "
               "WHERE revocations.issuer_cn = cas.name) FROM cas")


def downgrade() -> None:
    op.drop_table("revocation_counts")
