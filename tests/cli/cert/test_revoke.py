"""`s1spki cert revoke`: what openssl makes of the new CRL and ARL, and the refusals, each leaving the store as
it was but for its record."""

from __future__ import annotations

import pytest

from tests.cli.crl.helpers import ISSUING, ROOT, current, revoke, verify
from tests.conftest import CaHome, assert_refused

pytestmark = pytest.mark.both_engines


def test_revoked_certificate_fails_crl_check_and_a_good_one_passes(ca: CaHome) -> None:
    good, bad = ca.issue_new(), ca.issue_new("keyAgreement")
    root, issuing = ca.ca_pems()
    good_pem, bad_pem = ca.export(good["id"], "good.pem"), ca.export(bad["id"], "bad.pem")

    result = revoke(ca, bad["serial"], "keyCompromise")
    assert result.code == 0, str(result)
    revoked = result.json()
    assert (revoked["issuer_cn"], revoked["serial"], revoked["reason"]) == (ISSUING, bad["serial"], "keyCompromise")
    assert revoked["crl"]["ca"] == ISSUING and revoked["crl"]["entries"] == 1

    crl = current(ca, ISSUING, "issuing.crl.pem")
    rejected = verify(root, issuing, bad_pem, crl)
    assert rejected.returncode != 0 and "certificate revoked" in rejected.stdout + rejected.stderr, rejected
    accepted = verify(root, issuing, good_pem, crl)
    assert accepted.returncode == 0 and "OK" in accepted.stdout, accepted

    shown = ca.ok("--json", "cert", "show", str(bad["id"])).json()
    assert shown["status"] == "revoked"
    assert ca.ok("--json", "cert", "show", str(good["id"])).json()["status"] == "valid"
    events = [(a["event"], a["outcome"]) for a in ca.audit()[-3:]]
    assert events == [("cert.revoke", "ok"), ("crl.reserve", "ok"), ("crl.issue", "ok")]


def test_revoking_the_issuing_ca_puts_it_on_the_arl_and_fails_its_certificates(ca: CaHome) -> None:
    leaf = ca.issue_new()
    root, issuing = ca.ca_pems()
    leaf_pem = ca.export(leaf["id"], "leaf.pem")
    ca.arl_from_root()
    ca.ok("crl", "issue", "--as", "dave")
    arl, crl = current(ca, ROOT, "root.arl.pem"), current(ca, ISSUING, "issuing.crl.pem")
    before = verify(root, issuing, leaf_pem, arl, crl, all_levels=True)
    assert before.returncode == 0, before

    # the issuing CA is revoked at the root; the ARL bundle is carried here and imported
    assert ca.root is not None
    issuing_ca = ca.ok("--json", "cert", "list", "--kind", "issuing").json()[0]
    result = revoke(ca.root, issuing_ca["serial"], "cACompromise", "alice", "bob")
    assert result.code == 0, str(result)
    assert result.json()["arl"]["entries"] == 1 and result.json()["arl"]["ca"] == ROOT
    assert ca.root.audit()[-1]["event"] == "crl.arl"
    ca.import_arl(result.json())

    arl = current(ca, ROOT, "root.arl2.pem")
    after = verify(root, issuing, leaf_pem, arl, crl, all_levels=True)
    assert after.returncode != 0 and "certificate revoked" in after.stdout + after.stderr, after
    assert ca.audit()[-1]["event"] == "crl.import-arl"

    # A revoked CA issues nothing more.
    refused = ca.run("cert", "issue", str(ca.submit_approved()), "--as", "carol")
    assert refused.code == 3 and "revoked" in refused.stderr, str(refused)
    assert ca.run("crl", "issue", "--as", "dave").code == 3


REFUSALS = [
    # (what, reason, operators, exit code, words)
    ("certificateHold", "certificateHold", ("dave",), 3, "never suspends"),
    ("unspecified", "unspecified", ("dave",), 3, "is not allowed"),
    ("unknown reason", "compromised", ("dave",), 3, "is not allowed"),
    ("custodian may not", "keyCompromise", ("alice",), 4, "may not take part in cert.revoke"),
    ("auditor may not", "keyCompromise", ("fred",), 4, "may not take part in cert.revoke"),
]


@pytest.mark.parametrize(("what", "reason", "names", "code", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_revocation_changes_nothing(ca: CaHome, what: str, reason: str, names: tuple[str, ...], code: int,
                                           words: str) -> None:
    leaf = ca.issue_new()
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, revoke(ca, leaf["serial"], reason, *names), code, before, audit_before, words)


def test_revoking_twice_is_refused(ca: CaHome) -> None:
    leaf = ca.issue_new()
    assert revoke(ca, leaf["serial"], "superseded").code == 0
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, revoke(ca, leaf["serial"], "keyCompromise"), 3, before, audit_before, "already revoked")


def test_unknown_serial_is_refused(ca: CaHome) -> None:
    before, audit_before = ca.snapshot(), len(ca.audit())
    # a serial that does not exist is a usage error (exit 2, interface.md), still recorded as a refusal
    assert_refused(ca, revoke(ca, "4E0000000000000000000000000000AB"), 2, before, audit_before, "no certificate")


def test_issuing_ca_revocation_needs_two_custodians_at_the_root(ca: CaHome) -> None:
    root = ca.root
    assert root is not None
    issuing_ca = ca.ok("--json", "cert", "list", "--kind", "issuing").json()[0]  # the root may have signed others
    before, audit_before = root.snapshot(), len(root.audit())
    assert_refused(root, revoke(root, issuing_ca["serial"], "cACompromise", "alice"), 4, before, audit_before,
                   "needs 2")
    assert root.audit()[-1]["event"] == "ca.revoke"
    # the online home holds the certificate too, but revokes no CA: that is the root's
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, revoke(ca, issuing_ca["serial"], "cACompromise", "alice", "bob"), 3, before, audit_before,
                   "is not done in an online home")


def test_the_root_cannot_be_revoked(ca: CaHome) -> None:
    root = ca.ok("--json", "cert", "list", "--kind", "root").json()[0]
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, revoke(ca, root["serial"], "cACompromise", "alice", "bob"), 3, before, audit_before,
                   "cannot be revoked")


def test_requester_is_recorded_and_an_aro_must_be_the_subscribers(ca: CaHome) -> None:
    from tests.conftest import ACME_ARO, OTHER_ARO

    leaf = ca.issue_new()
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, revoke(ca, leaf["serial"], extra=("--requested-by", f"aro:{OTHER_ARO}")), 3, before,
                   audit_before, "not an ARO")
    result = revoke(ca, leaf["serial"], extra=("--requested-by", f"aro:{ACME_ARO}"))
    assert result.code == 0, str(result)
    assert result.json()["requested_by"] == f"aro:{ACME_ARO}"
    revocation = next(a for a in ca.audit() if a["event"] == "cert.revoke" and a["outcome"] == "ok")
    assert f"aro:{ACME_ARO}" in revocation["details"] and revocation["statements"] != "[]"
