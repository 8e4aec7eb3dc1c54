"""What EST carries (RFC 7030 4, RFC 8951): certs-only CMS, CSR attributes, base64 bodies.

Certs-only CMS (a "Simple PKI Response") is made by cryptography's PKCS#7 serialisation; the CSR attributes
(RFC 7030 4.5.2) are declared as ASN.1 with asn1crypto. Bodies travel as base64 of DER (RFC 8951: whitespace
allowed, the Content-Transfer-Encoding header only informative).
"""

from __future__ import annotations

import base64
import binascii
import textwrap

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

PKCS7_MIME = "application/pkcs7-mime"
CERTS_ONLY = f"{PKCS7_MIME}; smime-type=certs-only"
PKCS10 = "application/pkcs10"
CSRATTRS = "application/csrattrs"

ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
SECP256R1 = "1.2.840.10045.3.1.7"
CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7"


class _Attribute(core.Sequence):
    """Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF AttributeValue } (RFC 7030 4.5.2,
    here with OBJECT IDENTIFIER values: the curve of an id-ecPublicKey key)."""

    _fields = [("type", core.ObjectIdentifier), ("values", core.SetOf, {"spec": core.ObjectIdentifier})]


class _AttrOrOid(core.Choice):
    """AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }"""

    _alternatives = [("oid", core.ObjectIdentifier), ("attribute", _Attribute)]


class CsrAttrs(core.SequenceOf):
    """CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID"""

    _child_spec = _AttrOrOid


def base64_body(der: bytes) -> bytes:
    """DER as base64 in lines of 76 characters, as MIME writes it."""
    return ("\r\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 76)) + "\r\n").encode("ascii")


def decode_base64(body: bytes) -> bytes:
    """The DER a base64 body carries; ValueError if it is not base64."""
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the body is not base64 (RFC 7030 4.2.1: base64 of the DER PKCS#10 request)") from None


def certs_only(certificates: list[x509.Certificate]) -> bytes:
    """A certs-only CMS SignedData (no content, no signers) holding `certificates`, DER."""
    return pkcs7.serialize_certificates(certificates, serialization.Encoding.DER)


def read_certs_only(der: bytes) -> list[x509.Certificate]:
    return pkcs7.load_der_pkcs7_certificates(der)


def csr_attributes(channel_binding: bool) -> bytes:
    """What a request must be (RFC 7030 4.5.2): signed ecdsa-with-SHA256, an id-ecPublicKey key on P-256, and with
    `channel_binding` a challengePassword carrying the channel's tls-unique (RFC 7030 3.5). DER."""
    attrs = [_AttrOrOid(name="oid", value=ECDSA_WITH_SHA256),
             _AttrOrOid(name="attribute", value={"type": ID_EC_PUBLIC_KEY, "values": [SECP256R1]})]
    if channel_binding:
        attrs.append(_AttrOrOid(name="oid", value=CHALLENGE_PASSWORD))
    return CsrAttrs(attrs).dump()


def read_csr_attributes(der: bytes) -> tuple[str, ...]:
    """The OIDs a csrattrs answer names, alone or as attribute types."""
    found = []
    for item in CsrAttrs.load(der):
        found.append(item.chosen.dotted if item.name == "oid" else item.chosen["type"].dotted)
    return tuple(found)
