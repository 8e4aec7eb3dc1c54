"""policy/ and rapp/ are pinned: an edit of the home's files takes no effect until two people adopt it under
the RAPP adopted before; the refusal names the changed file."""

from __future__ import annotations

import pytest

from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines


def _edit(ca: CaHome, relative: str, old: str, new: str) -> None:
    path = ca.home / relative
    text = path.read_text()
    assert old in text, relative
    path.write_text(text.replace(old, new, 1))


def test_a_one_custodian_ceremony_written_into_rapp_is_refused(ca: CaHome) -> None:
    _edit(ca, "rapp/operations.toml", '[operations."ceremony.issuing"]\nparticipants = 2\nparticipant_roles = '
          '["key_custodian"]', '[operations."ceremony.issuing"]\nparticipants = 1')
    before = ca.snapshot()
    result = ca.run("ceremony", "issuing", "--name", "Rogue CA", "--as", "alice")
    assert result.code == 3 and "rapp/operations.toml (changed)" in result.stderr, str(result)
    assert "policy adopt" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert ca.snapshot() == before


def test_editing_the_policy_changes_nothing_until_adopted(ca: CaHome) -> None:
    """A 14-year end-entity lifetime (a valid policy, but not the adopted one): refused while unadopted."""
    _edit(ca, "policy/profiles/digital-signature.toml", "lifetime_years = 10", "lifetime_years = 14")
    refused = ca.run("--json", "request", "submit", "--csr", str(ca.csr()), "--org", "Acme Energy Ltd",
                     "--aro", "Ann Officer", "--role", "supplier", "--key-usage", "digitalSignature",
                     "--eui64", "90B3D51F30010000", "--as", "carol")
    assert refused.code == 3 and "policy/profiles/digital-signature.toml (changed)" in refused.stderr, str(refused)


def test_one_person_cannot_adopt_and_two_can(ca: CaHome) -> None:
    _edit(ca, "rapp/operations.toml", 'approval_valid_for = "72h"', 'approval_valid_for = "48h"')
    alone = ca.run("policy", "adopt", "--as", "alice")
    assert alone.code == 4, str(alone)
    manager = ca.run("policy", "adopt", "--as", "carol", "--as", "alice")
    assert manager.code == 4 and "may not take part" in manager.stderr, str(manager)
    adopted = ca.ok("--json", "policy", "adopt", "--as", "alice", "--as", "bob").json()
    assert adopted["changed"] == ["rapp/operations.toml (changed)"]
    record = ca.audit()[-1]
    assert record["event"] == "policy.adopt" and record["actor"] == "alice+bob"
    ca.issue_new()  # the adopted rapp/ is in force


def test_a_rule_lowered_for_its_own_adoption_still_needs_the_old_rule(ca: CaHome) -> None:
    """rapp/ edited so that policy.adopt takes one person: the adoption is judged by the RAPP adopted before."""
    _edit(ca, "rapp/operations.toml", '[operations."policy.adopt"]\nparticipants = 2',
          '[operations."policy.adopt"]\nparticipants = 1')
    _edit(ca, "rapp/operations.toml", 'participant_roles = ["key_custodian", "ca_administrator"]\n', "")
    alone = ca.run("policy", "adopt", "--as", "alice")
    assert alone.code == 4 and "needs 2 distinct participants" in alone.stderr, str(alone)


def test_nothing_to_adopt_is_refused(ca: CaHome) -> None:
    result = ca.run("policy", "adopt", "--as", "alice", "--as", "bob")
    assert result.code == 3 and "nothing to adopt" in result.stderr, str(result)
