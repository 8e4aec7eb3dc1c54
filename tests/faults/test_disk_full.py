"""A full disk, for real: the home's database on a small tmpfs filled to the last byte (and a file written to
another full one). Every command, reading ones too, then fails with exit 5 and one line saying the disk is full and
where, not "disk I/O error" (SQLite cannot make its WAL or shared-memory file on a full disk, so a reading command
fails there as well, unless another process holds the database open and with it those files); once space is freed,
the same commands work. A command's output to a file on a full disk is said to be cut short. Mounting needs root
(CI runs as root)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import CaHome, Result
from tests.faults.conftest import Cluster, PgHome, move_store_to_postgresql
from tests.support import pgcluster
from tests.support.disks import fill


def _disk_full(result: Result, where: Path) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.code == 5, str(result)
    assert len(lines) == 1 and f"disk full at {where}" in lines[0] and "free space and retry" in lines[0], str(result)
    assert "I/O error" not in result.stderr and "Traceback" not in result.stderr


def test_a_full_disk_is_said_to_be_full_by_every_command(ca: CaHome, small_disk,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = str(ca.submit_approved())
    # each command a process of its own that ends as a user's does (closing the database removes its WAL and
    # shared-memory files, which a reader on a full disk must then make again)
    monkeypatch.setenv("S1SPKI_TEST_EXEC", "1")
    database = ca.home / "s1spki.db"
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    disk = small_disk("database-disk", database.stat().st_size // 1024 + 2048)
    for file in ca.home.glob("s1spki.db*"):
        shutil.move(file, disk / file.name)
    config = ca.home / "s1spki.toml"
    text, count = re.subn(r'(?m)^url = ".*"$', f'url = "sqlite:///{disk / "s1spki.db"}"', config.read_text())
    assert count == 1
    config.write_text(text)
    before = ca.ok("--json", "cert", "list").json()  # the home works from its new disk

    filler = fill(disk)
    listed = ca.run("cert", "list")
    listed_json = ca.run("--json", "cert", "list")
    issued = ca.run("cert", "issue", request_id, "--as", "carol")
    _disk_full(listed, disk)
    _disk_full(issued, disk)
    assert listed_json.json()["error"] == "disk-full" and listed_json.code == 5
    filler.unlink()

    # while another process has the database open (a running server), its WAL and shared memory exist: reading
    # still works on the full disk, a change is still refused as a full disk
    with contextlib.closing(sqlite3.connect(disk / "s1spki.db")) as holder:
        holder.execute("SELECT count(*) FROM audit").fetchone()
        filler = fill(disk)
        read_while_held = ca.run("--json", "cert", "list")
        issued_while_held = ca.run("cert", "issue", request_id, "--as", "carol")
        filler.unlink()
    assert read_while_held.code == 0 and read_while_held.json() == before, str(read_while_held)
    _disk_full(issued_while_held, disk)

    assert ca.ok("cert", "list").code == 0
    certificate = ca.ok("--json", "cert", "issue", request_id, "--as", "carol").json()
    assert certificate["request_id"] == int(request_id)

    # a file written where the user asked, on a disk that is full: the same one line, and no cut-off file left
    out_disk = small_disk("out-disk", 64)
    fill(out_disk)
    exported = ca.run("cert", "export", str(certificate["id"]), "--out", str(out_disk / "leaf.pem"))
    _disk_full(exported, out_disk)
    assert not (out_disk / "leaf.pem").exists()
    assert ca.ok("audit", "verify").code == 0


def test_a_full_disk_under_postgresql_is_said_to_be_full(ca: CaHome, small_disk) -> None:  # type: ignore[no-untyped-def]
    try:
        pgcluster.bin_dir()
    except pgcluster.ClusterError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(str(exc))
    # a cluster of its own whose data directory is the small disk (reachable by the server's own account)
    parent = Path(tempfile.mkdtemp(prefix="s1spki-faults-"))
    os.chmod(parent, 0o755)
    cluster = Cluster(small_disk("cluster", 128 * 1024, parent))
    cluster.start()
    try:
        home = PgHome(ca.home, ca.work, ca.root)
        home.url = move_store_to_postgresql(ca, cluster)
        request_id = str(home.submit_approved())
        filler = fill(cluster.base)
        issued = home.run("cert", "issue", request_id, "--as", "carol")
        listed = home.run("--json", "cert", "list", "--kind", "end-entity")
        filler.unlink()
        again = home.run("--json", "cert", "issue", request_id, "--as", "carol")
    finally:
        cluster.stop()
    _disk_full(issued, Path("the PostgreSQL server"))
    assert listed.code == 0 and listed.json() == [], str(listed)  # reading needs no space on the server
    assert again.code == 0, str(again)
    assert again.json()["request_id"] == int(request_id)


def test_output_to_a_file_on_a_full_disk_is_said_to_be_cut_short(ca: CaHome, small_disk) -> None:  # type: ignore[no-untyped-def]
    """`cert show N > FILE` where FILE's disk is full: the command's output, written when it ends, fails; it says
    so in one line and exits non-zero, never 0 over a file that holds nothing."""
    issued = ca.issue_new()
    disk = small_disk("output-disk", 256)
    fill(disk)
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as in a user's shell
    with (disk / "shown.txt").open("w") as out:
        done = subprocess.run([sys.executable, "-m", "s1spki", "--home", str(ca.home), "cert", "show",
                               str(issued["id"])], stdout=out, stderr=subprocess.PIPE, text=True, env=buffered)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done
    assert len(lines) == 1 and "the output could not be written in full: No space left on device" in lines[0], done
