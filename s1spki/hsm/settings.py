"""Value types of the HSM boundary: how to reach a token, and what we read back from it.

Nothing here talks to PKCS#11; these objects cross into the rest of s1spki.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from s1spki.errors import ConfigError

# PKCS#11 CK_TOKEN_INFO.label is 32 bytes of UTF-8, blank padded.
TOKEN_LABEL_MAX_BYTES = 32


@dataclass(frozen=True)
class HsmSettings:
    """Where a token is and how to log in to it."""

    module: str
    token_label: str
    # Never printed, logged or put in an error message.
    pin: str = field(repr=False)
    # When set, SOFTHSM2_CONF is pointed here before the module is (re)initialised.
    softhsm_conf: Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.module, str) or not self.module:
            raise ValueError("HsmSettings.module must be a non-empty path")
        if not isinstance(self.token_label, str) or not self.token_label:
            raise ValueError("HsmSettings.token_label must be a non-empty string")
        size = len(self.token_label.encode("utf-8"))
        if size > TOKEN_LABEL_MAX_BYTES:
            raise ValueError(
                f"HsmSettings.token_label must be at most {TOKEN_LABEL_MAX_BYTES} bytes, but it was {size}"
            )
        if not isinstance(self.pin, str) or not self.pin:
            raise ValueError("HsmSettings.pin must be a non-empty string")
        if self.softhsm_conf is not None and not isinstance(self.softhsm_conf, Path):
            object.__setattr__(self, "softhsm_conf", Path(self.softhsm_conf))

    @classmethod
    def from_pin_source(
        cls,
        module: str,
        token_label: str,
        *,
        pin_env: str | None = None,
        pin_file: str | Path | None = None,
        softhsm_conf: Path | None = None,
        source: str = "s1spki.toml",
    ) -> HsmSettings:
        """Build settings whose PIN is read from exactly one of an environment variable or a file."""
        return cls(
            module=module,
            token_label=token_label,
            pin=read_pin(pin_env=pin_env, pin_file=pin_file, source=source),
            softhsm_conf=softhsm_conf,
        )


def read_pin(
    *, pin_env: str | None = None, pin_file: str | Path | None = None, source: str = "s1spki.toml"
) -> str:
    """Return the PIN named by `pin_env` or `pin_file` (exactly one); errors never contain the PIN."""
    if (pin_env is None) == (pin_file is None):
        raise ConfigError(f"{source}: hsm: give exactly one of pin_env or pin_file", field="hsm.pin")
    if pin_env is not None:
        value = os.environ.get(pin_env)
        if not value:
            raise ConfigError(
                f"{source}: hsm.pin_env: environment variable {pin_env} is not set or empty",
                field="hsm.pin_env",
            )
        return value
    path = Path(str(pin_file)).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{source}: hsm.pin_file: cannot read {path}: {exc.strerror}", field="hsm.pin_file"
        ) from None
    # One trailing newline is what editors and `echo` add; anything else is part of the PIN.
    value = text[:-1] if text.endswith("\n") else text
    if not value:
        raise ConfigError(f"{source}: hsm.pin_file: {path} is empty", field="hsm.pin_file")
    return value


@dataclass(frozen=True)
class TokenInfo:
    """Identity of a token, as the module reports it (strings stripped of PKCS#11 blank padding)."""

    label: str
    serial: str
    manufacturer: str
    model: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class KeyAttributes:
    """Attributes of a private key, read back from the token (not what we asked for)."""

    label: str
    id: str  # CKA_ID, hex
    key_type: str  # "EC", "RSA", ...
    curve: str | None  # "secp256r1" for P-256; None for non-EC keys
    sensitive: bool
    extractable: bool
    always_sensitive: bool
    never_extractable: bool
    local: bool
    sign: bool
    decrypt: bool
    unwrap: bool
    derive: bool
    token: bool
    private: bool

    @property
    def is_protected_signing_key(self) -> bool:
        """True if this is a sign-only key generated on the token that never left it."""
        return (
            self.token
            and self.private
            and self.sensitive
            and self.always_sensitive
            and not self.extractable
            and self.never_extractable
            and self.local
            and self.sign
            and not (self.decrypt or self.unwrap or self.derive)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
