"""A long-running EST server outlives its faults: the token folder moved away and back, the SQLite database
locked. Meanwhile it answers 503 with Retry-After; afterwards it recovers by itself, without a restart (the time
it took is printed, not asserted: speed is scripts/bench's). And it says what a request left undone as a command
says it."""

from __future__ import annotations

import json
import sqlite3
import time

from tests.conftest import CaHome
from tests.est.conftest import authorise, openssl_csr, start_server, stop_server

PKCS10 = ["-H", "Content-Type: application/pkcs10"]
ROUNDS = 4  # workers each see the fault: more requests than workers


def test_the_token_moved_away_and_back_under_a_running_server(ca: CaHome) -> None:
    est = start_server(ca, workers=3)
    tokens = ca.home / "softhsm" / "tokens"
    away = tokens.with_name("tokens.away")
    try:
        authorisation, secret = authorise(ca)
        _, csr = openssl_csr(ca, "during")
        enrol = ["-u", f"{authorisation}:{secret.read_text().strip()}", "--data-binary", f"@{csr}", *PKCS10]
        before = [est.curl("/health")[0] for _ in range(ROUNDS)]

        tokens.rename(away)
        during = [est.curl("/health") for _ in range(ROUNDS)]
        enrol_during = est.curl("simpleenroll", *enrol)
        away.rename(tokens)
        back_at = time.monotonic()
        recovered_after, answers = None, []
        while time.monotonic() - back_at < 30 and len(answers) < 300:  # bounded in count and time
            answers.append(est.curl("/health")[0])
            if answers[-ROUNDS:] == [200] * ROUNDS:
                recovered_after = time.monotonic() - back_at
                break
        enrol_after = est.curl("simpleenroll", *enrol)
    finally:
        if away.exists() and not tokens.exists():
            away.rename(tokens)
        stop_server(est)

    print(f"\ntoken back: every worker healthy after {recovered_after} s ({len(answers)} requests)")
    assert before == [200] * ROUNDS
    assert [status for status, _, _ in during] == [503] * ROUNDS, during
    assert all("retry-after: 5" in raw.lower() for _, _, raw in during)
    assert enrol_during[0] == 503, enrol_during
    assert recovered_after is not None, answers
    assert enrol_after[0] == 200, enrol_after
    records = [r for r in ca.audit() if r["event"] == "est.enroll"]
    assert [r["outcome"] for r in records][-1] == "ok"
    assert ca.ok("audit", "verify").code == 0


def test_a_locked_database_is_answered_503_and_then_served_again(ca: CaHome) -> None:
    est = start_server(ca, workers=2)
    lock = sqlite3.connect(ca.home / "s1spki.db", timeout=5, isolation_level=None)
    try:
        authorisation, secret = authorise(ca)
        _, csr = openssl_csr(ca, "locked")
        enrol = ["-u", f"{authorisation}:{secret.read_text().strip()}", "--data-binary", f"@{csr}", *PKCS10]
        lock.execute("BEGIN EXCLUSIVE")  # another writer holds the database past the store's busy timeout
        locked = est.curl("simpleenroll", *enrol)
        lock.execute("ROLLBACK")
        released = time.monotonic()
        after = est.curl("simpleenroll", *enrol)
        took = time.monotonic() - released
    finally:
        lock.close()
        stop_server(est)

    print(f"\ndatabase released: the next enrolment answered in {took:.2f} s")
    assert locked[0] == 503 and "retry-after" in locked[2].lower(), locked
    assert after[0] == 200, after


def test_revocations_left_off_a_crl_are_said_in_the_log_and_listed_by_the_next_enrolment(ca: CaHome) -> None:
    """After each request the server says what is left undone, as a command does: revocations on no CRL yet are
    said as that, not as a checkpoint's problem; and a request that changes the store (an enrolment) issues that
    CRL at its end, as a command of the CLI does."""
    issued = ca.issue_new()
    killed = ca.run("cert", "revoke", str(issued["id"]), "--reason", "keyCompromise", "--as", "dave",
                    env={"S1SPKI_TEST_KILL_AT": "revocation-recorded"}, seams=True)
    assert killed.code == -9, str(killed)
    later = {"S1SPKI_TEST_CLOCK_SHIFT": str(10 * 60)}  # past the time the revocation's own command could take
    authorisation, secret = authorise(ca)
    _, csr = openssl_csr(ca, "after-the-revocation")
    server = start_server(ca, seams=True, env=later)  # its health check is a request: the warning follows it
    try:
        deadline = time.monotonic() + 30
        while "on no CRL yet" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        said = [line for line in server.log_text().splitlines() if "on no CRL yet" in line]
        enrolled = server.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}",
                               "--data-binary", f"@{csr}", *PKCS10)
    finally:
        stop_server(server)
    assert said and all("revocation of" in line and "audit checkpoint" not in line for line in said), said
    assert enrolled[0] == 200, enrolled
    [completed] = [r for r in ca.audit() if r["event"] == "crl.issue" and r["actor"] == "s1spki"]
    assert completed["outcome"] == "ok" and issued["serial"] in json.loads(completed["details"])["cause"], completed
    shown = ca.ok("cert", "show", str(issued["id"]), env=later, seams=True)
    assert "on no CRL yet" not in shown.stderr, str(shown)
    assert ca.ok("audit", "verify").code == 0


def test_rapp_edited_under_a_running_server_is_refused_until_put_back(ca: CaHome) -> None:
    """A worker loads policy/ and rapp/ once for each version of their files (values/datafile.py loaded_once): an
    edit made while it serves, not adopted, refuses its next enrolment; the files put back, it serves again."""
    est = start_server(ca, workers=1)  # one worker: the one that loaded the files before the edit serves after it
    operations = ca.home / "rapp" / "operations.toml"
    adopted = operations.read_text()
    try:
        def enrol(name: str) -> tuple[int, str, str]:
            authorisation, secret = authorise(ca)
            _, csr = openssl_csr(ca, name)
            return est.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}", "--data-binary",
                            f"@{csr}", *PKCS10)

        before = enrol("before")
        authorisation, secret = authorise(ca)
        _, csr = openssl_csr(ca, "edited")
        operations.write_text(adopted + "\n# one byte more than was adopted\n")
        edited = est.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}", "--data-binary",
                          f"@{csr}", *PKCS10)
        operations.write_text(adopted)
        after = enrol("after")
    finally:
        operations.write_text(adopted)
        stop_server(est)

    assert before[0] == 200 and after[0] == 200, (before, after)
    assert edited[0] != 200 and "rapp/operations.toml" in edited[1] and "not what was adopted" in edited[1], edited
