"""A certificate is X.509 v3: the version field is present and holds 2.

S1SPKI policy 2.1; RFC 5280 4.1.2.1 (extensions need v3).
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule


@certificate_rule("gbcs.version_v3", "S1SPKI policy 2.1; RFC 5280 4.1.2.1", source="rfc5280")
def version_v3(cert: CertificateDocument) -> Iterator[str]:
    if cert.version is None:
        yield "version is absent (v1); it must be v3 (2)"
        return
    value = int(cert.version)
    if value != 2:
        yield f"version is {value} (v{value + 1}); it must be 2 (v3)"
