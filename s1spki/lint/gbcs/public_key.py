"""The subject key is EC on P-256 (id-ecPublicKey, namedCurve prime256v1), an uncompressed point.

S1SPKI policy 2.2 (GBCS 12); RFC 5480 2.1.1 and 2.2.
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.lint import encoding, oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule

_POINT_OCTETS = 65  # 04 || X || Y for P-256


@certificate_rule("gbcs.public_key_p256", "S1SPKI policy 2.2; RFC 5480 2.1.1, 2.2")
def public_key_p256(cert: CertificateDocument) -> Iterator[str]:
    oid, parameters = cert.public_key_algorithm
    bit_string = cert.spki_fields[1]
    if oid != oids.ID_EC_PUBLIC_KEY:
        yield f"subject public key algorithm is {oid}, not id-ecPublicKey ({oids.ID_EC_PUBLIC_KEY})"
        return
    curve = (
        parameters.dotted
        if parameters is not None and encoding.is_universal(parameters, encoding.OBJECT_IDENTIFIER)
        else None
    )
    if curve != oids.PRIME256V1:
        found = curve or (parameters.dump().hex() if parameters is not None else "absent")
        yield f"EC parameters are {found}; they must be namedCurve prime256v1 ({oids.PRIME256V1})"
        return
    if bit_string.contents[:1] != b"\x00":
        yield f"subjectPublicKey has {bit_string.contents[:1].hex()} unused bits; it must have none"
        return
    point = cert.subject_public_key
    if len(point) != _POINT_OCTETS or point[0] != 0x04:
        yield (
            f"subject public key is {len(point)} octets starting {point[:1].hex()}; "
            f"it must be an uncompressed point (04, {_POINT_OCTETS} octets)"
        )
        return
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        yield f"subject public key {point.hex()} is not a point on P-256"
