"""Role grants under the RAPP (rapp/roles.toml [grants]): who may grant and withdraw each role and how many
people that takes, driven from rapp/ itself; one RA manager alone can no longer mint custodians or approvers,
and nobody can withdraw the holders an operation needs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.home.shipped import data_dir
from s1spki.rapp import load_rapp
from tests.conftest import OPERATOR_FOR_ROLE, CaHome

RAPP = load_rapp(data_dir("rapp"))
_unique = itertools.count(1)


def _key(ca: CaHome) -> Path:
    path = ca.work / f"grant{next(_unique)}.pub.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def _as(*names: str) -> list[str]:
    return list(itertools.chain.from_iterable(("--as", n) for n in names))


def _holders(role: str) -> list[str]:
    """Operators of the template holding `role` (alice and bob are both custodians)."""
    return ["alice", "bob"] if role == "key_custodian" else [OPERATOR_FOR_ROLE[role]]


def _allowed_set(role: str) -> list[str]:
    """A set of people rapp/ allows to grant `role`: one of `by` first, then holders of `by` or `also`."""
    rule = RAPP.grants[role]
    first = _holders(rule.by[0])[0]
    others = [n for r in (*rule.by, *rule.also) for n in _holders(r) if n != first]
    return [first, *others][: rule.participants]


@pytest.mark.parametrize("role", sorted(RAPP.grants))
def test_each_role_is_granted_and_withdrawn_only_as_rapp_says(ca: CaHome, role: str) -> None:
    rule = RAPP.grants[role]
    name = f"new{next(_unique)}"
    allowed = _allowed_set(role)
    # one person alone, whoever they are, is refused
    for single in sorted({n for r in RAPP.roles for n in _holders(r)}):
        refused = ca.run("operator", "add", name, "--role", role, "--public-key", str(_key(ca)), *_as(single))
        assert refused.code == 4, f"{single} alone granted {role}: {refused}"
    # a first participant whose role may not grant it is refused, even with a valid second
    outsider = next(OPERATOR_FOR_ROLE[r] for r in RAPP.roles if r not in rule.by
                    and OPERATOR_FOR_ROLE[r] not in allowed)
    refused = ca.run("operator", "add", name, "--role", role, "--public-key", str(_key(ca)),
                     *_as(outsider, *allowed[1:]))
    assert refused.code == 4 and "may not take part" in refused.stderr, str(refused)
    # the rule's people: granted, and the audit record names them all
    ca.ok("operator", "add", name, "--role", role, "--public-key", str(_key(ca)), *_as(*allowed))
    record = ca.audit()[-1]
    assert record["event"] == "operator.add" and record["actor"] == "+".join(allowed), record
    # withdrawing takes the same rule
    refused = ca.run("operator", "withdraw", name, *_as(allowed[0]))
    assert refused.code == 4, str(refused)
    ca.ok("operator", "withdraw", name, *_as(*allowed))


def test_one_ra_manager_alone_mints_no_custodian_and_no_approver(ca: CaHome) -> None:
    before = ca.snapshot()
    for role in ("key_custodian", "ra_officer", "ca_administrator"):
        refused = ca.run("operator", "add", f"puppet{next(_unique)}", "--role", role, "--public-key",
                         str(_key(ca)), "--as", "carol")
        assert refused.code == 4, f"{role}: {refused}"
    assert ca.snapshot() == before


def test_the_operator_being_added_never_counts(ca: CaHome) -> None:
    refused = ca.run("operator", "add", "carol2", "--role", "ra_officer", "--public-key", str(_key(ca)),
                     "--as", "carol", "--as", "carol2")
    assert refused.code == 4 and "never counts" in refused.stderr, str(refused)


def test_a_withdrawal_that_would_lock_the_ca_out_is_refused(ca: CaHome) -> None:
    """The template has one auditor, and audit.export needs one: withdrawing fred, even by the two people the
    grant rule names, is refused until a successor is registered."""
    before = ca.snapshot()
    refused = ca.run("operator", "withdraw", "fred", "--as", "alice", "--as", "bob")
    assert refused.code == 3 and "too few" in refused.stderr and "audit.export" in refused.stderr, str(refused)
    assert ca.snapshot() == before
    ca.ok("operator", "add", "ivy", "--role", "auditor", "--public-key", str(_key(ca)), "--as", "alice",
          "--as", "bob")
    ca.ok("operator", "withdraw", "fred", "--as", "alice", "--as", "bob")


def test_nobody_withdraws_themselves(ca: CaHome) -> None:
    refused = ca.run("operator", "withdraw", "carol", "--as", "carol", "--as", "alice")
    assert refused.code == 4 and "never counts" in refused.stderr, str(refused)
