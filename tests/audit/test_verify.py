"""verify_chain on synthetic chains: a clean chain verifies, and each kind of tampering is found and named
at the right record."""

from __future__ import annotations

from typing import Any

import pytest

from s1spki.audit.checkpoint import Checkpoint
from s1spki.audit.verify import (
    ALTERED,
    BAD_CHECKPOINT,
    INSERTED,
    MISSING,
    OUT_OF_ORDER,
    ROLLED_BACK,
    TRUNCATED,
    Problem,
    Verdict,
    verify_chain,
)
from tests.audit.factory import HOME_ID, Signer, chain, event, links, rechain, rehash, row_for

N = 40


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def check(rows: list[Any], signer: Signer, checkpoints: list[Checkpoint] = (), end: Any = "auto",
          **kwargs: Any) -> Verdict:
    if end == "auto":
        end = (rows[-1][0], rows[-1][2]) if rows else (0, "")
    return verify_chain(links(rows), trusted=signer.trusted, home_id=HOME_ID, checkpoints=checkpoints, end=end,
                        **kwargs)


def problem(verdict: Verdict) -> Problem:
    assert not verdict.ok, verdict
    first = verdict.first_problem
    assert first is not None
    return first


@pytest.fixture(scope="module")
def rows() -> list[Any]:
    return chain(N)


def cps(rows: list[Any], signer: Signer, at: tuple[int, ...] = (10, 20, 30, N), source: str = "file"
        ) -> list[Checkpoint]:
    return [signer.checkpoint(rows[s - 1], source) for s in at]


def test_a_clean_chain_verifies(rows: list[Any], signer: Signer) -> None:
    verdict = check(rows, signer, cps(rows, signer) + cps(rows, signer, source="db"))
    assert verdict.ok, verdict.problems
    assert (verdict.records, verdict.first_seq, verdict.last_seq, verdict.last_hash) == (N, 1, N, rows[-1][2])
    assert verdict.checkpoints == 4 and verdict.covered_to == N and verdict.warnings == ()


def test_a_stretch_verifies_from_the_hash_before_it(rows: list[Any], signer: Signer) -> None:
    part = rows[9:25]
    verdict = verify_chain(links(part), trusted=signer.trusted, home_id=HOME_ID, start_seq=10, start_hash=rows[8][2],
                           end=(25, rows[24][2]), checkpoints=cps(rows, signer, (10, 20)))
    assert verdict.ok and verdict.records == 16 and verdict.covered_to == 20
    assert "5 record(s) after the last signed checkpoint (record 20)" in verdict.warnings[0]


def test_a_changed_field_is_altered(rows: list[Any], signer: Signer) -> None:
    bad = list(rows)
    bad[16] = bad[16][:13] + ('{"i":17,"text":"changed"}',) + bad[16][14:]
    assert problem(check(bad, signer)) == Problem(17, ALTERED, "its content does not match its hash")


def test_a_changed_record_with_its_hash_recomputed_is_altered(rows: list[Any], signer: Signer) -> None:
    bad = list(rows)
    bad[16] = rehash(bad[16][:4] + ("mallory",) + bad[16][5:])
    found = problem(check(bad, signer))
    assert (found.seq, found.kind) == (17, ALTERED), found


def test_a_rewritten_tail_is_caught_by_the_checkpoint(rows: list[Any], signer: Signer) -> None:
    changed = rehash(rows[21][:4] + ("mallory",) + rows[21][5:])
    bad = rows[:21] + [changed] + rechain(rows[22:], changed[2])
    assert check(bad, signer).ok  # without checkpoints the rewritten chain is self-consistent
    found = problem(check(bad, signer, cps(rows, signer)))
    assert (found.seq, found.kind) == (21, ALTERED), found  # after checkpoint 20, the last that still matches
    assert "checkpoint 30" in found.detail


def test_a_changed_prev_hash_is_altered(rows: list[Any], signer: Signer) -> None:
    bad = list(rows)
    bad[5] = bad[5][:1] + ("f" * 64,) + bad[5][2:]
    assert problem(check(bad, signer)) == Problem(6, ALTERED, "its prev_hash field was changed")


def test_a_deleted_record_is_missing(rows: list[Any], signer: Signer) -> None:
    found = problem(check(rows[:12] + rows[13:], signer))
    assert (found.seq, found.kind) == (13, MISSING), found
    found = problem(check(rows[1:], signer))
    assert (found.seq, found.kind) == (1, MISSING), found
    found = problem(check(rows[:12] + rows[15:], signer))
    assert (found.seq, found.kind) == (13, MISSING) and "13 to 15" in found.detail, found


def test_a_forged_record_inserted_beside_the_real_one_is_inserted(rows: list[Any], signer: Signer) -> None:
    forged = row_for(13, rows[11][2], event(99))
    found = problem(check(rows[:12] + [forged] + rows[12:], signer))
    assert (found.seq, found.kind) == (13, INSERTED), found
    assert forged[2][:16] in found.detail  # the intruder, not the real record 13


