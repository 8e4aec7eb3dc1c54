"""Two online nodes of one CA on one PostgreSQL database and one HSM, made through the real CLI as an operator
would (README, "Several nodes on PostgreSQL"): a database of its own in the test cluster (S1SPKI_TEST_PG), its
URL with a password in a 0600 file, node 1 made with `init --database-url-file` and the issuing ceremony (the
template's root home signs), node 2 joined with `init --join` under two key custodians, its SoftHSM config
pointing at node 1's token directory (standing in for a network HSM). Built once per module: CLI calls are
what a test costs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ACME, ACME_ARO, ACME_EUI, ACME_SRO, CaHome, copy_home
from tests.est.conftest import HOST, free_port
from tests.support.disks import small_disk  # noqa: F401 - a fixture of these tests
from tests.support.pgcluster import URL_VARIABLE

# a password in the URL: the test cluster trusts its socket and ignores it, but it must never reach s1spki.toml,
# an error or an audit record
PASSWORD = f"pw-{uuid.uuid4().hex[:12]}"


def pg_url() -> str:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{URL_VARIABLE} is not set: scripts/test starts a PostgreSQL cluster for these tests")
        pytest.skip(f"{URL_VARIABLE} is not set (scripts/test starts a PostgreSQL cluster)")
    return url


def new_database(server: str) -> str:
    """A fresh database in the test cluster; its URL (with PASSWORD as the user's password)."""
    name = f"nodes_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    made = sa.engine.make_url(server).set(database=name, password=PASSWORD)
    return made.render_as_string(hide_password=False)


@dataclass
class Nodes:
    one: CaHome
    two: CaHome
    url: str  # the database's URL, password included
    url_file: Path

    def psql(self, sql: str) -> list[tuple[object, ...]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql)]
        finally:
            engine.dispose()


def _org(home: CaHome) -> None:
    steps = [
        ["org", "register", ACME, "--eui64", ACME_EUI, "--role", "supplier", "--as", "carol"],
        ["org", "sro", "add", ACME, ACME_SRO, "--identity-evidence", "passport seen", "--authority-evidence",
         "board minute", "--as", "dave"],
        ["org", "aro", "add", ACME, ACME_ARO, "--nominated-by", ACME_SRO, "--nomination-evidence", "letter",
         "--as", "dave"],
        ["org", "aro", "verify", ACME, ACME_ARO, "--check", "identity", "--evidence", "photo ID", "--as", "dave"],
        ["org", "aro", "verify", ACME, ACME_ARO, "--check", "screening", "--evidence", "BS 7858 file", "--as", "dave"],
    ]
    for step in steps:
        home.ok(*step)


@pytest.fixture(scope="module")
def nodes(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    url = new_database(pg_url())
    base = tmp_path_factory.mktemp("nodes")
    work = base / "work"
    work.mkdir()
    secrets = base / "secrets"
    secrets.mkdir(mode=0o700)
    url_file = secrets / "database.url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o600)
    root = CaHome(copy_home(ca_template / "root", base / "root"), work)
    one = CaHome(base / "node1", work, root)
    # the operators' credentials (made for the template), kept beside node 1
    shutil.copytree(ca_template / "home" / "credentials", one.home / "credentials")
    cred = one.home / "credentials"
    root_pem = ca_template / "root.pem"
    one.ok("init", "--softhsm", "--database-url-file", str(url_file), "--est-listen", f"{HOST}:{free_port()}",
           "--root-cert", str(root_pem), "--root-fingerprint", (ca_template / "root.sha256").read_text(),
           "--custodian", f"alice={cred / 'alice.pub.pem'}", "--custodian", f"bob={cred / 'bob.pub.pem'}",
           "--ra-manager", f"carol={cred / 'carol.pub.pem'}")
    one.ok("operator", "add", "dave", "--role", "ra_officer", "--public-key", str(cred / "dave.pub.pem"),
           "--as", "carol", "--as", "alice")
    one.ok("operator", "add", "fred", "--role", "auditor", "--public-key", str(cred / "fred.pub.pem"),
           "--as", "alice", "--as", "bob")
    one.new_issuing()
    _org(one)
    made = Nodes(one, CaHome(base / "node2", work, root), url, url_file)
    made.two.ok(*join_args(made, "--as", "alice", "--as", "bob", "--est-listen", f"{HOST}:{free_port()}"))
    yield made


def join_args(nodes: Nodes, *extra: str) -> list[str]:
    """`init --join` of node 2 against node 1's store and token (node 1's PIN files, as a shared HSM's PINs)."""
    one = nodes.one.home
    return ["init", "--join", "--database-url-file", str(nodes.url_file), "--softhsm-token-dir",
            str(one / "softhsm" / "tokens"), "--pin-file", str(one / "secrets" / "hsm-user.pin"),
            "--audit-pin-file", str(one / "secrets" / "audit-user.pin"), "--credentials", str(one / "credentials"),
            *extra]
