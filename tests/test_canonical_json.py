"""The canonical JSON of records and statements (docs/canonical-json.md) is RFC 8785's, byte for byte, over
the values our records hold: checked against an independent implementation."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import rfc8785

from s1spki.values.canonical import canonical_json
from tests.conftest import CaHome

# Characters records may hold: controls, quotes and backslashes, Latin, BMP and astral code points, and the
# ones JSON encoders disagree on (DEL, U+2028/U+2029, U+FEFF, bidi overrides).
ALPHABET = ["\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", '"', "\\", "/", "\x7f", "a", "Z", " ", "é",
            "ß", "€", "\u2028", "\u2029", "\ufeff", "\u202e", "中", "😀", "𝕏"]
KEY_ALPHABET = [chr(c) for c in range(0x20, 0x7f)]


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))
    if kind == 1:
        return rng.choice([0, 1, -1, 7, 2**31, -(2**31), 2**53 - 1, -(2**53 - 1), rng.randrange(-10**12, 10**12)])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {"".join(rng.choice(KEY_ALPHABET) for _ in range(rng.randrange(1, 8))): _value(rng, depth + 1)
            for _ in range(rng.randrange(5))}


@pytest.mark.parametrize("seed", range(20))
def test_canonical_json_is_rfc8785_over_record_values(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        value = {"details": _value(rng, 0), "seq": rng.randrange(1, 10**9), "statements": [_value(rng, 1)]}
        assert canonical_json(value) == rfc8785.dumps(value), value


def test_the_escapes_written_down_are_the_ones_made() -> None:
    assert canonical_json({"b": "\x1f\n\"\\/\u2028😀", "a": [True, None, -3]}) == \
        '{"a":[true,null,-3],"b":"\\u001f\\n\\"\\\\/\u2028😀"}'.encode()


def test_the_records_of_a_real_ca_home_are_rfc8785(ca: CaHome) -> None:
    ca.issue_new(cn="Zoë")  # a request, an approval and an issuance too
    records = ca.audit()
    assert len(records) > 20
    for record in records:
        value = {key: record[key] for key in record if key not in ("prev_hash", "hash")}
        value["details"] = json.loads(record["details"])
        value["statements"] = json.loads(record["statements"])
        assert canonical_json(value) == rfc8785.dumps(value)
        for statement in value["statements"]:
            assert canonical_json(statement["body"]) == rfc8785.dumps(statement["body"])
