"""Names of organisations, SROs and AROs, and the evidence references recorded with them: NFC, one line, no
control or format characters (bidi overrides, zero-width), no surrounding spaces, within the policy's limits.
Each hostile name is given through the real CLI as an attacker would type it."""

from __future__ import annotations

import re

import pytest

from tests.cli.names import assert_name_refused
from tests.conftest import ACME, ACME_ARO, ACME_SRO, CaHome

FREE_EUI = "90B3D51F30090000"


def register(name: str) -> list[str]:
    return ["org", "register", name, "--eui64", FREE_EUI, "--role", "supplier", "--as", "carol"]


def sro(name: str = "Sid Senior", identity: str = "passport seen", authority: str = "board minute") -> list[str]:
    return ["org", "sro", "add", ACME, name, "--identity-evidence", identity, "--authority-evidence", authority,
            "--as", "dave"]


def aro(name: str = "Ada Officer", evidence: str = "letter") -> list[str]:
    return ["org", "aro", "add", ACME, name, "--nominated-by", ACME_SRO, "--nomination-evidence", evidence,
            "--as", "dave"]


def verify(evidence: str) -> list[str]:
    return ["org", "aro", "verify", ACME, ACME_ARO, "--check", "identity", "--evidence", evidence, "--as", "dave"]


# (id, command, words of the one-line refusal)
CASES = [
    ("org-bidi-override", register("Evil Energy\u202edtL"), "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("org-zero-width", register("Acme\u200b Energy Ltd"), "U+200B ZERO WIDTH SPACE"),
    ("org-newline", register("Acme Energy Ltd\nOU=07"), "organisation name 'Acme Energy Ltd\\nOU=07'"),
    ("org-escape-sequence", register("Acme \x1b[2J Ltd"), "U+001B"),
    ("org-undecodable-byte", register("Acme \udcff Ltd"), "is not valid UTF-8"),  # refused by the front door
    ("org-leading-space", register(" Acme Energy Ltd"), "must not begin or end with whitespace"),
    ("org-trailing-space", register("Acme Energy Ltd "), "must not begin or end with whitespace"),
    ("org-whitespace-only", register("\u3000 \u00a0"), "must not be whitespace only"),
    ("org-not-nfc", register("Zoe\u0308 Energy"), "must be in Unicode normal form NFC"),
    ("org-too-long", register("A" * 129), "must have 1 to 128 characters, not 129"),
    ("sro-bidi", sro(name="Sid\u202e Senior"), "SRO name"),
    ("sro-line-separator", sro(name="Sid\u2028Senior"), "U+2028 LINE SEPARATOR"),
    ("sro-identity-newline", sro(identity="passport seen\nverified: yes"), "identity evidence reference"),
    ("sro-authority-blank", sro(authority="  "), "authority evidence reference '  ' must not be whitespace only"),
    ("aro-zero-width-joiner", aro(name="Ada\u200dOfficer"), "ARO name"),
    ("aro-nomination-too-long", aro(evidence="n" * 257), "must have 1 to 256 characters, not 257"),
    ("verify-leading-space", verify(" photo ID"), "identity evidence reference ' photo ID'"),
    ("verify-bidi", verify("photo ID \u2066seen\u2069"), "U+2066 LEFT-TO-RIGHT ISOLATE"),
]


@pytest.mark.parametrize(("command", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_name_or_reference_is_refused_in_one_escaped_line(ca: CaHome, command: list[str],
                                                                    words: str) -> None:
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run(*command)

    assert_name_refused(ca, result, before, audit_before, words)


def test_the_organisation_limit_is_the_policy_in_force_and_good_names_pass(ca: CaHome) -> None:
    policy = ca.home / "policy" / "policy.toml"
    text, count = re.subn(r"(?m)^organisation = \d+$", "organisation = 16", policy.read_text())
    assert count == 1
    policy.write_text(text)
    ca.ok("policy", "adopt", "--as", "alice", "--as", "bob")  # a reviewed change of policy, adopted
    before, audit_before = ca.snapshot(), len(ca.audit())

    too_long = ca.run(*register("Zoë Énergie S.A.R"))  # 17 characters

    assert_name_refused(ca, too_long, before, audit_before, "must have 1 to 16 characters, not 17")
    made = ca.ok("--json", *register("Zoë Énergie SARL")).json()  # 16 characters, NFC: accepted as typed
    assert made["name"] == "Zoë Énergie SARL"
    ca.ok("org", "sro", "add", "Zoë Énergie SARL", "Zoë Ångström", "--identity-evidence", "passeport vu",
          "--authority-evidence", "procès-verbal du conseil", "--as", "dave")
