"""thisUpdate and nextUpdate: both present, nextUpdate after thisUpdate, every CRL time (revocation dates
included) a UTCTime through 2049 and a GeneralizedTime from 2050.

S1SPKI policy 5 (nextUpdate 48 h after thisUpdate by default: the CRL builder's business);
RFC 5280 5.1.2.4, 5.1.2.5 (conforming CAs MUST include nextUpdate), 5.1.2.6.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint.document import CrlDocument
from s1spki.lint.gbcs.validity import SHOWN, time_problems
from s1spki.lint.registry import crl_rule


@crl_rule("crl.next_update", "S1SPKI policy 5; RFC 5280 5.1.2.5", source="rfc5280")
def next_update(crl: CrlDocument) -> Iterator[str]:
    if crl.next_update is None:
        yield "nextUpdate is absent; it must be present"
        return
    this_update, next_update_ = crl.this_update.native, crl.next_update.native
    if not next_update_ > this_update:
        yield f"nextUpdate {next_update_:{SHOWN}} is not after thisUpdate {this_update:{SHOWN}}"


@crl_rule("crl.time_encoding", "S1SPKI policy 2.11; RFC 5280 5.1.2.4-5.1.2.6", source="rfc5280")
def time_encoding(crl: CrlDocument) -> Iterator[str]:
    yield from time_problems(crl.this_update, "thisUpdate")
    if crl.next_update is not None:
        yield from time_problems(crl.next_update, "nextUpdate")
    for entry in crl.entries:
        yield from time_problems(entry.revocation_date, f"revocationDate of {entry.serial_hex()}")
