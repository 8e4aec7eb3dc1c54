"""The rules of EST as data: rapp/ [components] and its operations, policy/ [est]; `cert issue` of an enrolment
authorisation is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.policy import load_policy
from s1spki.rapp import load_rapp
from tests.conftest import REPO, CaHome
from tests.est.conftest import authorise


def _copy(tmp_path: Path, folder: str) -> Path:
    target = tmp_path / folder
    shutil.copytree(REPO / folder, target)
    return target


def test_the_shipped_rapp_lets_components_enrol_and_re_enrol_only(tmp_path: Path) -> None:
    rapp = load_rapp(_copy(tmp_path, "rapp"))
    assert rapp.component_may == {"est.enroll", "est.reenroll"}
    assert rapp.roles_for("est.authorise") == ("ra_manager", "ra_officer")
    assert rapp.operations["est.authorise"].approval.approvals == 1


def test_a_components_operation_with_approvals_or_several_people_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "rapp")
    path = folder / "operations.toml"
    path.write_text(path.read_text().replace('[operations."est.enroll"]\nparticipants = 1',
                                             '[operations."est.enroll"]\nparticipants = 2'))
    with pytest.raises(ConfigError, match="est.enroll"):
        load_rapp(folder)


def test_the_superseded_reason_must_be_a_revocation_reason(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "policy")
    assert load_policy(folder).est.superseded_reason == "superseded"
    path = folder / "policy.toml"
    path.write_text(path.read_text().replace('superseded_reason = "superseded"',
                                             'superseded_reason = "affiliationChanged"')
                    .replace('"affiliationChanged", "superseded"', '"superseded"'))
    with pytest.raises(ConfigError, match="superseded_reason"):
        load_policy(folder)


def test_cert_issue_of_an_enrolment_authorisation_is_refused(ca: CaHome) -> None:
    authorisation, _ = authorise(ca)
    refused = ca.run("cert", "issue", str(authorisation), "--as", "carol")
    assert refused.code == 3 and "enrolment authorisation" in refused.stderr, str(refused)
    shown = ca.ok("--json", "request", "show", str(authorisation)).json()
    assert shown["kind"] == "enrolment" and shown["approvals_missing"] == 0 and shown["status"] == "submitted"
