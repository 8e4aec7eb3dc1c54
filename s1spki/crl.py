"""CRLs and ARLs (spec 5): built from the store, linted, signed in the HSM, stored under a strictly increasing
cRLNumber.

    reserve the cRLNumber (committed) ─► TBSCertList from the store ─► lint ─► HSM signs ─► verify
        ─► store + audit, one transaction (retried with a new number if another process stored a higher one)

An issuing CA's CRL lists the end-entity certificates it revoked; the root's ARL lists the issuing CA
certificates it revoked. Both are v2, signed ecdsa-with-SHA256 (parameters absent), with the issuer
byte-identical to the CA certificate's subject, the authorityKeyIdentifier (the CA's 8-octet SKI) and a
non-critical cRLNumber; thisUpdate is now, nextUpdate comes from policy/ ([crl] or [arl]); every entry carries
its reasonCode.

Scale (scripts/bench): a CRL may list a million entries. cryptography's builder needs about 6 s just to make
a million entry objects, so the TBSCertList is declared with asn1crypto (RFC 5280 5.1) and its
revokedCertificates are the entries encoded once at revocation (`entry_der`, kept in the store),
concatenated. pkilint takes about 260 us and 11 KiB per entry (4 min and 11 GiB for a million), so the lint
gate sees the whole CRL up to FULL_LINT_ENTRIES entries and beyond that a lint form: the same TBSCertList
header, byte for byte, with a representative subset of the entries. Every entry is made by `entry_der` from
an integer serial, a time and a policy reason, so entries differ only in those: the subset holds the first
entry of each reason, the oldest and newest (UTCTime and, from 2050, GeneralizedTime), and evenly spaced ones;
the store keeps (issuer, serial) unique. The audit record of each issuance says how many entries were linted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from asn1crypto import core, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .app import App
from .audit_record import AuditEvent
from .clock import iso, parse_iso
from .end_entity import issuing_ca
from .errors import LintRefused, NotFound, PolicyRefused, Refused
from .issuance import lint_context, throwaway_key
from .lint import has_errors, lint_crl
from .profile import Issuer
from .store import CaRecord, Duplicate
from .store.records import CrlRecord

# Up to this many entries the lint gate sees the whole CRL; beyond it, a lint form of about as many.
FULL_LINT_ENTRIES = 1000
# How often to take a new number when other processes keep storing higher-numbered CRLs of the same CA first.
STORE_ATTEMPTS = 5
OPERATIONS = {"crl": "crl.issue", "arl": "crl.arl"}
FIRST_GENERALIZED_YEAR = 2050  # RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050


def _time(moment: datetime) -> asn1_x509.Time:
    """A CRL time to the second: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 5.1.2.4-5.1.2.6)."""
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return asn1_x509.Time({"utc_time" if moment.year < FIRST_GENERALIZED_YEAR else "general_time": moment})


def _sequence(contents: bytes) -> bytes:
    """A DER SEQUENCE around contents that are already DER (X.690 8.1.3: definite length, fewest octets)."""
    size = len(contents)
    if size < 0x80:
        return b"\x30" + bytes((size,)) + contents
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes((0x80 | len(length),)) + length + contents


@lru_cache(maxsize=4096)
def _entry_tail(revoked_at: datetime, reason_code: int) -> bytes:
    extensions = asn1_crl.CRLEntryExtensions([{"extn_id": "crl_reason", "critical": False, "extn_value": reason_code}])
    return _time(revoked_at).dump() + extensions.dump()


def entry_der(serial: int, revoked_at: datetime, reason_code: int) -> bytes:
    """One revokedCertificates entry (RFC 5280 5.1): userCertificate, revocationDate, and a non-critical
    reasonCode as its only extension. The same bytes as asn1crypto's RevokedCertificate, made faster."""
    return _sequence(core.Integer(serial).dump() + _entry_tail(revoked_at, reason_code))


def pem_bytes(der: bytes) -> bytes:
    """A CRL's DER as PEM (`X509 CRL`), without parsing it."""
    return pem.armor("X509 CRL", der)


