"""Names as encoded: each attribute with its value read by its own tag, and names as messages show them.

A Name's structure is read through asn1crypto's declaration (`Name.chosen` is the RDNSequence). The
attribute values are open (X.501 `value ANY DEFINED BY type`): asn1crypto would read each as the type it
expects for the attribute and refuse, or relabel, one encoded otherwise, which is what the rules must see
(a uniqueIdentifier that is not a BIT STRING, a UTF8String where a PrintableString was expected). So the
values are read by the tag they were encoded with.
"""

from __future__ import annotations

from typing import NamedTuple

from asn1crypto import core, x509

from s1spki.lint import encoding


class Attribute(NamedTuple):
    """One AttributeTypeAndValue: the type's dotted OID and the value as encoded."""

    oid: str
    value: core.Asn1Value


def _attribute(atv: x509.AttributeTypeAndValue) -> Attribute:
    # AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value ANY DEFINED BY type } (X.501). A value
    # asn1crypto refuses for the type, or reads under another tag (which fails the DER check), is read by
    # its own tag.
    parts = encoding.open_elements(atv)
    if len(parts) != 2 or not encoding.is_universal(parts[0], encoding.OBJECT_IDENTIFIER):
        raise ValueError("an attribute is a SEQUENCE of a type and a value")
    return Attribute(parts[0].dotted, encoding.as_encoded(parts[1]))


def rdns(name: x509.Name) -> list[list[Attribute]]:
    """A Name as its RDNs in encoded order, each the list of its attributes; ValueError if not DER."""
    return [
        [_attribute(atv) for atv in encoding.elements(rdn)] for rdn in encoding.elements(name.chosen)
    ]


_LABELS = {
    "2.5.4.3": "CN",
    "2.5.4.11": "OU",
    "2.5.4.10": "O",
    "2.5.4.6": "C",
    "2.5.4.45": "uniqueIdentifier",
}

_TEXT_ENCODINGS = {
    encoding.UTF8_STRING: "utf-8",
    encoding.PRINTABLE_STRING: "ascii",
    18: "ascii",  # NumericString
    20: "latin-1",  # TeletexString, near enough for a message
    22: "ascii",  # IA5String
    26: "ascii",  # VisibleString
    28: "utf-32-be",  # UniversalString
    30: "utf-16-be",  # BMPString
}


def label(oid: str) -> str:
    """`CN`, `OU`... for a message, or the dotted OID."""
    return _LABELS.get(oid, oid)


def describe_value(value: core.Asn1Value) -> str:
    """An attribute value for a message: its text for string types, else its contents in hex."""
    text_encoding = _TEXT_ENCODINGS.get(value.tag) if value.class_ == encoding.UNIVERSAL else None
    if text_encoding is None:
        return value.contents.hex()
    return value.contents.decode(text_encoding, "replace")


def describe(name: x509.Name) -> str:
    """A Name for a message, with each value's string type: `OU=07 (PrintableString), CN=Z1 (...)`."""
    try:
        found = rdns(name)
    except ValueError:
        return name.dump().hex()
    return ", ".join(
        f"{label(oid)}={describe_value(value)} ({encoding.type_name(value)})"
        for rdn in found
        for oid, value in rdn
    )
