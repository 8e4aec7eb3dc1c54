"""Each certificate rule: the good hierarchy passes it, and a certificate broken in one way is flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from asn1crypto import core, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from s1spki.lint import LintContext, lint_certificate

from .factory import (
    EUI64,
    NULL_PARAMETERS,
    TEST_POLICY,
    CertSpec,
    Pki,
    aki,
    ca_name,
    cn,
    edit_certificate,
    key_usage,
    new_key,
    ou,
    policies,
    rdns,
    rules_of,
    ski_method2,
    uid,
)


@dataclass(frozen=True)
class Case:
    """A certificate broken one way, the context it is linted in, and the rule that must flag it."""

    rule: str
    make: Callable[[Pki], bytes]
    context: Callable[[Pki], LintContext] = field(default=lambda pki: LintContext())


def under_ca(pki: Pki, **settings: object) -> LintContext:
    return LintContext(issuer_der=pki.ca.build(), **settings)  # type: ignore[arg-type]


def under_root(pki: Pki, **settings: object) -> LintContext:
    return LintContext(issuer_der=pki.root.build(), **settings)  # type: ignore[arg-type]


def ee_with(change: Callable[[CertSpec], CertSpec]) -> Callable[[Pki], bytes]:
    return lambda pki: change(pki.ee).build()


def ca_with(change: Callable[[CertSpec], CertSpec]) -> Callable[[Pki], bytes]:
    return lambda pki: change(pki.ca).build()


def root_with(change: Callable[[CertSpec], CertSpec]) -> Callable[[Pki], bytes]:
    return lambda pki: change(pki.root).build()


def ee_edited(edit: Callable[[asn1_x509.TbsCertificate], None] | None, outer=None) -> Callable[[Pki], bytes]:
    return lambda pki: edit_certificate(pki.ee.build(), pki.ca_key, edit, outer)


def _set(name: str, value: object) -> Callable[[asn1_x509.TbsCertificate], None]:
    return lambda tbs: tbs.__setitem__(name, value)


def _not_before(value: asn1_x509.Time) -> Callable[[asn1_x509.TbsCertificate], None]:
    def edit(tbs: asn1_x509.TbsCertificate) -> None:
        tbs["validity"]["not_before"] = value

    return edit


def _swap_validity(tbs: asn1_x509.TbsCertificate) -> None:
    validity = tbs["validity"]
    before, after = validity["not_before"].dump(), validity["not_after"].dump()
    tbs["validity"] = asn1_x509.Validity(
        {"not_before": asn1_x509.Time.load(after), "not_after": asn1_x509.Time.load(before)}
    )


def _duplicate_first_extension(tbs: asn1_x509.TbsCertificate) -> None:
    tbs["extensions"].append(asn1_x509.Extension.load(tbs["extensions"][0].dump()))


def _compressed_point(pki: Pki) -> bytes:
    point = pki.ee_key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)

    def edit(tbs: asn1_x509.TbsCertificate) -> None:
        tbs["subject_public_key_info"]["public_key"] = keys.ECPointBitString(point)

    return edit_certificate(pki.ee.build(), pki.ca_key, edit)


KU, SKI, CP, AKI, BC = (
    ExtensionOID.KEY_USAGE,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.BASIC_CONSTRAINTS,
)
OTHER_POLICY = "1.2.826.0.1.8641679.1.2.1.9"

CASES: dict[str, Case] = {
    # signature algorithm (policy 2.3)
    "sha384": Case("gbcs.signature_algorithm", ee_with(lambda s: s.replace(hash_algorithm=hashes.SHA384()))),
    "null-params": Case(
        "gbcs.signature_params_absent", ee_edited(_set("signature", NULL_PARAMETERS), NULL_PARAMETERS)
    ),
    "outer-differs": Case("gbcs.signature_algorithms_match", ee_edited(None, NULL_PARAMETERS)),
    # version, serial, key (policy 2.1, 2.9, 2.2)
    "version-v2": Case("gbcs.version_v3", ee_edited(_set("version", "v2"))),
    "serial-15-octets": Case("gbcs.serial_number", ee_with(lambda s: s.replace(serial_number=1 << 118))),
    "serial-17-octets": Case("gbcs.serial_number", ee_with(lambda s: s.replace(serial_number=1 << 127))),
    "serial-negative": Case("gbcs.serial_number", ee_edited(_set("serial_number", -(1 << 126)))),
    "p384-key": Case(
        "gbcs.public_key_p256",
        ee_with(lambda s: s.replace(public_key=ec.generate_private_key(ec.SECP384R1()).public_key())),
    ),
    "compressed-point": Case("gbcs.public_key_p256", _compressed_point),
    # keyUsage (policy 2.4, 3, 4)
    "ku-not-critical": Case(
        "gbcs.key_usage_present", ee_with(lambda s: s.with_extension(key_usage("digital_signature"), False))
    ),
    "ku-absent": Case("gbcs.key_usage_present", ee_with(lambda s: s.without_extension(KU))),
    "ee-ku-both": Case(
        "gbcs.key_usage_end_entity",
        ee_with(lambda s: s.with_extension(key_usage("digital_signature", "key_agreement"), True)),
    ),
    "ee-ku-key-encipherment": Case(
        "gbcs.key_usage_end_entity", ee_with(lambda s: s.with_extension(key_usage("key_encipherment"), True))
    ),
    "ca-ku-extra-bit": Case(
        "gbcs.key_usage_ca",
        ca_with(
            lambda s: s.with_extension(key_usage("key_cert_sign", "crl_sign", "digital_signature"), True)
        ),
        under_root,
    ),
    "ca-ku-no-crl-sign": Case(
        "gbcs.key_usage_ca", ca_with(lambda s: s.with_extension(key_usage("key_cert_sign"), True)), under_root
    ),
    # SKI (policy 2.5)
    "ski-critical": Case(
        "gbcs.ski_present",
        lambda pki: pki.ee.with_extension(
            x509.SubjectKeyIdentifier(ski_method2(pki.ee_key.public_key())), True
        ).build(),
    ),
    "ski-absent": Case("gbcs.ski_present", ee_with(lambda s: s.without_extension(SKI))),
    "ski-method1": Case(
        "gbcs.ski_method2",
        lambda pki: pki.ee.with_extension(
            x509.SubjectKeyIdentifier.from_public_key(pki.ee_key.public_key()), False
        ).build(),
    ),
    "ski-other-key": Case(
        "gbcs.ski_method2",
        lambda pki: pki.ee.with_extension(
            x509.SubjectKeyIdentifier(ski_method2(new_key().public_key())), False
        ).build(),
    ),
    # AKI (policy 2.6, 4)
    "aki-absent": Case("gbcs.aki_present", ee_with(lambda s: s.without_extension(AKI))),
    "aki-critical": Case(
        "gbcs.aki_present",
        lambda pki: pki.ee.with_extension(aki(ski_method2(pki.ca_key.public_key())), True).build(),
    ),
    "aki-with-issuer-and-serial": Case(
        "gbcs.aki_key_id_only",
        lambda pki: pki.ee.with_extension(
            x509.AuthorityKeyIdentifier(
                ski_method2(pki.ca_key.public_key()), [x509.DirectoryName(pki.ca.issuer)], 3
            ),
            False,
        ).build(),
    ),
    "aki-20-octets": Case(
        "gbcs.aki_key_id_only", ee_with(lambda s: s.with_extension(aki(b"\x11" * 20), False))
    ),
    "aki-not-issuer-ski": Case(
        "gbcs.aki_matches_issuer", ee_with(lambda s: s.with_extension(aki(b"\x42" * 8), False)), under_ca
    ),
    "root-with-aki": Case(
        "gbcs.root_aki_absent",
        lambda pki: pki.root.with_extension(aki(ski_method2(pki.root_key.public_key())), False).build(),
    ),
    # certificatePolicies (policy 2.7)
    "cp-not-critical": Case(
        "gbcs.certificate_policies", ee_with(lambda s: s.with_extension(policies(TEST_POLICY), False))
    ),
    "cp-absent": Case("gbcs.certificate_policies", ee_with(lambda s: s.without_extension(CP))),
    "cp-two-policies": Case(
        "gbcs.certificate_policies",
        ee_with(lambda s: s.with_extension(policies(TEST_POLICY, OTHER_POLICY), True)),
    ),
    "cp-qualifier": Case(
        "gbcs.certificate_policies",
        ee_with(
            lambda s: s.with_extension(policies(TEST_POLICY, qualifier="https://example.invalid/cps"), True)
        ),
    ),
    "cp-not-the-policy-oid": Case(
        "gbcs.certificate_policy_allowed",
        lambda pki: pki.ee.build(),
        lambda pki: LintContext(policy_oids=(OTHER_POLICY,)),
    ),
    # extensions (policy 2.8, 3)
    "eku": Case(
        "gbcs.extensions_allowed",
        ee_with(lambda s: s.with_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)),
    ),
    "duplicate-extension": Case("gbcs.extensions_allowed", ee_edited(_duplicate_first_extension)),
    "ca-with-eku": Case(
        "gbcs.extensions_allowed",
        ca_with(lambda s: s.with_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False)),
    ),
    "ee-order-ski-first": Case("gbcs.extension_order", ee_with(lambda s: s.ordered(SKI, KU, CP, AKI))),
    # basicConstraints (policy 3, 4)
    "ee-bc-when-absent": Case(
        "gbcs.basic_constraints_end_entity",
        ee_with(lambda s: s.with_extension(x509.BasicConstraints(False, None), True)),
    ),
    "ee-no-bc-when-critical-false": Case(
        "gbcs.basic_constraints_end_entity",
        lambda pki: pki.ee.build(),
        lambda pki: LintContext(end_entity_basic_constraints="critical-false"),
    ),
    "ee-bc-not-critical": Case(
        "gbcs.basic_constraints_end_entity",
        ee_with(lambda s: s.with_extension(x509.BasicConstraints(False, None), False)),
        lambda pki: LintContext(end_entity_basic_constraints="critical-false"),
    ),
    "ca-no-path-length": Case(
        "gbcs.basic_constraints_ca",
        ca_with(lambda s: s.with_extension(x509.BasicConstraints(True, None), True)),
    ),
    "ca-bc-not-critical": Case(
        "gbcs.basic_constraints_ca",
        ca_with(lambda s: s.with_extension(x509.BasicConstraints(True, 0), False)),
    ),
    "root-path-length-2": Case(
        "gbcs.basic_constraints_ca",
        root_with(lambda s: s.with_extension(x509.BasicConstraints(True, 2), True)),
    ),
    "root-path-length-when-absent": Case(
        "gbcs.basic_constraints_ca",
        lambda pki: pki.root.build(),
        lambda pki: LintContext(root_path_length="absent"),
    ),
    "root-no-path-length-when-1": Case(
        "gbcs.basic_constraints_ca",
        root_with(lambda s: s.with_extension(x509.BasicConstraints(True, None), True)),
        lambda pki: LintContext(root_path_length=1),
    ),
    # end-entity subject (policy 3)
    "ee-multi-valued-rdn": Case(
        "gbcs.subject_ee_structure",
        ee_with(lambda s: s.replace(subject=x509.Name([x509.RelativeDistinguishedName([ou(), uid()])]))),
    ),
    "ee-extra-organization": Case(
        "gbcs.subject_ee_structure",
        ee_with(
            lambda s: s.replace(
                subject=rdns(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME"), ou(), uid())
            )
        ),
    ),
    "ee-no-uid": Case("gbcs.subject_ee_structure", ee_with(lambda s: s.replace(subject=rdns(cn(), ou())))),
    "ee-uid-before-ou": Case(
        "gbcs.subject_ee_structure", ee_with(lambda s: s.replace(subject=rdns(uid(), ou())))
    ),
    "ee-cn-printable": Case(
        "gbcs.subject_ee_common_name",
        ee_with(lambda s: s.replace(subject=rdns(cn(string_type=_ASN1Type.PrintableString), ou(), uid()))),
    ),
    "ee-ou-lowercase": Case(
        "gbcs.subject_ee_role_code", ee_with(lambda s: s.replace(subject=rdns(ou("8a"), uid())))
    ),
    "ee-ou-printable": Case(
        "gbcs.subject_ee_role_code",
        ee_with(lambda s: s.replace(subject=rdns(ou("02", _ASN1Type.PrintableString), uid()))),
    ),
    "ee-ou-not-a-role": Case(
        "gbcs.subject_ee_role_code",
        lambda pki: pki.ee.build(),
        lambda pki: LintContext(role_codes=frozenset({1, 3})),
    ),
    # the linter's own facts, whatever the policy in force says (policy 3, 4; RFC 4514)
    "ee-ou-root-role-even-if-policy-allows": Case(
        "gbcs.subject_ee_not_a_ca_role",
        ee_with(lambda s: s.replace(subject=rdns(ou("00"), uid()))),
        lambda pki: LintContext(role_codes=frozenset({0, 2})),
    ),
    "ee-ou-issuing-role": Case(
        "gbcs.subject_ee_not_a_ca_role", ee_with(lambda s: s.replace(subject=rdns(ou("07"), uid())))
    ),
    "ee-cn-rfc4514-specials": Case(
        "gbcs.subject_common_name_profile",
        ee_with(lambda s: s.replace(subject=rdns(cn("CN=admin,OU=07"), ou(), uid()))),
    ),
    "ee-cn-bidi-override": Case(
        "gbcs.subject_common_name_profile",
        ee_with(lambda s: s.replace(subject=rdns(cn("SUPPLIER\u202eTXT"), ou(), uid()))),
    ),
    "ee-cn-newline": Case(
        "gbcs.subject_common_name_profile",
        ee_with(lambda s: s.replace(subject=rdns(cn("SUPPLIER\nOU=07"), ou(), uid()))),
    ),
    "ee-eui64-7-octets": Case(
        "gbcs.subject_ee_eui64", ee_with(lambda s: s.replace(subject=rdns(ou(), uid(EUI64[:7]))))
    ),
    "ee-eui64-unused-bits": Case(
        "gbcs.subject_ee_eui64", ee_with(lambda s: s.replace(subject=rdns(ou(), uid(unused_bits=4))))
    ),
    "ee-eui64-as-text": Case(
        "gbcs.subject_ee_eui64",
        ee_with(
            lambda s: s.replace(
                subject=rdns(ou(), x509.NameAttribute(uid().oid, EUI64.hex(), _ASN1Type.UTF8String))
            )
        ),
    ),
    # CA subject (policy 4)
    "ca-cn-before-ou": Case(
        "gbcs.subject_ca_structure",
        ca_with(lambda s: s.replace(subject=rdns(*reversed(list(s.subject))))),
    ),
    "ca-extra-organization": Case(
        "gbcs.subject_ca_structure",
        ca_with(
            lambda s: s.replace(
                subject=x509.Name(
                    [
                        *s.subject.rdns,
                        x509.RelativeDistinguishedName(
                            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME", _ASN1Type.PrintableString)]
                        ),
                    ]
                )
            )
        ),
    ),
    "ca-ou-not-07": Case(
        "gbcs.subject_ca_role_code", ca_with(lambda s: s.replace(subject=ca_name("02", "S1SPKI Test CA")))
    ),
    "root-ou-not-00": Case(
        "gbcs.subject_ca_role_code",
        root_with(lambda s: s.replace(subject=ca_name("07", "Root"), issuer=ca_name("07", "Root"))),
    ),
    "ca-printable-when-utf8": Case(
        "gbcs.subject_ca_string_type",
        lambda pki: pki.ca.build(),
        lambda pki: LintContext(ca_subject_string_type="utf8"),
    ),
    "ca-ia5string": Case(
        "gbcs.subject_ca_string_type",
        ca_with(lambda s: s.replace(subject=ca_name("07", "S1SPKI Test CA", _ASN1Type.IA5String))),
    ),
    # issuer name (policy 2.10)
    "issuer-utf8-vs-printable": Case(
        "gbcs.issuer_matches_ca_subject",
        ee_with(lambda s: s.replace(issuer=ca_name("07", "S1SPKI Test CA", _ASN1Type.UTF8String))),
        under_ca,
    ),
    "issuer-certificate-garbage": Case(
        "gbcs.issuer_matches_ca_subject",
        lambda pki: pki.ee.build(),
        lambda pki: LintContext(issuer_der=b"\x30\x03\x02\x01"),
    ),
    "root-issuer-other-string-type": Case(
        "gbcs.root_issuer_identical",
        root_with(lambda s: s.replace(issuer=ca_name("00", "S1SPKI Test Root", _ASN1Type.UTF8String))),
    ),
    # validity (policy 1, 2.11)
    "generalized-time-2025": Case(
        "gbcs.validity_time_encoding",
        ee_edited(_not_before(asn1_x509.Time({"general_time": datetime(2025, 1, 1, tzinfo=UTC)}))),
    ),
    "utc-time-without-seconds": Case(
        "gbcs.validity_time_encoding",
        ee_edited(_not_before(asn1_x509.Time({"utc_time": core.UTCTime(contents=b"2501010000Z")}))),
    ),
    "not-before-after-not-after": Case("gbcs.validity_order", ee_edited(_swap_validity)),
    "outlives-issuer": Case(
        "gbcs.validity_within_issuer",
        ee_with(lambda s: s.replace(not_after=datetime(2045, 12, 31, 23, 59, 59, tzinfo=UTC))),
        under_ca,
    ),
    # signature (policy 2.3)
    "signed-by-another-key": Case(
        "gbcs.signature_valid",
        lambda pki: pki.ee.replace(signing_key=pki.root_key).build(),
        lambda pki: under_ca(pki, check_signature=True),
    ),
    "root-not-self-signed": Case(
        "gbcs.signature_valid",
        lambda pki: pki.root.replace(signing_key=new_key()).build(),
        lambda pki: LintContext(check_signature=True),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_rule_flags_broken_certificate(pki: Pki, name: str) -> None:
    case = CASES[name]
    findings = lint_certificate(case.make(pki), case.context(pki))
    assert case.rule in rules_of(findings), "\n".join(f.line() for f in findings)


@pytest.mark.parametrize(
    ("make", "context"),
    [
        (lambda pki: pki.root.build(), lambda pki: LintContext(check_signature=True, root_path_length=1)),
        (lambda pki: pki.ca.build(), lambda pki: under_root(pki, check_signature=True)),
        (
            lambda pki: pki.ee.build(),
            lambda pki: under_ca(pki, check_signature=True, policy_oids=(TEST_POLICY,)),
        ),
        (
            lambda pki: pki.ee.with_extension(key_usage("key_agreement"), True).build(),
            lambda pki: under_ca(pki, check_signature=True, role_codes=frozenset({2})),
        ),
        (
            lambda pki: pki.ee.replace(subject=rdns(ou("87"), uid())).build(),
            lambda pki: under_ca(pki, check_signature=True),
        ),
        (
            lambda pki: pki.ee.replace(
                extensions=((x509.BasicConstraints(False, None), True), *pki.ee.extensions)
            ).build(),
            lambda pki: under_ca(pki, end_entity_basic_constraints="critical-false"),
        ),
        (
            lambda pki: (
                pki.ee.with_extension(x509.BasicConstraints(False, None), True)
                .ordered(KU, SKI, BC, CP, AKI)
                .build()
            ),
            lambda pki: under_ca(pki, end_entity_basic_constraints="critical-false"),
        ),
    ],
    ids=["root", "issuing-ca", "ee-ds", "ee-ka-role", "ee-no-cn", "ee-bc-first", "ee-bc-in-between"],
)
def test_good_certificates_have_no_findings(
    pki: Pki, make: Callable[[Pki], bytes], context: Callable[[Pki], LintContext]
) -> None:
    findings = lint_certificate(make(pki), context(pki))
    assert findings == (), "\n".join(f.line() for f in findings)


def test_a_malformed_extension_value_is_a_finding_not_a_crash(pki: Pki) -> None:
    garbage_ku = x509.UnrecognizedExtension(KU, b"\x04\x00")  # an OCTET STRING where a BIT STRING belongs
    findings = lint_certificate(pki.ee.with_extension(garbage_ku, True).build())
    flagged = [f for f in findings if f.rule == "gbcs.key_usage_end_entity"]
    assert flagged and flagged[0].message.startswith("could not be checked"), [f.line() for f in findings]


def test_messages_name_the_value_found(pki: Pki) -> None:
    spec = pki.ee.with_extension(x509.SubjectKeyIdentifier.from_public_key(pki.ee_key.public_key()), False)
    (finding,) = [f for f in lint_certificate(spec.build()) if f.rule == "gbcs.ski_method2"]
    expected = ski_method2(pki.ee_key.public_key()).hex()
    assert finding.line().startswith("error gbcs.ski_method2: SKI ")
    assert f"(expected {expected})" in finding.message


def test_every_certificate_rule_has_a_failing_case() -> None:
    from s1spki.lint import rules

    certificate_rules = {rule.name for rule in rules() if rule.name.startswith("gbcs.")}
    assert certificate_rules == {case.rule for case in CASES.values()}
