"""The bytes an audit record's hash covers, rebuilt from its stored columns without re-parsing JSON.

`record.hashed_fields` says which fields a record's hash covers and `chain_hash` hashes their
`canonical_json`. The `details` and `statements` columns are stored as canonical JSON text already, so
the canonical form of the whole record can be assembled from the columns as text, which is what lets a
verifier check hundreds of thousands of records a second. `tests/audit/test_chain.py` holds this to be
byte for byte what `canonical_json(hashed_fields(...))` gives.

A link is what verification needs of one record: `(seq, prev_hash, hash, body)`, where `body` is the
hashed bytes, or None when the stored record cannot even be assembled (a column of the wrong type).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from json.encoder import encode_basestring as _quote  # the string encoder of json.dumps(ensure_ascii=False)
from typing import Any

Link = tuple[int, str, str, bytes | None]

# The stored columns in the order a link is made from (store/schema.py `audit`).
# `node_id` comes last: the node that wrote the record (several nodes on one store), NULL for a record of the
# single original node, whose hashed fields then have no node_id at all (records written before nodes existed
# hash as they always did). A row without it (15 columns) is read as a record with none.
COLUMNS = ("seq", "prev_hash", "hash", "at", "actor", "actor_role", "event", "object_type", "object_id",
           "outcome", "correlation_id", "policy_hash", "rapp_hash", "details", "statements", "node_id")
# Columns that may be NULL; every other one holds a string (seq an integer).
NULLABLE = ("object_type", "object_id", "policy_hash", "rapp_hash", "node_id")

# canonical_json sorts keys: this is hashed_fields' key order, sorted ("node_id" sorts between "event" and
# "object_id", and is left out when it is NULL).
_TEMPLATE = ('{"actor":%s,"actor_role":%s,"at":%s,"correlation_id":%s,"details":%s,"event":%s,%s'
             '"object_id":%s,"object_type":%s,"outcome":%s,"policy_hash":%s,"rapp_hash":%s,"seq":%d,'
             '"statements":%s}')


def _nullable(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def record_bytes(row: Sequence[Any]) -> bytes | None:
    """The hashed bytes of a record given as a row in COLUMNS order; None if the row cannot be a record."""
    try:
        (seq, _prev, _hash, at, actor, actor_role, event, object_type, object_id, outcome, correlation_id,
         policy_hash, rapp_hash, details, statements, *rest) = row
        if len(rest) > 1:
            return None
        node_id = rest[0] if rest else None
        node = "" if node_id is None else f'"node_id":{_quote(node_id)},'
        text = _TEMPLATE % (_quote(actor), _quote(actor_role), _quote(at), _quote(correlation_id), details,
                            _quote(event), node, _nullable(object_id), _nullable(object_type), _quote(outcome),
                            _nullable(policy_hash), _nullable(rapp_hash), seq, statements)
        if not isinstance(details, str) or not isinstance(statements, str) or isinstance(seq, bool):
            return None
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return None


def link(row: Sequence[Any]) -> Link:
    """A stored row (COLUMNS order) as a link of the chain."""
    return (row[0], row[1], row[2], record_bytes(row))


# SQLite can assemble a record's bytes itself: json_object() quotes strings exactly as json.dumps does (with
# ensure_ascii=False) and keeps keys in the order given, here the sorted order; details and statements are
# stored as canonical JSON text already. That saves building a Python string per column, which is most of
# the cost of reading a record. A record whose bytes made this way do not match its hash is rebuilt by
# `record_bytes` before it is called altered, so this route can only ever cost time, never pass a changed
# record: two different values never quote to the same JSON. (rtrim/ltrim drop exactly the one brace that
# closes or opens each object: what precedes or follows it is a quoted string or a number.)
FAST_SQL = """
SELECT seq, prev_hash, hash, CAST(
    rtrim(json_object('actor', actor, 'actor_role', actor_role, 'at', at, 'correlation_id', correlation_id), '}')
    || ',"details":' || details || ','
    || ltrim(rtrim(json_object('event', event), '}'), '{')
    || CASE WHEN node_id IS NULL THEN '' ELSE ',"node_id":' || json_quote(node_id) END || ','
    || ltrim(rtrim(json_object('object_id', object_id, 'object_type', object_type,
                               'outcome', outcome, 'policy_hash', policy_hash, 'rapp_hash', rapp_hash,
                               'seq', seq), '}'), '{')
    || ',"statements":' || statements || '}' AS BLOB)
FROM audit WHERE seq BETWEEN :first AND :last ORDER BY seq
"""


def link_hash(prev_hash: str, body: bytes) -> str:
    """What `record.chain_hash` computes, from the hashed bytes."""
    return hashlib.sha256(prev_hash.encode("ascii", "replace") + body).hexdigest()
