"""Schema migrations: the migrated schema is the code's, a store made before migrations is stamped at the
baseline (not refused, not changed), a store newer than the code is refused, and `db status`/`db upgrade`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from s1spki.store import migrations
from s1spki.store import schema as t
from s1spki.store.writer import Store
from s1spki.values.clock import Clock
from tests.conftest import CaHome


def test_the_migrated_schema_is_the_one_the_code_uses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store.create(f"sqlite:///{tmp_path / 'new.db'}", Clock(), "home")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
        assert migrations.current_revision(conn) == migrations.HEAD
    store.dispose()


def test_the_head_is_the_newest_revision_carried() -> None:
    assert migrations.known_revisions()[-1] == migrations.HEAD
    assert migrations.known_revisions()[0] == migrations.BASELINE


def test_a_store_made_before_migrations_is_stamped_and_keeps_working(ca: CaHome) -> None:
    with ca.db() as conn:  # as a home made by the first release: no revision recorded
        conn.execute("drop table alembic_version")
    before = ca.snapshot()
    audit_before = len(ca.audit())

    status = ca.ok("--json", "db", "status").json()

    assert status == {"revision": migrations.BASELINE, "head": migrations.HEAD, "up_to_date": True}
    after = ca.snapshot()
    assert after.pop("alembic_version") == [(migrations.BASELINE,)]
    assert after == {k: v for k, v in before.items()}
    assert len(ca.audit()) == audit_before
    ca.issue_new()
    ca.ok("audit", "verify")


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
    upgraded = ca.ok("--json", "db", "upgrade").json()
    assert upgraded == {"from": migrations.HEAD, "to": migrations.HEAD, "upgraded": False}
    engine = sa.create_engine(f"sqlite:///{ca.home / 's1spki.db'}")
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.HEAD
    engine.dispose()
