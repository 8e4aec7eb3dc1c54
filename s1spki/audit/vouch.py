"""Vouching for records before a checkpoint signs them: each record of a stretch links to the one before,
matches its hash, carries an authenticator that the HSM's record key confirms, and its operators'
statements verify under the keys the trail registered for them. A checkpoint is signed only over records
vouched for this way, so a record a database writer added or changed is never signed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from s1spki.audit.chain import COLUMNS, link_hash, record_bytes
from s1spki.audit.problems import ALTERED, BAD_STATEMENT, INSERTED, UNAUTHENTICATED, Problem
from s1spki.audit.registrations import RegisteredKeys
from s1spki.audit.statements import SignedStatement, verify_statement

# confirms a record's authenticator: (seq, record hash, stored authenticator or None) -> True when the HSM agrees
Confirm = Callable[[int, str, str | None], bool]


def vouch(rows: Iterable[Sequence[Any]], start_seq: int, start_hash: str, confirm: Confirm,
          keys: RegisteredKeys) -> list[Problem]:
    """Problems with records `start_seq`.. given as rows in chain.COLUMNS order plus the authenticator last;
    `start_hash` is the hash of the record before the first (as a verified checkpoint says)."""
    problems: list[Problem] = []
    prev, expected = start_hash, start_seq
    for row in rows:
        seq, prev_hash, digest, mac = row[0], row[1], row[2], row[-1]
        body = record_bytes(row[:-1])
        if seq != expected or prev_hash != prev or body is None or link_hash(prev, body) != digest:
            problems.append(Problem(seq, ALTERED if seq == expected else INSERTED,
                                    "it does not link to the record before it or does not match its hash"))
            break
        if not confirm(seq, digest, mac):
            problems.append(Problem(seq, UNAUTHENTICATED, "its authenticator is missing or is not the HSM's: it "
                                    "was not written by s1spki"))
        problems += _statements(seq, row[COLUMNS.index("statements")], keys)
        prev, expected = digest, seq + 1
    return problems


def _statements(seq: int, statements_json: str, keys: RegisteredKeys) -> list[Problem]:
    try:
        statements = json.loads(statements_json)
    except ValueError:
        return [Problem(seq, BAD_STATEMENT, "its statements are not JSON")]
    problems = []
    for record in statements:
        try:
            statement = SignedStatement.from_record(record)
            operator = statement.operator
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(seq, BAD_STATEMENT, "a statement is malformed"))
            continue
        key = keys.key_at(operator, seq)
        if key is None:
            problems.append(Problem(seq, BAD_STATEMENT, f"a statement names {operator!r}, whom the trail never "
                                    "registered"))
        elif not verify_statement(key, statement):
            problems.append(Problem(seq, BAD_STATEMENT, f"the statement by {operator!r} does not verify under the key "
                                    "the trail registered for them"))
    return problems
