"""`audit verify` with no file: the live trail, checked with the HSM's record key as well as the signed
checkpoints, so that neither a database writer nor someone who edits the home's files can pass off a
record or hide one.

What is checked, beyond the chain itself (audit/verify.py):
- the head is checkpointed first, which vouches for every record since the last checkpoint (authenticator,
  link, statements: audit/vouch.py); records that cannot be vouched for are named;
- the audit certificate trusted is the one an auditor pins with --cert, else the one the trail recorded
  when the audit key was made (an authenticated record), and HOME/audit/audit-cert.pem must be it;
- the checkpoint file (and every further file sink) holds every checkpoint the database holds and the other
  way round, is there, and is not shorter; with several nodes on one store, so does each other node's
  checkpoint file (listed in the store when it joined) for that node's checkpoints; every record is covered
  by a signed checkpoint;
- checkpoints an auditor kept (--pinned-checkpoint SEQ:HASH) are still in the chain;
- the rows that grant power are as s1spki last wrote them (their seals, store/sealing.py);
- with `deep`, every record's authenticator and every statement, from the first record on.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.audit.chain import Link, record_bytes
from s1spki.audit.checkpoint import Checkpoint, CheckpointRefused, checkpoint_rows, read_checkpoint_file
from s1spki.audit.fast import sqlite_stretches
from s1spki.audit.problems import (
    BAD_CHECKPOINT,
    CHECKPOINTS_MISSING,
    NOT_COVERED,
    ROLLED_BACK,
    UNAUTHENTICATED,
    Problem,
)
from s1spki.audit.signer import certificate_path, fingerprint, load_certificates, public_keys
from s1spki.audit.verify import Verdict, verify_chain, verify_stretches
from s1spki.auditor.nodes import CheckpointFile, node_checkpoint_files
from s1spki.command import Command
from s1spki.errors import S1spkiError, UsageError
from s1spki.store.sealing import FIELDS


def parse_pinned(values: Sequence[str]) -> list[tuple[int, str]]:
    """--pinned-checkpoint SEQ:HASH (or a checkpoint line, or a file of them) as (seq, hash) pairs."""
    pinned: list[tuple[int, str]] = []
    for value in values:
        seq, sep, digest = value.partition(":")
        if sep and seq.isdigit() and len(digest) == 64:
            pinned.append((int(seq), digest.lower()))
            continue
        try:
            lines = Path(value).read_text(encoding="utf-8").splitlines()  # a file of checkpoint lines
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"--pinned-checkpoint takes SEQ:HASH or a file of checkpoint lines, not "
                             f"{value!r}") from None
        for line in lines:
            try:
                data = json.loads(line)
                pinned.append((int(data["seq"]), str(data["hash"])))
            except (ValueError, KeyError, TypeError):
                continue
    return pinned


def trail_certificates(cmd: Command) -> tuple[list[x509.Certificate], list[Problem]]:
    """The audit certificates the trail recorded when each audit key was made (`audit.key` records), each
    record's authenticator checked with the HSM."""
    found: list[x509.Certificate] = []
    problems: list[Problem] = []
    reader, key = cmd.reader, cmd.runtime.record_key
    for seq, _event, _object, details in reader.audit_rows_of_events(("audit.key",)):
        row = reader.audit_rows_with_mac(seq, seq)
        if not row or not key.authentic(row[0]):
            problems.append(Problem(seq, UNAUTHENTICATED, "the record of the audit key is not the HSM's: the audit "
                                    "certificate it names is not trusted"))
            continue
        try:
            found.append(x509.load_pem_x509_certificate(json.loads(details)["certificate_pem"].encode("ascii")))
        except (ValueError, KeyError):
            problems.append(Problem(seq, UNAUTHENTICATED, "the record of the audit key holds no certificate"))
    return found, problems


