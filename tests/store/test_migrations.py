"""Schema migrations: the migrated schema is the code's, a store made before migrations is stamped at the
baseline (not refused, not changed), a store newer than the code is refused, and `db status`/`db upgrade`; on
SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from s1spki.hsm import find_softhsm_module
from s1spki.store import migrations
from s1spki.store import schema as t
from s1spki.store.engine import make_engine, write_transaction
from s1spki.store.writer import Store
from s1spki.values.clock import Clock
from tests.cli.audit.tamper import open_db
from tests.cli.crl.helpers import ISSUING, ROOT, revoke
from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def test_the_migrated_schema_is_the_one_the_code_uses(store_url: str) -> None:
    store = Store.create(store_url, Clock(), "home")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
        assert migrations.current_revision(conn) == migrations.HEAD
    store.dispose()


def test_the_head_is_the_newest_revision_carried() -> None:
    assert migrations.known_revisions()[-1] == migrations.HEAD
    assert migrations.known_revisions()[0] == migrations.BASELINE


DESTROY_RECORD_KEY = """
import sys, pkcs11
from pkcs11 import Attribute, ObjectClass
module, pin = sys.argv[1], sys.stdin.read().strip()
with pkcs11.lib(module).get_token(token_label="s1spki").open(rw=True, user_pin=pin) as session:
    for key in list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})):
        key.destroy()
