"""policy/ [revocation] reasons: the spec's six by default; never certificateHold, removeFromCRL or unspecified."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.home.shipped import data_dir
from s1spki.policy import load_policy

SHIPPED = '''reasons = ["keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
           "privilegeWithdrawn"]'''


def test_shipped_policy_allows_the_six_reasons_of_spec_5() -> None:
    policy = load_policy(data_dir("policy"))
    assert policy.revocation_reasons == ("keyCompromise", "cACompromise", "affiliationChanged", "superseded",
                                         "cessationOfOperation", "privilegeWithdrawn")
    assert policy.revocation_reason_codes == frozenset({1, 2, 3, 4, 5, 9})


@pytest.mark.parametrize(("reasons", "why"), [
    ('reasons = ["keyCompromise", "certificateHold"]', "reasons[1]: certificateHold is never allowed"),
    ('reasons = ["removeFromCRL"]', "removeFromCRL is never allowed"),
    ('reasons = ["unspecified", "superseded"]', "unspecified is never allowed"),
    ('reasons = ["keyCompromised"]', "must be one of"),
    ("reasons = []", "revocation.reasons: must list at least one reason"),
    ('reasons = "keyCompromise"', "must be a list of strings"),
])
def test_a_reason_outside_the_spec_is_refused(tmp_path: Path, reasons: str, why: str) -> None:
    policy_dir = Path(shutil.copytree(data_dir("policy"), tmp_path / "policy"))
    path = policy_dir / "policy.toml"
    assert SHIPPED in path.read_text()
    path.write_text(path.read_text().replace(SHIPPED, reasons))
    with pytest.raises(ConfigError) as caught:
        load_policy(policy_dir)
    assert "policy.toml: revocation." in caught.value.message and why in caught.value.message, caught.value.message
