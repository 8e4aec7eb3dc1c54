"""`audit verify` on the live trail: a clean history verifies; every tampering done on the store (the SQLite file,
the PostgreSQL database) or the checkpoint file with tools other than s1spki is found, and the one line says which
record and what."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.cli.audit.tamper import copy_store, forged_hash, open_db, put_back, rows, set_head, set_payload
from tests.conftest import CaHome, Result
from tests.support.engines import DB_ERRORS

pytestmark = pytest.mark.both_engines


def refused(result: Result, seq: int, kind: str) -> None:
    assert result.code == 3, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, str(result)
    assert f"record {seq}: {kind}:" in lines[0], str(result)


def head(ca: CaHome) -> int:
    with ca.db() as conn:
        return int(conn.execute("select seq from audit_head").fetchone()[0])


def test_a_clean_history_verifies(busy: CaHome) -> None:
    result = busy.ok("--json", "audit", "verify")
    verdict = result.json()
    last = head(busy)
    assert verdict["ok"] and verdict["records"] == last == busy.audit()[-1]["seq"], str(result)
    assert verdict["covered_to"] == last and verdict["warnings"] == [], str(result)  # signed at every command's end
    text = busy.ok("audit", "verify").stdout
    assert f"{last} records" in text and f"signed up to record {last}" in text


def test_every_command_that_records_ends_with_a_signed_checkpoint(ca: CaHome) -> None:
    before = len((ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines())
    ca.ok("org", "register", "Checkpoint Gas Ltd", "--eui64", "90B3D51F30077777", "--role", "supplier",
          "--as", "carol")
    refusal = ca.run("org", "register", "Checkpoint Gas Ltd", "--eui64", "90B3D51F30077778", "--role", "supplier",
                     "--as", "carol")
    assert refusal.code == 3, str(refusal)
    lines = (ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()
    assert len(lines) == before + 2
    assert json.loads(lines[-1])["seq"] == head(ca)  # the refusal's record is signed too
    with ca.db() as conn:
        assert conn.execute("select max(seq) from audit_checkpoints").fetchone()[0] == head(ca)
    ca.ok("--json", "org", "list")  # a command that records nothing signs nothing
    assert len((ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()) == before + 2


def test_a_checkpoint_is_signed_at_least_every_n_records(ca: CaHome) -> None:
    config = ca.home / "s1spki.toml"
    config.write_text(re.sub(r"(?m)^checkpoint_every = \d+$", "checkpoint_every = 1", config.read_text()))
    start = head(ca)
    ca.issue_new()  # submit, approve, then issue: a serial reservation and the issuance in one command
    with ca.db() as conn:
        signed = {r[0] for r in conn.execute("select seq from audit_checkpoints where seq > ?", (start,))}
    assert signed == set(range(start + 1, head(ca) + 1))


def test_the_database_refuses_to_change_or_delete_an_audit_record(ca: CaHome) -> None:
    statements = ["update audit set actor = 'mallory' where seq = 1", "delete from audit where seq = 1",
                  "delete from audit_checkpoints", "update audit_signers set key_label = 'x'"]
    if ca.engine == "postgresql":  # TRUNCATE fires no row trigger
        statements += [f"truncate {table}" for table in ("audit", "audit_checkpoints", "audit_signers", "audit_head")]
    for statement in statements:
        with ca.db() as conn, pytest.raises(DB_ERRORS, match="append-only"):
            conn.execute(statement)


def field_changed(conn: Any, k: int) -> tuple[int, str]:
    conn.execute("update audit set details = replace(details, '\"', '''') where seq = ?", (k,))
    return k, "altered"


def field_changed_and_rehashed(conn: Any, k: int) -> tuple[int, str]:
    row = next(r for r in rows(conn) if r["seq"] == k)
    row["actor"] = "mallory"
    row["hash"] = forged_hash(row["prev_hash"], row)
    set_payload(conn, k, row)
    return k, "altered"


def chain_rewritten(conn: Any, k: int) -> tuple[int, str]:
    """A careful attacker: changes a record, recomputes every later hash and the head row."""
    prev = None
    for row in rows(conn):
        if row["seq"] < k:
            continue
        if row["seq"] == k:
            row["actor"] = "mallory"
        row["prev_hash"] = prev or row["prev_hash"]
        row["hash"] = forged_hash(row["prev_hash"], row)
        set_payload(conn, row["seq"], row)
        prev = row["hash"]
    set_head(conn)
    last_good = conn.execute("select max(seq) from audit_checkpoints where seq < ?", (k,)).fetchone()[0]
    return last_good + 1, "altered"


def record_deleted(conn: Any, k: int) -> tuple[int, str]:
    conn.execute("delete from audit where seq = ?", (k,))
    return k, "missing"


def record_inserted(conn: Any, k: int) -> tuple[int, str]:
    """A forged record after record k-1, with a correct chain hash; the rest renumbered to make room."""
    before = next(r for r in rows(conn) if r["seq"] == k - 1)
    conn.execute("update audit set seq = -seq where seq >= ?", (k,))
    conn.execute("update audit set seq = 1 - seq where seq < 0")
    forged = dict(before, seq=k, actor="mallory", event="cert.issue", correlation_id="f" * 36,
                  prev_hash=before["hash"])
    forged["hash"] = forged_hash(forged["prev_hash"], forged)
    columns = ", ".join(forged)
    conn.execute(f"insert into audit ({columns}) values ({', '.join('?' * len(forged))})", list(forged.values()))
    set_head(conn)
    return k, "inserted"


def two_swapped(conn: Any, k: int) -> tuple[int, str]:
    conn.execute("update audit set seq = -1 where seq = ?", (k,))
    conn.execute("update audit set seq = ? where seq = ?", (k, k + 1))
    conn.execute("update audit set seq = ? where seq = -1", (k + 1,))
    return k, "out of order"


def tail_cut(conn: Any, k: int) -> tuple[int, str]:
    last = conn.execute("select max(seq) from audit").fetchone()[0]
    conn.execute("delete from audit where seq > ?", (last - 3,))
    return last - 2, "truncated"


def tail_cut_and_covered_up(conn: Any, k: int) -> tuple[int, str]:
    """The head row and the database's checkpoints are cut back too; the file outside still knows."""
    last = conn.execute("select max(seq) from audit").fetchone()[0]
    conn.execute("delete from audit where seq > ?", (last - 3,))
    conn.execute("delete from audit_checkpoints where seq > ?", (last - 3,))
    set_head(conn)
    return last - 2, "rolled back"


