"""The CRL stage: a CRL's or ARL's TBSCertList from the store's entries, linted, signed by its issuer.

An issuing CA's CRL lists the end-entity certificates it revoked; the root's ARL lists the issuing CA
certificates it revoked. Both are v2, signed ecdsa-with-SHA256 (parameters absent), with the issuer
byte-identical to the CA certificate's subject, the authorityKeyIdentifier (the CA's 8-octet SKI) and a
non-critical cRLNumber; thisUpdate is now, nextUpdate comes from policy/ ([crl] or [arl]); every entry carries
its reasonCode. Numbering, storing and scheduling are the use case's (`s1spki.ra.crl`).

Scale (scripts/bench): a CRL may list a million entries. cryptography's builder needs about 6 s just to make
a million entry objects, so the TBSCertList is declared with asn1crypto (RFC 5280 5.1) and its
revokedCertificates are the entries encoded once at revocation (`entry_der`, kept in the store),
concatenated. pkilint takes about 260 us and 11 KiB per entry (4 min and 11 GiB for a million), so the lint
gate sees the whole CRL up to FULL_LINT_ENTRIES entries and beyond that a lint form: the same TBSCertList
header, byte for byte, with a representative subset of the entries. Every entry is made by `entry_der` from
an integer serial, a time and a policy reason, so entries differ only in those: the subset holds the first
entry of each reason, the oldest and newest (UTCTime and, from 2050, GeneralizedTime), and evenly spaced ones;
the store keeps (issuer, serial) unique. The audit record of each issuance says how many entries were linted.
No entry is left out: beyond the lint form, every entry is scanned on its DER for the shape the linted ones have
(its serial, revocationDate and one reasonCode, each as the rules require: s1spki/lint/crl/entry_scan.py), and
any entry that breaks it refuses the CRL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import core, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import LintRefused
from s1spki.issuance.issuer import Issuer
from s1spki.issuance.lint_gate import throwaway_key
from s1spki.lint import LintContext, has_errors, lint_crl
from s1spki.lint.crl.entry_scan import scan_entries

# Up to this many entries the lint gate sees the whole CRL; beyond it, a lint form of about as many.
FULL_LINT_ENTRIES = 1000
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


def _lint(issuer: Issuer, kind: str, header: _Header, lint_entries: bytes, context: LintContext) -> bytes:
    """Lint a copy signed by the throwaway key; returns the TBSCertList that was linted."""
    copy = header.tbs(lint_entries)
    der = _signed(copy, throwaway_key().sign(copy, ec.ECDSA(hashes.SHA256())))
    findings = lint_crl(der, context)
    if has_errors(findings):
        lines = [f.line() for f in findings]
        raise LintRefused(f"lint refused the {kind.upper()} of {issuer.name}, nothing was signed: "
                          f"{'; '.join(lines)}", findings=lines)
    return copy


@dataclass(frozen=True)
class Built:
    """A linted TBSCertList, ready for the CA's signature."""

    issuer: Issuer
    header: _Header
    tbs: bytes
    entries: int
    entries_linted: int


def build(issuer: Issuer, kind: str, number: int, entries: list[bytes],
          first_per_reason: Callable[[], list[bytes]], this_update: datetime, next_update: datetime,
          context: LintContext) -> Built:
    """The TBSCertList of CRL `number` of `issuer` over `entries` (the store's, oldest first), linted
    (LintRefused if it is not clean); `first_per_reason` gives the first entry of each reason, asked for only
    when the lint form is needed."""
    linted = _lint_entries(entries, first_per_reason() if len(entries) > FULL_LINT_ENTRIES else [])
    header = _Header(_subject_der(issuer.certificate), issuer.facts.key_id, number, this_update, next_update)
    if linted is not entries:  # the entries beyond the lint form: every one scanned
        scanned = scan_entries(entries, context.crl_reason_codes, this_update)
        if scanned:
            lines = [f.line() for f in scanned]
            raise LintRefused(f"lint refused the {kind.upper()} of {issuer.name}, nothing was signed: "
                              f"{'; '.join(lines)}", findings=lines)
    linted_tbs = _lint(issuer, kind, header, b"".join(linted), context)
    # Up to FULL_LINT_ENTRIES the TBSCertList signed is the one linted, byte for byte.
    tbs = linted_tbs if linted is entries else header.tbs(b"".join(entries))
    return Built(issuer, header, tbs, len(entries), len(linted))


def sign(built: Built) -> bytes:
    """Sign with the CA's HSM key (the signature is checked under the CA's certificate); the CRL's DER."""
    return _signed(built.tbs, built.issuer.sign_crl(built.tbs))


def _subject_der(certificate: x509.Certificate) -> bytes:
    """The CA certificate's subject exactly as encoded (spec 2.10: the CRL issuer is byte-identical)."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)["tbs_certificate"]["subject"].dump()
