"""Baseline: the schema of the first s1spki release (meta.schema_version 1), before migrations existed.

Homes made before migrations are stamped at this revision when first opened, not changed.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The database itself refuses to change or remove audit records, checkpoints and audit keys.
APPEND_ONLY = ("audit", "audit_checkpoints", "audit_signers")
PG_APPEND_ONLY_FUNCTION = ("CREATE OR REPLACE FUNCTION s1spki_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                           "'BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || '' rows are append-only''; END'")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"

    def _requests_certificate_fk() -> list[sa.ForeignKeyConstraint]:
        # SQLite takes a reference to a table made later; elsewhere it is added once both tables exist
        return [sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"])] if sqlite else []

    op.create_table('meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.String(length=256), nullable=False),
    sa.Column('public_key_der', sa.LargeBinary(), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('withdrawn_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('used_nonces',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('org_entities',
    sa.Column('eui64', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('eui64')
    )
    op.create_table('org_roles',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('org_id', 'role')
    )
    op.create_table('officers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('nominated_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('withdrawn_at', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['nominated_by'], ['officers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'kind', 'name', name='uq_officers_org_kind_name')
    )
    op.create_table('officer_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('check', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.String(length=256), nullable=False),
    sa.Column('checked_by', sa.String(length=64), nullable=False),
    sa.Column('checked_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('officer_id', 'check', name='uq_officer_checks_officer_check')
    )
    op.create_table('requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('key_usage', sa.String(length=32), nullable=False),
    sa.Column('eui64', sa.String(length=16), nullable=False),
    sa.Column('common_name', sa.String(length=64), nullable=True),
    sa.Column('csr_der', sa.LargeBinary(), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('aro_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.String(length=32), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('rapp_hash', sa.String(length=64), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['aro_id'], ['officers.id'], ),
    *_requests_certificate_fk(),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_requests_key_sha256'), 'requests', ['key_sha256'], unique=False)
    op.create_table('approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.String(length=256), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'operator', name='uq_approvals_request_operator')
    )
    op.create_table('serials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_cn', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('reserved_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('issuer_cn', 'serial', name='uq_serials_issuer_serial')
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issuer_cn', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('issuer_certificate_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('subject_cn', sa.String(length=64), nullable=True),
    sa.Column('eui64', sa.String(length=16), nullable=True),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('key_usage', sa.String(length=32), nullable=True),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('not_before', sa.String(length=32), nullable=False),
    sa.Column('not_after', sa.String(length=32), nullable=False),
    sa.Column('der', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['issuer_certificate_id'], ['certificates.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint'),
    sa.UniqueConstraint('issuer_cn', 'serial', name='uq_certificates_issuer_serial'),
    sa.UniqueConstraint('key_sha256')
    )
    if not sqlite:  # requests <-> certificates refer to each other: the second FK comes after both
        op.create_foreign_key('requests_certificate_id_fkey', 'requests', 'certificates',
                              ['certificate_id'], ['id'])
    op.create_table('cas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_label', sa.String(length=128), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('token_label', sa.String(length=64), nullable=False),
    sa.Column('token_serial', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('certificate_id'),
    sa.UniqueConstraint('key_label'),
    sa.UniqueConstraint('name')
    )
    op.create_table('audit',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=128), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=True),
    sa.Column('rapp_hash', sa.String(length=64), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('statements', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('issuer_cn', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('revoked_at', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_by', sa.String(length=200), nullable=False),
    sa.Column('entry_der', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('certificate_id'),
    sa.UniqueConstraint('issuer_cn', 'serial', name='uq_revocations_issuer_serial')
    )
    op.create_index(op.f('ix_revocations_issuer_cn'), 'revocations', ['issuer_cn'], unique=False)
    op.create_table('crls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ca', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('crl_number', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reserved_at', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.String(length=32), nullable=True),
    sa.Column('this_update', sa.String(length=32), nullable=True),
    sa.Column('next_update', sa.String(length=32), nullable=True),
    sa.Column('entries', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('der', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ca', 'crl_number', name='uq_crls_ca_number')
    )
    op.create_table('audit_signers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_label', sa.String(length=128), nullable=False),
    sa.Column('token_label', sa.String(length=64), nullable=False),
    sa.Column('certificate_der', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint'),
    sa.UniqueConstraint('key_label')
    )
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('v', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('home_id', sa.String(length=64), nullable=False),
    sa.Column('signer', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq', 'signer', name='uq_audit_checkpoints_seq_signer')
    )
    op.create_index(op.f('ix_audit_checkpoints_seq'), 'audit_checkpoints', ['seq'], unique=False)
    _append_only_triggers(sqlite)


def _append_only_triggers(sqlite: bool) -> None:
    if sqlite:
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END")
        op.execute("CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
                   "BEGIN SELECT RAISE(ABORT, 'audit_head is never deleted'); END")
        return
    op.execute(PG_APPEND_ONLY_FUNCTION)
    for table in (*APPEND_ONLY, "audit_head"):
        operations = "DELETE" if table == "audit_head" else "UPDATE OR DELETE"
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE {operations} ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION s1spki_append_only()")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: restore a backup instead")
