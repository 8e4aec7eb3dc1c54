"""subjectKeyIdentifier is present, not critical, 8 octets, RFC 5280 method (2).

S1SPKI policy 2.5 (GBCS 12; checked on 50+ DCC certificates): the nibble 0100 followed by the low 60 bits
of SHA-1 of the subjectPublicKey BIT STRING value; RFC 5280 4.2.1.2 (MUST NOT be critical).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from s1spki.lint import encoding, oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule

SKI_OCTETS = 8


def method2_key_identifier(subject_public_key: bytes) -> bytes:
    """RFC 5280 4.2.1.2 method (2): 0100 then the low 60 bits of SHA-1 of the key's BIT STRING value."""
    low = hashlib.sha1(subject_public_key).digest()[-SKI_OCTETS:]
    return bytes([(low[0] & 0x0F) | 0x40]) + low[1:]


@certificate_rule("gbcs.ski_present", "S1SPKI policy 2.5; RFC 5280 4.2.1.2")
def ski_present(cert: CertificateDocument) -> Iterator[str]:
    extension = cert.extension(oids.SUBJECT_KEY_IDENTIFIER)
    if extension is None:
        yield "subjectKeyIdentifier is absent; it must be present"
    elif extension.critical:
        yield "subjectKeyIdentifier is critical; it must not be"


@certificate_rule("gbcs.ski_method2", "S1SPKI policy 2.5; RFC 5280 4.2.1.2 method (2)")
def ski_method2(cert: CertificateDocument) -> Iterator[str]:
    extension = cert.extension(oids.SUBJECT_KEY_IDENTIFIER)
    if extension is None:
        return
    value = extension.encoded
    if not encoding.is_universal(value, encoding.OCTET_STRING):
        yield f"subjectKeyIdentifier is a {encoding.type_name(value)}; it must be an OCTET STRING"
        return
    expected = method2_key_identifier(cert.subject_public_key)
    if value.contents != expected:
        yield (
            f"SKI {value.contents.hex()} ({len(value.contents)} octets) is not RFC 5280 method 2 "
            f"(expected {expected.hex()})"
        )
