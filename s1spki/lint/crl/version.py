"""A CRL is v2: the version field is present and holds 1.

S1SPKI policy 5; RFC 5280 5.1.2.1 (v2 is required when extensions are present, and ours always are).
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint.document import CrlDocument
from s1spki.lint.registry import crl_rule


@crl_rule("crl.version_v2", "S1SPKI policy 5; RFC 5280 5.1.2.1", source="rfc5280")
def version_v2(crl: CrlDocument) -> Iterator[str]:
    if crl.version is None:
        yield "version is absent (v1); it must be v2 (1)"
        return
    value = int(crl.version)
    if value != 1:
        yield f"version is {value}; it must be 1 (v2)"
