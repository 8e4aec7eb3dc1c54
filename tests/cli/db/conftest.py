"""A CA home on a PostgreSQL database of its own, in the cluster the test scripts start (S1SPKI_TEST_PG).

Its database URL carries a password and reaches s1spki only through the environment variable that s1spki.toml
names ([database] url_env), as a deployment with a password would; the test cluster trusts local connections,
so the password is never needed, only watched for: it must never be printed or put on a command line.
Under CI=true a missing S1SPKI_TEST_PG fails the test; elsewhere it skips, saying why.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PEOPLE, CaHome, Result, pinned_root, run_s1spki

URL_ENV = "S1SPKI_BACKUP_TEST_DB_URL"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The cluster's URL (asked first, so that a missing server fails or skips before any home is built)."""
    url = os.environ.get("S1SPKI_TEST_PG")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("S1SPKI_TEST_PG is not set: under CI the PostgreSQL tests must run (scripts/test starts a cluster)")
    pytest.skip("S1SPKI_TEST_PG is not set: no PostgreSQL server to test against (scripts/test starts one)")


class PgHome(CaHome):
    """A CA home on PostgreSQL: `url` (with its password) is handed to every command in URL_ENV."""

    def __init__(self, home: Path, work: Path, url: str, password: str) -> None:
        super().__init__(home, work)
        self.url = url
        self.password = password

    def run(self, *args: str, env: dict[str, str] | None = None, seams: bool = False) -> Result:
        return run_s1spki(self.home, *args, env={URL_ENV: self.url, **(env or {})}, seams=seams)

    def psql_url(self) -> str:
        """The database as libpq names it (for pg_restore and psql), without the password."""
        url = sa.make_url(self.url)
        return f"postgresql:///{url.database}?host={url.query['host']}&user={url.username}"


@pytest.fixture
def pg_home(pg_server: str, ca_template: Path, tmp_path: Path) -> Iterator[PgHome]:
    """An online home on a new PostgreSQL database: its custodians and RA manager (init), and erin, a CA
    administrator; the operators' credentials are the template's."""
    base = sa.make_url(pg_server)
    name = f"backup_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    password = f"pw-{secrets.token_hex(12)}"
    url = base.set(database=name, password=password).render_as_string(hide_password=False)
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "pghome"
    shutil.copytree(ca_template / "home" / "credentials", home / "credentials")
    pg = PgHome(home, work, url, password)
    people = [a for person, kind in PEOPLE.items()
              for a in ("--custodian" if kind == "custodian" else "--ra-manager",
                        f"{person}={home / 'credentials' / f'{person}.pub.pem'}")]
    plain = base.set(database=name).render_as_string(hide_password=False)
    pg.ok("init", "--softhsm", "--database-url", plain, *pinned_root(ca_template), *people)
    config = home / "s1spki.toml"
    config.write_text(re.sub(r'(?m)^url = ".*"$', f'url_env = "{URL_ENV}"', config.read_text()))
    pg.ok("operator", "add", "erin", "--role", "ca_administrator", "--public-key",
          str(home / "credentials" / "erin.pub.pem"), "--as", "alice", "--as", "bob")
    try:
        yield pg
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
