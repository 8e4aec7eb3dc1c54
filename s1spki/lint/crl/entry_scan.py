"""Every entry of a large CRL, checked on its DER: the full scan beside the lint form (issuance/crl.py).

The lint form's entries go through every rule and pkilint; this scan holds every other entry to the same
shape, so that no entry is signed unchecked: a DER SEQUENCE (definite, minimal length) of
  userCertificate   INTEGER, positive, minimally encoded, at most 20 octets, listed once (RFC 5280 4.1.2.2,
                    5.1.2.6);
  revocationDate    UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime YYYYMMDDHHMMSSZ from 2050, a real
                    date, not after thisUpdate (RFC 5280 5.1.2.4-5.1.2.6; policy 2.11);
  crlEntryExtensions exactly one extension, reasonCode (2.5.29.21), non-critical (DEFAULT omitted), an
                    ENUMERATED the policy allows (policy 5; RFC 5280 5.3.1).
It reads bytes, not objects: about a microsecond or two an entry, so a million entries take seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from s1spki.lint.crl.entries import _reason
from s1spki.lint.model import Finding, Severity

# crlEntryExtensions with one non-critical reasonCode: SEQUENCE { SEQUENCE { OID 2.5.29.21, OCTET STRING
# { ENUMERATED code } } }, all but the code's one octet
REASON_ONLY = bytes.fromhex("300c300a0603551d150403 0a01".replace(" ", ""))
FIRST_GENERALIZED_YEAR = 2050
MAX_SERIAL_OCTETS = 20
MAX_FINDINGS = 20  # a CRL with more bad entries is refused with the first of them
_BUCKETS = 1 << 26  # serials listed once: a bitmap of their hashes (8 MiB), exact only where two hashes meet


def _length(der: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the contents) of the TLV whose length octets start at `at`; DER's shortest form."""
    first = der[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 3 or der[at + 1] == 0:
        raise ValueError("a length not in DER's shortest form")
    length = int.from_bytes(der[at + 1:at + 1 + count], "big")
    if length < 0x80 or length < 1 << (8 * (count - 1)):
        raise ValueError("a length not in DER's shortest form")
    return length, at + 1 + count


def _revocation_date(der: bytes, at: int) -> tuple[datetime, int]:
    tag = der[at]
    if tag == 0x17 and der[at + 1] == 13:
        text, end = der[at + 2:at + 15], at + 15
        year = int(text[0:2])
        if year >= 50:
            raise ValueError(f"UTCTime year 19{text[0:2].decode()} (RFC 5280: 2049 at most in UTCTime)")
        year += 2000
        rest = text[2:12]
    elif tag == 0x18 and der[at + 1] == 15:
        text, end = der[at + 2:at + 17], at + 17
        year = int(text[0:4])
        if year < FIRST_GENERALIZED_YEAR:
            raise ValueError(f"GeneralizedTime year {year} (RFC 5280: UTCTime through 2049)")
        rest = text[4:14]
    else:
        raise ValueError("revocationDate is neither UTCTime YYMMDDHHMMSSZ nor GeneralizedTime YYYYMMDDHHMMSSZ")
    if not text.endswith(b"Z") or not text[:-1].isdigit():
        raise ValueError("revocationDate is not digits ending in Z")
    moment = datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]),
                      tzinfo=UTC)
    return moment, end


def _serial(entry: bytes) -> bytes:
    size, start = _length(entry, _length(entry, 1)[1] + 1)
    return entry[start:start + size]


def _listed_twice(entries: Sequence[bytes], suspects: set[int]) -> Iterator[str]:
    """The entries whose serial an earlier entry has, among those whose hash bucket was met twice."""
    seen: dict[bytes, int] = {}
    for index, entry in enumerate(entries):
        try:
            serial = _serial(entry)
        except (ValueError, IndexError):
            continue  # named already
        if hash(serial) % _BUCKETS in suspects:
            if serial in seen:
                yield f"entry {index + 1} (serial {serial.hex().upper()}): its serial is listed more than once"
            seen.setdefault(serial, index)


def _problems(entries: Sequence[bytes], allowed: frozenset[int], this_update: datetime) -> Iterator[str]:
    buckets = bytearray(_BUCKETS // 8)
    suspects: set[int] = set()
    for index, entry in enumerate(entries):
        serial = b""
        try:
            if entry[0] != 0x30:
                raise ValueError("not a SEQUENCE")
            length, body = _length(entry, 1)
            if body + length != len(entry):
                raise ValueError("its length is not its size")
            if entry[body] != 0x02:
                raise ValueError("userCertificate is not an INTEGER")
            size, start = _length(entry, body + 1)
            serial = entry[start:start + size]
            if not 0 < size <= MAX_SERIAL_OCTETS:
                raise ValueError(f"userCertificate has {size} octets (RFC 5280: 1 to 20)")
            if serial[0] & 0x80 or not any(serial):
                raise ValueError("userCertificate is not positive")
            if size > 1 and serial[0] == 0 and not serial[1] & 0x80:
                raise ValueError("userCertificate is not minimally encoded")
            bucket = hash(serial) % _BUCKETS
            if buckets[bucket >> 3] & (1 << (bucket & 7)):
                suspects.add(bucket)
            buckets[bucket >> 3] |= 1 << (bucket & 7)
            moment, at = _revocation_date(entry, start + size)
            if moment > this_update:
                raise ValueError(f"revocationDate {moment:%Y-%m-%dT%H:%M:%SZ} is after thisUpdate")
            if entry[at:at + len(REASON_ONLY)] != REASON_ONLY or at + len(REASON_ONLY) + 1 != len(entry):
                raise ValueError("its extensions are not exactly one non-critical reasonCode")
            code = entry[-1]
            if code not in allowed:
                allowed_text = ", ".join(_reason(c) for c in sorted(allowed))
                raise ValueError(f"reasonCode is {_reason(code)}; the policy allows {allowed_text}")
        except (ValueError, IndexError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else "it is truncated"
            yield f"entry {index + 1} (serial {serial.hex().upper() or '?'}): {reason}"
    if suspects:
        yield from _listed_twice(entries, suspects)


def scan_entries(entries: Sequence[bytes], allowed_reasons: frozenset[int], this_update: datetime) -> list[Finding]:
    """ERROR findings for entries that break the shape above (at most MAX_FINDINGS); none for a clean list."""
    findings = []
    for problem in _problems(entries, allowed_reasons, this_update.astimezone(UTC).replace(microsecond=0)):
        findings.append(Finding("crl.entry_scan", Severity.ERROR, problem, "rfc5280"))
        if len(findings) >= MAX_FINDINGS:
            break
    return findings
