"""The issuance pipeline's last stages, shared by end-entity and CA certificates (design.md):

    profile builder ─► lint (on a copy signed by a throwaway key) ─► reserve the serial (committed)
        ─► HSM signs ─► the signed TBS must equal the linted one and verify ─► store + audit, one transaction

As in Boulder, `prepare()` lints and reserves and returns a one-shot `Prepared`; `sign()` takes only that.
"""

from __future__ import annotations

import hashlib
import os
import signal
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .audit_record import AuditEvent
from .errors import LintRefused, Refused
from .lint import LintContext, has_errors, lint_certificate
from .policy import EXTENSION_OIDS, EndEntityProfile, Policy
from .profile import serial_hex
from .store import Duplicate, Store

# Fault injection for the crash test: stop the process dead right after the serial is reserved.
_FAULT_ENV = "S1SPKI_FAULT"


@lru_cache(maxsize=1)
def throwaway_key() -> ec.EllipticCurvePrivateKey:
    """Signs the lint copy only; its signatures are never kept."""
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


@dataclass(frozen=True)
class Prepared:
    """A linted to-be-signed certificate whose serial is reserved; good for one `sign()`."""

    builder: x509.CertificateBuilder
    tbs_der: bytes | None  # None for a self-signed root: its own signature is linted after signing
    serial: str
    issuer_cn: str
    context: LintContext
    _used: list[bool] = field(default_factory=lambda: [False], repr=False, compare=False)


def _refuse_findings(certificate: x509.Certificate, context: LintContext, what: str) -> None:
    findings = lint_certificate(certificate.public_bytes(serialization.Encoding.DER), context)
    if has_errors(findings):
        lines = [f.line() for f in findings]
        raise LintRefused(f"lint refused the certificate, {what}: {'; '.join(lines)}", findings=lines)


def prepare(store: Store, builder: x509.CertificateBuilder, context: LintContext, issuer_cn: str, purpose: str,
            request_id: int | None, event: AuditEvent,
            self_signed_twin: x509.CertificateBuilder | None = None) -> Prepared:
    """Lint the TBS, then reserve its serial in a committed transaction of its own.

    A self-signed root cannot be linted as self-signed on a copy signed by another key, so it comes with
    a twin that certifies the throwaway key itself (same profile, same code path); the root is linted
    again, for real, once signed.
    """
    copy = builder.sign(throwaway_key(), hashes.SHA256())
    linted = self_signed_twin.sign(throwaway_key(), hashes.SHA256()) if self_signed_twin else copy
    _refuse_findings(linted, context, "nothing was signed")
    serial = serial_hex(copy.serial_number)
    try:
        reserve = AuditEvent("serial.reserve", event.actor, event.actor_role, object_type="serial",
                             object_id=f"{issuer_cn}/{serial}", details={"purpose": purpose, "request_id": request_id},
                             correlation_id=event.correlation_id, policy_hash=event.policy_hash,
                             rapp_hash=event.rapp_hash)
        with store.change(reserve) as tx:
            tx.reserve_serial(issuer_cn, serial, purpose, request_id)
    except Duplicate:
        raise Refused(f"serial {serial} is already reserved for {issuer_cn}: try again") from None
    if os.environ.get(_FAULT_ENV) == "kill-after-reserve":
        os.kill(os.getpid(), signal.SIGKILL)
    return Prepared(builder, None if self_signed_twin else copy.tbs_certificate_bytes, serial, issuer_cn, context)


def sign(prepared: Prepared, key: ec.EllipticCurvePrivateKey, issuer_public_key: ec.EllipticCurvePublicKey
         ) -> x509.Certificate:
    """Sign once with the CA key; refuse if the bytes signed differ from those linted or do not verify."""
    if prepared._used[0]:
        raise RuntimeError("a prepared certificate is signed once only")
    prepared._used[0] = True
    certificate = prepared.builder.sign(key, hashes.SHA256())
    if prepared.tbs_der is None:
        _refuse_findings(certificate, prepared.context, "the signed root is not stored")
    elif certificate.tbs_certificate_bytes != prepared.tbs_der:
        raise Refused("the signed certificate differs from the linted one: not stored")
    try:
        issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                                 ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused("the HSM's signature does not verify under the CA's public key: not stored") from None
    return certificate


def certificate_values(certificate: x509.Certificate, kind: str, issuer_cn: str, serial: str, policy_hash: str,
                       **extra: object) -> dict[str, object]:
    """The row of `certificates` for a signed certificate."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "kind": kind,
        "issuer_cn": issuer_cn,
        "serial": serial,
        "key_sha256": hashlib.sha256(spki).hexdigest(),
        "not_before": certificate.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "der": der,
        "fingerprint": hashlib.sha256(der).hexdigest(),
        "policy_hash": policy_hash,
        **extra,
    }
