"""Only the CRL extensions the profile uses (authorityKeyIdentifier, cRLNumber), each once; only
reasonCode and invalidityDate on entries.

S1SPKI policy 5 (v2 CRL with AKI and cRLNumber); RFC 5280 5.2 and 5.3 (the standard CRL and entry
extensions: nothing unknown, nothing for indirect or delta CRLs, which S1SPKI does not issue).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from s1spki.lint import oids
from s1spki.lint.document import CrlDocument
from s1spki.lint.fields import Extension
from s1spki.lint.registry import crl_rule

CRL_EXTENSIONS = frozenset({oids.AUTHORITY_KEY_IDENTIFIER, oids.CRL_NUMBER})
ENTRY_EXTENSIONS = frozenset({oids.CRL_REASON, oids.INVALIDITY_DATE})


def _problems(extensions: tuple[Extension, ...], allowed: frozenset[str], where: str) -> Iterator[str]:
    for oid, count in Counter(e.oid for e in extensions).items():
        if oid not in allowed:
            yield f"{where} extension {oids.describe(oid)} is not allowed"
        if count > 1:
            yield f"{where} extension {oids.describe(oid)} appears {count} times; it must appear once"


@crl_rule("crl.extensions_allowed", "S1SPKI policy 5; RFC 5280 5.2")
def extensions_allowed(crl: CrlDocument) -> Iterator[str]:
    yield from _problems(crl.extensions, CRL_EXTENSIONS, "CRL")


@crl_rule("crl.entry_extensions_allowed", "S1SPKI policy 5; RFC 5280 5.3")
def entry_extensions_allowed(crl: CrlDocument) -> Iterator[str]:
    for entry in crl.entries:
        yield from _problems(entry.extensions, ENTRY_EXTENSIONS, f"entry {entry.serial_hex()}")
