"""A long-running process (an EST worker, a batch of issuances) checks the same rows again and again; its HSM
session keeps the token's answers for rows it has checked (hsm/connection.py Hsm.mac_given). What it keeps must
never let a database writer through: a row changed after it was checked, and an older version of a row put back
with its own seal after it was checked, are refused in that same process."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

from s1spki.command import Command, Operators
from s1spki.errors import IntegrityRefused
from s1spki.runtime import Runtime
from tests.conftest import ACME, ACME_ARO, CaHome

pytestmark = pytest.mark.both_engines


def _row(ca: CaHome, table: str, row_id: int) -> dict[str, object]:
    conn = ca.db()
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute(f"select * from {table} where id = ?", (row_id,)).fetchone())
    conn.close()
    return row


def _put_back(ca: CaHome, table: str, row: dict[str, object]) -> None:
    conn = ca.db()
    with conn:
        columns = ", ".join(f"{k} = ?" for k in row)
        conn.execute(f"update {table} set {columns} where id = ?", [*row.values(), row["id"]])
    conn.close()


def test_a_row_changed_after_it_was_checked_is_refused_in_the_same_process(ca: CaHome) -> None:
    runtime = Runtime(ca.home)
    try:
        cmd = Command(runtime, Operators(("carol",)))
        dave = runtime.store.reader.operator("dave")
        assert dave is not None
        cmd.trust("operators", dave.id, "operator dave")  # checked once: its HMAC is remembered
        row = _row(ca, "operators", dave.id)
        _put_back(ca, "operators", {**row, "roles": "ra_officer ra_manager"})  # a database writer grants a role

        with pytest.raises(IntegrityRefused, match="operators row .* does not match its authenticator"):
            cmd.trust("operators", dave.id, "operator dave")
    finally:
        runtime.close()


def test_an_older_version_put_back_after_it_was_checked_is_refused_in_the_same_process(ca: CaHome) -> None:
    request_id = int(ca.submit(ca.csr()).json()["id"])
    runtime = Runtime(ca.home)
    try:
        cmd = Command(runtime, Operators(("carol",)))
        cmd.trust("requests", request_id, f"request {request_id}")  # the submitted version, checked and remembered
        submitted = _row(ca, "requests", request_id)
        # the rejection's record reseals the request
        ca.ok("request", "reject", str(request_id), "--reason", "wrong EUI-64", "--as", "dave")
        assert _row(ca, "requests", request_id)["status"] == "rejected"
        _put_back(ca, "requests", submitted)  # the submitted version back, with its own (valid) seal

        with pytest.raises(IntegrityRefused, match="is an older version than audit record"):
            cmd.trust("requests", request_id, f"request {request_id}")
    finally:
        runtime.close()


def test_a_check_in_one_read_verifies_the_rows_its_reads_made_records_from(ca: CaHome) -> None:
    """Inside one read transaction, the seal check of a row the reader read (an organisation with its EUI-64s
    and roles, an officer with its verifications, a request) verifies that very read: it asks the database
    nothing more, and the record relied on is the row verified. Outside one, the check reads the row itself."""
    request_id = int(ca.submit(ca.csr()).json()["id"])
    runtime = Runtime(ca.home)
    statements: list[str] = []
    event.listen(runtime.store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        cmd = Command(runtime, Operators(("carol",)))
        with runtime.store.one_read():
            reader = runtime.store.reader
            org, aro = reader.organisation(ACME), reader.officer(ACME, "aro", ACME_ARO)
            request = reader.request(request_id)
            assert org is not None and aro is not None and request is not None
            statements.clear()
            cmd.trust("organisations", org.id, "organisation")
            cmd.trust("officers", aro.id, "ARO")
            cmd.trust("requests", request.id, "request")
            assert statements == []
        cmd.trust("organisations", org.id, "organisation")
        assert any("FROM organisations" in s for s in statements)
    finally:
        runtime.close()
