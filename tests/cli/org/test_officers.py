"""The subscriber registry: SROs, AROs nominated by them and verified by RA officers, withdrawals at once."""

from __future__ import annotations

import pytest

from tests.conftest import ACME, ACME_ARO, ACME_SRO, OTHER, CaHome

pytestmark = pytest.mark.both_engines


def _aro(ca: CaHome, name: str, org: str = ACME) -> dict:
    shown = ca.ok("--json", "org", "show", org).json()
    return next(o for o in shown["officers"] if o["kind"] == "aro" and o["name"] == name)


def test_an_aro_is_active_only_after_identity_and_screening_are_recorded(ca: CaHome) -> None:
    ca.ok("org", "aro", "add", ACME, "Nina New", "--nominated-by", ACME_SRO, "--nomination-evidence", "NOM-7",
          "--as", "dave")
    assert _aro(ca, "Nina New")["status"] == "nominated"
    refused = ca.submit(ca.csr(), aro="Nina New")
    assert refused.code == 3 and "nominated" in refused.stderr and "screening" in refused.stderr, str(refused)
    ca.ok("org", "aro", "verify", ACME, "Nina New", "--check", "identity", "--evidence", "ID-7", "--as", "dave")
    assert _aro(ca, "Nina New")["status"] == "nominated"
    ca.ok("org", "aro", "verify", ACME, "Nina New", "--check", "screening", "--evidence", "BS7858-7", "--as", "carol")
    aro = _aro(ca, "Nina New")
    assert aro["status"] == "active" and aro["nominated_by"] == ACME_SRO
    checks = {c["check"]: c for c in aro["checks"]}
    assert set(checks) == {"nomination", "identity", "screening"}
    assert checks["identity"]["checked_by"] == "dave" and checks["identity"]["evidence"] == "ID-7"
    assert checks["screening"]["checked_by"] == "carol" and checks["screening"]["checked_at"].endswith("Z")
    assert ca.submit(ca.csr(), aro="Nina New").code == 0
    twice = ca.run("org", "aro", "verify", ACME, "Nina New", "--check", "identity", "--evidence", "x", "--as", "dave")
    assert twice.code == 3 and "already recorded" in twice.stderr, str(twice)


def test_only_an_active_sro_of_the_organisation_nominates(ca: CaHome) -> None:
    stranger = ca.run("org", "aro", "add", OTHER, "Xavier", "--nominated-by", ACME_SRO, "--nomination-evidence", "n",
                      "--as", "dave")
    assert stranger.code == 3 and "not an active SRO" in stranger.stderr, str(stranger)
    ca.ok("org", "sro", "withdraw", ACME, ACME_SRO, "--as", "dave")
    withdrawn = ca.run("org", "aro", "add", ACME, "Yvonne", "--nominated-by", ACME_SRO, "--nomination-evidence", "n",
                       "--as", "dave")
    assert withdrawn.code == 3 and "not an active SRO" in withdrawn.stderr, str(withdrawn)
    bad_check = ca.run("org", "aro", "verify", ACME, ACME_ARO, "--check", "vibes", "--evidence", "x", "--as", "dave")
    assert bad_check.code == 2 and "identity, screening" in bad_check.stderr, str(bad_check)


def test_withdrawing_an_aro_takes_effect_at_once_even_for_pending_requests(ca: CaHome) -> None:
    request = ca.submit_approved()
    ca.ok("org", "aro", "withdraw", ACME, ACME_ARO, "--as", "dave")
    assert _aro(ca, ACME_ARO)["status"] == "withdrawn"
    submit = ca.submit(ca.csr())
    assert submit.code == 3 and "withdrawn" in submit.stderr, str(submit)
    issue = ca.run("cert", "issue", str(request), "--as", "carol")
    assert issue.code == 3 and "withdrawn" in issue.stderr, str(issue)


def test_end_of_subscription_withdraws_the_organisation_and_its_officers(ca: CaHome) -> None:
    issued = [ca.issue_new(), ca.issue_new("keyAgreement")]
    request = ca.submit_approved()
    withdrawn = ca.ok("--json", "org", "withdraw", ACME, "--as", "carol").json()
    assert sorted(withdrawn["revoked"]) == sorted(f"{c['issuer_cn']}/{c['serial']}" for c in issued)
    for certificate in issued:
        shown_cert = ca.ok("--json", "cert", "show", str(certificate["id"])).json()
        assert shown_cert["status"] == "revoked"
    current = ca.ok("--json", "crl", "show", "S1SPKI Issuing CA 1").json()
    assert current["entries"] == 2, current
    shown = ca.ok("--json", "org", "show", ACME).json()
    assert shown["status"] == "withdrawn"
    assert {o["status"] for o in shown["officers"]} == {"withdrawn"}
    issue = ca.run("cert", "issue", str(request), "--as", "carol")
    assert issue.code == 3 and "withdrawn" in issue.stderr, str(issue)
    assert ca.run("org", "withdraw", ACME, "--as", "carol").code == 3


def test_separation_of_duties_when_registering_operators(ca: CaHome) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ca.work / "new.pub.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    both = ca.run("operator", "add", "gina", "--role", "key_custodian", "--role", "ra_officer",
                  "--public-key", str(key), "--as", "carol", "--as", "alice")
    assert both.code == 3 and "may not hold both key_custodian and ra_officer" in both.stderr, str(both)
    ca.ok("operator", "add", "gina", "--role", "ra_officer", "--role", "ra_manager", "--public-key", str(key),
          "--as", "carol", "--as", "alice")
    assert ca.ok("--json", "operator", "show", "gina").json()["roles"] == ["ra_officer", "ra_manager"]


def test_listing_shows_what_waits_for_whom(ca: CaHome) -> None:
    waiting = ca.submit(ca.csr()).json()["id"]
    approved = ca.submit_approved()
    rows = {r["id"]: r for r in ca.ok("--json", "request", "list", "--status", "submitted").json()}
    assert rows[waiting]["approvals_missing"] == 1 and rows[waiting]["approver_roles"] == ["ra_officer", "ra_manager"]
    assert rows[waiting]["aro"] == ACME_ARO
    assert rows[approved]["approvals_missing"] == 0 and rows[approved]["approved_by"] == ["dave"]
    operators = {o["name"]: o for o in ca.ok("--json", "operator", "list").json()}
    assert operators["fred"]["roles"] == ["auditor"] and operators["alice"]["roles"] == ["key_custodian"]
    orgs = {o["name"] for o in ca.ok("--json", "org", "list").json()}
    assert {ACME, OTHER} <= orgs
