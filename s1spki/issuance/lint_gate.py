"""The lint gate: nothing is signed that the linter has not passed (design.md).

The to-be-signed certificate is linted on a copy signed by a throwaway key (its signature is never kept),
with our GBCS rules parameterised by the policy in force and pkilint's RFC 5280 checks; any ERROR or
WARNING refuses.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import LintRefused
from s1spki.lint import LintContext, has_errors, lint_certificate
from s1spki.policy import EXTENSION_OIDS, EndEntityProfile, Policy


@lru_cache(maxsize=1)
def throwaway_key() -> ec.EllipticCurvePrivateKey:
    """Signs lint copies only; its signatures are never kept."""
    return ec.generate_private_key(ec.SECP256R1())


def lint_context(policy: Policy, issuer: x509.Certificate | None,
                 profile: EndEntityProfile | None = None) -> LintContext:
    """Our lint rules parameterised by the policy in force."""
    extra = {}
    if profile is not None:
        extra = {"end_entity_extension_order": tuple(EXTENSION_OIDS[n] for n in profile.extensions),
                 "end_entity_basic_constraints": profile.basic_constraints}
    ca_string_types = {policy.root.subject_string_type, policy.issuing.subject_string_type}
    return LintContext(
        issuer_der=issuer.public_bytes(serialization.Encoding.DER) if issuer is not None else None,
        check_signature=False,
        serial_octets=policy.serial_octets,
        policy_oids=(policy.policy_oid,),
        role_codes=frozenset(policy.roles.values()),
        root_role_code=policy.role_code(policy.root_role),
        issuing_ca_role_code=policy.role_code(policy.issuing_role),
        root_path_length="absent" if policy.root.path_length is None else policy.root.path_length,
        ca_subject_string_type=ca_string_types.pop() if len(ca_string_types) == 1 else None,  # type: ignore[arg-type]
        crl_reason_codes=policy.revocation_reason_codes,
        **extra,
    )


def refuse_findings(certificate: x509.Certificate, context: LintContext, what: str) -> None:
    """LintRefused listing every finding, if the certificate has any that stop issuance."""
    findings = lint_certificate(certificate.public_bytes(serialization.Encoding.DER), context)
    if has_errors(findings):
        lines = [f.line() for f in findings]
        raise LintRefused(f"lint refused the certificate, {what}: {'; '.join(lines)}", findings=lines)
