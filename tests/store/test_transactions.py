"""The store's transactions on real SQLite and PostgreSQL: readers never hold the write lock; writers serialise."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

from s1spki.audit.record import AuditEvent
from s1spki.store import Store
from s1spki.values.clock import Clock


class SoftwareKey:
    """What the HSM's record key does, in software: these tests are about transactions, not authenticators
    (those are tested through the CLI with SoftHSM)."""

    def __init__(self) -> None:
        self._key = os.urandom(32)

    def mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def given(self, data: bytes) -> str | None:
        return None  # nothing kept: every check asks


KEY = SoftwareKey()
pytestmark = pytest.mark.both_engines


def test_an_open_read_does_not_block_a_writer_and_keeps_its_snapshot(store_url: str) -> None:
    first = Store.create(store_url, Clock(), "home", KEY)
    second = Store.open(store_url, Clock(), KEY)
    try:
        with first.reader.audit_snapshot() as snapshot:
            before = snapshot.head()
            records = len(list(snapshot.rows()))
            # another process (here: another engine) records a change while the read is open
            with second.change(AuditEvent("org.register", "carol", "ra_manager")) as tx:
                tx.add_organisation("Acme", ["90B3D51F30010000"], ["supplier"])
            assert snapshot.head() == before and len(list(snapshot.rows())) == records
        assert first.reader.audit_count() == before[0] + 1
        assert [o.name for o in first.reader.organisations()] == ["Acme"]
    finally:
        first.dispose()
        second.dispose()


def test_a_new_request_record_names_the_request_it_created(store_url: str) -> None:
    store = Store.create(store_url, Clock(), "home", KEY)
    with store.change(AuditEvent("org.register", "carol", "ra_manager", object_type="organisation")) as tx:
        tx.object_id = "Acme"
        tx.add_organisation("Acme", ["90B3D51F30010000"], ["supplier"])
    assert store.reader.audit_records()[-1]["object_id"] == "Acme"
    store.dispose()


def test_one_read_is_one_snapshot_on_either_engine(store_url: str) -> None:
    """The reads a judgement makes in `one_read()` see the store at one moment: a change another process commits
    meanwhile is not half seen (PostgreSQL's default isolation would show it to the next statement)."""
    first = Store.create(store_url, Clock(), "home", KEY)
    second = Store.open(store_url, Clock(), KEY)
    try:
        with first.one_read():
            assert first.reader.organisation("Acme") is None
            with second.change(AuditEvent("org.register", "carol", "ra_manager")) as tx:
                tx.add_organisation("Acme", ["90B3D51F30010000"], ["supplier"])
            assert first.reader.organisation("Acme") is None and first.reader.audit_count() == 0
        assert first.reader.organisation("Acme") is not None
    finally:
        first.dispose()
        second.dispose()
