"""The name rules as pure functions: what each accepts and refuses, and how a refusal is worded (one line,
the field, the limit, the problem, the value escaped). The CLI tests drive them through the commands."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from s1spki.errors import UsageError
from s1spki.values.names import (
    common_name,
    common_name_problems,
    evidence_reference,
    is_operator_name,
    officer_name,
    operator_name,
    organisation_name,
    shown,
)

GOOD_CNS = ["S1SPKI Issuing CA 1", "Zoë's meter #1", "Ελληνικά", "日本語の名前", "a", "x" * 64, "café (façade)",
            "O'Brien & Sons", "meter-01.example", "100% #2", "tab-free\u00a0nbsp"]


@pytest.mark.parametrize("cn", GOOD_CNS)
def test_a_good_common_name_passes_and_survives_an_rfc4514_round_trip(cn: str) -> None:
    assert common_name_problems(cn, 64) == ()
    assert common_name(cn, 64) == cn
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    assert x509.Name.from_rfc4514_string(name.rfc4514_string()) == name


@pytest.mark.parametrize(("cn", "problem"), [
    ("admin,OU=07", "must not contain , ="), ("a+b", "must not contain +"), ('a"b', 'must not contain "'),
    ("a\\b", "must not contain \\"), ("a<b>", "must not contain < >"), ("a;b", "must not contain ;"),
    ("#ab", "must not begin with '#'"), ("a\x00b", "U+0000 at position 2"), ("a\tb", "U+0009"),
    ("a\u0085b", "U+0085"), ("a\u2029b", "U+2029 PARAGRAPH SEPARATOR"), ("a\ufeffb", "U+FEFF"),
    ("a\u202db", "U+202D LEFT-TO-RIGHT OVERRIDE"), ("a\ue000", "private-use"), ("a\U000e0001", "U+E0001"),
    ("\u0378", "unassigned"), (" a", "begin or end"), ("a\u3000", "begin or end"), ("\u2003", "whitespace only"),
    ("\u212b", "U+212B ANGSTROM SIGN at position 1"), ("", "must have 1 to 64 characters, not 0"),
])
def test_a_common_name_outside_the_profile_is_named_with_its_problem(cn: str, problem: str) -> None:
    problems = common_name_problems(cn, 64)
    assert problems and problem in problems[0], problems
    with pytest.raises(UsageError) as refused:
        common_name(cn, 64)
    assert refused.value.message.startswith(f"--cn {shown(cn)} ")
    assert refused.value.facts["limit"] == 64 and refused.value.facts["field"] == "--cn"


def test_the_linter_can_ask_without_a_limit() -> None:
    assert common_name_problems("y" * 64) == ()
    assert common_name_problems("CN=x,OU=07") != ()
    assert "<= 64" in common_name_problems("y" * 65)[0]  # RFC 5280 ub-common-name still bounds it


@pytest.mark.parametrize("value", ["a\x1b[31mred", "a\u202eb", "a\nb", "a\rb", "\udcff", "a\u2028b"])
def test_a_refusal_is_one_line_with_nothing_raw(value: str) -> None:
    for check in (lambda: organisation_name(value, 128), lambda: officer_name(value, 128, "ARO"),
                  lambda: evidence_reference(value, 256, "identity"), lambda: operator_name(value, 64),
                  lambda: common_name(value, 64)):
        with pytest.raises(UsageError) as refused:
            check()
        message = refused.value.message
        assert message.isprintable() and len(message.splitlines()) == 1, repr(message)


def test_a_long_value_is_shown_cut_short() -> None:
    with pytest.raises(UsageError) as refused:
        organisation_name("A" * 10_000, 128)
    assert "... (10000 characters) must have 1 to 128 characters, not 10000" in refused.value.message
    assert len(refused.value.message) < 200


@pytest.mark.parametrize("name", ["carol", "dave.smith", "key_custodian-2", "0perator", "A" * 64])
def test_an_operator_name_of_the_restricted_set_passes(name: str) -> None:
    assert operator_name(name, 64) == name and is_operator_name(name)


@pytest.mark.parametrize("name", ["", "../x", "..", ".", "a/b", "\u0441arol", "carol\u0301", "caröl", "-x", "_x",
                                  ".x", "a b", "a\x00", "ｃarol", "x" * 65])
def test_an_operator_name_outside_the_restricted_set_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match=r"^operator name .* must be 1 to 64 letters, digits"):
        operator_name(name, 64)


def test_names_are_refused_not_normalised() -> None:
    decomposed = "Zoe\u0308"
    with pytest.raises(UsageError, match="U\\+0308 COMBINING DIAERESIS at position 4"):
        organisation_name(decomposed, 128)
    assert organisation_name("Zoë", 128) == "Zoë"
