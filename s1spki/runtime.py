"""The runtime of one CA home: what a command opens, each part on first use, and how the parts are wired.

It opens the configuration, the policy and RAPP in force, the store, the HSM and operators' credentials,
and wires the audit checkpointer and the record key to the store. It holds no rule: authorising people,
stamping audit events and recording refusals belong to the command context of the use cases
(`s1spki.command`).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s1spki.audit.chain import COLUMNS, link_hash, record_bytes
from s1spki.errors import HsmError, IntegrityRefused, PolicyRefused, S1spkiError
from s1spki.home.config import Config, load_config
from s1spki.store.sealing import record_mac_input
from s1spki.values.clock import Clock

# The parts are imported where they are first used: a reading command (`cert show`) opens only the store, and
# must not pay for the HSM, the credentials, the policy or the audit signer (start-up time, issue 13).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from s1spki.audit.checkpoint import Checkpointer
    from s1spki.audit.signer import AuditSigner
    from s1spki.audit.verify import Problem
    from s1spki.home.adoption import Adoption
    from s1spki.home.config import HsmConfig
    from s1spki.hsm import Hsm
    from s1spki.policy import Policy
    from s1spki.rapp import Rapp
    from s1spki.store import Store
    from s1spki.store.records import Unlisted

# The record key's label on the token says from which audit record on every record carries an authenticator:
# the token, which no database writer can change, is what says so (a store made before authenticators has
# records without one, vouched for by the checkpoint signed when it was upgraded).
RECORD_KEY_PREFIX = "s1spki-records-from-"
_RECORD_KEY = re.compile(rf"^{RECORD_KEY_PREFIX}([1-9][0-9]*)-[0-9TZ]+$")


def record_key_label(from_seq: int, stamp: str) -> str:
    return f"{RECORD_KEY_PREFIX}{from_seq}-{stamp}"


def _from_seq(label: str) -> int:
    match = _RECORD_KEY.match(label)
    assert match is not None
    return int(match.group(1))


class Seams:
    """Named points of a use case where a test-only entry point may act (stop the process, hold it to widen a
    race window). Product code only calls `reached`, which does nothing here; the clock is injected the same way."""

    def reached(self, point: str) -> None:
        """Called by use cases at `point` (e.g. "serial-reserved"); does nothing."""


class RecordKey:
    """The home's HMAC key in the HSM: authenticates every audit record and every row that grants power.

    Found on the token (never named by the database); the HSM is reached on first use only, so that reading
    commands never need it."""

    def __init__(self, hsm: Any) -> None:
        self._hsm = hsm  # a callable giving the runtime's HSM connection
        self._label: str | None = None

    @property
    def label(self) -> str:
        if self._label is None:
            labels = [label for label in self._hsm().secret_key_labels() if _RECORD_KEY.match(label)]
            if not labels:
                raise HsmError("the HSM token holds no record key of this home: run `s1spki db upgrade` (a home made "
                               "before record authenticators), or check `token_label` in s1spki.toml")
            self._label = max(labels, key=_from_seq)
        return self._label

    @property
    def from_seq(self) -> int:
        """The first audit record that must carry an authenticator."""
        return _from_seq(self.label)

    def mac(self, data: bytes) -> str:
        """The HSM's HMAC of `data`: what every authenticator written is."""
        return self._hsm().mac(self.label, data).hex()

    def given(self, data: bytes) -> str | None:
        """The HMAC the HSM gave lately for `data` in this process (Hsm.mac_given), if any: for checks only. A
        record or row authenticated by this process, or checked before (an EST worker's registry rows, request
        after request), is checked again against the HSM's own answer without asking it again."""
        answer = self._hsm().mac_given(self.label, data)
        return None if answer is None else answer.hex()

    def confirm(self, seq: int, record_hash: str, mac: str | None) -> bool:
        """Whether a record's stored authenticator is the HSM's (a record before `from_seq` has none)."""
        if mac is None:
            return seq < self.from_seq
        data = record_mac_input(record_hash)
        return hmac.compare_digest(self.given(data) or self.mac(data), mac)

    def authentic(self, row: Sequence[Any]) -> bool:
        """Whether a stored record (audit.chain COLUMNS order, its authenticator last) is as s1spki wrote it: its
        columns still hash to its hash, and the HSM authenticated that hash. Both: the authenticator covers the
        hash alone, so a column edited under an untouched hash must be found by hashing again."""
        body = record_bytes(row[:-1])
        return (body is not None and link_hash(row[1], body) == row[2]
                and self.confirm(int(row[0]), str(row[2]), row[-1]))


