"""policy/ and rapp/ are refused at load when malformed or inconsistent, with file, key and reason."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.home.shipped import data_dir
from s1spki.policy import load_policy
from s1spki.rapp import load_rapp


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(data_dir("policy"), tmp_path / "policy"))


@pytest.fixture
def rapp_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(data_dir("rapp"), tmp_path / "rapp"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_shipped_policy_loads_with_the_spec_values() -> None:
    policy = load_policy(data_dir("policy"))
    assert policy.policy_oid == "1.2.826.0.1.8641679.1.2.1.4"
    assert policy.serial_octets == 16 and policy.day_boundary
    assert policy.role_hex("supplier") == "02" and policy.role_hex("other") == "7F"
    assert policy.end_entity["digitalSignature"].extensions == (
        "keyUsage", "subjectKeyIdentifier", "certificatePolicies", "authorityKeyIdentifier")
    assert policy.issuing.path_length == 0
    assert "root" not in policy.subscriber_roles and "issuingAuthority" not in policy.subscriber_roles
    assert len(policy.hash) == 64


POLICY_BREAKAGES: list[tuple[str, str, str, str, str]] = [
    # (file, old, new, expected words in the message)
    ("policy.toml", 'environment = "test"', 'environment = "production"', "policy.toml: environment",
     "has no OID"),
    ("policy.toml", "octets = 16", "octets = 40", "policy.toml: serial.octets", "must be <= 20"),
    ("policy.toml", "day_boundary = true", "day_boundary = \"yes\"", "validity.day_boundary", "true or false"),
    ("policy.toml", "[crl]", "[crl]\nreisue_hours = 3", "crl.reisue_hours", "unknown key"),
    ("policy.toml", "next_update_hours = 48", "next_update_hours = 12", "crl.next_update_hours",
     "must exceed reissue_hours"),
    ("policy.toml", 'test = "1.2.826.0.1.8641679.1.2.1.4"', 'test = "not.an.oid"', "policy_oids.test",
     "dotted OID"),
    ("roles.toml", "recovery = 1", "recovery = 2", "roles.supplier", "already used by role 'recovery'"),
    ("roles.toml", 'issuing = "issuingAuthority"', 'issuing = "issuer"', "ca_roles.issuing", "not a role"),
    ("profiles/digital-signature.toml", 'key_usage = ["digitalSignature"]',
     'key_usage = ["digitalSignature", "keyAgreement"]', "digital-signature.toml: key_usage", "exactly one"),
    ("profiles/digital-signature.toml", "lifetime_years = 10", "lifetime_years = 20", "lifetime_years",
     "exceeds the issuing CA"),
    ("profiles/key-agreement.toml", 'basic_constraints = "absent"', 'basic_constraints = "critical-false"',
     "key-agreement.toml: extensions", "basicConstraints"),
    ("profiles/issuing.toml", "path_length = 0", "path_length = 2", "issuing.toml: path_length", "must be 0"),
    ("profiles/root.toml", "lifetime_years = 25", "lifetime_years = 12", "lifetime_years", "must outlive"),
    ("profiles/root.toml", '"certificatePolicies"]', '"certificatePolicies", "authorityKeyIdentifier"]',
     "root.toml: extensions", "no authorityKeyIdentifier"),
    ("profiles/issuing.toml", 'kind = "issuing"', 'kind = "root"', "profiles", "no issuing CA profile"),
    ("policy.toml", "[serial]", "[serial\n", "policy.toml", "not valid TOML"),
]


@pytest.mark.parametrize(("file", "old", "new", "where", "why"), POLICY_BREAKAGES,
                         ids=[f"{b[0]}:{b[4]}" for b in POLICY_BREAKAGES])
def test_broken_policy_is_refused_naming_file_key_and_reason(policy_dir: Path, file: str, old: str, new: str,
                                                             where: str, why: str) -> None:
    edit(policy_dir / file, old, new)
    with pytest.raises(ConfigError) as caught:
        load_policy(policy_dir)
    message = caught.value.message
    assert where in message and why in message, message
    assert "\n" not in message


def test_all_problems_are_reported_together(policy_dir: Path) -> None:
    edit(policy_dir / "policy.toml", "octets = 16", "octets = 3")
    edit(policy_dir / "roles.toml", "recovery = 1", "recovery = 300")
    with pytest.raises(ConfigError) as caught:
        load_policy(policy_dir)
    assert len(caught.value.facts["problems"]) == 2


def test_missing_profile_file_is_refused(policy_dir: Path) -> None:
    (policy_dir / "profiles" / "key-agreement.toml").unlink()
    with pytest.raises(ConfigError, match="no end-entity profile for keyAgreement"):
        load_policy(policy_dir)


def test_policy_hash_changes_with_any_policy_file(policy_dir: Path) -> None:
    before = load_policy(policy_dir).hash
    edit(policy_dir / "profiles" / "digital-signature.toml", "lifetime_years = 10", "lifetime_years = 9")
    assert load_policy(policy_dir).hash != before


RAPP_BREAKAGES: list[tuple[str, Callable[[Path], None], str]] = [
    ("unknown operation in may", lambda d: edit(d / "roles.toml", '"org.withdraw",', '"org.delete",'),
     "must be one of"),
    ("operation nobody may do", lambda d: edit(d / "operations.toml", '[operations."cert.issue"]',
                                               '[operations."no.such"]\nparticipants = 1\n\n[operations."cert.issue"]'),
     "operations.no.such: no role"),
    ("zero participants", lambda d: edit(d / "operations.toml", "participants = 2", "participants = 0"),
     "must be >= 1"),
    ("unknown key", lambda d: edit(d / "roles.toml", 'title = "Auditor"', 'title = "Auditor"\ncan = []'),
     "roles.auditor.can: unknown key"),
    ("bootstrap role unknown", lambda d: edit(d / "roles.toml", 'manager_role = "ra_manager"',
                                              'manager_role = "boss"'), "bootstrap.manager_role"),
]


@pytest.mark.parametrize(("name", "breakage", "why"), RAPP_BREAKAGES, ids=[b[0] for b in RAPP_BREAKAGES])
def test_broken_rapp_is_refused(rapp_dir: Path, name: str, breakage: Callable[[Path], None], why: str) -> None:
    breakage(rapp_dir)
    with pytest.raises(ConfigError) as caught:
        load_rapp(rapp_dir)
    assert why in caught.value.message, caught.value.message


def test_shipped_rapp_needs_two_custodians_for_ceremonies() -> None:
    rapp = load_rapp(data_dir("rapp"))
    assert rapp.participants("ceremony.root") == 2 and rapp.participants("ceremony.issuing") == 2
    assert rapp.may("key_custodian", "ceremony.root") and not rapp.may("ra_officer", "ceremony.root")
    assert not rapp.may("auditor", "cert.issue")


def test_every_check_rapp_may_name_is_implemented() -> None:
    from s1spki.issuance.registration import _CHECKS
    from s1spki.rapp import CHECKS

    assert set(_CHECKS) == set(CHECKS)
