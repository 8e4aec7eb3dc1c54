"""`db backup` and the restore procedure of the README, on SQLite and PostgreSQL: a CA administrator's backup is
a new file (0600) with a manifest signed by the audit key; the freshest backup put back verifies clean; an older
one, put back after later checkpoints were signed, is reported by `audit verify` (exit 3); refusals write
nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from s1spki.audit.manifest import read_manifest
from s1spki.audit.signer import load_certificates
from s1spki.store import migrations
from tests.cli.db.conftest import PgHome
from tests.conftest import CaHome, Result
from tests.support.held import held_at


def _backup(home: CaHome, path: Path) -> dict[str, Any]:
    done: dict[str, Any] = home.ok("--json", "db", "backup", str(path), "--as", "erin").json()
    return done


def _check_backup(home: CaHome, path: Path, done: dict[str, Any], engine: str) -> None:
    """The file (0600), its manifest (signed by the home's audit key) and the --json output agree."""
    data = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert done["sha256"] == hashlib.sha256(data).hexdigest() and done["size"] == len(data), done
    assert done["engine"] == engine and done["schema_revision"] == migrations.HEAD, done
    manifest = read_manifest(Path(done["manifest_file"]), load_certificates(home.home / "audit" / "audit-cert.pem"))
    assert manifest.problem is None, manifest.problem
    assert {k: manifest.body[k] for k in ("sha256", "size", "audit_head", "engine")} == \
        {k: done[k] for k in ("sha256", "size", "audit_head", "engine")}
    assert not list(path.parent.glob("*.partial")), "no temporary file is left behind"


def _verify(home: CaHome) -> Result:
    return home.run("--json", "audit", "verify")


def _behind(result: Result, seq: int) -> None:
    """Reported: exit 3, one line saying the database is behind the latest signed checkpoint."""
    assert result.code == 3, str(result)
    said = result.json()
    assert said["problem"] == "rolled back" and said["seq"] == seq + 1, said
    assert "behind the latest signed checkpoint" in said["detail"] and "backup restored" in said["detail"], said
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "behind the latest signed checkpoint" in lines[0], str(result)


# --- SQLite -----------------------------------------------------------------------------------------------------


def _restore_sqlite(ca: CaHome, backup: Path) -> None:
    """The README's procedure: every node stopped, the file put back in place of s1spki.db (its -wal and -shm
    removed: they belong to the database being replaced), mode 0600."""
    database = ca.home / "s1spki.db"
    for side in ("-wal", "-shm"):
        Path(f"{database}{side}").unlink(missing_ok=True)
    shutil.copyfile(backup, database)
    database.chmod(0o600)


def test_sqlite_backup_restores_and_an_older_one_is_reported(ca: CaHome) -> None:
    older = ca.work / "older.s1db"
    done = _backup(ca, older)
    _check_backup(ca, older, done, "sqlite")
    # the copy is a whole SQLite database in one file, holding the backup's own record as its head
    with sqlite3.connect(older) as copy:
        head = copy.execute("select seq, hash from audit_head").fetchone()
        last = copy.execute("select event, actor, outcome, object_id from audit order by seq desc limit 1").fetchone()
        assert copy.execute("pragma journal_mode").fetchone()[0] == "delete"
    assert list(head) == [done["audit_head"]["seq"], done["audit_head"]["hash"]] == \
        [ca.audit()[-1]["seq"], ca.audit()[-1]["hash"]]
    assert last == ("db.backup", "erin", "ok", done["backup_id"]) and done["backup_record"] == head[0]
    # a change after the backup, checkpointed at the end of its command; then the freshest backup. A connection
    # held open keeps SQLite from folding the WAL into the database file when the commands end: the change is in
    # s1spki.db-wal only, where a plain copy of s1spki.db would miss it and the online backup finds it.
    keep = sqlite3.connect(ca.home / "s1spki.db")
    keep.execute("select count(*) from meta").fetchall()  # opens the WAL index, as a running node would
    try:
        ca.ok("org", "register", "Later Energy Ltd", "--eui64", "90B3D51F3F000001", "--role", "supplier",
              "--as", "carol")
        fresh = ca.work / "fresh.s1db"
        fresh_done = _backup(ca, fresh)
        shutil.copyfile(ca.home / "s1spki.db", ca.work / "plain-copy.db")
    finally:
        keep.close()
    with sqlite3.connect(ca.work / "plain-copy.db") as plain, sqlite3.connect(fresh) as copy:
        assert plain.execute("select count(*) from organisations where name = 'Later Energy Ltd'").fetchone() == (0,)
        assert copy.execute("select count(*) from organisations where name = 'Later Energy Ltd'").fetchone() == (1,)
    # the root home backs up its own store too (its CA administrator)
    root_done = _backup(ca.root, ca.work / "root.s1db") if ca.root else {}
    assert root_done["engine"] == "sqlite" and root_done["audit_head"]["seq"] > 0, root_done

    _restore_sqlite(ca, fresh)
    assert _verify(ca).code == 0, str(_verify(ca))
    assert ca.ok("--json", "org", "show", "Later Energy Ltd").json()["name"] == "Later Energy Ltd"
    assert fresh_done["audit_head"]["seq"] > done["audit_head"]["seq"]

    _restore_sqlite(ca, older)
    _behind(_verify(ca), done["audit_head"]["seq"])


# --- PostgreSQL -------------------------------------------------------------------------------------------------

RECORDER = """#!{python}
import json, os, sys
with open({log!r}, "a") as out:
    out.write(json.dumps({{"argv": sys.argv[1:], "pgpassword": os.environ.get("PGPASSWORD")}}) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def _recording_pg_dump(folder: Path, log: Path) -> str:
    """A PATH folder whose pg_dump notes its command line and PGPASSWORD, then runs the real pg_dump."""
    real = shutil.which("pg_dump")
    assert real, "pg_dump is needed for the PostgreSQL backup"
    folder.mkdir()
    wrapper = folder / "pg_dump"
    wrapper.write_text(RECORDER.format(python=sys.executable, log=str(log), real=real))
    wrapper.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def _restore_pg(pg: PgHome, backup: Path) -> None:
    """The README's procedure: every node stopped, pg_restore --clean into the database."""
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           f"--dbname={pg.psql_url()}", str(backup)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_postgresql_backup_restores_and_an_older_one_is_reported(pg_home: PgHome) -> None:
    log = pg_home.work / "pg_dump.log"
    path = _recording_pg_dump(pg_home.work / "bin", log)
    older = pg_home.work / "older.dump"
    said = pg_home.run("--json", "db", "backup", str(older), "--as", "erin", env={"PATH": path})
    assert said.code == 0, str(said)
    done = said.json()
    _check_backup(pg_home, older, done, "postgresql")
    # the password reached pg_dump in its environment only; nothing printed or written names it
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1 and calls[0]["pgpassword"] == pg_home.password, calls
    assert not any(pg_home.password in arg for arg in calls[0]["argv"]), calls
    assert "--format=custom" in calls[0]["argv"] and any(a.startswith("--snapshot=") for a in calls[0]["argv"])
    for text in (said.stdout, said.stderr, Path(done["manifest_file"]).read_text()):
        assert pg_home.password not in text
    assert older.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format, for pg_restore

    pg_home.ok("org", "register", "Later Energy Ltd", "--eui64", "90B3D51F3F000001", "--role", "supplier",
               "--as", "carol")
    fresh = pg_home.work / "fresh.dump"
    _backup(pg_home, fresh)

    _restore_pg(pg_home, fresh)
    assert _verify(pg_home).code == 0, str(_verify(pg_home))
    assert pg_home.ok("--json", "org", "show", "Later Energy Ltd").json()["name"] == "Later Energy Ltd"

    _restore_pg(pg_home, older)
    _behind(_verify(pg_home), done["audit_head"]["seq"])


def test_postgresql_backup_without_pg_dump_is_refused(pg_home: PgHome) -> None:
    empty = pg_home.work / "no-programs"
    empty.mkdir()
    target = pg_home.work / "b.dump"
    result = pg_home.run("db", "backup", str(target), "--as", "erin", env={"PATH": str(empty)})
    assert result.code == 2, str(result)
    assert result.stderr.strip().count("\n") == 0 and "pg_dump is not on PATH" in result.stderr, str(result)
    assert sorted(p.name for p in pg_home.work.iterdir()) == ["no-programs"]


# --- refusals -------------------------------------------------------------------------------------------------


def _not_writable(ca: CaHome) -> Path:
    """A folder this process cannot write in (root writes anywhere a permission bit forbids: /sys then)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = ca.work / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


@pytest.mark.parametrize("case", ["exists", "manifest exists", "no folder", "not writable"])
def test_a_backup_that_cannot_be_written_new_is_refused(ca: CaHome, case: str) -> None:
    target = ca.work / "backup.s1db"
    if case == "exists":
        target.write_bytes(b"an earlier backup")
    elif case == "manifest exists":
        (ca.work / "backup.s1db.manifest.json").write_text("{}")
    elif case == "no folder":
        target = ca.work / "missing" / "backup.s1db"
    else:
        target = _not_writable(ca) / "backup.s1db"
    before = sorted(p.name for p in ca.work.iterdir())
    kept = target.read_bytes() if target.exists() else None
    audit = len(ca.audit())
    result = ca.run("db", "backup", str(target), "--as", "erin")
    assert result.code == 2, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, str(result)
    words = {"exists": "exists", "manifest exists": "exists", "no folder": "is not a folder",
             "not writable": "is not writable"}[case]
    assert words in lines[0], str(result)
    assert sorted(p.name for p in ca.work.iterdir()) == before
    assert (target.read_bytes() if target.exists() else None) == kept
    assert len(ca.audit()) == audit, "nothing recorded: the command was called wrongly"


def test_a_partial_copy_left_by_a_killed_backup_is_removed_by_the_next_and_a_running_ones_kept(ca: CaHome) -> None:
    """A backup killed while it writes leaves its partial copy of the store (0600) in the folder; the next backup
    there, once authorised, removes it, says so and records it, but never touches the partial copy of a backup
    still running."""
    folder = ca.work / "backups"
    folder.mkdir()
    running, release = held_at(ca, "backup-staged", "db", "backup", str(folder / "second.s1db"), "--as", "erin")
    killed = ca.run("db", "backup", str(folder / "first.s1db"), "--as", "erin", seams=True,
                    env={"S1SPKI_TEST_KILL_AT": "backup-staged"})
    assert killed.code == -9, str(killed)
    [left], [kept] = folder.glob(".first.s1db.*.partial"), folder.glob(".second.s1db.*.partial")
    an_hour_ago = time.time() - 3600
    for partial in (left, kept):  # as a later backup finds them, not one in the same second; `kept` still locked
        os.utime(partial, (an_hour_ago, an_hour_ago))
    refused = ca.run("db", "backup", str(folder / "refused.s1db"), "--as", "carol")  # not a CA administrator
    assert refused.code == 4 and left.exists(), str(refused)  # a refused backup removes nothing
    done = ca.ok("db", "backup", str(folder / "third.s1db"), "--as", "erin")

    assert f"removed {left.name}: a partial copy left by a backup that did not finish" in done.stdout, str(done)
    assert not left.exists() and kept.exists()
    assert ca.ok("--json", "db", "backup", str(folder / "fourth.s1db"), "--as", "erin").json()[
        "left_behind_removed"] == [] and kept.exists()
    [record] = [a for a in ca.audit() if a["event"] == "db.backup" and a["outcome"] == "ok"
                and json.loads(a["details"])["file"] == "third.s1db"]
    assert json.loads(record["details"])["left_behind_removed"] == [left.name]
    release.touch()
    out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert (folder / "second.s1db").exists() and not list(folder.glob("*.partial"))
    assert ca.ok("audit", "verify").code == 0
