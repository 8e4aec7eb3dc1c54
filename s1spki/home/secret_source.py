"""Where PINs and passphrases come from: a file, an environment variable, or a prompt.

Never a command-line argument (it would show in `ps` and shell history). The source is named in a
config file; the secret itself is read only when needed and never logged or put in an error message.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from s1spki.errors import AuthError, UsageError


@dataclass(frozen=True)
class SecretSource:
    """One of: kind "file" (ref = path), "env" (ref = variable name), "prompt" (ref unused)."""

    kind: str
    ref: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("file", "env", "prompt"):
            raise ValueError(f"secret source must be file, env or prompt, not {self.kind!r}")

    def describe(self) -> str:
        return {"file": f"file {self.ref}", "env": f"environment variable {self.ref}", "prompt": "a prompt"}[self.kind]

    def read(self, what: str, error: type[Exception] = AuthError, confirm: bool = False) -> str:
        """Return the secret for `what` (e.g. "the PIN of token 's1spki'"); never echo it. With `confirm` (a new
        secret), a prompt asks twice and refuses two different answers: a typo would lock the key away."""
        if self.kind == "file":
            try:
                value = Path(self.ref).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise error(f"cannot read {what} from file {self.ref}: {exc.strerror}") from None
        elif self.kind == "env":
            value = os.environ.get(self.ref, "")
            if not value:
                raise error(f"{what} is expected in environment variable {self.ref}, which is not set")
        else:
            if not sys.stdin.isatty():
                raise error(f"{what} must be typed at a prompt, but there is no terminal: name a file or"
                            " environment variable for it in the config")
            value = getpass.getpass(f"{what}: ")
            if confirm and value and getpass.getpass(f"{what}, again: ") != value:
                raise error(f"the two entries of {what} differ: nothing was made; try again")
        if not value:
            raise error(f"{what} from {self.describe()} is empty")
        return value


def source_from_flags(file: Path | None, env: str | None, what: str) -> SecretSource:
    """The source named by a command's `--X-file` / `--X-env` flags, else a prompt."""
    if file is not None and env is not None:
        raise UsageError(f"give {what} as a file or an environment variable, not both")
    if file is not None:
        return SecretSource("file", str(file.resolve()))
    if env is not None:
        return SecretSource("env", env)
    return SecretSource("prompt")


def write_secret_file(path: Path, value: str) -> None:
    """Create a 0600 file holding a secret; refuse to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
