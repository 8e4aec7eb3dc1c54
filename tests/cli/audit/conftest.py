"""Fixtures of the audit CLI tests: a CA home with some history, and an auditor."""

from __future__ import annotations

import pytest

from tests.conftest import CaHome


@pytest.fixture
def auditor(ca: CaHome) -> str:
    """An operator holding the auditor role (the shared template's, else one registered here)."""
    for operator in ca.ok("--json", "operator", "list").json():
        roles = operator.get("roles") or [operator.get("role")]
        if "auditor" in roles and operator.get("status") == "active":
            return str(operator["name"])
    secret = ca.work / "audrey.pass"
    secret.write_text("passphrase of audrey, the auditor\n")
    ca.ok("operator", "keygen", "audrey", "--passphrase-file", str(secret))
    ca.ok("operator", "add", "audrey", "--role", "auditor", "--public-key",
          str(ca.home / "credentials" / "audrey.pub.pem"), "--as", "alice", "--as", "bob")
    return "audrey"


@pytest.fixture
def busy(ca: CaHome) -> CaHome:
    """The CA after some ordinary work: two certificates issued, one refusal."""
    ca.issue_new()
    ca.issue_new("keyAgreement")
    refused = ca.run("cert", "issue", "999", "--as", "carol")
    assert refused.code == 2, str(refused)  # no such request: a usage error, recorded as refused
    return ca
