"""The fast passes give the verdict the one-by-one check gives on a clean trail, and step aside (None) on
anything else; SQLite's own assembly of a record's bytes is byte for byte the canonical JSON."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from s1spki.audit import fast
from s1spki.audit.chain import COLUMNS, FAST_SQL, record_bytes
from s1spki.audit.export_format import export_line
from s1spki.audit.record import GENESIS_HASH
from s1spki.audit.verify import verify_chain, verify_stretches
from s1spki.store import migrations
from tests.audit.factory import HOME_ID, Signer, chain, links, row_for
from tests.audit.test_chain import ODD


@pytest.fixture(autouse=True)
def three_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "PARALLEL_MIN", 10)
    monkeypatch.setattr(fast, "workers", lambda: 3)


def _same(a: Any, b: Any) -> None:
    assert a is not None and (a.ok, a.records, a.last_seq, a.last_hash, a.checkpoints, a.covered_to, a.warnings) == \
        (b.ok, b.records, b.last_seq, b.last_hash, b.checkpoints, b.covered_to, b.warnings)


def _database(path: Path, rows: list[Any]) -> str:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        migrations.upgrade(conn)  # the schema a store has, append-only triggers included
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.executemany(f"insert into audit ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})", rows)
    return str(path)


def test_jsonl_stretches_agree_with_the_exact_check(tmp_path: Path) -> None:
    rows, signer = chain(300), Signer()
    path = tmp_path / "trail.jsonl"
    path.write_bytes(b"".join(export_line(r) for r in rows))
    checkpoints = [signer.checkpoint(rows[i]) for i in (49, 149, 299)]
    common = {"trusted": signer.trusted, "home_id": HOME_ID, "checkpoints": checkpoints, "end": (300, rows[-1][2])}
    stretches = fast.jsonl_stretches(path, 300, frozenset(c.seq for c in checkpoints))
    assert len(stretches) == 3 and all(s is not None and s.count for s in stretches)
    _same(verify_stretches(stretches, **common), verify_chain(links(rows), **common))


def test_jsonl_stretches_step_aside_on_a_changed_line(tmp_path: Path) -> None:
    rows = chain(300)
    lines = [export_line(r) for r in rows]
    lines[200] = lines[200].replace(b'"actor":"carol"', b'"actor":"carl"')
    path = tmp_path / "trail.jsonl"
    path.write_bytes(b"".join(lines))
    assert verify_stretches(fast.jsonl_stretches(path, 300, frozenset()), trusted={}, home_id=HOME_ID) is None
    path.write_bytes(b"".join(lines[:100] + lines[101:200]))  # a line gone at a worker's border or inside
    assert verify_stretches(fast.jsonl_stretches(path, 300, frozenset()), trusted={}, home_id=HOME_ID) is None


def test_sqlite_assembles_exactly_the_canonical_bytes(tmp_path: Path) -> None:
    rows, prev = [], GENESIS_HASH
    for seq, ev in enumerate([*ODD, *ODD], 1):
        rows.append(row_for(seq, prev, ev, node_id=None if seq % 2 else f"node-{seq}"))
        prev = rows[-1][2]
    database = _database(tmp_path / "odd.db", rows)
    with sqlite3.connect(database) as conn:
        made = conn.execute(FAST_SQL, {"first": 1, "last": len(rows)}).fetchall()
    assert [m[3] for m in made] == [record_bytes(r) for r in rows]


def test_sqlite_stretches_agree_with_the_exact_check_and_step_aside_when_tampered(tmp_path: Path) -> None:
    rows = chain(120)
    database = _database(tmp_path / "trail.db", rows)
    common = {"trusted": {}, "home_id": HOME_ID, "end": (120, rows[-1][2])}
    stretches = fast.sqlite_stretches(database, 1, 120, frozenset())
    assert len(stretches) == 3
    _same(verify_stretches(stretches, **common), verify_chain(links(rows), **common))
    with sqlite3.connect(database) as conn:
        conn.execute("drop trigger audit_no_update")
        conn.execute("update audit set actor = x'00ff' where seq = 77")  # a blob JSON cannot hold
    assert verify_stretches(fast.sqlite_stretches(database, 1, 120, frozenset()), **common) is None
