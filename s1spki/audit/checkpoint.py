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
import logging
import logging.handlers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.problems import Problem
from s1spki.audit.record import GENESIS_HASH, AuditEvent
from s1spki.audit.signer import AuditSigner, current_signer
from s1spki.errors import Refused, S1spkiError, Unavailable
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import Clock, iso

CHECKPOINT_VERSION = 1
_FIELDS = {"v", "seq", "hash", "at", "home_id", "signer", "signature"}


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that record `seq` of home `home_id` has hash `hash`; `node_id` names the node that
    signed it when several share the store (None: the original node, whose checkpoints have no such field)."""

    seq: int
    hash: str
    at: str
    home_id: str
    signer: str  # SHA-256 fingerprint of the audit certificate whose key signed
    signature: bytes = field(repr=False)
    v: int = CHECKPOINT_VERSION
    source: str = field(default="file", compare=False)  # where it was read: file | db | manifest
    node_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or self.seq < 0:
            raise ValueError(f"a checkpoint's seq must be a non-negative integer, not {self.seq!r}")
        for name in ("hash", "at", "home_id", "signer"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"a checkpoint's {name} must be a string, not {getattr(self, name)!r}")
        if self.node_id is not None and not isinstance(self.node_id, str):
            raise ValueError(f"a checkpoint's node_id must be a string, not {self.node_id!r}")

    @property
    def node(self) -> str:
        """The node that signed it: "" for the original node."""
        return self.node_id or ""

    def body(self) -> dict[str, Any]:
        body = {"v": self.v, "seq": self.seq, "hash": self.hash, "at": self.at, "home_id": self.home_id,
                "signer": self.signer}
        if self.node_id is not None:
            body["node_id"] = self.node_id
        return body

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
             signer: str, node_id: str | None = None) -> Checkpoint:
        unsigned = cls(seq, digest, at, home_id, signer, b"", node_id=node_id)
        return cls(seq, digest, at, home_id, signer, key.sign(unsigned.signed_bytes(), ec.ECDSA(hashes.SHA256())),
                   node_id=node_id)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> Checkpoint:
        """Read one checkpoint; ValueError if it is not one."""
        if not isinstance(data, Mapping) or set(data) - {"node_id"} != _FIELDS:
            raise ValueError("not a checkpoint (its fields are not v, seq, hash, at, home_id, signer, signature and "
                             "perhaps node_id)")
        if data["v"] != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {data['v']!r} is not {CHECKPOINT_VERSION}")
        try:
            signature = base64.b64decode(str(data["signature"]), validate=True)
        except ValueError:
            raise ValueError("the checkpoint's signature is not base64") from None
        return cls(data["seq"], data["hash"], data["at"], data["home_id"], data["signer"], signature,
                   data["v"], source, data.get("node_id"))


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


def send_to_syslog(sink: str, checkpoint: Checkpoint) -> None:
    """Send one checkpoint line to a syslog collector: syslog://HOST:PORT (UDP) or syslog:/PATH (a local socket)."""
    address: str | tuple[str, int]
    if sink.startswith("syslog://"):
        host, _, port = sink[len("syslog://"):].rpartition(":")
        address = (host, int(port)) if port.isdigit() else (sink[len("syslog://"):], 514)
    else:
        address = sink[len("syslog:"):]
    try:
        handler = _SinkHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_AUTH)
    except OSError as exc:
        raise Unavailable(f"cannot reach the checkpoint sink {sink}: {exc.strerror}") from None
    try:
        handler.emit(logging.LogRecord("s1spki.checkpoint", logging.WARNING, __file__, 0, "s1spki checkpoint %s",
                                       (checkpoint.line(),), None))
    finally:
        handler.close()


