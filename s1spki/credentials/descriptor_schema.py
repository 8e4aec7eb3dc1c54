"""What an operator's `<name>.credential.toml` may contain, as a strict pydantic model (imported only when a
descriptor is read). It says where the key is and where its secret comes from, never the secret itself."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from s1spki.values.datafile import refusal
from s1spki.values.strict_model import StrictTable

_TOKEN_KEYS = ("module", "token_label", "key_label")


class DescriptorFile(StrictTable):
    operator: str
    type: Literal["file", "pkcs11"]
    secret_file: str | None = None
    secret_env: str | None = None
    key_file: str | None = None  # type "file": the encrypted PEM key, beside the descriptor unless absolute
    module: str | None = None  # type "pkcs11": the token holding the key
    token_label: str | None = None
    key_label: str | None = None
    softhsm_conf: str | None = None

    @model_validator(mode="after")
    def _fits_its_type(self) -> Self:
        problems: list[tuple[tuple[str, ...], str]] = []
        if self.secret_file and self.secret_env:
            problems.append((("secret_file",), "give secret_file or secret_env, not both"))
        if self.type == "file":
            if not self.key_file:
                problems.append((("key_file",), "is required for a file credential"))
            problems += [((key,), "unknown key for a file credential")
                         for key in (*_TOKEN_KEYS, "softhsm_conf") if getattr(self, key) is not None]
        else:
            if not all(getattr(self, key) for key in _TOKEN_KEYS):
                problems.append((("token_label",), "module, token_label and key_label are required"))
            if self.key_file is not None:
                problems.append((("key_file",), "unknown key for a pkcs11 credential"))
        if problems:
            raise refusal(problems)
        return self