class Runtime:
    def __init__(self, home: Path, clock: Clock | None = None, seams: Seams | None = None) -> None:
        self.home = home
        self.clock = clock or Clock()
        self.seams = seams or Seams()
        self._operator_keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._hsms: dict[str, Hsm] = {}
        self._when_changed: dict[str, Callable[[], Sequence[str]]] = {}

    @cached_property
    def config(self) -> Config:
        return load_config(self.home)

    @cached_property
    def policy(self) -> Policy:
        """policy/ in force: as adopted (refused if its files differ from the adoption)."""
        from s1spki.policy import load_policy
        from s1spki.values.datafile import loaded_once

        policy = loaded_once(self.config.policy_dir, load_policy)
        self._refuse_unadopted("policy", self.config.policy_dir, policy.hash)
        return policy

    @cached_property
    def rapp(self) -> Rapp:
        """rapp/ in force: as adopted (refused if its files differ from the adoption)."""
        from s1spki.rapp import load_rapp
        from s1spki.values.datafile import loaded_once

        rapp = loaded_once(self.config.rapp_dir, load_rapp)
        self._refuse_unadopted("rapp", self.config.rapp_dir, rapp.hash)
        return rapp

    def policy_as_written(self) -> Policy:
        """policy/ as its files now are, adopted or not: for commands that change nothing (making a credential,
        linting a file), which must not need the HSM to read it."""
        from s1spki.policy import load_policy

        return load_policy(self.config.policy_dir)

    @cached_property
    def adoption(self) -> Adoption:
        """The latest adoption of policy/ and rapp/ the trail holds, its authenticator checked with the HSM."""
        from s1spki.home.adoption import ADOPT_EVENT, Adoption

        records = self.authentic_records((ADOPT_EVENT,))
        if not records:
            raise PolicyRefused("this home has no adopted policy/ and rapp/: adopt them with `s1spki policy adopt`")
        seq, _object, details = records[-1]
        try:
            return Adoption.from_details(seq, details)
        except ValueError as exc:
            raise IntegrityRefused(str(exc)) from None

    def _refuse_unadopted(self, folder: str, directory: Path, tree_hash: str) -> None:
        adoption = self.adoption
        if adoption.hashes[folder] != tree_hash:
            differences = adoption.differences(folder, directory) or [f"{folder}/"]
            raise PolicyRefused(f"{', '.join(differences)}: not what was adopted (audit record {adoption.seq}); "
                                "review the change and adopt it with `s1spki policy adopt --as NAME --as NAME`, or "
                                "put the adopted files back")

    @cached_property
    def record_key(self) -> RecordKey:
        return RecordKey(self.audit_hsm)

    @cached_property
    def store(self) -> Store:
        from s1spki.store import Store

        store = Store.open(self.config.database_url, self.clock, self.record_key, self.config.node_id)
        store.on_append = self.checkpointer.appended
        return store

    @cached_property
    def checkpointer(self) -> Checkpointer:
        """Signs checkpoints of the audit chain: every N records and at `finish()`, each over records vouched for."""
        from s1spki.audit.checkpoint import Checkpointer

        return Checkpointer(lambda: self.store, self.open_audit_key, self.clock, lambda: self.home_id,
                            self.config.audit, self.vouch)

    @cached_property
    def home_id(self) -> str:
        return self.store.meta("home_id") or ""

    def vouch(self, start_seq: int, start_hash: str, last_seq: int) -> list[Problem]:
        """Problems with records start_seq..last_seq (audit.vouch): links, authenticators, statements."""
        from s1spki.audit.record import GENESIS_HASH
        from s1spki.audit.registrations import REGISTERING_EVENTS, RegisteredKeys
        from s1spki.audit.vouch import vouch

        reader = self.store.reader
        keys = RegisteredKeys.from_rows(reader.audit_rows_of_events(REGISTERING_EVENTS))
        return vouch(reader.audit_rows_with_mac(start_seq, last_seq), start_seq,
                     start_hash if start_seq > 1 else GENESIS_HASH, self.record_key.confirm, keys)

    def hashes_in_force(self) -> tuple[str | None, str | None]:
        """The hashes of the policy/ and rapp/ in force, each None where it cannot be loaded."""
        hashes: list[str | None] = []
        for load in (lambda: self.policy.hash, lambda: self.rapp.hash):
            try:
                hashes.append(load())
            except S1spkiError:
                hashes.append(None)
        return hashes[0], hashes[1]

    def when_changed(self, key: str, step: Callable[[], Sequence[str]]) -> None:
        """A use case's step for the end of a command that changed the store and succeeded, before its checkpoint
        (e.g. the CRL of a revocation whose command ended first); the front door registers it, once per `key`.
        The step returns what it did, for the user."""
        self._when_changed.setdefault(key, step)

    def finish(self, exit_code: int = 0) -> Sequence[str | S1spkiError]:
        """End of a command: the steps `when_changed` registered, a warning for each CA with revocations on no CRL
        or ARL yet, then a checkpoint of the audit chain if records were appended (Checkpointer.finish)."""
        if "store" not in self.__dict__:
            return ()
        told: list[str | S1spkiError] = []
        if exit_code == 0:
            gaps = self._unlisted()
            if gaps and self._when_changed and self.checkpointer.pending:
                told += self._completed()
                gaps = self._unlisted()
            told += self._unlisted_warnings(gaps)
        if not self.checkpointer.pending:
            return told  # nothing appended: a reading command needs neither the HSM nor policy/ to end
        return [*told, *self.checkpointer.finish(exit_code, *self.hashes_in_force())]

    def _completed(self) -> list[str]:
        told: list[str] = []
        for step in self._when_changed.values():
            try:
                told += step()
            except S1spkiError as exc:  # the command's own result stands; the warnings below say what is left
                told.append(f"could not complete what an earlier command left undone: {exc.message}")
            except Exception as exc:  # noqa: BLE001 - nor may a fault here cost the command its checkpoint
                told.append(f"could not complete what an earlier command left undone ({type(exc).__name__})")
        return told

    def _unlisted(self) -> list[Unlisted]:
        """CAs that still issue CRLs or ARLs, with revocations left on none (none if the store cannot say)."""
        from s1spki.errors import StoreError

        try:
            gaps = self.store.reader.unlisted()
        except StoreError:
            return []
        now = self.clock.now()
        return [gap for gap in gaps if gap.status == "valid" and gap.left_behind(now)]  # a revoked CA issues none

    @staticmethod
    def _unlisted_warnings(gaps: Sequence[Unlisted]) -> list[str]:
        """Revocations on no CRL or ARL yet: said after every command until they are listed."""
        warnings = []
        for gap in gaps:
            what, command = ("ARL", "crl arl --as NAME --as NAME") if gap.kind == "root" else \
                ("CRL", "crl issue --as NAME")
            plural = "s" if gap.missing > 1 else ""
            warnings.append(f"{gap.missing} revocation{plural} of {gap.ca} on no {what} yet (a command ended before "
                            f"issuing it): relying parties do not see {'them' if plural else 'it'} until "
                            f"`s1spki {command}`")
        return warnings

    def hsm(self) -> Hsm:
        """The token of this home's CA keys, logged in on first use (one connection per runtime)."""
        return self._token("ca", self.config.hsm)

    def audit_hsm(self) -> Hsm:
        """The token of the audit key and the record key: a token (or slot) of its own with a PIN source apart
        from the CA keys', so that whoever holds the CA keys' PIN cannot also sign this home's checkpoints;
        the CA keys' token for a home made before the two were apart."""
        return self._token("audit", self.config.audit_hsm or self.config.hsm)

    def _token(self, role: str, settings: HsmConfig) -> Hsm:
        from s1spki.hsm import Hsm, HsmSettings, find_softhsm_module

        if role not in self._hsms:
            module = find_softhsm_module() if settings.module == "softhsm" else settings.module
            pin = settings.pin.read(f"the PIN of token {settings.token_label!r}", error=HsmError)
            self._hsms[role] = Hsm.connect(HsmSettings(module, settings.token_label, pin, settings.softhsm_conf))
        return self._hsms[role]

    @cached_property
    def kind(self) -> str:
        """What this home is, as its `init` record says (not a file anyone can edit): "root" (the offline root),
        "online" (issuing CAs), or "combined" for a home made before the two were kept apart."""
        records = self.authentic_records(("init",))
        return str(records[0][2].get("kind", "combined")) if records else "combined"

    def authentic_records(self, events: tuple[str, ...], about: tuple[str, str] | None = None
                          ) -> list[tuple[int, str | None, dict[str, Any]]]:
        """(seq, object_id, details) of the successful records of `events` (with `about`, only those about that
        object: its type and id), oldest first, each checked against its HSM authenticator: what a use case relies
        on from the trail (a pending ceremony, the home's kind, a revocation) cannot be a row someone inserted.
        IntegrityRefused if one is not the HSM's."""
        reader = self.store.reader
        found = []
        for seq, event, _object, _details in reader.audit_rows_of_events(events, about):
            rows = reader.audit_rows_with_mac(seq, seq)
            if not rows or not self.record_key.authentic(rows[0]):
                raise IntegrityRefused(f"audit record {seq} ({event}) is not as s1spki wrote it: refused; run "
                                       "`s1spki audit verify`", seq=seq)
            row = rows[0]
            found.append((seq, row[COLUMNS.index("object_id")], json.loads(row[COLUMNS.index("details")])))
        return found

    def open_audit_key(self, signer: AuditSigner) -> ec.EllipticCurvePrivateKey:
        """The audit key on the HSM; refused if it is a CA's key or does not match the audit certificate."""
        if signer.key_label in {ca.key_label for ca in self.store.reader.cas()}:
            raise PolicyRefused(f"key {signer.key_label!r} is a CA key: the audit trail is never signed with one")
        key = self.audit_hsm().signing_key(signer.key_label)
        if key.public_key() != signer.certificate().public_key():
            raise PolicyRefused(f"HSM key {signer.key_label!r} does not match the audit certificate "
                                f"{signer.fingerprint[:16]}...: the audit key was replaced")
        return key

    def operator_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        """An operator's unlocked key, unlocked once per process (a passphrase is asked for once)."""
        from s1spki.credentials import find_credential

        if name not in self._operator_keys:
            self._operator_keys[name] = find_credential(name, self.config.credential_dirs).private_key()
        return self._operator_keys[name]

    def close(self, keep_connections: bool = False) -> None:
        """Close the store; with `keep_connections` (an EST worker, between requests), its pooled connections are
        kept for the next runtime of this process on the same database (store/engine.py shared_engine)."""
        if "store" in self.__dict__ and not keep_connections:
            self.store.dispose()
