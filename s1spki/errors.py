"""The one exception hierarchy of s1spki.

Each family maps to one exit code of `interface.md`; the CLI turns an exception into a one-line message
and that code. Messages say what was wrong, where, and what to do; they never contain a secret (PIN,
passphrase, key material). Facts are kept as attributes so `--json` can report them.
"""

from __future__ import annotations

from typing import Any


class S1spkiError(Exception):
    """Base of every error s1spki reports to a user."""

    exit_code: int = 1
    kind: str = "error"

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.kind, "message": self.message, "exit_code": self.exit_code, **self.facts}


class UsageError(S1spkiError):
    """The command was called wrongly (exit 2)."""

    exit_code = 2
    kind = "usage"


class Refused(S1spkiError):
    """Refused by a policy, RAPP or lint check (exit 3)."""

    exit_code = 3
    kind = "refused"


class IntakeRefused(Refused):
    """A request (CSR) failed intake: parse, proof of possession, key type, size."""

    kind = "intake"


class PolicyRefused(Refused):
    """The registry or the policy forbids what was asked."""

    kind = "policy"


class LintRefused(Refused):
    """The to-be-signed object has lint findings; nothing was signed."""

    kind = "lint"

    def __init__(self, message: str, findings: list[str] | tuple[str, ...] = (), **facts: Any) -> None:
        super().__init__(message, findings=list(findings), **facts)
        self.findings = tuple(findings)


class ConfigError(Refused):
    """A policy/, rapp/ or s1spki.toml file is malformed or inconsistent."""

    kind = "config"


class IntegrityRefused(Refused):
    """A record or row that grants power is not as s1spki wrote it (a database edit, an insert, a replay)."""

    kind = "integrity"


class NotFound(Refused):
    """The named object (request, certificate, organisation, operator) does not exist: a usage error (exit 2,
    interface.md), still recorded as a refusal when a change named it."""

    exit_code = 2
    kind = "not-found"


class AuthError(S1spkiError):
    """Authentication or authorisation refused (exit 4)."""

    exit_code = 4
    kind = "auth"


class Unavailable(S1spkiError):
    """The HSM or the database cannot be used (exit 5)."""

    exit_code = 5
    kind = "unavailable"


class HsmError(Unavailable):
    """A PKCS#11 module, token, PIN or session problem."""

    kind = "hsm"


class StoreError(Unavailable):
    """The database cannot be reached or is not an s1spki store."""

    kind = "store"


class DiskFull(StoreError):
    """A disk s1spki writes to (the database's, a file's) has no space left: said as such, not as an I/O error."""

    kind = "disk-full"

    def __init__(self, where: str, **facts: Any) -> None:
        super().__init__(f"disk full at {where}: free space and retry", where=where, **facts)
