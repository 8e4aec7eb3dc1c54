"""Checkpoints: the chain head (seq, hash), signed by the audit key, kept in the database and in a file
outside it.

A checkpoint commits to every record up to its seq, because each record's hash commits to the one
before. The copy in the append-only file outside the database is what shows that records were cut off
the end, or that an older copy of the database was put back: the database can be rewritten, the file's
signed lines cannot be forged without the audit key, which never leaves the HSM.

`Checkpointer` signs one at least every `[audit] checkpoint_every` records (called by the store after each
record commits) and at the end of every command that appended records (`Runtime.finish`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import AuditSigner, current_signer
from s1spki.errors import S1spkiError, StoreError, Unavailable
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import Clock, iso

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that record `seq` of home `home_id` has hash `hash`."""

    seq: int
    hash: str
    at: str
    home_id: str
    signer: str  # SHA-256 fingerprint of the audit certificate whose key signed
    signature: bytes = field(repr=False)
    v: int = CHECKPOINT_VERSION
    source: str = field(default="file", compare=False)  # where it was read: file | db | manifest

    def __post_init__(self) -> None:
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or self.seq < 0:
            raise ValueError(f"a checkpoint's seq must be a non-negative integer, not {self.seq!r}")
        for name in ("hash", "at", "home_id", "signer"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"a checkpoint's {name} must be a string, not {getattr(self, name)!r}")

    def body(self) -> dict[str, Any]:
        return {"v": self.v, "seq": self.seq, "hash": self.hash, "at": self.at, "home_id": self.home_id,
                "signer": self.signer}

    def signed_bytes(self) -> bytes:
        return canonical_json(self.body())

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": base64.b64encode(self.signature).decode("ascii")}

    def line(self) -> str:
        """The checkpoint as one line of the checkpoint file."""
        return canonical_json(self.as_dict()).decode("utf-8")

    def verifies(self, public_key: ec.EllipticCurvePublicKey) -> bool:
        try:
            public_key.verify(self.signature, self.signed_bytes(), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def sign(cls, key: ec.EllipticCurvePrivateKey, seq: int, digest: str, at: str, home_id: str,
             signer: str) -> Checkpoint:
        unsigned = cls(seq, digest, at, home_id, signer, b"")
        return cls(seq, digest, at, home_id, signer, key.sign(unsigned.signed_bytes(), ec.ECDSA(hashes.SHA256())))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> Checkpoint:
        """Read one checkpoint; ValueError if it is not one."""
        if not isinstance(data, Mapping) or set(data) != {"v", "seq", "hash", "at", "home_id", "signer", "signature"}:
            raise ValueError("not a checkpoint (its fields are not v, seq, hash, at, home_id, signer, signature)")
        if data["v"] != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {data['v']!r} is not {CHECKPOINT_VERSION}")
        try:
            signature = base64.b64decode(str(data["signature"]), validate=True)
        except ValueError:
            raise ValueError("the checkpoint's signature is not base64") from None
        return cls(data["seq"], data["hash"], data["at"], data["home_id"], data["signer"], signature,
                   data["v"], source)


@dataclass(frozen=True)
class FileCheckpoints:
    """What the checkpoint file holds: the checkpoints read, and the lines that are not checkpoints."""

    checkpoints: tuple[Checkpoint, ...]
    unreadable: tuple[int, ...]  # 1-based line numbers


def read_checkpoint_file(path: Path) -> FileCheckpoints:
    """Every checkpoint line of `path` (an absent file holds none)."""
    found: list[Checkpoint] = []
    bad: list[int] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FileCheckpoints((), ())
    except (OSError, UnicodeDecodeError) as exc:
        raise Unavailable(f"cannot read the checkpoint file {path}: {exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(Checkpoint.from_dict(json.loads(line), "file"))
        except ValueError:
            bad.append(number)
    return FileCheckpoints(tuple(found), tuple(bad))


def append_checkpoint_line(path: Path, checkpoint: Checkpoint) -> None:
    """Append one line and fsync it: the file is only ever appended to."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (checkpoint.line() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise Unavailable(f"cannot append to the checkpoint file {path}: {exc.strerror}") from None


def checkpoint_rows(rows: list[dict[str, Any]]) -> Iterator[Checkpoint]:
    """Checkpoints as stored in the database (a row that is not one is skipped: verify finds the gap)."""
    for row in rows:
        try:
            yield Checkpoint(int(row["seq"]), row["hash"], row["at"], row["home_id"], row["signer"],
                             base64.b64decode(row["signature"]), int(row["v"]), "db")
        except (ValueError, TypeError):
            continue


class CheckpointStore(Protocol):
    """What the checkpointer needs of the store: the chain head, the checkpoints and audit keys it holds, a place
    for a new checkpoint, and a way to record that one could not be made."""

    def audit_head(self) -> tuple[int, str]: ...

    def last_checkpoint_seq(self) -> int: ...

    def audit_signers(self) -> list[dict[str, Any]]: ...

    def add_checkpoint(self, values: dict[str, Any]) -> bool: ...

    def record_refusal(self, event: AuditEvent) -> None: ...


class CheckpointSettings(Protocol):
    checkpoint_every: int
    checkpoints_file: Path


class Checkpointer:
    """Signs checkpoints of one home's chain: every N records and at the end of a command that appended any.

    It asks only for what it uses: the store (lazily, since the store calls back into it after each record),
    a callable that opens the audit key (None when that would mean asking for a PIN), the clock, the home's
    id, and the `[audit]` settings.
    """

    def __init__(self, store: Callable[[], CheckpointStore],
                 open_key: Callable[[AuditSigner], ec.EllipticCurvePrivateKey] | None, clock: Clock,
                 home_id: Callable[[], str], settings: CheckpointSettings) -> None:
        self._store = store
        self._open_key = open_key
        self._clock = clock
        self._home_id = home_id
        self._settings = settings
        self._last_seq: int | None = None  # highest seq known to be checkpointed
        self._appended = False
        self._failure: str | None = None
        self._key: ec.EllipticCurvePrivateKey | None = None

    def appended(self, seq: int) -> None:
        """Called by the store after each audit record commits; never raises."""
        self._appended = True
        if self._failure is not None:
            return
        try:
            if self._last_seq is None:
                self._last_seq = self._store().last_checkpoint_seq()
            if seq - self._last_seq >= self._settings.checkpoint_every:
                self.checkpoint()
        except S1spkiError as exc:
            self._failure = exc.message  # finish() reports it, and tries once more
        except Exception as exc:  # the change is committed already: never make it look failed
            self._failure = type(exc).__name__

    def finish(self, exit_code: int, policy_hash: str | None = None, rapp_hash: str | None = None) -> str | None:
        """At the end of a command: checkpoint the head if records were appended. Returns a warning, or None.

        After a refusal the head is signed like after a success. After exit 5 (HSM or database unavailable)
        nothing is tried: a second login with a wrong PIN would only bring a real HSM nearer to locking it.
        When the command failed, its own one-line error stands and nothing is added: the records stay
        covered by the chain and the next checkpoint signs them. When it succeeded, a checkpoint that cannot
        be made is recorded in the trail (stamped with the given hashes of policy/ and rapp/) and returned as
        a warning; it never fails the command.
        """
        if not self._appended or exit_code == Unavailable.exit_code:
            return None
        try:
            self.checkpoint()
            return None
        except S1spkiError as exc:
            if exit_code != 0:
                return None
            reason = exc.message
        self._failure = reason  # do not try again for the record of the failure itself
        event = AuditEvent("audit.checkpoint", "s1spki", "system", object_type="audit-chain",
                           details={"reason": reason},
                           policy_hash=policy_hash, rapp_hash=rapp_hash).with_outcome("error")
        with suppress(StoreError):  # the warning is still given
            self._store().record_refusal(event)
        return f"the audit chain could not be checkpointed ({reason}); the next command will sign it"

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head unless it is checkpointed already or the home has no audit key."""
        store = self._store()
        signer = current_signer(store.audit_signers())
        if signer is None:
            return None
        head_seq, head_hash = store.audit_head()
        last = store.last_checkpoint_seq()
        if head_seq <= last:
            self._last_seq = last
            return None
        if self._open_key is None:
            # A checkpoint must never stop a command to ask for the PIN; unattended homes name a file or variable.
            return None
        if self._key is None:
            self._key = self._open_key(signer)
        made = Checkpoint.sign(self._key, head_seq, head_hash, iso(self._clock.now()), self._home_id(),
                               signer.fingerprint)
        if store.add_checkpoint(made.as_dict()):
            append_checkpoint_line(self._settings.checkpoints_file, made)
        self._last_seq = head_seq
        return made
