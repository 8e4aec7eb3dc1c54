"""The bytes verification hashes are exactly those the store hashed when it wrote the record."""

from __future__ import annotations

import json

import pytest

from s1spki.audit.chain import COLUMNS, NULLABLE, link_hash, record_bytes
from s1spki.audit.export_format import CSV_HEADER, csv_row, export_line
from s1spki.audit.record import GENESIS_HASH, AuditEvent, chain_hash, hashed_fields
from s1spki.store import schema
from s1spki.store.reader import AuditSnapshot
from s1spki.values.canonical import canonical_json
from tests.audit.factory import chain, event, row_for

ODD = [
    AuditEvent("x", "", "", details={}, statements=()),
    AuditEvent("cert.issue", "carol+dave", "ra_manager+ra_officer", object_type="request", object_id="7",
               details={"z": [1, 2.5, None, True], "a": {"ü": "\u2028\u0000\"\\/"}, "é": "日本"},
               statements=({"operator": "carol", "body": {"b": 1, "a": [{"y": 2, "x": 1}]}},)),
    AuditEvent("emoji 🔐", "o'brien", "r\"q", outcome="error", object_id="", policy_hash="", rapp_hash=None),
]


@pytest.mark.parametrize("node_id", [None, "node-2"])
@pytest.mark.parametrize("ev", ODD)
def test_assembled_bytes_are_the_canonical_json_the_hash_covers(ev: AuditEvent, node_id: str | None) -> None:
    row = row_for(3, GENESIS_HASH, ev, at="2026-11-28T17:38:53.123456Z", node_id=node_id)
    body = record_bytes(row)
    assert body == canonical_json(hashed_fields(3, row[3], ev, node_id))
    assert link_hash(GENESIS_HASH, body) == chain_hash(GENESIS_HASH, hashed_fields(3, row[3], ev, node_id)) == row[2]
    # the original node's record hashes as records did before nodes: no node_id field (and a row without the
    # column reads the same); another node's id is covered by the hash
    assert (b'"node_id"' in body) == (node_id is not None)
    if node_id is None:
        assert record_bytes(row[:-1]) == body
    else:
        assert link_hash(GENESIS_HASH, record_bytes((*row[:-1], "node-3"))) != row[2]


def test_columns_are_the_stored_audit_columns() -> None:
    assert COLUMNS == AuditSnapshot.COLUMNS
    # the authenticator is stored beside the record, not in what its hash covers (store/sealing.py)
    stored = {c.name for c in schema.audit.columns} - {"mac"}
    assert set(COLUMNS) == stored
    assert set(NULLABLE) == {c.name for c in schema.audit.columns if c.nullable and c.name in stored}


def test_a_row_that_cannot_be_a_record_gives_no_bytes() -> None:
    row = list(row_for(1, GENESIS_HASH, event(1)))
    for index, bad in ((0, "1"), (4, None), (13, None), (14, 5)):
        broken = list(row)
        broken[index] = bad
        assert record_bytes(broken) is None, (index, bad)


def test_an_export_line_is_canonical_json_of_its_record() -> None:
    for row in chain(20):
        line = export_line(row)
        data = json.loads(line)
        assert canonical_json(data) + b"\n" == line
        assert canonical_json(data["record"]) == record_bytes(row)
        assert (data["seq"], data["hash"], data["prev_hash"]) == (row[0], row[2], row[1])


def test_a_csv_row_keeps_nulls_apart_from_empty_strings() -> None:
    ev = AuditEvent("x", "a", "", object_type=None, object_id="", policy_hash="", rapp_hash=None)
    cells = csv_row(row_for(1, GENESIS_HASH, ev))
    assert len(cells) == len(CSV_HEADER)
    assert cells[-1] == "object_type rapp_hash node_id"
