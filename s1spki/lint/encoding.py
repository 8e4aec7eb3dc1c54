"""DER as encoded, on asn1crypto's parsed values: the checks byte-level rules need and asn1crypto leaves out.

asn1crypto reads BER too (indefinite and non-minimal lengths) and keeps the bytes it read: a parsed value's
`contents` are its contents as encoded, and `dump()` returns its bytes as read unless forced (asn1crypto
forces it itself for an indefinite length, so compare `dump()` only for values `elements` has accepted).
The profile is DER (X.690 clause 10), so a value is accepted here only if its elements carry the identifier
and length octets DER gives their `class_`, `method`, `tag` and contents length, EXPLICIT tags included.
Nothing here re-encodes a value: the expected octets are compared with the bytes read.
"""

from __future__ import annotations

from typing import TypeVar

from asn1crypto import core

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

UNIVERSAL = 0
CONTEXT = 2

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

# Values that hold elements: a declared SEQUENCE or SET reads them by field, SEQUENCE OF and SET OF in order.
_WITH_ELEMENTS = (core.Sequence, core.SequenceOf)
# How to read a SEQUENCE or SET whose elements do not fit its declaration: by their own tags.
_BY_OWN_TAGS: dict[int, type[core.Sequence]] = {SEQUENCE: core.Sequence, SET: core.Set}
# The universal types encoded constructed (EXTERNAL, EMBEDDED PDV, SEQUENCE, SET, CHARACTER STRING); every
# other one is primitive, strings included in DER (X.690 10.2).
_CONSTRUCTED_TAGS = frozenset({8, 11, SEQUENCE, SET, 29})

V = TypeVar("V", bound=core.Asn1Value)


def is_universal(value: core.Asn1Value, tag: int) -> bool:
    return value.class_ == UNIVERSAL and value.tag == tag


def type_name(value: core.Asn1Value) -> str:
    """`UTF8String`, `[0]`... for a message, from the tag as encoded."""
    if value.class_ == UNIVERSAL:
        return TAG_NAMES.get(value.tag, f"universal tag {value.tag}")
    return f"[{value.tag}]" if value.class_ == CONTEXT else f"class {value.class_} tag {value.tag}"


def as_encoded(value: core.Asn1Value) -> core.Asn1Value:
    """The value that carries the tag: a CHOICE's chosen alternative, an ANY read by its own tag."""
    while isinstance(value, (core.Choice, core.Any)):
        value = value.chosen if isinstance(value, core.Choice) else value.parsed
    return value


_OCTETS = [bytes([octet]) for octet in range(256)]  # built once: headers are made for every element


def _identifier(class_: int, method: int, tag: int) -> bytes:
    """Identifier octets (X.690 8.1.2; the high-tag-number form from tag 31)."""
    first = class_ << 6 | method << 5
    if tag < 31:
        return _OCTETS[first | tag]
    digits = [tag & 0x7F]
    while tag := tag >> 7:
        digits.append(0x80 | tag & 0x7F)
    return bytes([first | 31, *reversed(digits)])


def _length(length: int) -> bytes:
    """Length octets: definite, in the fewest octets (X.690 10.1)."""
    if length < 0x80:
        return _OCTETS[length]
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(size)]) + size


def der_header(value: core.Asn1Value) -> tuple[bytes, core.Asn1Value]:
    """The header DER gives `value`, EXPLICIT tags included, and the value whose contents follow it."""
    if isinstance(value, core.Any):
        return der_header(value.parsed)  # the ANY's own tags are those of what it holds
    if isinstance(value, core.Choice):
        header, inner = der_header(value.chosen)
    else:
        inner = value
        header = _identifier(value.class_, value.method, value.tag) + _length(len(value.contents))
    for class_, tag in value.explicit or ():  # innermost first, as asn1crypto lists them
        header = _identifier(class_, 1, tag) + _length(len(header) + len(inner.contents)) + header
    return header, inner


def elements(value: core.Asn1Value) -> list[core.Asn1Value]:
    """The elements of a constructed value as encoded, in order, with the types its declaration gives them.

    Raises ValueError unless the value's contents are exactly the elements' DER encodings: an element with an
    indefinite or non-minimal length leaves octets that match no DER header.
    """
    # Read `contents` before building the elements: asn1crypto's SEQUENCE `contents` visits every element
    # already built (to see whether one was changed).
    contents = value.contents
    declared = [value[index] for index in range(len(value))] if isinstance(value, core.Sequence) else value
    present = []
    offset = 0
    for element in declared:
        if isinstance(element, (core.Void, core.Choice, core.Any)) or element.explicit is not None:
            if isinstance(element, core.Void):
                continue
            header, inner = der_header(element)
            size = len(inner.contents)
        else:  # inline `der_header` for the plain element, the common case
            inner = element
            size = len(element.contents)
            header = _identifier(element.class_, element.method, element.tag) + _length(size)
        if inner.method and inner.class_ == UNIVERSAL and inner.tag not in _CONSTRUCTED_TAGS:
            raise ValueError(f"{type_name(inner)} is not DER: it has the constructed form")
        if contents.startswith(header, offset):
            offset += len(header) + size
            present.append(element)
        # Else asn1crypto filled in an absent DEFAULT field (a version, `critical`); anything else not found
        # here is an element encoded otherwise than DER, and leaves octets over.
    if offset != len(contents):
        raise ValueError(
            f"{type_name(value)} is not DER: the element at octet {offset} of its contents "
            "has an indefinite or non-minimal length"
        )
    return present


def open_elements(value: core.Asn1Value) -> list[core.Asn1Value]:
    """`elements`, but an element that does not fit its declared type is read by its own tag instead.

    asn1crypto types an element as soon as it is read, and by what precedes it (an attribute value by its
    type, an extension value by its OID, a key by its algorithm); a value of another type is what a rule
    must report, not a reason to stop reading. ValueError if the elements are not DER either way.
    """
    try:
        return elements(value)
    except (ValueError, KeyError, TypeError):  # asn1crypto's KeyError: an algorithm it does not know
        by_own_tags = _BY_OWN_TAGS.get(value.tag) if value.class_ == UNIVERSAL and not value.explicit else None
        if by_own_tags is None:
            raise
        return elements(by_own_tags(contents=value.contents))


def require_der(value: V) -> V:
    """`value`, once everything in it is found to be DER: for small values read whole (extension values)."""
    inner = as_encoded(value)
    if isinstance(inner, _WITH_ELEMENTS) and inner.method == 1:
        for element in elements(inner):
            require_der(element)
    return value


def load(spec: type[V], data: bytes) -> V:
    """One DER value of type `spec`, its header checked; what it holds is checked by `elements`."""
    value = spec.load(data, strict=True)
    header, inner = der_header(value)
    if len(data) != len(header) + len(inner.contents) or not data.startswith(header):
        raise ValueError(f"{type_name(inner)} is not DER: it has an indefinite or non-minimal length")
    return value


def read(data: bytes) -> core.Asn1Value:
    """One DER value read by its own (universal) tag, all of it checked: for open values a rule types itself."""
    return require_der(load(core.Asn1Value, data))
