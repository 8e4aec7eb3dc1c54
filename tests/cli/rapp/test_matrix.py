"""Who may do what, driven from rapp/ itself: every role tried on every operation through the CLI, allowed
exactly where roles.toml says (exit 4 otherwise), each refusal recorded."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from s1spki.command.home_kind import AT_ROOT
from s1spki.home.shipped import data_dir
from s1spki.rapp import load_rapp
from tests.conftest import ACME, ACME_ARO, ACME_SRO, OPERATOR_FOR_ROLE, ROOT_STAFF, CaHome, make_csr

RAPP = load_rapp(data_dir("rapp"))
_unique = itertools.count(1)


def _n() -> int:
    return next(_unique)


def _pubkey(ca: CaHome) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = ca.work / f"key{_n()}.pub.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def _eui() -> str:
    return f"90B3D51F3A{_n():06X}"


def _change_policy(ca: CaHome) -> None:
    """A reviewed change of policy/ to adopt: one more comment line."""
    path = ca.home / "policy" / "policy.toml"
    path.write_text(path.read_text() + f"# reviewed change {_n()}\n")


def _submitted(ca: CaHome, actor: str) -> str:
    # the submitter must not be the one who decides on it (that is a different refusal)
    submitter = "dave" if actor == "carol" else "carol"
    return str(ca.submit(ca.csr(), as_=submitter).json()["id"])


# For each operation of rapp/operations.toml: the arguments of a command that succeeds when the person is
# allowed. `actor` is the operator trying it; setup done as other people happens here, before the try.
Command = Callable[[CaHome, str], list[str]]
COMMANDS: dict[str, Command] = {
    "org.register": lambda ca, actor: ["org", "register", f"Org {_n()}", "--eui64", _eui(), "--role", "supplier"],
    "org.withdraw": lambda ca, actor: (lambda org: (ca.ok("org", "register", org, "--eui64", _eui(), "--role",
                                                          "supplier", "--as", "carol"),
                                                    ["org", "withdraw", org])[1])(f"Leaving {_n()}"),
    "org.sro.add": lambda ca, actor: ["org", "sro", "add", ACME, f"SRO {_n()}", "--identity-evidence", "id",
                                      "--authority-evidence", "board"],
    "org.sro.withdraw": lambda ca, actor: (lambda sro: (ca.ok("org", "sro", "add", ACME, sro, "--identity-evidence",
                                                              "id", "--authority-evidence", "board", "--as", "dave"),
                                                        ["org", "sro", "withdraw", ACME, sro])[1])(f"SRO {_n()}"),
    "org.aro.add": lambda ca, actor: ["org", "aro", "add", ACME, f"ARO {_n()}", "--nominated-by", ACME_SRO,
                                      "--nomination-evidence", "letter"],
    "org.aro.verify": lambda ca, actor: (lambda aro: (ca.ok("org", "aro", "add", ACME, aro, "--nominated-by", ACME_SRO,
                                                            "--nomination-evidence", "letter", "--as", "dave"),
                                                      ["org", "aro", "verify", ACME, aro, "--check", "identity",
                                                       "--evidence", "photo ID"])[1])(f"ARO {_n()}"),
    "org.aro.withdraw": lambda ca, actor: (lambda aro: (ca.ok("org", "aro", "add", ACME, aro, "--nominated-by",
                                                              ACME_SRO, "--nomination-evidence", "l", "--as", "dave"),
                                                        ["org", "aro", "withdraw", ACME, aro])[1])(f"ARO {_n()}"),
    "request.submit": lambda ca, actor: ["request", "submit", "--csr", str(make_csr(ca.work / f"m{_n()}.csr")[0]),
                                         "--org", ACME, "--aro", ACME_ARO, "--role", "supplier",
                                         "--key-usage", "digitalSignature", "--eui64", "90B3D51F30010000"],
    "request.approve": lambda ca, actor: ["request", "approve", _submitted(ca, actor)],
    "request.reject": lambda ca, actor: ["request", "reject", _submitted(ca, actor), "--reason", "test"],
    "cert.issue": lambda ca, actor: ["cert", "issue", str(ca.submit_approved())],
    "est.authorise": lambda ca, actor: ["est", "authorise", "--org", ACME, "--aro", ACME_ARO, "--role", "supplier",
                                        "--key-usage", "digitalSignature", "--eui64", "90B3D51F30010000",
                                        "--secret-out", str(ca.work / f"enrolment{_n()}.secret")],
    "ceremony.root": lambda ca, actor: ["ceremony", "root", "--name", f"Root {_n()}"],
    "ceremony.issuing": lambda ca, actor: ["ceremony", "issuing", "--name", f"Issuing {_n()}"],
    "ceremony.sign-issuing": lambda ca, actor: (lambda asked: ["ceremony", "sign-issuing", asked["bundle"],
                                                               "--sha256", asked["sha256"]])(_requested(ca)),
    "ceremony.import-issuing": lambda ca, actor: (lambda signed: ["ceremony", "import-issuing", signed["bundle"],
                                                                  "--sha256", signed["sha256"]])(_signed(ca)),
    "cert.revoke": lambda ca, actor: ["cert", "revoke", ca.issue_new()["serial"], "--reason", "superseded"],
    "ca.revoke": lambda ca, actor: ["cert", "revoke", "--reason", "cessationOfOperation",
                                    ca.new_issuing(f"Issuing {_n()}")["certificate"]["serial"]],
    "crl.issue": lambda ca, actor: ["crl", "issue"],
    "crl.arl": lambda ca, actor: ["crl", "arl"],
    "crl.import-arl": lambda ca, actor: (lambda issued: ["crl", "import-arl", issued["arl_bundle"]["bundle"],
                                                         "--sha256", issued["arl_bundle"]["sha256"]])(
        _root(ca).ok("--json", "crl", "arl", "--as", "alice", "--as", "bob").json()),
    "policy.adopt": lambda ca, actor: (_change_policy(ca), ["policy", "adopt"])[1],
    "audit.export": lambda ca, actor: ["audit", "export", "--out", str(ca.work / f"export{_n()}.jsonl")],
    "db.backup": lambda ca, actor: ["db", "backup", str(ca.work / f"backup{_n()}.s1db")],
}


def _root(ca: CaHome) -> CaHome:
    assert ca.root is not None
    return ca.root


def _requested(ca: CaHome) -> dict[str, str]:
    """A request bundle from the online home (alice and bob), for the root to sign."""
    return ca.ok("--json", "ceremony", "issuing", "--name", f"Issuing {_n()}", "--as", "alice", "--as", "bob").json()


def _signed(ca: CaHome) -> dict[str, str]:
    """A response bundle from the root (alice and bob), for the online home to install."""
    asked = _requested(ca)
    return _root(ca).ok("--json", "ceremony", "sign-issuing", asked["bundle"], "--sha256", asked["sha256"],
                        "--as", "alice", "--as", "bob").json()


def _participants(operation: str, actor: str) -> list[str]:
    """The actor first, then as many further key custodians as rapp/ asks for (alice and bob are both)."""
    extra = RAPP.participants(operation) - 1
    if extra:
        assert "key_custodian" in RAPP.co_participant_roles(operation), "co-participants may be custodians here"
    return [actor, *[p for p in ("bob", "alice") if p != actor][:extra]]


def test_every_operation_has_a_command_here() -> None:
    # operator add/withdraw are governed by [grants] (tests/cli/trust/test_grants.py); what components do
    # themselves ([components]: enrolment and re-enrolment over EST) by tests/est/test_rules.py
    assert set(RAPP.operations) - RAPP.component_may <= set(COMMANDS), \
        sorted(set(RAPP.operations) - RAPP.component_may - set(COMMANDS))


@pytest.mark.parametrize("operation", sorted(COMMANDS))
def test_each_role_is_allowed_exactly_where_rapp_says(ca: CaHome, operation: str) -> None:
    if operation not in RAPP.operations:
        pytest.fail(f"{operation} has a command here but is not in rapp/operations.toml")
    # the root's operations run in the root home, among the roles it holds (no RA roles there)
    at_root = operation in AT_ROOT
    home = _root(ca) if at_root else ca
    for role, actor in OPERATOR_FOR_ROLE.items():
        if at_root and actor not in ("alice", "bob", *ROOT_STAFF):
            continue
        args = COMMANDS[operation](ca, actor)
        names = _participants(operation, actor)
        audit_before = len(home.audit())
        result = home.run(*args, *itertools.chain.from_iterable(("--as", n) for n in names))
        if RAPP.may(role, operation):
            # allowed: the command goes through (a root ceremony meets the one-root-per-home rule instead)
            expected = 3 if operation == "ceremony.root" else 0
            assert result.code == expected, f"{role} ({actor}) on {operation}: {result}"
        else:
            assert result.code == 4, f"{role} ({actor}) on {operation} should be refused: {result}"
            assert "may not take part" in result.stderr, str(result)
            last = home.audit()[-1]
            assert len(home.audit()) == audit_before + 1 and last["outcome"] == "refused", last
            assert last["event"] == operation