"""


def _as_first_release(ca: CaHome) -> None:
    """Make the home what the first release left: the schema of the baseline (no authenticators, no claims,
    no revision recorded) and no record key on the token. Done as the old code left it: with sqlite3, or psycopg."""
    conn = open_db(ca)  # past the append-only triggers (SQLite's ALTER TABLE needs them dropped)
    if ca.engine == "sqlite":
        _requests_as_at_0002(conn, ca.work / "at-0002.db")
    else:
        _pg_requests_as_at_0002(conn)
    conn.execute("drop table revocation_counts")  # revision 0007
    conn.execute("drop index ix_audit_object")
    conn.execute("drop index ix_audit_event")  # revision 0006
    conn.execute("alter table audit drop column mac")
    for table in ("audit", "audit_checkpoints"):  # revision 0004: node ids
        conn.execute(f"alter table {table} drop column node_id")
    conn.execute("drop table nodes")
    for table in ("operators", "organisations", "officers", "requests", "approvals", "cas", "revocations"):
        conn.execute(f"alter table {table} drop column mac")
        conn.execute(f"alter table {table} drop column sealed_seq")
    for column in ("claimed_by", "claimed_at"):
        conn.execute(f"alter table requests drop column {column}")
    conn.execute("drop table alembic_version")
    conn.close()  # the triggers are put back
    pin = (ca.home / "secrets" / "hsm-user.pin").read_text()
    env = {**os.environ, "SOFTHSM2_CONF": str(ca.home / "softhsm" / "softhsm2.conf")}
    subprocess.run([sys.executable, "-c", DESTROY_RECORD_KEY, find_softhsm_module()], input=pin, text=True, env=env,
                   check=True, capture_output=True)


def _requests_as_at_0002(conn: sqlite3.Connection, scratch: Path) -> None:
    """The requests table as revision 0002 made it (before enrolment: a CSR in every request), its rows kept.
    SQLite removes a column with a foreign key only by making the table again."""
    engine = make_engine(f"sqlite:///{scratch}")
    with write_transaction(engine) as made:
        migrations.upgrade(made, "0002")  # a second schema made by the migrations, up to 0002
    engine.dispose()
    with sqlite3.connect(scratch) as old:
        create, = old.execute("select sql from sqlite_master where type = 'table' and name = 'requests'").fetchone()
        columns = [r[1] for r in old.execute("pragma table_info(requests)")]
    conn.execute("pragma foreign_keys = off")
    conn.execute("pragma legacy_alter_table = on")  # references to requests stay as they are
    conn.execute("alter table requests rename to requests_at_head")
    conn.execute(create)
    conn.execute(f"insert into requests ({', '.join(columns)}) select {', '.join(columns)} from requests_at_head")
    conn.execute("drop table requests_at_head")
    conn.execute("create index ix_requests_key_sha256 on requests (key_sha256)")


def _pg_requests_as_at_0002(conn: Any) -> None:
    """The requests table as revision 0002 made it on PostgreSQL: a CSR in every request, no enrolment columns;
    and no TRUNCATE guards (revision 0005)."""
    for table in ("audit", "audit_checkpoints", "audit_signers", "audit_head"):
        conn.execute(f"drop trigger {table}_no_truncate on {table}")
    for column in ("kind", "expires_at", "secret_hash", "renews"):  # renews takes its foreign key with it
        conn.execute(f"alter table requests drop column {column}")
    for column in ("csr_der", "key_sha256"):
        conn.execute(f"alter table requests alter column {column} set not null")


def test_a_store_of_the_first_release_is_stamped_upgraded_and_brought_under_authenticators(ca: CaHome) -> None:
    ca.issue_new()
    _as_first_release(ca)
    records_before = len(ca.audit())

    status = ca.ok("--json", "db", "status").json()
    refused = ca.run("cert", "list")
    upgraded = ca.ok("--json", "db", "upgrade").json()

    assert status == {"revision": migrations.BASELINE, "head": migrations.HEAD, "up_to_date": False}
    assert refused.code == 5 and "db upgrade" in refused.stderr, str(refused)
    assert upgraded["from"] == migrations.BASELINE and upgraded["to"] == migrations.HEAD
    assert upgraded["sealed"]["authenticated_from"] == records_before + 1 and upgraded["sealed"]["rows"] > 10
    ca.ok("audit", "verify", "--deep")  # every row sealed, every record from the upgrade on authenticated
    ca.issue_new()  # and the CA works on
    ca.ok("audit", "verify")
    with ca.db() as conn:
        assert conn.execute("select count(*) from audit where mac is null").fetchone()[0] == records_before
        # the original node's records name no node; its checkpoint file is listed by its first checkpoint since
        assert conn.execute("select count(*) from audit where node_id is not null").fetchone()[0] == 0
        assert conn.execute("select node_id, checkpoints_file from nodes").fetchall() == [
            ("", str((ca.home / "audit" / "checkpoints.jsonl").resolve()))]


def test_a_store_newer_than_the_code_is_refused(ca: CaHome) -> None:
    with ca.db() as conn:
        conn.execute("update alembic_version set version_num = '9999'")
    before = ca.snapshot()

    refused = ca.run("cert", "list")

    assert refused.code == 5, str(refused)
    assert "revision 9999" in refused.stderr and "newer s1spki" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert ca.snapshot() == before


def test_db_upgrade_of_a_store_at_the_head_changes_nothing(ca: CaHome) -> None:
    before = ca.snapshot()
    upgraded = ca.ok("--json", "db", "upgrade").json()
    assert upgraded == {"from": migrations.HEAD, "to": migrations.HEAD, "upgraded": False, "sealed": None}
    assert ca.snapshot() == before


def test_db_upgrade_counts_the_revocations_a_store_already_holds(ca: CaHome) -> None:
    """Revision 0007 keeps each CA's count of revocations: a store upgraded to it gets the counts of the revocations
    it holds, and each revocation after counts one more (what says whether a CA has revocations on no CRL yet)."""
    for _ in range(2):
        revoke(ca, ca.issue_new()["serial"], "keyCompromise")
    with ca.db() as conn:  # the store as revision 0006 left it
        conn.execute("drop table revocation_counts")
        conn.execute("update alembic_version set version_num = '0006'")

    upgraded = ca.ok("--json", "db", "upgrade").json()
    with ca.db() as conn:
        after_upgrade = dict(conn.execute("select ca, revoked from revocation_counts").fetchall())
    revoke(ca, ca.issue_new()["serial"], "superseded")

    assert (upgraded["from"], upgraded["to"]) == ("0006", migrations.HEAD)
    assert after_upgrade == {ROOT: 0, ISSUING: 2}
    with ca.db() as conn:
        assert dict(conn.execute("select ca, revoked from revocation_counts").fetchall()) == {ROOT: 0, ISSUING: 3}
    assert "on no CRL" not in ca.ok("cert", "list").stderr  # every one of them is on the CRL each revocation issued
