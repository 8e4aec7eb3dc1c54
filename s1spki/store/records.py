"""Rows as value objects: what crosses the store's edge (never a SQLAlchemy row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.values.clock import parse_iso


@dataclass(frozen=True)
class OperatorRecord:
    name: str
    roles: tuple[str, ...]
    public_key_der: bytes
    key_sha256: str
    status: str
    created_at: str
    withdrawn_at: str | None
    id: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "status": self.status, "key_sha256": self.key_sha256,
                "created_at": self.created_at, "withdrawn_at": self.withdrawn_at}


@dataclass(frozen=True)
class OrgRecord:
    id: int
    name: str
    status: str
    created_at: str
    eui64s: tuple[str, ...]
    roles: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "created_at": self.created_at,
                "eui64s": list(self.eui64s), "roles": list(self.roles)}


@dataclass(frozen=True)
class CheckRecord:
    check: str
    evidence: str
    checked_by: str
    checked_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "evidence": self.evidence, "checked_by": self.checked_by,
                "checked_at": self.checked_at}


@dataclass(frozen=True)
class OfficerRecord:
    id: int
    org_id: int
    org_name: str
    kind: str  # sro | aro
    name: str
    status: str  # nominated | active | withdrawn
    nominated_by: str | None
    created_at: str
    withdrawn_at: str | None
    checks: tuple[CheckRecord, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "organisation": self.org_name, "kind": self.kind, "name": self.name,
                "status": self.status, "nominated_by": self.nominated_by, "created_at": self.created_at,
                "withdrawn_at": self.withdrawn_at, "checks": [c.as_dict() for c in self.checks]}


@dataclass(frozen=True)
class ApprovalRecord:
    request_id: int
    operator: str
    roles: tuple[str, ...]
    decision: str
    statement: dict[str, Any]
    at: str
    id: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "operator": self.operator, "roles": list(self.roles),
                "decision": self.decision, "at": self.at, "statement": self.statement}


@dataclass(frozen=True)
class RequestRecord:
    id: int
    org_id: int
    org_name: str
    role: str
    key_usage: str
    eui64: str
    common_name: str | None
    csr_der: bytes | None  # None for an enrolment authorisation
    key_sha256: str | None
    status: str
    submitted_by: str
    submitted_at: str
    policy_hash: str
    rapp_hash: str
    certificate_id: int | None
    aro: str | None
    rule: dict[str, Any]
    digest: str
    claimed_by: str | None = None  # while status is "issuing": the command issuing it (host:pid)
    claimed_at: str | None = None
    kind: str | None = None  # None: a request with a CSR; "enrolment" (an authorisation) or "reenrolment" (EST)
    expires_at: str | None = None  # an enrolment authorisation: used before this time or never
    secret_hash: str | None = field(default=None, repr=False)  # salted hash of its one-time secret
    renews: int | None = None  # a re-enrolment: the certificate it replaces

    def as_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "organisation": self.org_name, "role": self.role, "key_usage": self.key_usage,
                "eui64": self.eui64, "common_name": self.common_name, "status": self.status,
                "submitted_by": self.submitted_by, "submitted_at": self.submitted_at,
                "key_sha256": self.key_sha256, "policy_hash": self.policy_hash, "rapp_hash": self.rapp_hash,
                "certificate_id": self.certificate_id, "aro": self.aro, "rule": self.rule, "digest": self.digest}
        if self.kind is not None:
            data.update(kind=self.kind, expires_at=self.expires_at, renews=self.renews)
        return data


@dataclass(frozen=True)
class CertificateRecord:
    id: int
    kind: str
    issuer_cn: str
    serial: str
    request_id: int | None
    subject_cn: str | None
    eui64: str | None
    role: str | None
    key_usage: str | None
    key_sha256: str
    not_before: str
    not_after: str
    der: bytes
    fingerprint: str
    policy_hash: str
    issued_at: str
    status: str

    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    def pem(self) -> str:
        return self.certificate().public_bytes(serialization.Encoding.PEM).decode("ascii")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "issuer_cn": self.issuer_cn, "serial": self.serial,
                "request_id": self.request_id, "subject_cn": self.subject_cn, "eui64": self.eui64,
                "role": self.role, "key_usage": self.key_usage, "not_before": self.not_before,
                "not_after": self.not_after, "sha256_fingerprint": self.fingerprint,
                "policy_hash": self.policy_hash, "issued_at": self.issued_at, "status": self.status}


@dataclass(frozen=True)
class CaRecord:
    id: int
    kind: str
    name: str
    key_label: str
    token_label: str
    token_serial: str
    created_at: str
    certificate: CertificateRecord

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "key_label": self.key_label,
                "token_label": self.token_label, "token_serial": self.token_serial,
                "created_at": self.created_at, "certificate": self.certificate.as_dict()}


@dataclass(frozen=True)
class SerialRecord:
    issuer_cn: str
    serial: str
    status: str
    purpose: str
    request_id: int | None
    reserved_at: str
    issued: bool  # a certificate with this (issuer, serial) exists

    def as_dict(self) -> dict[str, Any]:
        return {"issuer_cn": self.issuer_cn, "serial": self.serial, "status": self.status,
                "purpose": self.purpose, "request_id": self.request_id, "reserved_at": self.reserved_at,
                "certificate_exists": self.issued}


# --- revocation, CRLs and ARLs ---


@dataclass(frozen=True)
class RevocationRecord:
    certificate_id: int
    issuer_cn: str
    serial: str
    reason: str
    revoked_at: str
    requested_by: str
    revoked_by: str

    def as_dict(self) -> dict[str, Any]:
        return {"certificate_id": self.certificate_id, "issuer_cn": self.issuer_cn, "serial": self.serial,
                "reason": self.reason, "revoked_at": self.revoked_at, "requested_by": self.requested_by,
                "revoked_by": self.revoked_by}


@dataclass(frozen=True)
class CrlRecord:
    """An issued CRL or ARL; `der` is None once a newer one of the same CA has superseded it."""

    ca: str
    kind: str  # crl | arl
    number: int
    this_update: str
    next_update: str
    entries: int
    sha256: str
    issued_at: str
    der: bytes | None

    def as_dict(self) -> dict[str, Any]:
        return {"ca": self.ca, "kind": self.kind, "crl_number": self.number, "this_update": self.this_update,
                "next_update": self.next_update, "entries": self.entries, "sha256": self.sha256,
                "issued_at": self.issued_at}


@dataclass(frozen=True)
class CrlNumberRecord:
    """A cRLNumber reserved for a CA: issued, or reserved and never used (the command that reserved it ended before
    storing its CRL, or another process stored a higher number first)."""

    ca: str
    kind: str  # crl | arl
    number: int
    status: str  # reserved | issued
    reserved_at: str
    issued_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ca": self.ca, "kind": self.kind, "crl_number": self.number, "status": self.status,
                "reserved_at": self.reserved_at, "issued_at": self.issued_at, "crl_exists": self.status == "issued"}


# A revocation's own command issues its CRL moments after committing it (on SQLite, after waiting for the write lock
# perhaps); one on no CRL for longer was left by a command that ended first. Before that it may be another node's
# revocation between its two steps, which nobody else should warn about or issue a CRL for.
LEFT_BEHIND_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Unlisted:
    """A CA whose revocations outnumber the entries of its current CRL or ARL: `missing` of them are on none yet,
    the oldest revoked at `since`."""

    ca: str
    kind: str  # the CA's kind: issuing (lists them on a CRL) or root (on an ARL)
    status: str  # the CA certificate's status
    missing: int
    since: str

    def left_behind(self, now: datetime) -> bool:
        """Whether the revocations have waited for their CRL longer than their own command would take."""
        return parse_iso(self.since) + LEFT_BEHIND_AFTER <= now
