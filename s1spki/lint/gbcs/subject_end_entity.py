"""The end-entity subject: single-attribute RDNs, optional CN (UTF8String), OU = the RemotePartyRole as
two uppercase hex digits (UTF8String), uniqueIdentifier = the EUI-64 as a BIT STRING; nothing else.

S1SPKI policy 3 (organisation-style subject, as DCC's Z1 certificates); GBCS 12; X.520 uniqueIdentifier
(2.5.4.45) ::= BIT STRING.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from asn1crypto import core

from s1spki.lint import encoding, names, oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.names import Attribute
from s1spki.lint.registry import certificate_rule
from s1spki.values.names import common_name_problems

ROLE_CODE = re.compile(r"[0-9A-F]{2}")
EUI64_OCTETS = 8
CITE = "S1SPKI policy 3; GBCS 12"
# GBCS 12 RemotePartyRole codes of the CA hierarchy. Whatever policy/ says (an edited role table included), a
# subscriber's certificate never carries them: these are the linter's own facts, not the policy's settings.
CA_ROLE_CODES = {0x00: "root", 0x07: "issuingAuthority"}
UB_COMMON_NAME = 64  # RFC 5280 Appendix A ub-common-name: a fact of X.509, below any policy's limit


def _attributes(cert: CertificateDocument) -> list[Attribute]:
    return [attribute for rdn in cert.subject_rdns for attribute in rdn]


def _value(cert: CertificateDocument, oid: str) -> core.Asn1Value | None:
    return next((value for found, value in _attributes(cert) if found == oid), None)


@certificate_rule("gbcs.subject_ee_structure", CITE)
def subject_ee_structure(cert: CertificateDocument) -> Iterator[str]:
    if cert.is_ca:
        return
    rdns = cert.subject_rdns
    for index, rdn in enumerate(rdns, 1):
        if len(rdn) != 1:
            yield f"subject RDN {index} holds {len(rdn)} attributes; each RDN must hold one"
    types = [oid for rdn in rdns for oid, _ in rdn]
    optional_cn = [oids.COMMON_NAME] if types[:1] == [oids.COMMON_NAME] else []
    allowed = [*optional_cn, oids.ORGANIZATIONAL_UNIT, oids.UNIQUE_IDENTIFIER]
    if types != allowed:
        found = ", ".join(map(names.label, types)) or "empty"
        yield f"subject attributes are {found}; the end-entity subject is [CN,] OU, uniqueIdentifier"


@certificate_rule("gbcs.subject_ee_common_name", CITE)
def subject_ee_common_name(cert: CertificateDocument) -> Iterator[str]:
    value = None if cert.is_ca else _value(cert, oids.COMMON_NAME)
    if value is None:
        return
    if not encoding.is_universal(value, encoding.UTF8_STRING):
        yield (
            f"subject CN {names.describe_value(value)!r} is a {encoding.type_name(value)}; "
            "it must be a UTF8String"
        )
    elif not value.contents:
        yield "subject CN is empty; omit it or give a name"


@certificate_rule("gbcs.subject_ee_role_code", CITE)
def subject_ee_role_code(cert: CertificateDocument) -> Iterator[str]:
    value = None if cert.is_ca else _value(cert, oids.ORGANIZATIONAL_UNIT)
    if value is None:
        return
    text = names.describe_value(value)
    if not encoding.is_universal(value, encoding.UTF8_STRING):
        yield f"subject OU {text!r} is a {encoding.type_name(value)}; it must be a UTF8String"
    if not ROLE_CODE.fullmatch(text):
        yield f"subject OU {text!r} is not a RemotePartyRole as two uppercase hex digits"
        return
    allowed = cert.context.role_codes
    if allowed is not None and int(text, 16) not in allowed:
        codes = ", ".join(f"{code:02X}" for code in sorted(allowed))
        yield f"subject OU {text} is not an allowed RemotePartyRole ({codes})"


@certificate_rule("gbcs.subject_ee_eui64", CITE)
def subject_ee_eui64(cert: CertificateDocument) -> Iterator[str]:
    value = None if cert.is_ca else _value(cert, oids.UNIQUE_IDENTIFIER)
    if value is None:
        return
    if not encoding.is_universal(value, encoding.BIT_STRING):
        found = f"{encoding.type_name(value)} ({value.contents.hex()})"
        yield f"subject uniqueIdentifier is a {found}; it must be a BIT STRING"
        return
    unused, eui64 = value.contents[:1], value.contents[1:]
    if unused != b"\x00" or len(eui64) != EUI64_OCTETS:
        yield (
            f"subject uniqueIdentifier is {value.contents.hex()}: {len(eui64)} octets with "
            f"{unused[0] if unused else 'no'} unused bits; it must be an EUI-64, 8 octets with 0 unused bits"
        )


@certificate_rule("gbcs.subject_ee_not_a_ca_role", "S1SPKI policy 3, 4; GBCS 12")
def subject_ee_not_a_ca_role(cert: CertificateDocument) -> Iterator[str]:
    value = None if cert.is_ca else _value(cert, oids.ORGANIZATIONAL_UNIT)
    text = names.describe_value(value) if value is not None else ""
    if ROLE_CODE.fullmatch(text) and int(text, 16) in CA_ROLE_CODES:
        yield (f"subject OU {text} is the {CA_ROLE_CODES[int(text, 16)]} role of the CA hierarchy; an end-entity "
               "certificate never carries it")


@certificate_rule("gbcs.subject_common_name_profile", "S1SPKI policy 3; RFC 4514; RFC 5280 ub-common-name")
def subject_common_name_profile(cert: CertificateDocument) -> Iterator[str]:
    """Every CN signed (end entity or CA) is one line of NFC text without controls, format characters or RFC 4514
    specials, that survives an RFC 4514 round trip (values.names, the rule requests are checked by too)."""
    value = _value(cert, oids.COMMON_NAME)
    if value is None or not any(encoding.is_universal(value, tag)
                                for tag in (encoding.UTF8_STRING, encoding.PRINTABLE_STRING)):
        return  # another string type: gbcs.subject_ee_common_name and the CA subject rules name it
    try:
        text = value.contents.decode("utf-8")
    except UnicodeDecodeError:
        yield "subject CN is not valid UTF-8"
        return
    for problem in common_name_problems(text, UB_COMMON_NAME):
        yield f"subject CN {names.describe_value(value)!r} {problem}"
