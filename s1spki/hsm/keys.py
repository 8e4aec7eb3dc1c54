"""HsmEcPrivateKey: a cryptography EC private key whose signatures are made on the token.

cryptography's certificate, CRL, CSR and OCSP builders accept any `ec.EllipticCurvePrivateKey` and call
its `sign()`; that is the hook the cryptography maintainers point HSM users to. We hash on the host
(SoftHSM 2.6 offers raw CKM_ECDSA only), sign the digest on the token and DER-encode r||s.
"""

from __future__ import annotations

from typing import Any, NoReturn, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

_SIZE = 32  # bytes of a P-256 scalar, and of a SHA-256 digest


class DigestSigner(Protocol):
    """What the key needs from its token connection."""

    @property
    def token_label(self) -> str: ...

    def sign_digest(self, label: str, digest: bytes) -> bytes: ...


class HsmEcPrivateKey(ec.EllipticCurvePrivateKey):
    """A P-256 private key held on an HSM token; it signs and refuses every export."""

    def __init__(self, signer: DigestSigner, label: str, public_key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError(f"HsmEcPrivateKey supports P-256 only, not {public_key.curve.name}")
        self._signer = signer
        self._label = label
        self._public_key = public_key

    @property
    def label(self) -> str:
        return self._label

    @property
    def token_label(self) -> str:
        return self._signer.token_label

    def __repr__(self) -> str:
        return f"<HsmEcPrivateKey label={self._label!r} token={self._signer.token_label!r} curve=secp256r1>"

    # --- what a signing key must do ---

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public_key.curve

    @property
    def key_size(self) -> int:
        return 256

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """Sign with ECDSA over SHA-256 (hashing here, or taking a Prehashed SHA-256 digest); return DER."""
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise ValueError(f"only ECDSA is supported, not {type(signature_algorithm).__name__}")
        if getattr(signature_algorithm, "deterministic_signing", False):
            raise ValueError("deterministic ECDSA (RFC 6979) is not available on the HSM")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, Prehashed):
            # Prehashed keeps the hash it wraps only privately; fail closed if that ever changes.
            inner = getattr(algorithm, "_algorithm", None)
            if not isinstance(inner, hashes.SHA256):
                raise ValueError(f"only SHA-256 is allowed, not {getattr(inner, 'name', 'an unknown hash')}")
            digest = bytes(data)
            if len(digest) != _SIZE:
                raise ValueError(f"a SHA-256 digest is {_SIZE} bytes, but it was {len(digest)}")
        elif isinstance(algorithm, hashes.SHA256):
            hasher = hashes.Hash(hashes.SHA256())
            hasher.update(bytes(data))
            digest = hasher.finalize()
        else:
            raise ValueError(f"only SHA-256 is allowed, not {algorithm.name}")
        raw = self._signer.sign_digest(self._label, digest)
        if len(raw) != 2 * _SIZE:
            raise ValueError(f"the token returned a {len(raw)}-byte signature, expected {2 * _SIZE}")
        return encode_dss_signature(int.from_bytes(raw[:_SIZE], "big"), int.from_bytes(raw[_SIZE:], "big"))

    # --- copies share the token key; nothing to duplicate ---

    def __copy__(self) -> HsmEcPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[Any, Any]) -> HsmEcPrivateKey:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{self!r} is bound to a live HSM session and cannot be pickled")

    # --- exports and other uses are refused ---

    def _refuse(self, what: str) -> NoReturn:
        raise NotImplementedError(
            f"{what} is not possible: private key '{self._label}' lives on HSM token "
            f"'{self._signer.token_label}', is non-extractable, and is for signing only"
        )

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        self._refuse("ECDH key exchange")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._refuse("exporting the private numbers")

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        self._refuse("exporting the private key")
