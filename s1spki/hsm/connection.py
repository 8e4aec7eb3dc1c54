"""Hsm: the narrow interface the rest of s1spki uses to reach a token.

Generate a key and read its attributes back, get its public key, get a signing key, sign a digest.
Every call goes through the token's one logged-in session under the process-wide lock (session.py).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, Mechanism, ObjectClass

from s1spki.errors import HsmError, NotFound, Refused
from s1spki.hsm import objects, session
from s1spki.hsm.keys import HsmEcPrivateKey
from s1spki.hsm.settings import HsmSettings, KeyAttributes, TokenInfo

_DIGEST_SIZE = 32
ANSWERS_KEPT = 4096  # the HMACs a session remembers it gave (Hsm.mac_given)


def _strip(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().rstrip("\x00").strip()


class Hsm:
    """A handle on one token's shared logged-in session; close it when done (or use `with`)."""

    def __init__(self, connection: session.TokenConnection) -> None:
        # Use Hsm.connect(); this wraps an already logged-in shared connection.
        self._conn = connection
        self._closed = False

    @classmethod
    def connect(cls, settings: HsmSettings) -> Hsm:
        """Log in to the token (or share this process's existing login) and return a handle."""
        if not isinstance(settings, HsmSettings):
            raise TypeError(f"Hsm.connect takes HsmSettings, not {type(settings).__name__}")
        return cls(session.acquire(settings))

    @property
    def token_label(self) -> str:
        return self._conn.token_label

    @property
    def module(self) -> str:
        return self._conn.module

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Hsm token={self.token_label!r} module={self.module!r} {state}>"

    def _live(self) -> session.TokenConnection:
        if self._closed or self._conn.closed:
            raise HsmError(f"the connection to token '{self.token_label}' is closed", token=self.token_label)
        return self._conn

    # --- token ---

    def token_info(self) -> TokenInfo:
        """Return the token's label, serial, manufacturer and model."""

        def op(s: Any) -> TokenInfo:
            token = s.token
            return TokenInfo(
                label=_strip(token.label),
                serial=_strip(token.serial),
                manufacturer=_strip(token.manufacturer_id),
                model=_strip(token.model),
            )

        return self._live().run(op, action="reading token information", retry=True)

    # --- keys ---

    def generate_ec_key(self, label: str) -> KeyAttributes:
        """Generate a sign-only, non-extractable P-256 key pair on the token; refuse a label in use."""
        objects.check_label(label)
        conn = self._live()

        def op(s: Any) -> None:
            objects.generate_ec_p256(s, label, conn.token_label)

        # Not retried: a key pair may exist even if the reply was lost; the label check would then refuse.
        conn.run(op, action=f"generating key '{label}'", retry=False)
        return self.key_attributes(label)

    def has_key(self, label: str) -> bool:
        """Say whether a private or public key with this label is on the token."""
        conn = self._live()

        def op(s: Any) -> bool:
            return any(
                objects.objects_labelled(s, label, cls)
                for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY)
            )

        return conn.run(op, action=f"looking up key '{label}'", retry=True)

    def key_labels(self) -> tuple[str, ...]:
        """Labels of the private keys on the token, sorted."""

        def op(s: Any) -> tuple[str, ...]:
            found = list(s.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
            return tuple(sorted(str(obj[Attribute.LABEL]) for obj in found))

        return self._live().run(op, action="listing keys", retry=True, refresh_if=lambda found: not found)

    def key_attributes(self, label: str) -> KeyAttributes:
        """Read the private key's attributes back from the token."""
        conn = self._live()

        def op(s: Any) -> KeyAttributes:
            return objects.read_attributes(objects.private_key(s, label, conn.token_label))

        return conn.run(op, action=f"reading the attributes of key '{label}'", retry=True)

    def public_key(self, label: str) -> ec.EllipticCurvePublicKey:
        """Return the public half of the key pair as a cryptography key."""
        conn = self._live()

        def op(s: Any) -> ec.EllipticCurvePublicKey:
            cached = conn.cache.get(("public", label))
            if cached is None:
                obj = objects.public_key_object(s, label, conn.token_label)
                cached = objects.read_public_key(obj, label, conn.token_label)
                conn.cache[("public", label)] = cached
            return cached

        return conn.run(op, action=f"reading the public key '{label}'", retry=True)

    def signing_key(self, label: str) -> HsmEcPrivateKey:
        """Return a cryptography key that signs with this token key; refuse a non-P-256 or non-signing key. Checked
        once per session, as its object handles are kept (the token refuses a signature the key's attributes do not
        allow, and a key gone since fails the signature loudly: Hsm.sign_digest)."""
        conn = self._live()
        if ("signing", label) not in conn.cache:
            attributes = self.key_attributes(label)
            if attributes.key_type != "EC" or attributes.curve != "secp256r1":
                kind = " ".join(filter(None, (attributes.key_type, attributes.curve)))
                raise Refused(
                    f"key '{label}' on token '{self.token_label}' is {kind}, not an EC P-256 key", label=label
                )
            if not attributes.sign:
                raise Refused(f"key '{label}' on token '{self.token_label}' is not allowed to sign", label=label)
            conn.cache[("signing", label)] = True  # checked in this session
        return HsmEcPrivateKey(self, label, self.public_key(label))

    def generate_mac_key(self, label: str) -> None:
        """Generate an HMAC-SHA256 secret key on the token (sensitive, non-extractable); refuse a label in use."""
        objects.check_label(label)
        conn = self._live()
        # Not retried, as for key pairs: a key may exist even if the reply was lost.
        conn.run(lambda s: objects.generate_mac_key(s, label, conn.token_label), action=f"generating key '{label}'",
                 retry=False)

    def secret_key_labels(self) -> tuple[str, ...]:
        """Labels of the secret keys on the token, sorted."""

        def op(s: Any) -> tuple[str, ...]:
            found = list(s.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))
            return tuple(sorted(str(obj[Attribute.LABEL]) for obj in found))

        # an empty listing on a token that holds the home's keys is doubted: checked once after a fresh login
        return self._live().run(op, action="listing secret keys", retry=True, refresh_if=lambda found: not found)

    def secret_key_details(self) -> list[dict[str, Any]]:
        """Label and protection attributes of every secret key on the token."""
        return self._live().run(objects.secret_key_details, action="listing secret keys", retry=True)

    def mac(self, label: str, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` with the token's secret key `label` (CKM_SHA256_HMAC)."""
        conn = self._live()

        def op(s: Any) -> bytes:
            key = conn.cache.get(("secret", label))
            if key is None:
                key = objects.secret_key(s, label, conn.token_label)
                conn.cache[("secret", label)] = key
            return bytes(key.sign(bytes(data), mechanism=Mechanism.SHA256_HMAC))

        answer = conn.run(op, action=f"authenticating with key '{label}'", retry=True)
        answers = conn.cache.setdefault(("answers", label), {})
        if len(answers) >= ANSWERS_KEPT:
            del answers[next(iter(answers))]  # the oldest
        answers[bytes(data)] = answer
        return answer

    def mac_given(self, label: str, data: bytes) -> bytes | None:
        """The HMAC this session's token gave for `data` with key `label`, if it gave one lately (the last
        ANSWERS_KEPT, forgotten when the session is opened again): an HMAC is a function of its key and bytes, so a
        check may compare with it rather than ask again."""
        return self._live().cache.get(("answers", label), {}).get(bytes(data))

    def sign_digest(self, label: str, digest: bytes) -> bytes:
        """Sign a SHA-256 digest with CKM_ECDSA on the token; return raw r||s (64 bytes)."""
        if len(digest) != _DIGEST_SIZE:
            raise ValueError(f"a SHA-256 digest is {_DIGEST_SIZE} bytes, but it was {len(digest)}")
        conn = self._live()

        def op(s: Any) -> bytes:
            key = conn.cache.get(("private", label))
            if key is None:
                key = objects.private_key(s, label, conn.token_label)
                conn.cache[("private", label)] = key
            return bytes(key.sign(bytes(digest), mechanism=Mechanism.ECDSA))

        try:
            return conn.run(op, action=f"signing with key '{label}'", retry=True)
        except NotFound as exc:  # the key was found when it was opened: gone now is the HSM's fault, not the user's
            raise HsmError(f"{exc.message} any more (it was there when this command opened it): nothing was "
                           "signed with it; check the token", label=label, token=conn.token_label) from None

    # --- lifetime ---

    def close(self) -> None:
        """Release this handle; the last handle on a token logs out and closes its session. Idempotent."""
        if self._closed:
            return
        self._closed = True
        session.release(self._conn)

    def __enter__(self) -> Hsm:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @classmethod
    def close_all(cls, *, finalize: bool = False) -> None:
        """Log out of every token this process is connected to; with finalize, C_Finalize the modules too."""
        session.release_all(finalize=finalize)


def open_session_count() -> int:
    """PKCS#11 sessions this process holds open through s1spki.hsm; a leak check for tests."""
    return session.open_session_count()
