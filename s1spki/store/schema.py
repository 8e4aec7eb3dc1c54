"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL; made by the migrations, which
also add the triggers that keep the audit tables append-only.

Uniqueness that the policy relies on is enforced here, not only in code: (issuer CN, serial) for
reservations and certificates (spec 2.9), one certificate per public key (spec 5), one use per
statement nonce (no replay), one organisation per EUI-64.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# The schema as the code uses it; the migrations (store/migrations) make it in a database. `meta.schema_version`
# is what stores made before migrations carried: they are stamped at the baseline revision.
SCHEMA_VERSION = "1"
metadata = MetaData()


def _seal() -> tuple[Column, Column]:  # type: ignore[type-arg]
    """The authenticator of a row that grants power (store/sealing.py): an HMAC made in the HSM over the row and
    `sealed_seq`, the audit record of the change that last wrote it."""
    return Column("mac", String(64)), Column("sealed_seq", BigInteger)

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

operators = Table(
    "operators", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("roles", String(256), nullable=False),  # space-separated role names from rapp/roles.toml
    Column("public_key_der", LargeBinary, nullable=False),
    Column("key_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # active | withdrawn
    Column("created_at", String(32), nullable=False),
    Column("withdrawn_at", String(32)),
    *_seal(),
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
    *_seal(),
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

# Subscriber officers (spec 6): Senior Responsible Officers and Authorised Responsible Officers. An ARO is
# nominated by an SRO and active only once its identity check and BS 7858 screening are recorded.
officers = Table(
    "officers", metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # sro | aro
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # nominated | active | withdrawn
    Column("nominated_by", Integer, ForeignKey("officers.id")),
    Column("created_at", String(32), nullable=False),
    Column("withdrawn_at", String(32)),
    UniqueConstraint("org_id", "kind", "name", name="uq_officers_org_kind_name"),
    *_seal(),
)

# Each verification of an officer: what was checked, the evidence reference, who checked it and when.
officer_checks = Table(
    "officer_checks", metadata,
    Column("id", Integer, primary_key=True),
    Column("officer_id", Integer, ForeignKey("officers.id"), nullable=False),
    Column("check", String(32), nullable=False),  # identity | authority | nomination | screening
    Column("evidence", String(256), nullable=False),
    Column("checked_by", String(64), nullable=False),
    Column("checked_at", String(32), nullable=False),
    UniqueConstraint("officer_id", "check", name="uq_officer_checks_officer_check"),
)

requests = Table(
    "requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(64), nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("eui64", String(16), nullable=False),
    Column("common_name", String(64)),
    Column("csr_der", LargeBinary),  # None for an enrolment authorisation: the component sends its CSR over EST
    Column("key_sha256", String(64), index=True),
    Column("status", String(16), nullable=False),  # submitted | issuing | issued | rejected
    Column("aro_id", Integer, ForeignKey("officers.id")),
    Column("rule", Text, nullable=False),  # JSON: the approval rule and checks in force at submission
    Column("digest", String(64), nullable=False),  # what approvers sign: SHA-256 of the request's content
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("rapp_hash", String(64), nullable=False),
    # requests and certificates refer to each other: this reference is added once both exist
    Column("certificate_id", Integer, ForeignKey("certificates.id", use_alter=True,
                                                 name="requests_certificate_id_fkey")),
    # the command issuing it (status "issuing"): host and process, and when; a claim of a process that died is
    # taken over by the next `cert issue`
    Column("claimed_by", String(128)),
    Column("claimed_at", String(32)),
    # None: a request with a CSR (`request submit`); "enrolment": an enrolment authorisation (`est authorise`),
    # used once by a component over EST with the one-time secret whose salted hash is `secret_hash`, until
    # `expires_at`; "reenrolment": a component's renewal over EST of certificate `renews`
    Column("kind", String(16)),
    Column("expires_at", String(32)),
    Column("secret_hash", String(200)),
    Column("renews", Integer, ForeignKey("certificates.id", use_alter=True, name="requests_renews_fkey")),
    *_seal(),
)

# Approvals and rejections of a request, each the operator's signed statement over the request's digest.
approvals = Table(
    "approvals", metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, ForeignKey("requests.id"), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("roles", String(256), nullable=False),
    Column("decision", String(16), nullable=False),  # approve | reject
    Column("statement", Text, nullable=False),  # JSON: {operator, nonce, body, signature}
    Column("at", String(32), nullable=False),
    UniqueConstraint("request_id", "operator", name="uq_approvals_request_operator"),
    *_seal(),
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
    *_seal(),
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
    # HMAC-SHA256 of the record's hash, made in the HSM when the record is written (not part of what is hashed:
    # a record of a store made before authenticators has none, and is vouched for by a signed checkpoint)
    Column("mac", String(64)),
    # the node that wrote the record (several nodes on one store, `s1spki init --join`); NULL: the original node.
    # Hashed with the record when set (audit/record.py hashed_fields).
    Column("node_id", String(64)),
    Index("ix_audit_object", "object_type", "object_id"),
    Index("ix_audit_event", "event"),  # audit verify finds the audit keys' records without a full scan
)

# One row: the chain head. Updating it in every audited transaction serialises audit writers on
# SQLite and PostgreSQL alike, so the chain never forks.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# --- revocation, CRLs and ARLs (spec 5; revocation.py, crl.py) ---

# One row per revoked certificate, never changed afterwards. `entry_der` is the certificate's revokedCertificates
# entry (serial, revocationDate, reasonCode) exactly as every later CRL or ARL of its issuer carries it, encoded
# once at revocation so that building a CRL of a million entries is a concatenation (crl.py).
revocations = Table(
    "revocations", metadata,
    Column("id", Integer, primary_key=True),
    Column("certificate_id", Integer, ForeignKey("certificates.id"), nullable=False, unique=True),
    Column("issuer_cn", String(64), nullable=False, index=True),  # whose CRL (or, for a CA, the root's ARL)
    Column("serial", String(40), nullable=False),
    Column("reason", String(32), nullable=False),  # an RFC 5280 CRLReason name from policy/ [revocation]
    Column("revoked_at", String(32), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("revoked_by", String(200), nullable=False),
    Column("entry_der", LargeBinary, nullable=False),
    UniqueConstraint("issuer_cn", "serial", name="uq_revocations_issuer_serial"),
    *_seal(),
)

# How many revocations each CA's certificates have, kept by the transaction of each revocation (a row per CA,
# made with the CA): whether a CA has revocations on no CRL yet, asked at the end of every command, is then one row
# beside its current CRL's entry count rather than a count over every revocation it ever had; and a CRL is built
# only from as many revocations as were counted (ra/crl.py). Not sealed: docs/threat-model.md says what that leaves.
revocation_counts = Table(
    "revocation_counts", metadata,
    Column("ca", String(64), primary_key=True),
    Column("revoked", BigInteger, nullable=False),
)

# CRLs (issuing CAs) and ARLs (the root). A cRLNumber is reserved in a committed transaction before the HSM signs,
# as a serial is, and its row becomes the issued CRL. (ca, crl_number) is unique, a number is reserved as one more
# than the CA's highest under a lock on the CA's row, and a CRL is stored only if no higher number of its CA was
# stored first: the numbers of stored CRLs strictly increase in the order they are issued, with two processes too.
# Only the current CRL of a CA keeps its bytes; superseded ones keep number, times, entry count and SHA-256.
crls = Table(
    "crls", metadata,
    Column("id", Integer, primary_key=True),
    Column("ca", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # crl | arl
    Column("crl_number", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # reserved | issued
    Column("reserved_at", String(32), nullable=False),
    Column("issued_at", String(32)),
    Column("this_update", String(32)),
    Column("next_update", String(32)),
    Column("entries", Integer),
    Column("sha256", String(64)),
    Column("der", LargeBinary),
    UniqueConstraint("ca", "crl_number", name="uq_crls_ca_number"),
)


# --- audit trail: the audit key and signed checkpoints (s1spki/audit) ---

# The audit key(s): a key of its own on the HSM (never a CA key) and its self-signed certificate.
audit_signers = Table(
    "audit_signers", metadata,
    Column("id", Integer, primary_key=True),
    Column("key_label", String(128), nullable=False, unique=True),
    Column("token_label", String(64), nullable=False),
    Column("certificate_der", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),  # SHA-256 of the certificate
    Column("created_at", String(32), nullable=False),
)

# Signed checkpoints of the chain head; each is also appended to a file outside the database.
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("id", Integer, primary_key=True),
    Column("v", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False, index=True),
    Column("hash", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("home_id", String(64), nullable=False),
    Column("signer", String(64), nullable=False),
    Column("signature", Text, nullable=False),  # base64 DER ECDSA over the checkpoint's canonical JSON
    Column("node_id", String(64)),  # the node that signed it (NULL: the original node); signed when set
    UniqueConstraint("seq", "signer", name="uq_audit_checkpoints_seq_signer"),
)

# The online nodes sharing this store (several CA nodes on one PostgreSQL database): each node's id and the
# checkpoint file it appends to, which `audit verify` and `audit export` on any node read. "" is the original
# node (the one `s1spki init` made, whose records carry no node id); a node is added by `s1spki init --join`
# under dual control, in an audited change. A path registered as NULL (a store from before nodes) is filled in
# by that node's next checkpoint.
nodes = Table(
    "nodes", metadata,
    Column("node_id", String(64), primary_key=True),
    Column("checkpoints_file", Text),
    Column("joined_at", String(32), nullable=False),
)