@dataclass(frozen=True)
class _Header:
    """Everything in the TBSCertList but the entries."""

    issuer_der: bytes
    key_id: bytes
    number: int
    this_update: datetime
    next_update: datetime

    def tbs(self, entries: bytes) -> bytes:
        fields = {
            "version": "v2",
            "signature": {"algorithm": "sha256_ecdsa"},  # parameters absent (spec 2.3)
            "issuer": asn1_x509.Name.load(self.issuer_der),  # kept as loaded: byte-identical (spec 2.10)
            "this_update": _time(self.this_update),
            "next_update": _time(self.next_update),
            "crl_extensions": [
                {"extn_id": "authority_key_identifier", "critical": False,
                 "extn_value": {"key_identifier": self.key_id}},
                {"extn_id": "crl_number", "critical": False, "extn_value": self.number},
            ],
        }
        if entries:  # RFC 5280 5.1.2.6: with no revoked certificates the list is absent
            fields["revoked_certificates"] = asn1_crl.RevokedCertificates.load(_sequence(entries))
        return asn1_crl.TbsCertList(fields).dump()


def _signed(tbs: bytes, signature: bytes) -> bytes:
    algorithm = asn1_x509.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
    return _sequence(tbs + algorithm + core.OctetBitString(signature).dump())


def _lint_entries(entries: list[bytes], first_per_reason: list[bytes]) -> list[bytes]:
    """All entries, or the representative subset of the module docstring when there are more than
    FULL_LINT_ENTRIES."""
    if len(entries) <= FULL_LINT_ENTRIES:
        return entries
    step = len(entries) // FULL_LINT_ENTRIES + 1
    return list(dict.fromkeys([*first_per_reason, entries[0], entries[-1], *entries[::step]]))


def _lint(app: App, ca: CaRecord, header: _Header, lint_entries: bytes) -> bytes:
    """Lint a copy signed by the throwaway key; returns the TBSCertList that was linted."""
    copy = header.tbs(lint_entries)
    der = _signed(copy, throwaway_key().sign(copy, ec.ECDSA(hashes.SHA256())))
    findings = lint_crl(der, lint_context(app.policy, ca.certificate.certificate()))
    if has_errors(findings):
        lines = [f.line() for f in findings]
        raise LintRefused(f"lint refused the {kind_of(ca).upper()} of {ca.name}, nothing was signed: "
                          f"{'; '.join(lines)}", findings=lines)
    return copy


def kind_of(ca: CaRecord) -> str:
    """An issuing CA issues a CRL, the root an ARL."""
    return "arl" if ca.kind == "root" else "crl"


def _next_update(app: App, kind: str, this_update: datetime) -> datetime:
    if kind == "arl":
        return this_update + timedelta(days=app.policy.arl_next_update_days)
    return this_update + timedelta(hours=app.policy.crl_next_update_hours)


@dataclass(frozen=True)
class Built:
    """A linted TBSCertList, ready for the CA's signature."""

    ca: CaRecord
    header: _Header
    tbs: bytes
    entries: int
    entries_linted: int


def build(app: App, ca: CaRecord, number: int) -> Built:
    """The TBSCertList of CRL `number` of `ca` from the store, linted (LintRefused if it is not clean)."""
    ca_cert = ca.certificate.certificate()
    entries = list(app.store.reader.revoked_entries(ca.name))
    first = app.store.reader.first_revoked_entry_per_reason(ca.name) if len(entries) > FULL_LINT_ENTRIES else []
    linted = _lint_entries(entries, first)
    this_update = app.clock.now().astimezone(UTC).replace(microsecond=0)
    header = _Header(_subject_der(ca.certificate.der), Issuer(ca_cert).key_id, number, this_update,
                     _next_update(app, kind_of(ca), this_update))
    linted_tbs = _lint(app, ca, header, b"".join(linted))
    # Up to FULL_LINT_ENTRIES the TBSCertList signed is the one linted, byte for byte.
    tbs = linted_tbs if linted is entries else header.tbs(b"".join(entries))
    return Built(ca, header, tbs, len(entries), len(linted))


