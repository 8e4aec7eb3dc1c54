"""A minimal DER reader for checks that must see the bytes as encoded.

Our rules compare bytes, not re-encodings (house style), and must work on certificates that
`cryptography` refuses (NULL ECDSA parameters). asn1crypto's parser splits the TLVs; nothing here
re-encodes anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from asn1crypto import core, parser

# Universal tag numbers used by the rules.
BOOLEAN = 1
INTEGER = 2
BIT_STRING = 3
OCTET_STRING = 4
NULL = 5
OBJECT_IDENTIFIER = 6
ENUMERATED = 10
UTF8_STRING = 12
SEQUENCE = 16
SET = 17
PRINTABLE_STRING = 19
UTC_TIME = 23
GENERALIZED_TIME = 24

_UNIVERSAL = 0
_CONTEXT = 2

TAG_NAMES = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    BIT_STRING: "BIT STRING",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
    ENUMERATED: "ENUMERATED",
    UTF8_STRING: "UTF8String",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
    18: "NumericString",
    PRINTABLE_STRING: "PrintableString",
    20: "TeletexString",
    22: "IA5String",
    UTC_TIME: "UTCTime",
    GENERALIZED_TIME: "GeneralizedTime",
    26: "VisibleString",
    28: "UniversalString",
    30: "BMPString",
}


class Tlv(NamedTuple):
    """One DER element as encoded."""

    class_: int  # 0 universal, 1 application, 2 context-specific, 3 private
    constructed: bool
    tag: int
    header: bytes
    contents: bytes

    @property
    def der(self) -> bytes:
        return self.header + self.contents

    def is_universal(self, tag: int) -> bool:
        return self.class_ == _UNIVERSAL and self.tag == tag

    def is_context(self, tag: int) -> bool:
        return self.class_ == _CONTEXT and self.tag == tag

    def type_name(self) -> str:
        if self.class_ == _UNIVERSAL:
            return TAG_NAMES.get(self.tag, f"universal tag {self.tag}")
        return f"[{self.tag}]" if self.class_ == _CONTEXT else f"class {self.class_} tag {self.tag}"


def _at(data: bytes, pointer: int) -> tuple[Tlv, int]:
    # asn1crypto's _parse reads from an offset without copying the rest: linear time on a long CRL.
    (class_, method, tag, header, contents, trailer), end = parser._parse(data, len(data), pointer)
    if trailer:  # indefinite length: BER, not DER
        raise ValueError("indefinite length encoding is not DER")
    return Tlv(class_, method == 1, tag, header, contents), end


def parse(data: bytes) -> Tlv:
    """Parse exactly one DER element; raise ValueError if it is malformed or followed by more bytes."""
    if not data:
        raise ValueError("no data")
    tlv, end = _at(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the end of the DER element")
    return tlv


def children(contents: bytes) -> list[Tlv]:
    """Split the contents of a constructed element into its elements."""
    out: list[Tlv] = []
    pointer = 0
    while pointer < len(contents):
        tlv, pointer = _at(contents, pointer)
        out.append(tlv)
    return out


def oid(tlv: Tlv) -> str:
    """The dotted form of an OBJECT IDENTIFIER element."""
    if not tlv.is_universal(OBJECT_IDENTIFIER):
        raise ValueError(f"expected an OBJECT IDENTIFIER, found {tlv.type_name()}")
    return core.ObjectIdentifier.load(tlv.der).dotted


def integer(tlv: Tlv) -> int:
    """The value of an INTEGER or ENUMERATED element."""
    if not (tlv.is_universal(INTEGER) or tlv.is_universal(ENUMERATED)) or not tlv.contents:
        raise ValueError(f"expected an INTEGER, found {tlv.type_name()} {tlv.contents.hex()}")
    return int.from_bytes(tlv.contents, "big", signed=True)


def name_attributes(name_der: bytes) -> list[list[tuple[str, Tlv]]]:
    """A Name as its RDNs, each a list of (attribute type OID, value element as encoded)."""
    rdn_sequence = parse(name_der)
    if not rdn_sequence.is_universal(SEQUENCE):
        raise ValueError(f"a Name is a SEQUENCE, found {rdn_sequence.type_name()}")
    rdns: list[list[tuple[str, Tlv]]] = []
    for rdn in children(rdn_sequence.contents):
        if not rdn.is_universal(SET):
            raise ValueError(f"an RDN is a SET, found {rdn.type_name()}")
        attributes: list[tuple[str, Tlv]] = []
        for atv in children(rdn.contents):
            parts = children(atv.contents)
            if not atv.is_universal(SEQUENCE) or len(parts) != 2:
                raise ValueError("an attribute is a SEQUENCE of a type and a value")
            attributes.append((oid(parts[0]), parts[1]))
        rdns.append(attributes)
    return rdns


def algorithm(alg_der: bytes) -> tuple[str, Tlv | None]:
    """An AlgorithmIdentifier as (algorithm OID, parameters element or None when absent)."""
    alg = parse(alg_der)
    parts = children(alg.contents)
    if not alg.is_universal(SEQUENCE) or not 1 <= len(parts) <= 2:
        raise ValueError("an AlgorithmIdentifier is a SEQUENCE of an OID and optional parameters")
    return oid(parts[0]), (parts[1] if len(parts) == 2 else None)


class Extension(NamedTuple):
    """One extension as encoded: `value` is the extnValue OCTET STRING's contents (the value's DER)."""

    oid: str
    critical: bool
    value: bytes


def extensions(sequence: Tlv) -> list[Extension]:
    """The elements of an Extensions SEQUENCE, in encoded order."""
    if not sequence.is_universal(SEQUENCE):
        raise ValueError(f"Extensions is a SEQUENCE, found {sequence.type_name()}")
    out: list[Extension] = []
    for extension in children(sequence.contents):
        parts = children(extension.contents)
        if not extension.is_universal(SEQUENCE) or len(parts) not in (2, 3):
            raise ValueError("an Extension is a SEQUENCE of extnID, optional critical, extnValue")
        critical = False
        if len(parts) == 3:
            if not parts[1].is_universal(BOOLEAN) or len(parts[1].contents) != 1:
                raise ValueError(f"Extension.critical must be a BOOLEAN, found {parts[1].type_name()}")
            critical = parts[1].contents != b"\x00"
        if not parts[-1].is_universal(OCTET_STRING):
            raise ValueError(f"Extension.extnValue must be an OCTET STRING, found {parts[-1].type_name()}")
        out.append(Extension(oid(parts[0]), critical, parts[-1].contents))
    return out


def time(tlv: Tlv) -> datetime:
    """The value of a UTCTime or GeneralizedTime element."""
    if tlv.is_universal(UTC_TIME):
        return core.UTCTime.load(tlv.der).native
    if tlv.is_universal(GENERALIZED_TIME):
        return core.GeneralizedTime.load(tlv.der).native
    raise ValueError(f"expected a UTCTime or GeneralizedTime, found {tlv.type_name()}")


def is_time(tlv: Tlv) -> bool:
    return tlv.is_universal(UTC_TIME) or tlv.is_universal(GENERALIZED_TIME)


_ATTRIBUTE_LABELS = {
    "2.5.4.3": "CN",
    "2.5.4.11": "OU",
    "2.5.4.10": "O",
    "2.5.4.6": "C",
    "2.5.4.45": "uniqueIdentifier",
}


_TEXT_ENCODINGS = {
    UTF8_STRING: "utf-8",
    PRINTABLE_STRING: "ascii",
    18: "ascii",  # NumericString
    20: "latin-1",  # TeletexString, near enough for a message
    22: "ascii",  # IA5String
    26: "ascii",  # VisibleString
    28: "utf-32-be",  # UniversalString
    30: "utf-16-be",  # BMPString
}


def attribute_label(oid_: str) -> str:
    """`CN`, `OU`... for a message, or the dotted OID."""
    return _ATTRIBUTE_LABELS.get(oid_, oid_)


def describe_value(value: Tlv) -> str:
    """An attribute value for a message: its text for string types, else its hex."""
    encoding = _TEXT_ENCODINGS.get(value.tag) if value.class_ == _UNIVERSAL else None
    if encoding is None:
        return value.contents.hex()
    return value.contents.decode(encoding, "replace")


def describe_name(name_der: bytes) -> str:
    """A Name for a message, with each value's string type: `OU=07 (PrintableString), CN=Z1 (...)`."""
    try:
        rdns = name_attributes(name_der)
    except ValueError:
        return name_der.hex()
    return ", ".join(
        f"{attribute_label(oid_)}={describe_value(value)} ({value.type_name()})"
        for rdn in rdns
        for oid_, value in rdn
    )
