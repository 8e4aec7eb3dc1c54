"""One-time secrets (an enrolment authorisation's EST password): 256 bits from the CSPRNG, stored only as a
salted hash, compared in constant time.

A secret of 256 random bits needs no slow hash: nobody can guess it, so a stolen hash is no way to it (NIST SP
800-63B 5.1.2.2: a look-up secret of 112 bits or more is hashed with an approved one-way function; only a
weaker secret asks for a key derivation function). A slow one would only let anyone who can reach the EST server
make it spend tens of milliseconds and megabytes on each guess. The hash is written `hmac-sha256$salt$hash`
(salt and hash in unpadded URL-safe base64): HMAC-SHA256 keyed by the salt. Hashes written earlier in the form
`scrypt$N$r$p$salt$hash` (RFC 7914) are still checked as they were made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_BYTES = 32  # 256 bits: guessing is out of the question
_SALT_BYTES = 16
_SCHEME = "hmac-sha256"
# a hash to compare with when there is none (an unknown id), so that both cases take the same time
_DUMMY = f"{_SCHEME}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret() -> str:
    """A fresh secret, printable (URL-safe base64, no ':' so it fits HTTP Basic credentials)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def _keyed(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).digest()


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_SCHEME}${_b64(salt)}${_b64(_keyed(salt, secret))}"


def secret_matches(secret: str, stored: str | None) -> bool:
    """Whether `secret` is the one `stored` was made from (False for a missing or malformed hash)."""
    try:
        scheme, *fields = (stored or _DUMMY).split("$")
        if scheme == _SCHEME:
            salt, digest = fields
            expected, made = _unb64(digest), _keyed(_unb64(salt), secret)
        elif scheme == "scrypt":  # written before the keyed hash
            n, r, p, salt, digest = fields
            expected = _unb64(digest)
            made = hashlib.scrypt(secret.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(expected), maxmem=2**26)
        else:
            return False
    except (ValueError, TypeError):
        return False
    return stored is not None and hmac.compare_digest(made, expected)
