"""One-time secrets: stored only as a salted hash that the secret itself, and nothing else, matches; hashes of the
earlier scrypt form still match (authorisations made before the keyed hash)."""

from __future__ import annotations

import base64
import hashlib
import secrets

from s1spki.values.one_time_secret import hash_secret, new_secret, secret_matches


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_a_secret_matches_its_hash_and_nothing_else_does() -> None:
    secret = new_secret()
    stored = hash_secret(secret)
    assert secret_matches(secret, stored)
    assert not secret_matches(new_secret(), stored)
    assert not secret_matches(secret[:-1], stored)
    assert not secret_matches(secret, None)  # no hash (an unknown id)
    for broken in ("", "hmac-sha256$", "hmac-sha256$a$b$c", "md5$x$y", stored.replace("hmac-sha256", "sha1")):
        assert not secret_matches(secret, broken)


def test_the_hash_is_salted_and_holds_nothing_of_the_secret() -> None:
    secret = new_secret()
    first, second = hash_secret(secret), hash_secret(secret)
    assert first != second  # a salt of its own each time
    assert secret not in first and _b64(hashlib.sha256(secret.encode()).digest()) not in first
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) == 32  # 256 bits from the CSPRNG


def test_a_hash_written_in_the_earlier_scrypt_form_still_matches() -> None:
    secret, salt = new_secret(), secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    stored = f"scrypt$16384$8$1${_b64(salt)}${_b64(digest)}"
    assert secret_matches(secret, stored)
    assert not secret_matches(new_secret(), stored)
