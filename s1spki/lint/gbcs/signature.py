"""The signature verifies under the issuer's key (the subject's own for a self-signed root), when the
context asks for it and the issuer is known.

S1SPKI policy 2.3, 5; RFC 5280 6.1.3 (a)(1). The issuance gate lints a copy signed by a throwaway key and
leaves `check_signature` off; `s1spki lint` and the tests turn it on. The check takes a `SignedDocument`:
`s1spki.lint.crl` registers it for CRLs.
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.lint.document import CertificateDocument, SignedDocument
from s1spki.lint.registry import certificate_rule

CITE = "S1SPKI policy 2.3, 5; RFC 5280 6.1.3"


def _signer_key(document: SignedDocument) -> tuple[bytes, str] | None:
    """The SubjectPublicKeyInfo that must verify the signature, and whose it is."""
    if isinstance(document, CertificateDocument) and document.is_root:
        return document.spki.dump(), "its own key"
    issuer = document.issuer_certificate
    return (issuer.spki.dump(), "the issuer's key") if issuer is not None else None


def signature_valid(document: SignedDocument) -> Iterator[str]:
    signer = _signer_key(document) if document.context.check_signature else None
    if signer is None:
        return
    key_der, whose = signer
    key = serialization.load_der_public_key(key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        yield f"{whose} is a {type(key).__name__}, not an EC key"
        return
    bits = document.signature_value.contents
    if bits[:1] != b"\x00":
        yield f"signatureValue has {bits[:1].hex() or 'no'} unused-bits octet; it must be 00"
        return
    try:
        key.verify(bits[1:], document.tbs.dump(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        yield f"the {document.kind} signature does not verify under {whose}"


certificate_rule("gbcs.signature_valid", CITE)(signature_valid)