def test_a_forged_record_inserted_with_the_rest_renumbered_is_inserted(rows: list[Any], signer: Signer) -> None:
    forged = row_for(13, rows[11][2], event(99))
    shifted = [r[:1] and (r[0] + 1,) + r[1:] for r in rows[12:]]
    found = problem(check(rows[:12] + [forged] + shifted, signer, end=(N + 1, rows[-1][2])))
    assert (found.seq, found.kind) == (13, INSERTED), found


def test_a_copied_record_is_inserted(rows: list[Any], signer: Signer) -> None:
    found = problem(check(rows[:12] + [rows[11]] + rows[12:], signer))
    assert (found.seq, found.kind) == (12, INSERTED), found
    found = problem(check(rows[:20] + [rows[4]] + rows[20:], signer))
    assert (found.seq, found.kind) == (5, INSERTED), found


def test_two_records_swapped_are_out_of_order(rows: list[Any], signer: Signer) -> None:
    found = problem(check(rows[:8] + [rows[9], rows[8]] + rows[10:], signer))
    assert (found.seq, found.kind) == (9, OUT_OF_ORDER), found
    found = problem(check(rows[:8] + [rows[12]] + rows[9:12] + [rows[8]] + rows[13:], signer))
    assert (found.seq, found.kind) == (9, OUT_OF_ORDER), found


def test_contents_swapped_under_their_seq_numbers_are_out_of_order(rows: list[Any], signer: Signer) -> None:
    # what swapping two rows' content in the database (keeping the seq column) looks like
    a, b = rows[8], rows[9]
    bad = rows[:8] + [(a[0],) + b[1:], (b[0],) + a[1:]] + rows[10:]
    found = problem(check(bad, signer))
    assert (found.seq, found.kind) == (9, OUT_OF_ORDER), found


def test_a_cut_tail_is_truncated(rows: list[Any], signer: Signer) -> None:
    found = problem(check(rows[:35], signer, end=(N, rows[-1][2])))
    assert (found.seq, found.kind) == (36, TRUNCATED), found
    # the head was covered up too, but the database's own checkpoint names a later record
    found = problem(check(rows[:35], signer, cps(rows, signer, source="db")))
    assert (found.seq, found.kind) == (36, TRUNCATED), found


def test_an_older_database_is_rolled_back(rows: list[Any], signer: Signer) -> None:
    # the database is an older consistent copy; only the file outside it knows of later records
    older = rows[:25]
    found = problem(check(older, signer, cps(rows, signer) + cps(older, signer, (10, 20), "db")))
    assert (found.seq, found.kind) == (26, ROLLED_BACK), found


def test_an_older_database_written_on_is_rolled_back(rows: list[Any], signer: Signer) -> None:
    older = rows[:25]
    later = chain(15, start=26, prev=older[-1][2], offset=1000)  # another history from record 26 on
    forked = older + later
    checkpoints = cps(rows, signer) + cps(forked, signer, (10, 20, N), "db") + cps(forked, signer, (N,))
    found = problem(check(forked, signer, checkpoints))
    assert (found.seq, found.kind) == (30, ROLLED_BACK), found


def test_an_altered_checkpoint_signature_is_bad(rows: list[Any], signer: Signer) -> None:
    good = cps(rows, signer)
    forged = Checkpoint(good[1].seq, good[1].hash, good[1].at, good[1].home_id, good[1].signer,
                        good[1].signature[:-2] + bytes([good[1].signature[-2] ^ 1]) + good[1].signature[-1:])
    found = problem(check(rows, signer, [good[0], forged, *good[2:]]))
    assert (found.seq, found.kind) == (20, BAD_CHECKPOINT), found


def test_checkpoints_of_another_key_or_home_are_bad(rows: list[Any], signer: Signer) -> None:
    other = Signer()
    found = problem(check(rows, signer, [other.checkpoint(rows[9])]))
    assert (found.seq, found.kind) == (10, BAD_CHECKPOINT) and "not a trusted" in found.detail
    found = problem(check(rows, signer, [signer.checkpoint(rows[9], home_id="another-home")]))
    assert (found.seq, found.kind) == (10, BAD_CHECKPOINT) and "another-home" in found.detail


def test_the_first_problem_is_the_first_bad_record(rows: list[Any], signer: Signer) -> None:
    bad = list(rows)
    bad[30] = bad[30][:4] + ("mallory",) + bad[30][5:]
    bad = bad[:5] + bad[6:]
    verdict = check(bad, signer)
    assert verdict.first_problem is not None and verdict.first_problem.seq == 6


def test_without_an_audit_key_the_chain_is_still_checked(rows: list[Any]) -> None:
    verdict = verify_chain(links(rows), trusted={}, home_id=HOME_ID, end=(N, rows[-1][2]))
    assert verdict.ok and verdict.warnings == ("no checkpoints are signed: this CA home has no audit key",)
    bad = rows[:3] + rows[4:]
    assert problem(verify_chain(links(bad), trusted={}, home_id=HOME_ID)).kind == MISSING
