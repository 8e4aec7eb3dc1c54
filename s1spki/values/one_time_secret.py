"""One-time secrets (an enrolment authorisation's EST password): made from the CSPRNG, stored only as a slow
hash (scrypt, RFC 7914), compared in constant time.

The hash is written `scrypt$N$r$p$salt$hash` (salt and hash in unpadded URL-safe base64), so its parameters can
be raised later without losing the hashes already stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_BYTES = 32  # 256 bits: guessing is out of the question, the slow hash guards a stolen database
_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 16 MiB and tens of milliseconds
_SALT_BYTES = 16
_DKLEN = 32
# a hash to compare with when there is none (an unknown id), so that both cases take the same time
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret() -> str:
    """A fresh secret, printable (URL-safe base64, no ':' so it fits HTTP Basic credentials)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def secret_matches(secret: str, stored: str | None) -> bool:
    """Whether `secret` is the one `stored` was made from (False for a missing or malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = (stored or _DUMMY).split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        made = hashlib.scrypt(secret.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                              dklen=len(expected), maxmem=2**26)
    except (ValueError, TypeError):
        return False
    return stored is not None and hmac.compare_digest(made, expected)
