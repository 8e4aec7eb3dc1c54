"""The CA subject: `OU=<role>, CN=<name>` as two single-attribute RDNs; OU 00 on the root, 07
(issuingAuthority) on an issuing CA, as two uppercase hex digits.

S1SPKI policy 4 (GBCS; as DCC's Z1 issuing CA `OU=07, CN=Z1`). The role codes and the string type are
settings (`LintContext.root_role_code`, `issuing_ca_role_code`, `ca_subject_string_type`).
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import encoding, names, oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule

CITE = "S1SPKI policy 4"
_STRING_TAGS = {"printable": (encoding.PRINTABLE_STRING,), "utf8": (encoding.UTF8_STRING,)}
_ANY_STRING = (encoding.PRINTABLE_STRING, encoding.UTF8_STRING)


@certificate_rule("gbcs.subject_ca_structure", CITE)
def subject_ca_structure(cert: CertificateDocument) -> Iterator[str]:
    if not cert.is_ca:
        return
    rdns = cert.subject_rdns
    shape = [[oid for oid, _ in rdn] for rdn in rdns]
    if shape != [[oids.ORGANIZATIONAL_UNIT], [oids.COMMON_NAME]] or not rdns[1][0][1].contents:
        found = names.describe(cert.subject) or "empty"
        yield f"{cert.role} subject is {found}; it must be OU=<role>, CN=<name>"


@certificate_rule("gbcs.subject_ca_role_code", CITE)
def subject_ca_role_code(cert: CertificateDocument) -> Iterator[str]:
    if not cert.is_ca:
        return
    wanted = cert.context.root_role_code if cert.is_root else cert.context.issuing_ca_role_code
    for rdn in cert.subject_rdns:
        for oid, value in rdn:
            if oid == oids.ORGANIZATIONAL_UNIT and names.describe_value(value) != f"{wanted:02X}":
                yield f"{cert.role} subject OU is {names.describe_value(value)!r}; it must be {wanted:02X}"


@certificate_rule("gbcs.subject_ca_string_type", CITE)
def subject_ca_string_type(cert: CertificateDocument) -> Iterator[str]:
    if not cert.is_ca:
        return
    setting = cert.context.ca_subject_string_type
    tags = _STRING_TAGS[setting] if setting else _ANY_STRING
    wanted = " or ".join(encoding.TAG_NAMES[tag] for tag in tags)
    for rdn in cert.subject_rdns:
        for oid, value in rdn:
            if value.class_ != encoding.UNIVERSAL or value.tag not in tags:
                yield (
                    f"{cert.role} subject {names.label(oid)} is a {encoding.type_name(value)}; "
                    f"it must be a {wanted}"
                )
