"""cRLNumber is present, not critical, a non-negative INTEGER of at most 20 octets.

S1SPKI policy 5 (a strictly increasing cRLNumber; the store checks the increase); RFC 5280 5.2.3.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import encoding, oids
from s1spki.lint.document import CrlDocument
from s1spki.lint.registry import crl_rule

MAX_OCTETS = 20  # RFC 5280 5.2.3


@crl_rule("crl.crl_number", "S1SPKI policy 5; RFC 5280 5.2.3")
def crl_number(crl: CrlDocument) -> Iterator[str]:
    extension = crl.extension(oids.CRL_NUMBER)
    if extension is None:
        yield "cRLNumber is absent; it must be present"
        return
    if extension.critical:
        yield "cRLNumber is critical; it must not be"
    value = extension.encoded
    if not encoding.is_universal(value, encoding.INTEGER):
        yield f"cRLNumber is a {encoding.type_name(value)}; it must be an INTEGER"
        return
    number = int(value)
    if number < 0:
        yield f"cRLNumber is {number}; it must be non-negative"
    if len(value.contents) > MAX_OCTETS:
        yield f"cRLNumber is {len(value.contents)} octets; it must be at most {MAX_OCTETS}"
