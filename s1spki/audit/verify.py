"""Verify a stretch of the audit chain: a pure function of the records, the signed checkpoints and the
trusted audit public keys. No database, no HSM: the same code checks the live trail and an export.

What is checked:
- each record's hash is SHA-256 of the previous record's hash and the record's canonical bytes, its
  seq is one more than the previous one's, and its stored prev_hash is the previous record's hash;
- every checkpoint is signed by a trusted audit key, for this CA home, and the record it names has the
  hash it signed;
- the trail ends where its own head (or an export's signed manifest) says it ends, and no signed
  checkpoint names a record beyond that end.

A failure names the first bad record and what is wrong with it: altered, missing, inserted, out of
order, truncated, rolled back, bad checkpoint signature (or, for an export, bad manifest signature).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.chain import Link
from s1spki.audit.checkpoint import Checkpoint
from s1spki.audit.problems import (  # noqa: F401 - the kinds are named from here too
    ALTERED,
    BAD_CHECKPOINT,
    BAD_MANIFEST,
    BAD_STATEMENT,
    CHECKPOINTS_MISSING,
    INSERTED,
    KINDS,
    MISSING,
    NOT_COVERED,
    OUT_OF_ORDER,
    ROLLED_BACK,
    TRUNCATED,
    UNAUTHENTICATED,
    Problem,
)
from s1spki.audit.record import GENESIS_HASH
from s1spki.errors import Refused


@dataclass(frozen=True)
class Verdict:
    records: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    checkpoints: int  # valid checkpoints that matched a record
    covered_to: int | None  # highest seq a valid checkpoint covers
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    signers: tuple[str, ...] = field(default=())  # fingerprints of the trusted audit certificates

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "first_seq": self.first_seq, "last_seq": self.last_seq,
                "last_hash": self.last_hash, "checkpoints": self.checkpoints, "covered_to": self.covered_to,
                "problem": self.first_problem.as_dict() if self.first_problem else None,
                "problems": [p.as_dict() for p in self.problems], "warnings": list(self.warnings),
                "audit_certificates": list(self.signers)}


class AuditTampered(Refused):
    """The audit trail or an export of it does not verify (exit 3)."""

    kind = "tampered"

    def __init__(self, verdict: Verdict, what: str) -> None:
        problem = verdict.first_problem
        assert problem is not None
        super().__init__(f"{what} does not verify: {problem.line()}", seq=problem.seq, problem=problem.kind,
                         detail=problem.detail, verdict=verdict.as_dict())
        self.verdict = verdict


@dataclass
class _Anchor:
    """A validly signed checkpoint: one (seq, hash), from one or more sources."""

    seq: int
    hash: str
    at: str
    sources: set[str]
    matched: bool | None = None


def check_checkpoints(checkpoints: Iterable[Checkpoint], trusted: Mapping[str, ec.EllipticCurvePublicKey],
                      home_id: str | None) -> tuple[dict[int, list[_Anchor]], list[Problem]]:
    """Sort checkpoints into valid anchors by seq, and problems for those that are not validly signed."""
    seen: dict[tuple[Any, ...], _Anchor | None] = {}
    anchors: dict[int, list[_Anchor]] = {}
    problems: list[Problem] = []
    for cp in checkpoints:
        ident = (cp.seq, cp.hash, cp.at, cp.home_id, cp.signer, cp.signature)
        if ident in seen:
            known = seen[ident]
            if known is not None:
                known.sources.add(cp.source)
            continue
        key = trusted.get(cp.signer)
        reason = None
        if key is None:
            reason = f"checkpoint from {cp.source} is signed by {cp.signer[:16]}..., not a trusted audit certificate"
        elif home_id is not None and cp.home_id != home_id:
            reason = f"checkpoint from {cp.source} belongs to CA home {cp.home_id}, not {home_id}"
        elif not cp.verifies(key):
            reason = f"the signature of the checkpoint from {cp.source} (signed at {cp.at}) does not verify"
        if reason is not None:
            seen[ident] = None
            problems.append(Problem(cp.seq, BAD_CHECKPOINT, reason))
            continue
        same = [a for a in anchors.get(cp.seq, []) if a.hash == cp.hash]
        if same:
            same[0].sources.add(cp.source)
            seen[ident] = same[0]
        else:
            anchor = _Anchor(cp.seq, cp.hash, cp.at, {cp.source})
            anchors.setdefault(cp.seq, []).append(anchor)
            seen[ident] = anchor
    problems.sort(key=lambda p: p.seq or 0)
    return anchors, problems


@dataclass(frozen=True)
class Stretch:
    """What a fast pass learned from consecutive records that each match their hash and link to the one
    before: where the stretch starts and ends, and the hashes at the seqs it was asked to watch."""

    first_seq: int
    first_prev: str
    last_seq: int
    last_hash: str
    count: int
    seen: Mapping[int, str]


def check_stretch(links: Iterable[Link], watch: frozenset[int] | set[int]) -> Stretch | None:
    """The fast pass over links; None at the first one that does not check out (then verify_chain says why)."""
    sha256 = hashlib.sha256
    iterator = iter(links)
    first = next(iterator, None)
    if first is None:
        return Stretch(0, "", -1, "", 0, {})
    seq, prev_hash, digest, body = first
    if (not isinstance(seq, int) or not isinstance(prev_hash, str) or body is None
            or sha256(prev_hash.encode("ascii", "replace") + body).hexdigest() != digest):
        return None
    first_seq, first_prev, seen = seq, prev_hash, {}
    if seq in watch:
        seen[seq] = digest
    prev, expected = digest, seq + 1
    for seq, prev_hash, digest, body in iterator:
        if seq != expected or prev_hash != prev or body is None or \
                sha256(prev.encode("ascii", "replace") + body).hexdigest() != digest:
            return None
        if seq in watch:
            seen[seq] = digest
        prev, expected = digest, expected + 1
    return Stretch(first_seq, first_prev, expected - 1, prev, expected - first_seq, seen)


def verify_stretches(stretches: Iterable[Stretch | None], *, trusted: Mapping[str, ec.EllipticCurvePublicKey],
                     home_id: str | None, checkpoints: Iterable[Checkpoint] = (), start_seq: int = 1,
                     start_hash: str = GENESIS_HASH, end: tuple[int, str] | None = None,
                     end_name: str = "the chain head", extra_problems: Iterable[Problem] = (),
                     warnings: Iterable[str] = ()) -> Verdict | None:
    """The verdict from fast passes over consecutive parts of the chain, or None if one of them stopped or
    they do not join up (verify_chain then goes over the records one by one and names what is wrong)."""
    anchors, problems = check_checkpoints(checkpoints, trusted, home_id)
    seq, prev, count, seen = start_seq, start_hash, 0, {}
    for stretch in stretches:
        if stretch is None:
            return None
        if stretch.count == 0:
            continue
        if stretch.first_seq != seq or stretch.first_prev != prev:
            return None
        seq, prev, count = stretch.last_seq + 1, stretch.last_hash, count + stretch.count
        seen.update(stretch.seen)
    return _conclude(anchors, [*extra_problems, *problems], None, seen, count, start_seq, start_hash, prev, end,
                     end_name, trusted, warnings)


def verify_chain(records: Iterable[Link], *, trusted: Mapping[str, ec.EllipticCurvePublicKey],
                 home_id: str | None, checkpoints: Iterable[Checkpoint] = (), start_seq: int = 1,
                 start_hash: str = GENESIS_HASH, end: tuple[int, str] | None = None,
                 end_name: str = "the chain head", extra_problems: Iterable[Problem] = (),
                 warnings: Iterable[str] = (), exact: Callable[[int], bytes | None] | None = None) -> Verdict:
    """Check the links from `start_seq` on, one by one (their predecessor's hash is `start_hash`).

    `end` is where the trail says it ends (the head row, or an export's signed manifest), named
    `end_name` in messages. Checkpoints come from any number of sources (file, db, manifest). When the
    links' bytes were made by a fast route, `exact(seq)` rebuilds a record's bytes the exact way before a
    mismatch counts.
    """
    anchors, problems = check_checkpoints(checkpoints, trusted, home_id)
    sha256 = hashlib.sha256
    prev, expected, count = start_hash, start_seq, 0
    last1: Link | None = None
    last2: Link | None = None
    chain_problem: Problem | None = None
    seen: dict[int, str] = {}
    iterator = iter(records)
    for link in iterator:
        seq, prev_hash, digest, body = link
        if (seq != expected or prev_hash != prev or body is None
                or sha256(prev.encode("ascii", "replace") + body).hexdigest() != digest):
            if exact is not None and isinstance(seq, int):
                body = exact(seq)
                link = (seq, prev_hash, digest, body)
            if (exact is None or seq != expected or prev_hash != prev or body is None
                    or sha256(prev.encode("ascii", "replace") + body).hexdigest() != digest):
                chain_problem = _diagnose(link, iterator, last1, last2, expected, prev, start_hash)
                break
        if seq in anchors:
            seen[seq] = digest
        last2, last1 = last1, link
        prev, expected, count = digest, expected + 1, count + 1
    return _conclude(anchors, [*extra_problems, *problems], chain_problem, seen, count, start_seq, start_hash,
                     prev, end, end_name, trusted, warnings)


def _conclude(anchors: dict[int, list[_Anchor]], problems: list[Problem], chain_problem: Problem | None,
              seen: Mapping[int, str], count: int, start_seq: int, start_hash: str, last_hash: str,
              end: tuple[int, str] | None, end_name: str, trusted: Mapping[str, Any],
              warnings: Iterable[str]) -> Verdict:
    """Match the checkpoints against the hashes seen, check the end, and say what was found."""
    if start_seq - 1 in anchors:  # a checkpoint of the record just before a stretch vouches for its start
        seen = {start_seq - 1: start_hash, **seen}
    mismatched: list[_Anchor] = []
    for seq, digest in seen.items():
        for anchor in anchors.get(seq, ()):
            anchor.matched = anchor.hash == digest
            if not anchor.matched:
                mismatched.append(anchor)
    last_seq = start_seq + count - 1 if count else None
    if chain_problem is None:
        chain_problem = _anchor_problem(mismatched, anchors) or _end_problem(
            anchors, start_seq, start_seq + count - 1, last_hash, end, end_name)
    if chain_problem is not None:
        problems.append(chain_problem)
    problems.sort(key=_order(problems))
    matched = [a.seq for group in anchors.values() for a in group if a.matched]
    covered_to = max(matched) if matched else None
    notes = list(warnings)
    if not trusted:
        notes.append("no checkpoints are signed: this CA home has no audit key")
    elif last_seq is not None and (covered_to is None or covered_to < last_seq) and not problems:
        since = f"after the last signed checkpoint (record {covered_to})" if covered_to else "in this stretch"
        notes.append(f"{last_seq - (covered_to or start_seq - 1)} record(s) {since} are not yet covered by a "
                     "signed checkpoint")
    return Verdict(count, start_seq if count else None, last_seq, last_hash if count else None, len(matched),
                   covered_to, tuple(problems), tuple(notes), tuple(sorted(trusted)))


def _order(problems: list[Problem]) -> Any:
    """First bad record first; a bad checkpoint before a chain problem at the same record; a manifest whose
    signature fails because a checkpoint in it was altered is named by that checkpoint."""
    altered_checkpoints = [p.seq for p in problems if p.kind == BAD_CHECKPOINT and p.seq is not None]
    manifest_at = min(altered_checkpoints) + 0.5 if altered_checkpoints else -1

    def key(p: Problem) -> tuple[float, bool]:
        if p.kind == BAD_MANIFEST:
            return manifest_at, True
        return (p.seq if p.seq is not None else -1), p.kind != BAD_CHECKPOINT
    return key


def _anchor_problem(mismatched: list[_Anchor], anchors: dict[int, list[_Anchor]]) -> Problem | None:
    """The chain is intact but does not reach a hash that was signed: rewritten, or another history."""
    if not mismatched:
        return None
    first = min(mismatched, key=lambda a: a.seq)
    if any(a.matched and a.seq >= first.seq and "db" in a.sources for g in anchors.values() for a in g):
        return Problem(first.seq, ROLLED_BACK, f"checkpoint {first.seq} from {'/'.join(sorted(first.sources))} "
                       "signed another history than the database now holds, while the database's own later "
                       "checkpoints match it: an older copy of the database was put back and written on")
    good = [a.seq for g in anchors.values() for a in g if a.matched and a.seq < first.seq]
    after = max(good) if good else None
    seq = after + 1 if after is not None else first.seq
    since = f"after checkpoint {after}" if after is not None else "before it"
    return Problem(seq, ALTERED, f"the chain no longer reaches the hash signed in checkpoint {first.seq}: "
                   f"records {since} were rewritten, with their hashes recomputed")


def _end_problem(anchors: dict[int, list[_Anchor]], start_seq: int, last_seq: int, last_hash: str,
                 end: tuple[int, str] | None, end_name: str) -> Problem | None:
    beyond = sorted((a for g in anchors.values() for a in g if a.seq > last_seq), key=lambda a: a.seq)
    ends = f"ends at record {last_seq}" if last_seq >= start_seq else "holds no records"
    if end is not None:
        end_seq, end_hash = end
        if end_seq > last_seq:
            return Problem(last_seq + 1, TRUNCATED, f"the trail {ends}, but {end_name} says it runs to record "
                           f"{end_seq}: records {last_seq + 1} to {end_seq} were cut off")
        if end_seq < last_seq:
            return Problem(end_seq + 1, INSERTED, f"records {end_seq + 1} to {last_seq} follow the end that "
                           f"{end_name} names (record {end_seq})")
        if last_seq >= start_seq and end_hash != last_hash:
            return Problem(last_seq, ALTERED, f"its hash is not the one {end_name} names")
    if beyond:
        top = beyond[-1]
        if any(src != "file" for a in beyond for src in a.sources):
            return Problem(last_seq + 1, TRUNCATED, f"the trail {ends}, but checkpoint {top.seq} from "
                           f"{'/'.join(sorted(top.sources))} was signed over record {top.seq}: "
                           "records were cut off the end")
        return Problem(last_seq + 1, ROLLED_BACK, f"the database {ends}, behind the latest signed checkpoint: the "
                       f"checkpoint file outside it holds checkpoint {top.seq} signed at {top.at}, so records "
                       f"{last_seq + 1} to {top.seq} are not in it: an older copy of the database was put back (a "
                       "backup restored from before that checkpoint) or its tail was cut off and covered up")
    return None


def _diagnose(link: Link, rest: Iterator[Link], last1: Link | None, last2: Link | None, expected: int,
              prev: str, start_hash: str) -> Problem:
    """Name what is wrong at the first link that does not follow from the one before."""
    seq, prev_hash, digest, body = link
    ahead = list(rest)
    later_seqs = {a[0] for a in ahead}
    later_hashes = {a[2] for a in ahead}
    self_consistent = body is not None and _h(prev_hash, body) == digest

    if not isinstance(seq, int) or isinstance(seq, bool):
        return Problem(expected, ALTERED, f"where record {expected} should be, a record has seq {seq!r}")
    if seq > expected:
        if expected in later_seqs:
            return Problem(expected, OUT_OF_ORDER, f"record {seq} comes before record {expected}")
        gap = f"record {expected} is" if seq == expected + 1 else f"records {expected} to {seq - 1} are"
        return Problem(expected, MISSING, f"{gap} not in the trail: record {seq} follows record {expected - 1}")
    if seq < expected:
        # every seq before `expected` was already seen in order: this one appears a second time
        if last1 is not None and digest == last1[2]:
            return Problem(seq, INSERTED, f"record {seq} appears twice in a row (an inserted copy)")
        if last1 is not None and seq == last1[0] and prev_hash == last1[1]:
            # two records claim the same predecessor: the one the chain goes on from is the real one
            intruder = last1 if ahead and ahead[0][1] == digest else link
            return Problem(seq, INSERTED, f"two records {seq} follow record {seq - 1}; the one with hash "
                           f"{intruder[2][:16]}... is not part of the chain")
        return Problem(seq, INSERTED, f"a record {seq} appears again after record {expected - 1}")
    # the right seq, in the right place
    if body is None:
        return Problem(seq, ALTERED, "it cannot be read as an audit record (a field is missing or of the wrong type)")
    if prev_hash != prev:
        if ahead and prev_hash == ahead[0][2] or prev_hash in later_hashes:
            return Problem(seq, OUT_OF_ORDER, f"it commits to a record that comes after it: records {seq} and "
                           f"{seq + 1} were swapped")
        if last2 is not None and prev_hash == last2[2] and last1 is not None:
            return Problem(last1[0], INSERTED, f"record {seq} commits to record {last2[0]}, so the record "
                           f"between them (hash {last1[2][:16]}...) is not part of the chain")
        if last1 is None and prev_hash != start_hash and self_consistent:
            return Problem(seq, MISSING, "it commits to a record before it that is not there")
        if _h(prev, body) == digest:
            return Problem(seq, ALTERED, "its prev_hash field was changed")
        if self_consistent and last1 is not None:
            return Problem(last1[0], ALTERED, f"its hash is not the one record {seq} commits to: record {last1[0]} "
                           "was changed and its hash recomputed")
        return Problem(seq, ALTERED, "it does not commit to the record before it")
    return Problem(seq, ALTERED, "its content does not match its hash")


def _h(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii", "replace") + body).hexdigest()
