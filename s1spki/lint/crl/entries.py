"""CRL entries: reasonCode, if present, is one the policy allows (never certificateHold or removeFromCRL,
and unspecified is better omitted); each serial is listed once.

S1SPKI policy 5 (reasons keyCompromise, cACompromise, affiliationChanged, superseded,
cessationOfOperation, privilegeWithdrawn; never certificateHold); RFC 5280 5.3.1 (unspecified SHOULD be
omitted rather than used), 5.1.2.6.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from s1spki.lint import encoding, oids
from s1spki.lint.document import CrlDocument
from s1spki.lint.registry import crl_rule

# RFC 5280 5.3.1 CRLReason values.
REASONS = {
    0: "unspecified",
    1: "keyCompromise",
    2: "cACompromise",
    3: "affiliationChanged",
    4: "superseded",
    5: "cessationOfOperation",
    6: "certificateHold",
    8: "removeFromCRL",
    9: "privilegeWithdrawn",
    10: "aACompromise",
}


def _reason(code: int) -> str:
    return f"{REASONS.get(code, 'unknown')} ({code})"


@crl_rule("crl.entry_reason_code", "S1SPKI policy 5; RFC 5280 5.3.1")
def entry_reason_code(crl: CrlDocument) -> Iterator[str]:
    allowed = crl.context.crl_reason_codes
    for entry in crl.entries:
        extension = entry.extension(oids.CRL_REASON)
        if extension is None:
            continue
        value = extension.encoded
        if not encoding.is_universal(value, encoding.ENUMERATED):
            yield (
                f"entry {entry.serial_hex()} reasonCode is a {encoding.type_name(value)}; it must be ENUMERATED"
            )
            continue
        code = int(value)
        if code not in allowed:
            allowed_text = ", ".join(_reason(c) for c in sorted(allowed))
            yield (
                f"entry {entry.serial_hex()} reasonCode is {_reason(code)}; the policy allows {allowed_text}"
            )


@crl_rule("crl.entry_serials_unique", "RFC 5280 5.1.2.6", source="rfc5280")
def entry_serials_unique(crl: CrlDocument) -> Iterator[str]:
    counts = Counter(int(entry.serial) for entry in crl.entries)
    for serial, count in counts.items():
        if count > 1:
            yield f"serial {serial:x} is listed {count} times; each revoked certificate is listed once"