def checkpoint_signature_altered_in_the_database(conn: Any, k: int) -> tuple[int, str]:
    seq, signature = conn.execute("select seq, signature from audit_checkpoints where seq >= ? order by seq limit 1",
                                  (k,)).fetchone()
    conn.execute("update audit_checkpoints set signature = ? where seq = ?", (_flip(signature), seq))
    return seq, "bad checkpoint signature"


def _flip(signature: str) -> str:
    return signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]


DATABASE_TAMPERING = [field_changed, field_changed_and_rehashed, chain_rewritten, record_deleted, record_inserted,
                      two_swapped, tail_cut, tail_cut_and_covered_up, checkpoint_signature_altered_in_the_database]


@pytest.mark.parametrize("tamper", DATABASE_TAMPERING, ids=lambda f: f.__name__)
def test_tampering_with_the_database_is_found_and_named(busy: CaHome, tamper: Callable[..., tuple[int, str]]
                                                         ) -> None:
    k = head(busy) // 2
    conn = open_db(busy)
    seq, kind = tamper(conn, k)
    conn.close()

    result = busy.run("audit", "verify")

    refused(result, seq, kind)
    problem = busy.run("--json", "audit", "verify").json()
    assert (problem["seq"], problem["problem"], problem["exit_code"]) == (seq, kind, 3), problem


def test_an_altered_checkpoint_signature_in_the_file_is_found(busy: CaHome) -> None:
    path = busy.home / "audit" / "checkpoints.jsonl"
    lines = path.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["signature"] = _flip(entry["signature"])
    lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")

    refused(busy.run("audit", "verify"), entry["seq"], "bad checkpoint signature")


def test_a_line_of_the_checkpoint_file_that_is_not_a_checkpoint_is_found(busy: CaHome) -> None:
    path = busy.home / "audit" / "checkpoints.jsonl"
    path.write_text(path.read_text() + "{\"seq\": 99999, \"hash\": \"forged\"}\n")
    result = busy.run("audit", "verify")
    assert result.code == 3 and "bad checkpoint signature" in result.stderr and "is not a signed checkpoint" in \
        result.stderr, str(result)


def test_an_older_copy_of_the_database_put_back_is_found(busy: CaHome) -> None:
    old = copy_store(busy)
    old_head = head(busy)
    busy.issue_new()  # what the older copy will not hold
    assert head(busy) > old_head

    put_back(busy, old)  # put the older copy back

    refused(busy.run("audit", "verify"), old_head + 1, "rolled back")
    # and when the CA goes on writing on the older copy, the two histories still disagree
    busy.ok("org", "register", "After Restore Ltd", "--eui64", "90B3D51F30088888", "--role", "supplier",
            "--as", "carol")
    result = busy.run("audit", "verify")
    assert result.code == 3 and "rolled back" in result.stderr, str(result)


def test_a_checkpoint_that_cannot_be_written_never_fails_a_command(ca: CaHome) -> None:
    path = ca.home / "audit" / "checkpoints.jsonl"
    path.unlink()
    path.mkdir()  # the file cannot be appended to any more

    result = ca.run("--json", "org", "register", "Warned Ltd", "--eui64", "90B3D51F30099999", "--role", "supplier",
                    "--as", "carol")

    assert result.code == 0 and result.json()["name"] == "Warned Ltd", str(result)
    assert "warning: the audit chain could not be checkpointed" in result.stderr, str(result)
    last = ca.audit()[-1]
    assert (last["event"], last["outcome"]) == ("audit.checkpoint", "error")
    assert "checkpoints.jsonl" in json.loads(last["details"])["reason"]


def test_removing_the_audit_key_and_the_checkpoints_never_turns_checkpointing_off(ca: CaHome) -> None:
    """A database writer deletes the audit signer's row and every checkpoint, and the home's audit files: the
    next command fails loudly instead of going on unsigned, and `audit verify` fails, naming the reason."""
    conn = open_db(ca)
    conn.execute("delete from audit_signers")
    conn.execute("delete from audit_checkpoints")
    conn.close()
    for path in (ca.home / "audit").iterdir():
        path.unlink()

    done = ca.run("org", "register", "Old Home Ltd", "--eui64", "90B3D51F30066666", "--role", "supplier",
                  "--as", "carol")
    assert done.code == 3 and "audit key" in done.stderr, str(done)
    assert len(done.stderr.strip().splitlines()) == 1, str(done)
    result = ca.run("--json", "audit", "verify")
    assert result.code == 3, str(result)
    verdict: dict[str, Any] = result.json()["verdict"]
    assert not verdict["ok"] and verdict["checkpoints"] == 0
    kinds = {p["kind"] for p in verdict["problems"]}
    assert "not covered" in kinds and "bad checkpoint signature" in kinds, verdict  # the home's certificate is gone