def sign(built: Built, signing_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Sign with the CA's key and check the signature verifies under the CA's certificate; the CRL's DER."""
    signature = signing_key.sign(built.tbs, ec.ECDSA(hashes.SHA256()))
    public_key = built.ca.certificate.certificate().public_key()
    try:
        public_key.verify(signature, built.tbs, ec.ECDSA(hashes.SHA256()))  # type: ignore[arg-type,call-arg]
    except InvalidSignature:
        raise Refused(f"the HSM's signature does not verify under {built.ca.name}'s public key: not stored") from None
    return _signed(built.tbs, signature)


def _reserve(app: App, ca: CaRecord, event: AuditEvent) -> int | None:
    """Reserve the next cRLNumber in a committed transaction of its own; None if another process got it."""
    number = app.store.reader.last_crl_number(ca.name) + 1
    reserve = AuditEvent(f"{kind_of(ca)}.reserve", event.actor, event.actor_role, object_type="crl",
                         object_id=f"{ca.name}/{number}", correlation_id=event.correlation_id,
                         policy_hash=event.policy_hash, rapp_hash=event.rapp_hash)
    try:
        with app.store.change(reserve) as tx:
            tx.reserve_crl_number(ca.name, kind_of(ca), number)
    except Duplicate:
        return None
    return number


def issue(app: App, ca: CaRecord, signing_key: ec.EllipticCurvePrivateKey, event: AuditEvent) -> CrlRecord:
    """Issue the next CRL (issuing CA) or ARL (root) of `ca`, signed with its HSM key; refusals are recorded."""
    kind = kind_of(ca)
    with app.refusals_recorded(event):
        if ca.certificate.status != "valid":
            raise PolicyRefused(f"CA {ca.name!r} is {ca.certificate.status}: it issues no more {kind.upper()}s")
        for _ in range(STORE_ATTEMPTS):
            number = _reserve(app, ca, event)
            if number is None:
                continue
            built = build(app, ca, number)
            der = sign(built, signing_key)
            values = {"this_update": iso(built.header.this_update), "next_update": iso(built.header.next_update),
                      "entries": built.entries, "sha256": hashlib.sha256(der).hexdigest()}
            done = dataclasses.replace(event, object_id=f"{ca.name}/{number}").with_outcome(
                "ok", kind=kind, crl_number=number, entries_linted=built.entries_linted, **values)
            try:
                with app.store.change(done) as tx:
                    tx.store_crl(ca.name, number, {**values, "der": der})
            except Duplicate:
                continue  # a higher number of this CA was stored first: this one would go backwards
            record = app.store.reader.crl(ca.name, number)
            assert record is not None
            return record
        raise Refused(f"other processes kept issuing {kind.upper()}s of {ca.name} meanwhile: try again")


def due(app: App, ca: CaRecord) -> bool:
    """Whether the CA's current CRL or ARL is older than policy/'s re-issue period (or there is none yet)."""
    current = app.store.reader.crl(ca.name)
    if current is None:
        return True
    if kind_of(ca) == "arl":
        period = timedelta(days=app.policy.arl_reissue_days)
    else:
        period = timedelta(hours=app.policy.crl_reissue_hours)
    return parse_iso(current.this_update) + period <= app.clock.now()


def _ca_for(app: App, kind: str, name: str | None) -> CaRecord:
    if kind == "crl":
        return issuing_ca(app, name)
    roots = [r for r in app.store.reader.cas("root") if name is None or r.name == name]
    if not roots:
        raise NotFound(f"no root CA named {name!r}" if name else "there is no root CA yet: run `s1spki ceremony root`")
    return roots[0]


def issue_scheduled(app: App, names: list[str], kind: str, ca_name: str | None = None,
                    if_due: bool = False) -> CrlRecord | None:
    """`crl issue` (kind "crl") or `crl arl` (kind "arl"): issue now, or with `if_due` only when policy/'s
    re-issue period has passed (None when it has not); authorised as rapp/ says for crl.issue or crl.arl."""
    operation = OPERATIONS[kind]
    event = app.event(operation, "+".join(names), "", "crl", ca_name)
    with app.refusals_recorded(event):
        ca = _ca_for(app, kind, ca_name)
        if if_due and not due(app, ca):
            return None
        signing_key = app.hsm().signing_key(ca.key_label)  # an unavailable HSM fails before anything changes
        auth = app.authorise(operation, {"ca": ca.name, "kind": kind}, names)
        event = dataclasses.replace(event, object_id=ca.name).attributed(auth.actor, auth.actor_role, auth.records())
    return issue(app, ca, signing_key, event)


def _subject_der(certificate_der: bytes) -> bytes:
    """The CA certificate's subject exactly as encoded (spec 2.10: the CRL issuer is byte-identical)."""
    return asn1_x509.Certificate.load(certificate_der)["tbs_certificate"]["subject"].dump()
