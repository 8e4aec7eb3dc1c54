"""Only the extensions of the profile, each once, and in the profile's order on end-entity certificates.

S1SPKI policy 2.8 (no EKU, CRL DP, AIA or other extension unless a profile asks for it), 3 (end entity:
keyUsage, subjectKeyIdentifier, certificatePolicies, authorityKeyIdentifier, in this order), 4 (CAs add
basicConstraints); RFC 5280 4.2 (an extension appears at most once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from s1spki.lint import oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule

# basicConstraints on an end entity is allowed here and judged by `basic_constraints_end_entity`, so that
# one defect gives one finding.
PROFILE_EXTENSIONS = frozenset(
    {
        oids.BASIC_CONSTRAINTS,
        oids.KEY_USAGE,
        oids.SUBJECT_KEY_IDENTIFIER,
        oids.CERTIFICATE_POLICIES,
        oids.AUTHORITY_KEY_IDENTIFIER,
    }
)


@certificate_rule("gbcs.extensions_allowed", "S1SPKI policy 2.8, 3, 4; RFC 5280 4.2")
def extensions_allowed(cert: CertificateDocument) -> Iterator[str]:
    counts = Counter(extension.oid for extension in cert.extensions)
    for oid, count in counts.items():
        if oid not in PROFILE_EXTENSIONS:
            yield f"extension {oids.describe(oid)} is not allowed by the {cert.role} profile"
        if count > 1:
            yield f"extension {oids.describe(oid)} appears {count} times; it must appear once"


@certificate_rule("gbcs.extension_order", "S1SPKI policy 3")
def extension_order(cert: CertificateDocument) -> Iterator[str]:
    if cert.is_ca:
        return
    order = cert.context.end_entity_extension_order
    found = list(dict.fromkeys(e.oid for e in cert.extensions if e.oid in order))
    if found != sorted(found, key=order.index):
        yield (
            f"end-entity extensions are in the order {', '.join(map(oids.describe, found))}; "
            f"the profile order is {', '.join(map(oids.describe, order))}"
        )
