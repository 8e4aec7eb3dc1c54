"""A public key's identity in s1spki: the SHA-256 of its DER SubjectPublicKeyInfo, in hex.

The store recognises a certified key by it (spec 5: a key is certified once), operators' keys are
registered by it, and the audit trail names keys by it.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def key_sha256(public_key: PublicKeyTypes) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo of `public_key`, as 64 lowercase hex digits."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()
