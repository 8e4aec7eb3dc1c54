"""policy.toml [names]: the length limits of names are settings, checked at load against their ceilings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.home.shipped import data_dir
from s1spki.policy import load_policy


def test_the_shipped_limits() -> None:
    names = load_policy(data_dir("policy")).names
    assert (names.organisation, names.officer, names.common_name, names.operator, names.evidence) == (
        128, 128, 64, 64, 256)


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("common_name = 64", "common_name = 65", "names.common_name: must be <= 64, not 65"),
    ("operator = 64", "operator = 0", "names.operator: must be >= 1, not 0"),
    ("organisation = 128", "organisation = 100000", "names.organisation: must be <= 256, not 100000"),
    ("evidence = 256", 'evidence = "256"', "names.evidence: must be an integer, not '256'"),
    ("officer = 128", "oficer = 128", "names.oficer: unknown key"),
    ("[names]", "[names]\nemail = 64", "names.email: unknown key"),
])
def test_a_limit_outside_its_ceiling_is_refused(tmp_path: Path, old: str, new: str, problem: str) -> None:
    policy = Path(shutil.copytree(data_dir("policy"), tmp_path / "policy"))
    text = (policy / "policy.toml").read_text()
    assert text.count(f"\n{old}\n") == 1
    (policy / "policy.toml").write_text(text.replace(f"\n{old}\n", f"\n{new}\n"))
    with pytest.raises(ConfigError) as refused:
        load_policy(policy)
    assert f"policy/policy.toml: {problem}" in refused.value.facts["problems"], refused.value.message


def test_a_ca_default_name_outside_the_cn_profile_is_refused(tmp_path: Path) -> None:
    policy = Path(shutil.copytree(data_dir("policy"), tmp_path / "policy"))
    profile = policy / "profiles" / "issuing.toml"
    profile.write_text(profile.read_text().replace('default_name = "S1SPKI Issuing CA 1"',
                                                   'default_name = "S1SPKI Issuing CA 1,OU=00"'))
    with pytest.raises(ConfigError, match="profiles/issuing.toml: default_name: must not contain , ="):
        load_policy(policy)
