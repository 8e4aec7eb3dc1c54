"""One application object per command: the CA home and what it opens, each on first use.

Like hatch's `Application`, the CLI's root callback makes it and every command receives it. It also
owns the two cross-cutting duties of a state-changing command: authorising the named operators and
recording a refusal when the command is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .audit.checkpoint import Checkpointer
from .audit_record import AuditEvent
from .clock import Clock
from .config import Config, load_config
from .errors import AuthError, HsmError, Refused, S1spkiError, StoreError
from .hsm import Hsm, HsmSettings, find_softhsm_module
from .operators import Authorisation, authorise, find_credential
from .policy import Policy, load_policy
from .rapp import Rapp, load_rapp
from .store import Store


class App:
    def __init__(self, home: Path, clock: Clock | None = None) -> None:
        self.home = home
        self.clock = clock or Clock()
        self._operator_keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    @cached_property
    def config(self) -> Config:
        return load_config(self.home)

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.config.policy_dir)

    @cached_property
    def rapp(self) -> Rapp:
        return load_rapp(self.config.rapp_dir)

    @cached_property
    def store(self) -> Store:
        store = Store.open(self.config.database_url, self.clock)
        store.on_append = self.checkpointer.appended
        return store

    @cached_property
    def checkpointer(self) -> Checkpointer:
        """Signs checkpoints of the audit chain (s1spki.audit): every N records and at `finish()`."""
        return Checkpointer(self)

    def finish(self, exit_code: int = 0) -> str | None:
        """End of a command: checkpoint the audit chain if records were appended; a warning, or None."""
        if "store" not in self.__dict__:
            return None
        return self.checkpointer.finish(exit_code)

    @cached_property
    def ca_id(self) -> str:
        return self.store.meta("home_id") or ""

    def hsm(self) -> Hsm:
        settings = self.config.hsm
        module = find_softhsm_module() if settings.module == "softhsm" else settings.module
        pin = settings.pin.read(f"the PIN of token {settings.token_label!r}", error=HsmError)
        return Hsm.connect(HsmSettings(module, settings.token_label, pin, settings.softhsm_conf))

    def operator_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        """An operator's unlocked key, unlocked once per process (a passphrase is asked for once)."""
        if name not in self._operator_keys:
            self._operator_keys[name] = find_credential(name, self.config.credential_dirs).private_key()
        return self._operator_keys[name]

    def authorise(self, operation: str, obj: Mapping[str, Any], names: Sequence[str]) -> Authorisation:
        return authorise(self.store.reader, self.rapp, self.clock, self.ca_id, self.operator_key, operation, obj,
                         names)

    def event(self, event: str, actor: str, actor_role: str, object_type: str | None = None,
              object_id: str | None = None, **details: Any) -> AuditEvent:
        """An audit event stamped with the hashes of the policy/ and rapp/ in force."""
        return AuditEvent(event=event, actor=actor, actor_role=actor_role, object_type=object_type,
                          object_id=object_id, details=details, policy_hash=self._hash("policy"),
                          rapp_hash=self._hash("rapp"))

    def _hash(self, which: str) -> str | None:
        try:
            return self.policy.hash if which == "policy" else self.rapp.hash
        except S1spkiError:
            return None

    @contextmanager
    def refusals_recorded(self, event: AuditEvent) -> Iterator[None]:
        """Record a refusal (policy, RAPP, lint, authentication) or an HSM failure, then re-raise.

        The refused change itself has been rolled back; only this record remains of it.
        """
        try:
            yield
        except (Refused, AuthError, HsmError) as exc:
            outcome = "error" if isinstance(exc, HsmError) else "refused"
            with suppress(StoreError):  # the original error is the one to report
                self.store.record_refusal(event.with_outcome(outcome, reason=exc.message, error=exc.kind))
            raise

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()