def _home_copy(cmd: Command, trusted: list[x509.Certificate]) -> list[Problem]:
    """HOME/audit/audit-cert.pem, which auditors are handed, must be a certificate the trail trusts."""
    path = certificate_path(cmd.runtime.config.audit.checkpoints_file)
    known = {fingerprint(c.public_bytes(serialization.Encoding.DER)) for c in trusted}
    try:
        copies = load_certificates(path)
    except (OSError, ValueError):
        return [Problem(None, BAD_CHECKPOINT, f"{path} is missing or holds no certificate")]
    if not all(fingerprint(c.public_bytes(serialization.Encoding.DER)) in known for c in copies):
        return [Problem(None, BAD_CHECKPOINT, f"{path} is not the audit certificate the trail recorded: it was "
                        "replaced")]
    return []


def _sinks(all_db: list[Checkpoint], files: dict[str, CheckpointFile]) -> list[Problem]:
    """Every checkpoint the database holds of a node is in every file sink of that node (a sink added later: from
    its first checkpoint on), and every one a sink holds is in the database unless the database was put back from
    an older copy (then the chain check names it). A node's checkpoint file is kept from the start."""
    problems: list[Problem] = []
    for name, sink in files.items():
        held = list(sink.checkpoints)
        db = [c for c in all_db if c.node == sink.node]
        in_db = {(c.seq, c.hash, c.signature) for c in db}
        here = {(c.seq, c.hash, c.signature) for c in held}
        if db and not held:
            problems.append(Problem(None, CHECKPOINTS_MISSING, f"{name} is missing or empty while the database "
                                    f"holds {len(db)} checkpoints of {sink.describe()}: restore it from its copy"))
            continue
        since = 0 if sink.primary else min((c.seq for c in held), default=0)
        lacking = sorted(seq for seq, _h, _s in in_db - here if seq >= since)
        if lacking:
            problems.append(Problem(lacking[0], CHECKPOINTS_MISSING, f"{name} lacks {len(lacking)} checkpoint(s) the "
                                    f"database holds (first: record {lacking[0]}): it was cut or replaced"))
        extra = sorted(seq for seq, _h, _s in here - in_db)
        if extra and (not all_db or extra[0] <= max(c.seq for c in all_db)):
            problems.append(Problem(extra[0], CHECKPOINTS_MISSING, f"the database lacks checkpoint {extra[0]} that "
                                    f"{name} holds: checkpoints were removed from it"))
    return problems


def _nodes_without_files(db: list[Checkpoint], sinks: dict[Path, CheckpointFile]) -> list[Problem]:
    """Checkpoints the database holds of a node whose checkpoint file no node lists: that file is not read, so
    what it should hold cannot be checked (a node's entry removed, or a node never listed)."""
    listed = {sink.node for sink in sinks.values()}
    orphans = sorted({c.node for c in db} - listed)
    return [Problem(None, CHECKPOINTS_MISSING, f"the database holds checkpoints of node {node or '(original)'}, "
                    "whose checkpoint file no node of the store lists: its checkpoints outside the database cannot "
                    "be checked") for node in orphans]


def _seals(cmd: Command, deep: bool) -> list[Problem]:
    """Every protected row (with `deep`; otherwise those that grant power now: operators, organisations,
    officers, CAs and pending requests) is as s1spki last wrote it."""
    problems: list[Problem] = []
    for table in FIELDS:
        if not deep and table in ("approvals", "revocations"):
            continue
        for row_id in cmd.reader.protected_ids(table, pending_only=not deep):
            problem = cmd.store.seal_problem(table, row_id)
            if problem is not None:
                problems.append(Problem(None, UNAUTHENTICATED, problem.line()))
    return problems


