"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Uniqueness that the policy relies on is enforced here, not only in code: (issuer CN, serial) for
reservations and certificates (spec 2.9), one certificate per public key (spec 5), one use per
statement nonce (no replay), one organisation per EUI-64.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = "1"
metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

operators = Table(
    "operators", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(64), nullable=False),
    Column("public_key_der", LargeBinary, nullable=False),
    Column("key_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # active | withdrawn
    Column("created_at", String(32), nullable=False),
    Column("withdrawn_at", String(32)),
)

used_nonces = Table(
    "used_nonces", metadata,
    Column("nonce", String(64), primary_key=True),
    Column("operator", String(64), nullable=False),
    Column("at", String(32), nullable=False),
)

organisations = Table(
    "organisations", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # active | withdrawn
    Column("created_at", String(32), nullable=False),
)

org_entities = Table(
    "org_entities", metadata,
    Column("eui64", String(16), primary_key=True),  # 16 uppercase hex digits
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
)

org_roles = Table(
    "org_roles", metadata,
    Column("org_id", Integer, ForeignKey("organisations.id"), primary_key=True),
    Column("role", String(64), primary_key=True),
)

requests = Table(
    "requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(64), nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("eui64", String(16), nullable=False),
    Column("common_name", String(64)),
    Column("csr_der", LargeBinary, nullable=False),
    Column("key_sha256", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # submitted | issued
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("rapp_hash", String(64), nullable=False),
    Column("certificate_id", Integer, ForeignKey("certificates.id")),
)

serials = Table(
    "serials", metadata,
    Column("id", Integer, primary_key=True),
    Column("issuer_cn", String(64), nullable=False),
    Column("serial", String(40), nullable=False),  # uppercase hex
    Column("status", String(16), nullable=False),  # reserved | issued
    Column("purpose", String(32), nullable=False),  # end-entity | root | issuing
    Column("request_id", Integer, ForeignKey("requests.id")),
    Column("reserved_at", String(32), nullable=False),
    UniqueConstraint("issuer_cn", "serial", name="uq_serials_issuer_serial"),
)

certificates = Table(
    "certificates", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # root | issuing | end-entity
    Column("issuer_cn", String(64), nullable=False),
    Column("serial", String(40), nullable=False),
    Column("issuer_certificate_id", Integer, ForeignKey("certificates.id")),
    Column("request_id", Integer, ForeignKey("requests.id")),
    Column("subject_cn", String(64)),
    Column("eui64", String(16)),
    Column("role", String(64)),
    Column("key_usage", String(32)),
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("not_before", String(32), nullable=False),
    Column("not_after", String(32), nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("policy_hash", String(64), nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # valid | revoked
    UniqueConstraint("issuer_cn", "serial", name="uq_certificates_issuer_serial"),
)

cas = Table(
    "cas", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # root | issuing
    Column("name", String(64), nullable=False, unique=True),
    Column("key_label", String(128), nullable=False, unique=True),
    Column("certificate_id", Integer, ForeignKey("certificates.id"), nullable=False, unique=True),
    Column("token_label", String(64), nullable=False),
    Column("token_serial", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("object_type", String(32)),
    Column("object_id", String(128)),
    Column("outcome", String(16), nullable=False),  # ok | refused | error
    Column("correlation_id", String(36), nullable=False),
    Column("policy_hash", String(64)),
    Column("rapp_hash", String(64)),
    Column("details", Text, nullable=False),  # JSON
    Column("statements", Text, nullable=False),  # JSON list of signed operator statements
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

# One row: the chain head. Updating it in every audited transaction serialises audit writers on
# SQLite and PostgreSQL alike, so the chain never forks.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
