"""The one adapter from pydantic's errors to ours: every problem as `file: key.path: reason`, all reported together."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from s1spki.errors import ConfigError
from s1spki.home.shipped import data_dir
from s1spki.policy import load_policy
from s1spki.rapp import load_rapp
from s1spki.values.datafile import key_path

REPO = Path(__file__).resolve().parents[2]


def copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(data_dir(name), tmp_path / name))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def problems_of(load: Callable[[Path], object], directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(directory)
    problems = caught.value.facts["problems"]
    assert caught.value.message == f"{directory.name} {directory} refused: " + "; ".join(problems)
    return problems


POLICY_PROBLEMS: list[tuple[str, str, str, str]] = [
    # (file, old, new, the one problem expected)
    # unknown keys
    ("policy.toml", 'environment = "test"', 'environment = "test"\nenviroment = "test"',
     "policy/policy.toml: enviroment: unknown key"),
    ("policy.toml", "[serial]", "[serials]\noctets = 16\n\n[serial]", "policy/policy.toml: serials: unknown key"),
    ("profiles/root.toml", "path_length = 1", "path_length = 1\npath_len = 1",
     "policy/profiles/root.toml: path_len: unknown key"),
    # missing keys
    ("policy.toml", "max_request_bytes = 8192", "", "policy/policy.toml: intake.max_request_bytes: is required"),
    ("profiles/issuing.toml", 'default_name = "S1SPKI Issuing CA 1"', "",
     "policy/profiles/issuing.toml: default_name: is required"),
    # wrong types: TOML's types are never coerced
    ("policy.toml", "octets = 16", 'octets = "16"', "policy/policy.toml: serial.octets: must be an integer, not '16'"),
    ("policy.toml", "octets = 16", "octets = 16.0", "policy/policy.toml: serial.octets: must be an integer, not 16.0"),
    ("policy.toml", 'environment = "test"', "environment = 5",
     "policy/policy.toml: environment: must be a string, not 5"),
    ("policy.toml", "day_boundary = true", "day_boundary = 1",
     "policy/policy.toml: validity.day_boundary: must be true or false, not 1"),
    ("profiles/root.toml", '"certificatePolicies"]', '"certificatePolicies", 5]',
     "policy/profiles/root.toml: extensions[4]: must be a string, not 5"),
    ("policy.toml", 'reasons = ["keyCompromise", "cACompromise",', 'reasons = ["keyCompromise", 1,',
     "policy/policy.toml: revocation.reasons[1]: must be a string, not 1"),
    # a bool where an int is wanted: bool is an int in Python, never in a policy file
    ("policy.toml", "octets = 16", "octets = true", "policy/policy.toml: serial.octets: must be an integer, not True"),
    ("policy.toml", "reissue_hours = 24", "reissue_hours = true",
     "policy/policy.toml: crl.reissue_hours: must be an integer, not True"),
    ("roles.toml", "recovery = 1", "recovery = true",
     "policy/roles.toml: roles.recovery: must be an integer, not True"),
    ("profiles/issuing.toml", "path_length = 0", "path_length = false",
     "policy/profiles/issuing.toml: path_length: must be 0, not False"),
    ("profiles/issuing.toml", "path_length = 0", "path_length = 0.0",
     "policy/profiles/issuing.toml: path_length: must be 0, not 0.0"),
    ("profiles/root.toml", "path_length = 1", "path_length = true",
     "policy/profiles/root.toml: path_length: must be one of 1, absent, not True"),
    ("profiles/digital-signature.toml", "lifetime_years = 10", "lifetime_years = true",
     "policy/profiles/digital-signature.toml: lifetime_years: must be an integer, not True"),
    # bounds
    ("policy.toml", "octets = 16", "octets = 21", "policy/policy.toml: serial.octets: must be <= 20, not 21"),
    ("policy.toml", "octets = 16", "octets = 8", "policy/policy.toml: serial.octets: must be >= 9, not 8"),
    ("policy.toml", "max_request_bytes = 8192", "max_request_bytes = 100",
     "policy/policy.toml: intake.max_request_bytes: must be >= 256, not 100"),
    ("roles.toml", "dspXmlSign = 137", "dspXmlSign = 256",
     "policy/roles.toml: roles.dspXmlSign: must be <= 255, not 256"),
    ("profiles/root.toml", "lifetime_years = 25", "lifetime_years = 101",
     "policy/profiles/root.toml: lifetime_years: must be <= 100, not 101"),
    # literals
    ("policy.toml", 'outliving_issuer = "refuse"', 'outliving_issuer = "shorten"',
     "policy/policy.toml: validity.outliving_issuer: must be refuse, not 'shorten'"),
    ("profiles/issuing.toml", 'subject_string_type = "printable"', 'subject_string_type = "ia5"',
     "policy/profiles/issuing.toml: subject_string_type: must be one of printable, utf8, not 'ia5'"),
    ("profiles/key-agreement.toml", 'basic_constraints = "absent"', 'basic_constraints = "false"',
     "policy/profiles/key-agreement.toml: basic_constraints: must be one of absent, critical-false, not 'false'"),
    ("profiles/root.toml", '"certificatePolicies"]', '"certificatePolicy"]',
     "policy/profiles/root.toml: extensions[3]: must be one of basicConstraints, keyUsage, subjectKeyIdentifier,"
     " certificatePolicies, authorityKeyIdentifier, not 'certificatePolicy'"),
]


@pytest.mark.parametrize(("file", "old", "new", "problem"), POLICY_PROBLEMS, ids=[p[3] for p in POLICY_PROBLEMS])
def test_each_policy_problem_is_worded_with_file_key_and_reason(tmp_path: Path, file: str, old: str, new: str,
                                                                problem: str) -> None:
    policy_dir = copy(tmp_path, "policy")
    edit(policy_dir / file, old, new)
    assert problems_of(load_policy, policy_dir) == [problem]


RAPP_PROBLEMS: list[tuple[str, str, str, str]] = [
    ("operations.toml", '[operations."org.register"]\nparticipants = 1', '[operations."org.register"]\nparticipant = 1',
     "rapp/operations.toml: operations.org.register.participant: unknown key"),
    ("roles.toml", 'title = "Auditor"\n', "", "rapp/roles.toml: roles.auditor.title: is required"),
    ("roles.toml", 'title = "Auditor"', "title = 5", "rapp/roles.toml: roles.auditor.title: must be a string, not 5"),
    ("operations.toml", '[operations."org.register"]\nparticipants = 1', '[operations]\n"org.register" = 1',
     "rapp/operations.toml: operations.org.register: must be a table, not 1"),
    ("roles.toml", 'may = ["audit.export"]', 'may = "audit.export"',
     "rapp/roles.toml: roles.auditor.may: must be a list of strings, not 'audit.export'"),
    ("operations.toml", "participants = 2", "participants = true",
     "rapp/operations.toml: operations.ceremony.root.participants: must be an integer, not True"),
    ("operations.toml", "approvals = 1", 'approvals = "1"',
     "rapp/operations.toml: operations.cert.issue.approvals: must be an integer, not '1'"),
    ("operations.toml", "participants = 2", "participants = 11",
     "rapp/operations.toml: operations.ceremony.root.participants: must be <= 10, not 11"),
    ("operations.toml", 'approver_roles = ["ra_officer", "ra_manager"]', 'approver_roles = ["ra_officer", "boss"]',
     "rapp/operations.toml: operations.cert.issue.approver_roles[1]: must be one of key_custodian, ca_administrator,"
     " ra_manager, ra_officer, auditor, not 'boss'"),
    ("roles.toml", 'may = ["audit.export"]', 'may = ["audit.export", "audit.export"]',
     "rapp/roles.toml: roles.auditor.may: lists an entry twice"),
    ("roles.toml", '["auditor", "ra_officer"],', '["auditor", "auditor"],',
     "rapp/roles.toml: separation.exclusive[7]: must be a pair of two different roles, not ['auditor', 'auditor']"),
]


@pytest.mark.parametrize(("file", "old", "new", "problem"), RAPP_PROBLEMS, ids=[p[3] for p in RAPP_PROBLEMS])
def test_each_rapp_problem_is_worded_with_file_key_and_reason(tmp_path: Path, file: str, old: str, new: str,
                                                              problem: str) -> None:
    rapp_dir = copy(tmp_path, "rapp")
    edit(rapp_dir / file, old, new)
    assert problems_of(load_rapp, rapp_dir) == [problem]


def test_problems_of_every_policy_file_are_reported_together(tmp_path: Path) -> None:
    policy_dir = copy(tmp_path, "policy")
    edit(policy_dir / "policy.toml", "octets = 16", "octets = 40")
    edit(policy_dir / "policy.toml", "day_boundary = true", 'day_boundary = "yes"')
    edit(policy_dir / "roles.toml", "recovery = 1", "recovery = true")
    edit(policy_dir / "profiles" / "issuing.toml", 'subject_string_type = "printable"', 'subject_string_type = "ia5"')
    edit(policy_dir / "profiles" / "digital-signature.toml", "lifetime_years = 10", "lifetime_years = 10\nlifetime = 9")
    assert problems_of(load_policy, policy_dir) == [
        "policy/policy.toml: serial.octets: must be <= 20, not 40",
        "policy/policy.toml: validity.day_boundary: must be true or false, not 'yes'",
        "policy/roles.toml: roles.recovery: must be an integer, not True",
        "policy/profiles/digital-signature.toml: lifetime: unknown key",
        "policy/profiles/issuing.toml: subject_string_type: must be one of printable, utf8, not 'ia5'",
    ]


def test_problems_of_both_rapp_files_are_reported_together(tmp_path: Path) -> None:
    rapp_dir = copy(tmp_path, "rapp")
    edit(rapp_dir / "roles.toml", 'title = "Auditor"', 'title = "Auditor"\ncan = []')
    edit(rapp_dir / "operations.toml", "participants = 2", "participants = 0")
    edit(rapp_dir / "operations.toml", 'approval_valid_for = "72h"', 'approval_valid_for = "3 days"')
    assert problems_of(load_rapp, rapp_dir) == [
        "rapp/operations.toml: operations.cert.issue.approval_valid_for: approvals need a validity like \"72h\""
        " (s, m, h or d), not '3 days'",
        "rapp/operations.toml: operations.ceremony.root.participants: must be >= 1, not 0",
        "rapp/roles.toml: roles.auditor.can: unknown key",
    ]


def test_a_validator_locates_each_problem_it_finds_in_a_table(tmp_path: Path) -> None:
    policy_dir = copy(tmp_path, "policy")
    edit(policy_dir / "roles.toml", "recovery = 1", "recovery = 2")
    edit(policy_dir / "roles.toml", "networkOperator = 3", "networkOperator = 2")
    assert problems_of(load_policy, policy_dir) == [
        "policy/roles.toml: roles.supplier: code 2 is already used by role 'recovery'",
        "policy/roles.toml: roles.networkOperator: code 2 is already used by role 'recovery'",
    ]


def test_an_operation_reports_each_contradiction(tmp_path: Path) -> None:
    rapp_dir = copy(tmp_path, "rapp")
    edit(rapp_dir / "operations.toml", '[operations."crl.issue"]\nparticipants = 1', '[operations."crl.issue"]\n'
         'participants = 1\nparticipant_roles = ["ra_officer"]\napprover_roles = ["ra_officer"]')
    assert problems_of(load_rapp, rapp_dir) == [
        "rapp/operations.toml: operations.crl.issue.approver_roles: approver roles without approvals = N >= 1",
        "rapp/operations.toml: operations.crl.issue.participant_roles: participant roles only apply when"
        " participants > 1",
    ]


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    rapp_dir = copy(tmp_path, "rapp")
    (rapp_dir / "operations.toml").unlink()
    assert problems_of(load_rapp, rapp_dir) == ["rapp/operations.toml: file is missing"]


def test_a_file_that_is_not_toml_is_one_problem_beside_the_others(tmp_path: Path) -> None:
    policy_dir = copy(tmp_path, "policy")
    edit(policy_dir / "roles.toml", "[roles]", "[roles")
    edit(policy_dir / "policy.toml", "octets = 16", "octets = 40")
    problems = problems_of(load_policy, policy_dir)
    assert problems[0] == "policy/policy.toml: serial.octets: must be <= 20, not 40"
    assert problems[1].startswith("policy/roles.toml: not valid TOML (") and len(problems) == 2, problems


def test_key_paths_read_as_the_toml_keys() -> None:
    assert key_path(("roles", "auditor", "may", 2)) == "roles.auditor.may[2]"
    assert key_path(("operations", "cert.issue", "approver_roles", 0)) == "operations.cert.issue.approver_roles[0]"
    assert key_path(("separation", "exclusive", 1, 0)) == "separation.exclusive[1][0]"
    assert key_path(()) == ""


def test_the_command_line_does_not_import_pydantic_until_a_folder_is_read() -> None:
    code = ("import sys, s1spki.cli.main, s1spki.values.datafile; assert 'pydantic' not in sys.modules, 'at start';"
            " from s1spki.policy import load_policy; assert 'pydantic' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
