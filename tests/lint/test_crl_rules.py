"""Each CRL rule: the good CRL passes it, and a CRL broken in one way is flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from asn1crypto import core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.name import _ASN1Type

from s1spki.lint import LintContext, lint_crl, rules

from .factory import (
    NULL_PARAMETERS,
    CrlSpec,
    Pki,
    aki,
    ca_name,
    edit_crl,
    new_key,
    reason,
    rules_of,
    serial,
    ski_method2,
)


@dataclass(frozen=True)
class Case:
    """A CRL broken one way, the context it is linted in, and the rule that must flag it."""

    rule: str
    make: Callable[[Pki], bytes]
    context: Callable[[Pki], LintContext] = field(default=lambda pki: LintContext())


def under_ca(pki: Pki, **settings: object) -> LintContext:
    return LintContext(issuer_der=pki.ca.build(), **settings)  # type: ignore[arg-type]


def crl_with(change: Callable[[CrlSpec], CrlSpec]) -> Callable[[Pki], bytes]:
    return lambda pki: change(pki.crl).build()


def crl_edited(
    edit: Callable[[asn1_crl.TbsCertList], None] | None, outer: object = None
) -> Callable[[Pki], bytes]:
    return lambda pki: edit_crl(pki.crl.build(), pki.ca_key, edit, outer)  # type: ignore[arg-type]


def extensions(pki: Pki, *extra: tuple[x509.ExtensionType, bool], number: int = 7) -> CrlSpec:
    ca_ski = ski_method2(pki.ca_key.public_key())
    return pki.crl.replace(extensions=((aki(ca_ski), False), (x509.CRLNumber(number), False), *extra))


def one_entry(*entry_extensions: tuple[x509.ExtensionType, bool]) -> Callable[[Pki], bytes]:
    return crl_with(lambda spec: spec.replace(entries=((serial(9), entry_extensions),)))


def _set(name: str, value: object) -> Callable[[asn1_crl.TbsCertList], None]:
    return lambda tbs: tbs.__setitem__(name, value)


def _negative_crl_number(tbs: asn1_crl.TbsCertList) -> None:
    for extension in tbs["crl_extensions"]:
        if extension["extn_id"].native == "crl_number":
            extension["extn_value"] = core.Integer(-5)


CASES: dict[str, Case] = {
    "version-absent": Case("crl.version_v2", crl_edited(_set("version", None))),
    "sha384": Case("crl.signature_algorithm", crl_with(lambda s: s.replace(hash_algorithm=hashes.SHA384()))),
    "null-params": Case(
        "crl.signature_params_absent", crl_edited(_set("signature", NULL_PARAMETERS), NULL_PARAMETERS)
    ),
    "outer-differs": Case("crl.signature_algorithms_match", crl_edited(None, NULL_PARAMETERS)),
    "issuer-utf8": Case(
        "crl.issuer_matches_ca_subject",
        crl_with(lambda s: s.replace(issuer=ca_name("07", "S1SPKI Test CA", _ASN1Type.UTF8String))),
        under_ca,
    ),
    "aki-absent": Case(
        "crl.aki_present", crl_with(lambda s: s.replace(extensions=((x509.CRLNumber(7), False),)))
    ),
    "aki-critical": Case(
        "crl.aki_present",
        lambda pki: pki.crl.replace(
            extensions=((aki(ski_method2(pki.ca_key.public_key())), True), (x509.CRLNumber(7), False))
        ).build(),
    ),
    "aki-with-issuer-and-serial": Case(
        "crl.aki_key_id_only",
        lambda pki: pki.crl.replace(
            extensions=(
                (
                    x509.AuthorityKeyIdentifier(
                        ski_method2(pki.ca_key.public_key()), [x509.DirectoryName(pki.ca.issuer)], 3
                    ),
                    False,
                ),
                (x509.CRLNumber(7), False),
            )
        ).build(),
    ),
    "aki-not-ca-ski": Case(
        "crl.aki_matches_issuer",
        crl_with(lambda s: s.replace(extensions=((aki(b"\x42" * 8), False), (x509.CRLNumber(7), False)))),
        under_ca,
    ),
    "crl-number-absent": Case(
        "crl.crl_number",
        lambda pki: pki.crl.replace(extensions=((aki(ski_method2(pki.ca_key.public_key())), False),)).build(),
    ),
    "crl-number-critical": Case(
        "crl.crl_number",
        lambda pki: pki.crl.replace(
            extensions=((aki(ski_method2(pki.ca_key.public_key())), False), (x509.CRLNumber(7), True))
        ).build(),
    ),
    "crl-number-negative": Case("crl.crl_number", crl_edited(_negative_crl_number)),
    "crl-number-21-octets": Case("crl.crl_number", lambda pki: extensions(pki, number=1 << 160).build()),
    "next-update-absent": Case("crl.next_update", crl_edited(_set("next_update", None))),
    "next-update-equals-this-update": Case(
        "crl.next_update", crl_with(lambda s: s.replace(next_update=s.this_update))
    ),
    "generalized-this-update-2025": Case(
        "crl.time_encoding",
        crl_edited(_set("this_update", asn1_x509.Time({"general_time": datetime(2025, 1, 1, tzinfo=UTC)}))),
    ),
    "reason-certificate-hold": Case(
        "crl.entry_reason_code", one_entry(*reason(x509.ReasonFlags.certificate_hold))
    ),
    "reason-remove-from-crl": Case(
        "crl.entry_reason_code", one_entry(*reason(x509.ReasonFlags.remove_from_crl))
    ),
    "reason-unspecified": Case("crl.entry_reason_code", one_entry(*reason(x509.ReasonFlags.unspecified))),
    "reason-not-in-setting": Case(
        "crl.entry_reason_code",
        lambda pki: pki.crl.build(),
        lambda pki: LintContext(crl_reason_codes=frozenset({4})),
    ),
    "duplicate-serial": Case(
        "crl.entry_serials_unique", crl_with(lambda s: s.replace(entries=(*s.entries, s.entries[0])))
    ),
    "delta-crl-indicator": Case(
        "crl.extensions_allowed", lambda pki: extensions(pki, (x509.DeltaCRLIndicator(6), True)).build()
    ),
    "entry-certificate-issuer": Case(
        "crl.entry_extensions_allowed",
        lambda pki: one_entry((x509.CertificateIssuer([x509.DirectoryName(pki.ca.subject)]), True))(pki),
    ),
    "signed-by-another-key": Case(
        "crl.signature_valid",
        crl_with(lambda s: s.replace(signing_key=new_key())),
        lambda pki: under_ca(pki, check_signature=True),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_rule_flags_broken_crl(pki: Pki, name: str) -> None:
    case = CASES[name]
    findings = lint_crl(case.make(pki), case.context(pki))
    assert case.rule in rules_of(findings), "\n".join(f.line() for f in findings)


@pytest.mark.parametrize(
    ("make", "context"),
    [
        (lambda pki: pki.crl.build(), lambda pki: under_ca(pki, check_signature=True)),
        (lambda pki: pki.crl.replace(entries=()).build(), lambda pki: under_ca(pki, check_signature=True)),
        (
            lambda pki: pki.crl.replace(
                entries=((serial(8), ((x509.InvalidityDate(datetime(2024, 12, 1)), False),)),)
            ).build(),
            under_ca,
        ),
        (
            # an ARL: the root's CRL of CA certificates, after 2050 in GeneralizedTime
            lambda pki: CrlSpec(
                issuer=pki.root.subject,
                signing_key=pki.root_key,
                extensions=(
                    (aki(ski_method2(pki.root_key.public_key())), False),
                    (x509.CRLNumber(0), False),
                ),
                entries=((serial(3), reason(x509.ReasonFlags.ca_compromise)),),
                this_update=datetime(2050, 1, 1, tzinfo=UTC),
                next_update=datetime(2051, 1, 31, tzinfo=UTC),
            ).build(),
            lambda pki: LintContext(issuer_der=pki.root.build(), check_signature=True),
        ),
    ],
    ids=["crl", "empty-crl", "invalidity-date", "arl-2050"],
)
def test_good_crls_have_no_findings(
    pki: Pki, make: Callable[[Pki], bytes], context: Callable[[Pki], LintContext]
) -> None:
    findings = lint_crl(make(pki), context(pki))
    assert findings == (), "\n".join(f.line() for f in findings)


def test_reason_messages_name_the_reason(pki: Pki) -> None:
    findings = lint_crl(one_entry(*reason(x509.ReasonFlags.certificate_hold))(pki))
    (finding,) = [f for f in findings if f.rule == "crl.entry_reason_code"]
    assert "certificateHold (6)" in finding.message


def test_every_crl_rule_has_a_failing_case() -> None:
    crl_rules = {rule.name for rule in rules() if rule.name.startswith("crl.")}
    assert crl_rules == {case.rule for case in CASES.values()}