def verify_live(cmd: Command, pinned: list[x509.Certificate] | None = None,
                pinned_checkpoints: Sequence[tuple[int, str]] = (), deep: bool = False,
                started: Callable[[], None] | None = None) -> Verdict:
    """Verify the whole live trail (see module docstring); `started` is told once the HSM is open (any PIN
    prompt is over) and the long part begins (a progress bar)."""
    runtime = cmd.runtime
    problems: list[Problem] = []
    try:
        runtime.checkpointer.checkpoint()  # vouches for the records since the last checkpoint, then signs the head
    except CheckpointRefused as exc:
        problems += [Problem(**p) for p in exc.facts.get("problems", [])]
    except S1spkiError as exc:
        problems.append(Problem(None, NOT_COVERED, f"the head could not be checkpointed: {exc.message}"))
    if started is not None:
        started()
    recorded, cert_problems = trail_certificates(cmd)
    trusted = pinned or recorded
    problems += cert_problems + _home_copy(cmd, trusted)
    # The files first: a checkpoint in them always names a record already committed, so a snapshot taken
    # after reading them holds every record they name (commands may run meanwhile).
    sinks, notes_on_nodes = node_checkpoint_files(cmd)
    in_files = {path: read_checkpoint_file(path) for path in sinks}
    for path, read in in_files.items():
        problems += [Problem(None, BAD_CHECKPOINT, f"line {n} of {path} is not a signed checkpoint")
                     for n in read.unreadable]
    home_id = cmd.home_id  # read before the snapshot: the snapshot's transaction holds SQLite's write lock
    with cmd.reader.audit_snapshot() as snapshot:
        in_db = list(checkpoint_rows(snapshot.checkpoints()))
        checkpoints = [*(c for read in in_files.values() for c in read.checkpoints), *in_db]
        common: dict[str, Any] = {"trusted": public_keys(trusted), "home_id": home_id, "checkpoints": checkpoints,
                                  "end": snapshot.head(), "end_name": "the chain head row", "extra_problems": [],
                                  "warnings": []}
        verdict = _chain(snapshot, common)
    problems += _sinks(in_db, {str(path): dataclasses.replace(sinks[path], checkpoints=read.checkpoints)
                               for path, read in in_files.items()})
    problems += _nodes_without_files(in_db, sinks)
    hashes = {seq: digest for seq, digest in ((s, cmd.reader.audit_hash_of(s)) for s, _ in pinned_checkpoints)}
    for seq, digest in pinned_checkpoints:
        if hashes.get(seq) != digest:
            problems.append(Problem(seq, ROLLED_BACK, f"record {seq} is not the one of the checkpoint an auditor "
                                    "kept: the trail (and its checkpoint file) were rewritten or put back"))
    if verdict.last_seq is not None and (verdict.covered_to or 0) < verdict.last_seq and not verdict.problems:
        problems.append(Problem((verdict.covered_to or 0) + 1, NOT_COVERED, "records from here on are not covered by "
                                "a signed checkpoint"))
    if deep and verdict.last_seq:
        problems += runtime.vouch(1, "", verdict.last_seq)
    problems += _seals(cmd, deep)
    notes = [w for w in verdict.warnings if "not yet covered" not in w] + [n for n in notes_on_nodes if n]
    if not problems:
        return dataclasses.replace(verdict, warnings=tuple(notes))
    # what was done to a record comes first; that records are left uncovered follows from it
    ordered = sorted([*verdict.problems, *problems], key=lambda p: (p.kind == NOT_COVERED, p.seq is None, p.seq or 0))
    return dataclasses.replace(verdict, problems=tuple(ordered), warnings=tuple(notes))


def _chain(snapshot: Any, common: dict[str, Any]) -> Verdict:
    database, span = snapshot.database, snapshot.seq_span()
    if database is not None:
        # The clean case, fast: stretches read by readers of their own (the snapshot holds the write lock, so
        # they see the same records); anything amiss and the records are gone over one by one.
        watch = frozenset(c.seq for c in common["checkpoints"])
        try:
            stretches = sqlite_stretches(database, *span, watch) if span else []
        except Exception:  # a worker that could not run: the exact route below still decides
            stretches = [None]
        verdict = verify_stretches(stretches, **common)
        if verdict is not None:
            return verdict
    return verify_chain(_links(snapshot.rows()), **common)


def _links(rows: Iterator[Any]) -> Iterator[Link]:
    for row in rows:
        yield row[0], row[1], row[2], record_bytes(row)
