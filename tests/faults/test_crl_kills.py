"""SIGKILL between a committed revocation and its CRL, and between a reserved cRLNumber and its CRL (SQLite).

The first leaves a certificate revoked in the store and on no CRL: a retried revocation says why it is refused and
what to run, `crl issue --if-due` issues the CRL at once and says why, and once the revocation is older than its own
command could be, every command warns and the next change on the home issues the CRL by itself. The second leaves
a cRLNumber reserved and never used, which `crl show --reserved` shows, as `cert list --reserved` shows serials."""

from __future__ import annotations

import signal

from cryptography import x509

from tests.cli.crl.helpers import ISSUING, current
from tests.conftest import ACME, ACME_ARO, ACME_EUI, CaHome, Result

KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)
# Later than a revocation's own command could still be at work on its CRL (store/records.py LEFT_BEHIND_AFTER)
LATER = {"S1SPKI_TEST_CLOCK_SHIFT": str(10 * 60)}


def _killed_revoking(ca: CaHome, certificate: dict[str, object]) -> None:
    killed = ca.run("cert", "revoke", str(certificate["id"]), "--reason", "keyCompromise", "--as", "dave",
                    env={"S1SPKI_TEST_KILL_AT": "revocation-recorded"}, seams=True)
    assert killed.code in KILLED, str(killed)


def _listed_serials(ca: CaHome, name: str) -> set[int]:
    listing = x509.load_pem_x509_crl(current(ca, ISSUING, name).read_bytes())
    return {entry.serial_number for entry in listing}


def _warned(result: Result) -> bool:
    return "on no CRL yet" in result.stderr


def test_a_revocation_killed_before_its_crl_is_listed_by_the_next_command(ca: CaHome) -> None:
    first, second = ca.issue_new(), ca.issue_new()
    _killed_revoking(ca, first)

    at_once = ca.ok("--json", "cert", "show", str(first["id"]))
    assert at_once.json()["status"] == "revoked"
    assert not _warned(at_once)  # for a moment it may be another node's revocation, between its two steps
    shown = ca.ok("--json", "cert", "show", str(first["id"]), env=LATER, seams=True)
    [warning] = shown.stderr.strip().splitlines()
    assert "warning" in warning and f"1 revocation of {ISSUING} on no CRL yet" in warning, warning
    assert "`s1spki crl issue --as NAME`" in warning
    assert ca.ok("--json", "crl", "show", ISSUING).json()["crl_number"] is None  # the kill came before any CRL

    retried = ca.run("cert", "revoke", str(first["id"]), "--reason", "keyCompromise", "--as", "dave")
    assert retried.code == 3, str(retried)
    [line] = retried.stderr.strip().splitlines()
    assert "already revoked" in line and "on no CRL yet" in line and "`s1spki crl issue --as NAME`" in line, line

    due = ca.ok("--json", "crl", "issue", "--if-due", "--as", "dave")
    assert due.json()["issued"] is True, str(due)
    assert due.json()["due_because"] == f"1 revocation of {ISSUING} on no CRL yet"
    assert int(str(first["serial"]), 16) in _listed_serials(ca, "after.pem")
    assert not _warned(ca.ok("cert", "list", env=LATER, seams=True))
    assert ca.ok("--json", "crl", "issue", "--if-due", "--as", "dave").json()["issued"] is False  # due no more

    # killed again: this time nobody runs `crl issue`; the next change on the home issues the CRL by itself
    _killed_revoking(ca, second)
    assert _warned(ca.ok("cert", "list", env=LATER, seams=True))
    changed = ca.ok("--json", "request", "submit", "--csr", str(ca.csr()), "--org", ACME, "--role", "supplier",
                    "--key-usage", "digitalSignature", "--eui64", ACME_EUI, "--aro", ACME_ARO, "--as", "carol",
                    env=LATER, seams=True)
    assert f"of {ISSUING} issued at the end of this command" in changed.stderr, str(changed)
    assert f"{ISSUING}/{second['serial']}" in changed.stderr
    assert int(str(second["serial"]), 16) in _listed_serials(ca, "completed.pem")
    assert not _warned(ca.ok("cert", "list", env=LATER, seams=True))
    [completing] = [r for r in ca.audit() if r["event"] == "crl.issue" and r["actor"] == "s1spki"]
    assert completing["outcome"] == "ok" and completing["actor_role"] == "system"
    assert str(second["serial"]) in completing["details"]
    assert ca.ok("audit", "verify").code == 0


def test_a_crl_killed_after_its_number_was_reserved_leaves_a_reservation_shown(ca: CaHome) -> None:
    ca.ok("crl", "issue", "--as", "dave")
    before = ca.ok("--json", "crl", "show", "--reserved").json()
    assert before and all(n["status"] == "issued" and n["crl_exists"] for n in before), before

    killed = ca.run("crl", "issue", "--as", "dave", env={"S1SPKI_TEST_KILL_AT": "crl-number-reserved"}, seams=True)
    assert killed.code in KILLED, str(killed)

    reserved = ca.ok("--json", "crl", "show", ISSUING, "--reserved").json()
    [orphan] = [n for n in reserved if n["status"] == "reserved"]
    assert orphan["crl_exists"] is False and orphan["ca"] == ISSUING and orphan["kind"] == "crl"
    assert orphan["crl_number"] == max(n["crl_number"] for n in before if n["ca"] == ISSUING) + 1
    table = ca.ok("crl", "show", "--reserved").stdout
    assert "NO (reserved, unissued)" in table
    assert [r["event"] for r in ca.audit()][-1] == "crl.reserve"  # its audit record explains it

    issued = ca.ok("--json", "crl", "issue", "--as", "dave").json()
    assert issued["crl_number"] == orphan["crl_number"] + 1  # never reused, never backwards
    after = ca.ok("--json", "crl", "show", "--reserved").json()
    assert [n["status"] for n in after if n["crl_number"] == orphan["crl_number"] and n["ca"] == ISSUING] == \
        ["reserved"]
    assert ca.run("crl", "show", "--reserved", "--out", str(ca.work / "x.pem")).code == 2
    assert ca.ok("audit", "verify").code == 0