class _SinkHandler(logging.handlers.SysLogHandler):
    """A syslog handler whose failure to send is an error of the checkpoint, not a message on stderr."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise Unavailable("cannot send the checkpoint to its syslog sink")


def checkpoint_rows(rows: Iterable[dict[str, Any]]) -> Iterator[Checkpoint]:
    """Checkpoints as stored in the database (a row that is not one is skipped: verify finds the gap)."""
    for row in rows:
        try:
            yield Checkpoint(int(row["seq"]), row["hash"], row["at"], row["home_id"], row["signer"],
                             base64.b64decode(row["signature"]), int(row["v"]), "db", row.get("node_id"))
        except (ValueError, TypeError):
            continue


class CheckpointStore(Protocol):
    """What the checkpointer needs of the store: the chain head and a record's hash, the checkpoints and audit
    keys it holds, a place for a new checkpoint, and a way to record that one could not be made; `node_id` is
    the node this process is (None: the original node)."""

    node_id: str | None

    def audit_head(self) -> tuple[int, str]: ...

    def audit_hash_of(self, seq: int) -> str | None: ...

    def last_checkpoint_seq(self) -> int: ...

    def checkpoint_rows_newest_first(self) -> Iterable[dict[str, Any]]: ...

    def audit_signers(self) -> list[dict[str, Any]]: ...

    def add_checkpoint(self, values: dict[str, Any], checkpoints_file: str | None = None) -> bool: ...

    def record_refusal(self, event: AuditEvent) -> None: ...


class CheckpointSettings(Protocol):
    checkpoint_every: int
    checkpoints_file: Path
    syslog_sinks: tuple[str, ...]

    @property
    def files(self) -> tuple[Path, ...]: ...


# Problems with records first..last, given the hash of the record before `first` (audit.vouch).
Vouch = Callable[[int, str, int], list[Problem]]


class CheckpointRefused(Refused):
    """A checkpoint was not signed: records since the last one could not be vouched for (exit 3)."""

    kind = "tampered"


class Checkpointer:
    """Signs checkpoints of one home's chain: every N records and at the end of a command that appended any.

    A checkpoint is signed only over records vouched for: each record since the last valid checkpoint links
    to the one before, carries the HSM's authenticator, and its statements verify (`vouch`). It asks only for
    what it uses: the store (lazily, since the store calls back into it after each record), a callable that
    opens the audit key, the clock, the home's id, the `[audit]` settings and the vouching.
    """

    def __init__(self, store: Callable[[], CheckpointStore],
                 open_key: Callable[[AuditSigner], ec.EllipticCurvePrivateKey], clock: Clock,
                 home_id: Callable[[], str], settings: CheckpointSettings, vouch: Vouch) -> None:
        self._store = store
        self._open_key = open_key
        self._clock = clock
        self._home_id = home_id
        self._settings = settings
        self._vouch = vouch
        self._last_seq: int | None = None  # highest seq known to be checkpointed
        self._appended = False
        self._failure: S1spkiError | None = None
        self._key: ec.EllipticCurvePrivateKey | None = None

    def appended(self, seq: int) -> None:
        """Called by the store after each audit record commits; never raises (finish() reports a failure)."""
        self._appended = True
        if self._failure is not None:
            return
        try:
            if self._last_seq is None:
                self._last_seq = self._store().last_checkpoint_seq()
            if seq - self._last_seq >= self._settings.checkpoint_every:
                self.checkpoint()
        except S1spkiError as exc:
            self._failure = exc
        except Exception as exc:  # the change is committed already: never make it look failed
            self._failure = Unavailable(f"checkpointing failed ({type(exc).__name__})")

    @property
    def pending(self) -> bool:
        """Whether records were appended in this command (finish() then has work to do)."""
        return self._appended

    def finish(self, exit_code: int, policy_hash: str | None = None,
               rapp_hash: str | None = None) -> tuple[str | S1spkiError, ...]:
        """At the end of a command: checkpoint the head if records were appended.

        Returns what to tell: a warning (str) or a failure that fails the command (an S1spkiError).
        - Records that cannot be vouched for are a failure, recorded in the trail: no checkpoint signs them,
          and every later command says so until they are dealt with.
        - After exit 5 (HSM or database unavailable) nothing is tried: a second login with a wrong PIN would
          only bring a real HSM nearer to locking it. When the command failed, its own error stands.
        - When it succeeded, a checkpoint that cannot be made for another reason (the HSM away) is recorded in
          the trail (stamped with the given hashes of policy/ and rapp/) and is a warning: the next command
          signs the head.
        """
        if not self._appended or exit_code == Unavailable.exit_code:
            return ()
        failure = self._failure
        if not isinstance(failure, CheckpointRefused):
            try:
                self.checkpoint()
                return ()
            except S1spkiError as exc:
                failure = exc
        assert failure is not None
        refused = isinstance(failure, CheckpointRefused)
        if exit_code != 0 and not refused:
            return ()
        event = AuditEvent("audit.checkpoint", "s1spki", "system", object_type="audit-chain",
                           details={"reason": failure.message},
                           policy_hash=policy_hash, rapp_hash=rapp_hash).with_outcome("refused" if refused else "error")
        with suppress(S1spkiError):  # what is told stands even if it cannot be recorded
            self._store().record_refusal(event)
        if refused:
            return (failure,)
        return (f"the audit chain could not be checkpointed ({failure.message}); the next command will sign it",)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head unless it is checkpointed already; CheckpointRefused if the store names no audit
        key or the records since the last valid checkpoint cannot be vouched for."""
        store = self._store()
        signer = current_signer(store.audit_signers())
        if signer is None:
            # never a silent skip: a home without its audit key in the store cannot vouch for its trail
            raise CheckpointRefused("the audit chain was not checkpointed: the store names no audit key (its row was "
                                    "removed?); run `s1spki audit verify` and restore the store from a backup")
        head_seq, head_hash = store.audit_head()
        start_seq, start_hash = self._last_valid(store, signer)
        if head_seq < start_seq:
            self._last_seq = start_seq - 1
            return None
        problems = self._vouch(start_seq, start_hash, head_seq)
        if problems:
            raise CheckpointRefused(f"the audit chain was not checkpointed: {problems[0].line()}; run `s1spki audit "
                                    "verify`", problems=[p.as_dict() for p in problems])
        if self._key is None:
            self._key = self._open_key(signer)
        made = Checkpoint.sign(self._key, head_seq, head_hash, iso(self._clock.now()), self._home_id(),
                               signer.fingerprint, store.node_id)
        if store.add_checkpoint(made.as_dict(), str(self._settings.checkpoints_file.resolve())):
            for path in self._settings.files:
                append_checkpoint_line(path, made)
            for sink in self._settings.syslog_sinks:
                send_to_syslog(sink, made)
        self._last_seq = head_seq
        return made

    def _last_valid(self, store: CheckpointStore, signer: AuditSigner) -> tuple[int, str]:
        """(first seq after, hash of) the newest checkpoint of the store that is the audit key's and names a
        record the trail still holds unchanged; (1, genesis) if there is none."""
        public_key = signer.certificate().public_key()
        home_id = self._home_id()
        for checkpoint in checkpoint_rows(store.checkpoint_rows_newest_first()):
            if (checkpoint.signer == signer.fingerprint and checkpoint.home_id == home_id
                    and isinstance(public_key, ec.EllipticCurvePublicKey) and checkpoint.verifies(public_key)
                    and store.audit_hash_of(checkpoint.seq) == checkpoint.hash):
                return checkpoint.seq + 1, checkpoint.hash
        return 1, GENESIS_HASH
