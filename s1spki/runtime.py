"""The runtime of one CA home: what a command opens, each part on first use, and how the parts are wired.

It opens the configuration, the policy and RAPP in force, the store, the HSM and operators' credentials,
and wires the audit checkpointer to the store. It holds no rule: authorising people, stamping audit
events and recording refusals belong to the command context of the use cases (`s1spki.command`).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.checkpoint import Checkpointer
from s1spki.audit.signer import AuditSigner
from s1spki.credentials import find_credential
from s1spki.errors import HsmError, PolicyRefused, S1spkiError
from s1spki.home.config import Config, load_config
from s1spki.hsm import Hsm, HsmSettings, find_softhsm_module
from s1spki.policy import Policy, load_policy
from s1spki.rapp import Rapp, load_rapp
from s1spki.store import Store
from s1spki.values.clock import Clock


class Seams:
    """Named points of a use case where a test-only entry point may act (stop the process, hold it to widen a
    race window). Product code only calls `reached`, which does nothing here; the clock is injected the same way."""

    def reached(self, point: str) -> None:
        """Called by use cases at `point` (e.g. "serial-reserved"); does nothing."""


class Runtime:
    def __init__(self, home: Path, clock: Clock | None = None, seams: Seams | None = None) -> None:
        self.home = home
        self.clock = clock or Clock()
        self.seams = seams or Seams()
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
        """Signs checkpoints of the audit chain: every N records and at `finish()`."""
        can_sign = self.config.hsm.pin.kind != "prompt"  # a checkpoint never stops a command to ask for a PIN
        return Checkpointer(lambda: self.store, self.open_audit_key if can_sign else None, self.clock,
                            lambda: self.home_id, self.config.audit)

    @cached_property
    def home_id(self) -> str:
        return self.store.meta("home_id") or ""

    def hashes_in_force(self) -> tuple[str | None, str | None]:
        """The hashes of the policy/ and rapp/ in force, each None where it cannot be loaded."""
        hashes: list[str | None] = []
        for load in (lambda: self.policy.hash, lambda: self.rapp.hash):
            try:
                hashes.append(load())
            except S1spkiError:
                hashes.append(None)
        return hashes[0], hashes[1]

    def finish(self, exit_code: int = 0) -> str | None:
        """End of a command: checkpoint the audit chain if records were appended; a warning, or None."""
        if "store" not in self.__dict__:
            return None
        return self.checkpointer.finish(exit_code, *self.hashes_in_force())

    def hsm(self) -> Hsm:
        settings = self.config.hsm
        module = find_softhsm_module() if settings.module == "softhsm" else settings.module
        pin = settings.pin.read(f"the PIN of token {settings.token_label!r}", error=HsmError)
        return Hsm.connect(HsmSettings(module, settings.token_label, pin, settings.softhsm_conf))

    def open_audit_key(self, signer: AuditSigner) -> ec.EllipticCurvePrivateKey:
        """The audit key on the HSM; refused if it is a CA's key or does not match the audit certificate."""
        if signer.key_label in {ca.key_label for ca in self.store.reader.cas()}:
            raise PolicyRefused(f"key {signer.key_label!r} is a CA key: the audit trail is never signed with one")
        key = self.hsm().signing_key(signer.key_label)
        if key.public_key() != signer.certificate().public_key():
            raise PolicyRefused(f"HSM key {signer.key_label!r} does not match the audit certificate "
                                f"{signer.fingerprint[:16]}...: the audit key was replaced")
        return key

    def operator_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        """An operator's unlocked key, unlocked once per process (a passphrase is asked for once)."""
        if name not in self._operator_keys:
            self._operator_keys[name] = find_credential(name, self.config.credential_dirs).private_key()
        return self._operator_keys[name]

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()
