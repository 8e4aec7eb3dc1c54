"""certificatePolicies is present and critical, with exactly one policy, no qualifiers, from the policy's
OIDs.

S1SPKI policy 2.7 (DCC's test OID 1.2.826.0.1.8641679.1.2.1.4; the S1SPKI OIDs are settings, passed as
`LintContext.policy_oids`); RFC 5280 4.2.1.4.
"""

from __future__ import annotations

from collections.abc import Iterator

from asn1crypto import core

from s1spki.lint import oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.fields import Extension
from s1spki.lint.registry import certificate_rule


def policies(extension: Extension) -> list[tuple[str, bool]]:
    """(policyIdentifier, has qualifiers) for each PolicyInformation of a certificatePolicies extension."""
    return [
        (information["policy_identifier"].dotted, not isinstance(information["policy_qualifiers"], core.Void))
        for information in extension.parsed
    ]


@certificate_rule("gbcs.certificate_policies", "S1SPKI policy 2.7; RFC 5280 4.2.1.4")
def certificate_policies(cert: CertificateDocument) -> Iterator[str]:
    extension = cert.extension(oids.CERTIFICATE_POLICIES)
    if extension is None:
        yield "certificatePolicies is absent; it must be present and critical"
        return
    if not extension.critical:
        yield "certificatePolicies is not critical; it must be critical"
    found = policies(extension)
    if len(found) != 1:
        listed = ", ".join(oid for oid, _ in found)
        yield f"certificatePolicies holds {len(found)} policies ({listed}); it must hold one"
    for oid, qualified in found:
        if qualified:
            yield f"policy {oid} has policyQualifiers; they must be absent"


@certificate_rule("gbcs.certificate_policy_allowed", "S1SPKI policy 2.7")
def certificate_policy_allowed(cert: CertificateDocument) -> Iterator[str]:
    allowed = cert.context.policy_oids
    extension = cert.extension(oids.CERTIFICATE_POLICIES)
    if not allowed or extension is None:
        return
    for oid, _ in policies(extension):
        if oid not in allowed:
            yield f"policy {oid} is not one of the policy's OIDs ({', '.join(allowed)})"
