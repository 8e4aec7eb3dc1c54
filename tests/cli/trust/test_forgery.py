"""A database writer who cannot use the HSM: records they add or change carry no valid authenticator, so no
checkpoint is ever signed over them, the next command fails loudly, and `audit verify` names them; a
consistent rewrite of the trail and of the checkpoint file is caught by the authenticators and by a
checkpoint an auditor kept."""

from __future__ import annotations

import json

import pytest

from tests.cli.audit.tamper import copy_store, forged_hash, open_db, put_back, rows, set_head
from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def _forge_record(ca: CaHome) -> int:
    """Append a record with a correct chain hash (the published definition), as a database writer can."""
    conn = open_db(ca)
    last = rows(conn)[-1]
    forged = dict(last, seq=last["seq"] + 1, actor="mallory", event="cert.issue", correlation_id="f" * 36,
                  prev_hash=last["hash"], mac="0" * 64)
    forged["hash"] = forged_hash(forged["prev_hash"], forged)
    columns = ", ".join(forged)
    conn.execute(f"insert into audit ({columns}) values ({', '.join('?' * len(forged))})", list(forged.values()))
    set_head(conn)
    conn.close()
    return int(forged["seq"])


def _checkpointed(ca: CaHome) -> list[int]:
    return [json.loads(line)["seq"] for line in (ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()]


def test_a_forged_record_is_never_signed_and_every_command_says_so(ca: CaHome) -> None:
    forged = _forge_record(ca)

    honest = ca.run("org", "register", "Honest Gas Ltd", "--eui64", "90B3D51F30099999", "--role", "supplier",
                    "--as", "carol")
    refused = ca.run("cert", "issue", "999", "--as", "carol")  # a refused command checkpoints too

    for result, code in ((honest, 3), (refused, 2)):  # a request that does not exist is a usage error
        assert result.code == code, str(result)
        assert f"record {forged}: unauthenticated" in result.stderr, str(result)
    assert max(_checkpointed(ca)) < forged  # nothing signed over the forgery
    verify = ca.run("audit", "verify")
    assert verify.code == 3 and f"record {forged}: unauthenticated" in verify.stderr, str(verify)
    with ca.db() as conn:  # the failure is itself in the trail
        events = [r[0] for r in conn.execute("select event from audit where seq > ? and outcome = 'refused'",
                                             (forged,))]
    assert "audit.checkpoint" in events


def test_a_record_without_an_authenticator_is_named(ca: CaHome) -> None:
    ca.issue_new()
    conn = open_db(ca)
    conn.execute("delete from audit_checkpoints where seq = (select max(seq) from audit_checkpoints)")
    conn.execute("update audit set mac = null where seq = (select max(seq) from audit)")
    conn.close()
    (ca.home / "audit" / "checkpoints.jsonl").write_text(
        "".join(line + "\n" for line in (ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()[:-1]))
    verify = ca.run("audit", "verify")
    assert verify.code == 3 and "unauthenticated" in verify.stderr, str(verify)


def test_a_consistent_rewrite_with_the_checkpoint_file_is_caught(ca: CaHome) -> None:
    """The whole chain rewritten from record 2 with hashes recomputed, the database's checkpoints and the
    checkpoint file removed: the authenticators of the rewritten records fail, and a checkpoint an auditor kept
    no longer matches."""
    kept = json.loads((ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()[-1])
    conn = open_db(ca)
    prev = None
    for row in rows(conn):
        if row["seq"] < 2:
            prev = row["hash"]
            continue
        if row["seq"] == 2:
            row["actor"] = "mallory"
        row["prev_hash"] = prev
        row["hash"] = forged_hash(prev, row)
        conn.execute("update audit set actor = ?, prev_hash = ?, hash = ? where seq = ?",
                     (row["actor"], row["prev_hash"], row["hash"], row["seq"]))
        prev = row["hash"]
    set_head(conn)
    conn.execute("delete from audit_checkpoints")
    conn.close()
    (ca.home / "audit" / "checkpoints.jsonl").write_text("")

    verify = ca.run("audit", "verify")
    pinned = ca.run("audit", "verify", "--pinned-checkpoint", f"{kept['seq']}:{kept['hash']}")

    assert verify.code == 3 and "unauthenticated" in verify.stderr, str(verify)
    assert pinned.code == 3, str(pinned)


def test_an_older_database_put_back_with_the_checkpoint_file_deleted_is_caught(ca: CaHome) -> None:
    old = copy_store(ca)
    ca.issue_new()
    put_back(ca, old)
    (ca.home / "audit" / "checkpoints.jsonl").unlink()

    verify = ca.run("audit", "verify")

    assert verify.code == 3 and "checkpoints missing" in verify.stderr, str(verify)


def test_a_checkpoint_removed_from_the_database_or_the_file_is_named(ca: CaHome) -> None:
    ca.issue_new()
    lines = (ca.home / "audit" / "checkpoints.jsonl").read_text().splitlines()
    (ca.home / "audit" / "checkpoints.jsonl").write_text("".join(line + "\n" for line in lines[1:]))
    cut_file = ca.run("audit", "verify")
    assert cut_file.code == 3 and "checkpoints missing" in cut_file.stderr, str(cut_file)


# How a database writer gets the append-only triggers out of the way, per engine, and the trigger then named
DEFEATS = {
    "sqlite": {"dropped": ("audit_no_update", ["drop trigger audit_no_update"]),
               "defused": ("audit_no_update", ["drop trigger audit_no_update",
                                               "create trigger audit_no_update before update on audit "
                                               "begin select 1; end"]),
               # SQLite cannot switch a trigger off: the nearest are one that never fires and one moved away
               "disabled": ("audit_no_update", ["drop trigger audit_no_update",
                                                "create trigger audit_no_update before update on audit when 0 "
                                                "begin select raise(abort, 'audit rows are append-only'); end"]),
               "replica only": ("audit_no_update", ["drop trigger audit_no_update",
                                                    "create trigger audit_no_update before update on audit_signers "
                                                    "begin select raise(abort, 'audit rows are append-only'); end"])},
    "postgresql": {"dropped": ("audit_append_only", ["drop trigger audit_append_only on audit"]),
                   "disabled": ("audit_append_only", ["alter table audit disable trigger audit_append_only"]),
                   "replica only": ("audit_append_only",
                                    ["alter table audit enable replica trigger audit_append_only"]),
                   "defused": ("audit_head_append_only",  # the function every trigger runs, made harmless
                               ["create or replace function s1spki_append_only() returns trigger "
                                "language plpgsql as 'BEGIN RETURN OLD; END'"])},
}


@pytest.mark.parametrize("how", ["dropped", "disabled", "replica only", "defused"])
def test_dropping_the_append_only_triggers_is_noticed(ca: CaHome, how: str) -> None:
    name, statements = DEFEATS[ca.engine][how]
    with ca.db() as conn:
        for sql in statements:
            conn.execute(sql)
    for args in (("cert", "list"), ("audit", "verify")):
        result = ca.run(*args)
        assert result.code == 3 and name in result.stderr, str(result)
