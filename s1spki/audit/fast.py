"""Fast passes over a long trail: the clean case, spread over the machine's cores.

A record's check needs only its own bytes, its stored prev_hash and its hash; the chain is the stored
prev_hash of each record being the hash of the one before. So a trail splits into stretches that are
checked apart (`verify.check_stretch`) and joined after (`verify.verify_stretches`). A stretch that stops
at a record that does not check out, or stretches that do not join, send the caller back to the one-by-one
`verify_chain`, which names what is wrong: speed is for the clean trail, diagnosis is always exact.

Stretches are read by the worker itself: a byte range of a JSON Lines export, or a seq range of a SQLite
database through a read-only connection of its own (`chain.FAST_SQL`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from s1spki.audit.chain import FAST_SQL
from s1spki.audit.verify import Stretch, check_stretch

# Below this many records one process is quicker than forking others (on two cores, 30,000 records of a live trail
# verify 1.5x faster in two processes than in one: median of ten runs each).
PARALLEL_MIN = 10_000
_BLOCK = 8 << 20
_P1, _P2, _P3, _SEQ = b'{"hash":"', b'","prev_hash":"', b'","record":', b',"seq":'


def workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def run(jobs: list[tuple[Callable[..., Stretch | None], tuple[Any, ...]]]) -> list[Stretch | None]:
    """Run the jobs, all but the last in worker processes, the last here; results in order."""
    if len(jobs) == 1:
        function, args = jobs[0]
        return [function(*args)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=len(jobs) - 1, mp_context=context) as pool:
        futures = [pool.submit(function, *args) for function, args in jobs[:-1]]
        function, args = jobs[-1]
        last = function(*args)
        return [future.result() for future in futures] + [last]


# --- JSON Lines exports ---

def jsonl_ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """`parts` byte ranges of the file, each starting at the beginning of a line."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for index in range(1, parts):
            handle.seek(max(size * index // parts, cuts[-1]))
            handle.readline()
            cuts.append(min(handle.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a] or [(0, 0)]


def _lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left, tail = end - start, b""
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            left -= len(block)
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def jsonl_stretch(path: Path, start: int, end: int, watch: frozenset[int]) -> Stretch | None:
    """Check the export lines in [start, end) that are in the exporter's exact layout; None otherwise."""
    sha256 = hashlib.sha256
    first_seq = expected = -1
    first_prev = prev = b""
    seen: dict[int, str] = {}
    for line in _lines(path, start, end):
        if not (line.startswith(_P1) and line.startswith(_P2, 73) and line.startswith(_P3, 152)
                and line.endswith(b"}")):
            return None
        cut = line.rfind(_SEQ)
        digits = line[cut + 7:-1]
        if cut < 163 or not digits.isdigit():
            return None
        seq, prev_hash, digest = int(digits), line[88:152], line[9:73]
        if first_seq < 0:
            first_seq = expected = seq
            first_prev = prev = prev_hash
        if seq != expected or prev_hash != prev or sha256(prev + line[163:cut]).hexdigest().encode() != digest:
            return None
        if seq in watch:
            seen[seq] = digest.decode("ascii")
        prev, expected = digest, expected + 1
    if first_seq < 0:
        return Stretch(0, "", -1, "", 0, {})
    try:
        return Stretch(first_seq, first_prev.decode("ascii"), expected - 1, prev.decode("ascii"),
                       expected - first_seq, seen)
    except UnicodeDecodeError:
        return None


def jsonl_stretches(path: Path, records: int, watch: frozenset[int]) -> list[Stretch | None]:
    parts = workers() if records >= PARALLEL_MIN else 1
    return run([(jsonl_stretch, (path, a, b, watch)) for a, b in jsonl_ranges(path, parts)])


# --- the live SQLite database ---

def sqlite_stretch(database: str, first: int, last: int, watch: frozenset[int]) -> Stretch | None:
    """Check records first..last of a SQLite store through a read-only connection of this process."""
    conn = sqlite3.connect(f"file:{quote(database)}?mode=ro", uri=True)
    try:
        return check_stretch(conn.execute(FAST_SQL, {"first": first, "last": last}), watch)
    except sqlite3.Error:
        return None  # e.g. a column holding what JSON cannot: the exact route will say which record
    finally:
        conn.close()


def sqlite_stretches(database: str, first: int, last: int, watch: frozenset[int]) -> list[Stretch | None]:
    records = last - first + 1
    parts = workers() if records >= PARALLEL_MIN else 1
    bounds = [first + records * i // parts for i in range(parts + 1)]
    return run([(sqlite_stretch, (database, a, b - 1, watch)) for a, b in zip(bounds, bounds[1:], strict=False)
                if b > a])
