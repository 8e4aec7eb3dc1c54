"""The issuer: a CA certificate paired with its HSM key when it is opened, and the last two stages.

    Issuer.open(name, certificate, key)      refused unless the key's public half is the certificate's, the
                                             certificate is a CA's and it may sign certificates and CRLs
    issuer.prepare(builder, context, reserve) lint (a copy signed by a throwaway key), then `reserve(serial)`
                                             (the use case commits the reservation), ─► a one-shot Prepared
    issuer.prepare_many(items, reserve_all)  the same for a batch: each linted, the serials reserved together
    issuer.issue(prepared)                   the HSM signs; the signed TBS must be the linted one and the
                                             signature must verify under the certificate's key

As Boulder's `LoadIssuer`, `Prepare` and `Issue`: a prepared certificate is signed only by the issuer that
prepared it, and once. A self-signed root has no certificate to pair with before it exists: `RootIssuer`
prepares it with a twin that certifies the throwaway key (same profile, same code path) and lints the
root itself once signed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import Refused
from s1spki.issuance.lint_gate import refuse_findings, throwaway_key
from s1spki.issuance.profile import CaFacts, serial_hex
from s1spki.lint import LintContext
from s1spki.oplog import fields

Reserve = Callable[[str], None]  # commits the reservation of a serial (hex) before anything is signed
# commits the reservations of several serials together (a batch): (index of the item, serial) of each item linted
ReserveAll = Callable[[list[tuple[int, str]]], None]
log = logging.getLogger("s1spki.issuance")


@dataclass(frozen=True)
class Prepared:
    """A linted to-be-signed certificate whose serial is reserved; good for one `issue()` by its issuer."""

    builder: x509.CertificateBuilder
    tbs_der: bytes | None  # None for a self-signed root: its own signature is linted after signing
    serial: str
    context: LintContext
    _owner: object = field(repr=False, compare=False)
    _used: list[bool] = field(default_factory=lambda: [False], repr=False, compare=False)

    def _redeem(self, owner: object) -> None:
        if self._owner is not owner:
            raise RuntimeError("a prepared certificate is signed only by the issuer that prepared it")
        if self._used[0]:
            raise RuntimeError("a prepared certificate is signed once only")
        self._used[0] = True


def _linted(builder: x509.CertificateBuilder, context: LintContext,
            twin: x509.CertificateBuilder | None = None) -> x509.Certificate:
    """A copy of the certificate signed by a throwaway key, once the linter passed it (or its twin)."""
    copy = builder.sign(throwaway_key(), hashes.SHA256())
    refuse_findings(twin.sign(throwaway_key(), hashes.SHA256()) if twin else copy, context, "nothing was signed")
    return copy


def _lint_and_reserve(builder: x509.CertificateBuilder, context: LintContext, reserve: Reserve, owner: object,
                      twin: x509.CertificateBuilder | None = None) -> Prepared:
    copy = _linted(builder, context, twin)
    serial = serial_hex(copy.serial_number)
    reserve(serial)
    log.debug("linted, serial %s reserved", serial, extra=fields(serial=serial))
    return Prepared(builder, None if twin else copy.tbs_certificate_bytes, serial, context, owner)


def _verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, what: str) -> None:
    try:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(f"the HSM's signature does not verify under {what}: not stored") from None


class Issuer:
    """An issuing CA (or the root, certifying issuing CAs and signing the ARL): certificate and HSM key."""

    def __init__(self, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        # Use Issuer.open(), which checks that the two belong together.
        self.name = name
        self.certificate = certificate
        self._key = key
        self.facts = CaFacts(certificate)

    @classmethod
    def open(cls, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issuer:
        """Pair `certificate` with its HSM `key`; Refused if they do not belong together or it may not issue."""
        if key.public_key() != certificate.public_key():
            raise Refused(f"the HSM key of CA {name!r} does not match its certificate (serial "
                          f"{serial_hex(certificate.serial_number)}): nothing was reserved or signed; check the CA's "
                          "key label", ca=name)
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            raise Refused(f"the certificate of CA {name!r} lacks basicConstraints or keyUsage: it cannot issue",
                          ca=name) from None
        if not constraints.ca or not (usage.key_cert_sign and usage.crl_sign):
            raise Refused(f"the certificate of CA {name!r} is not a CA certificate with keyCertSign and cRLSign: "
                          "it cannot issue", ca=name)
        return cls(name, certificate, key)

    def prepare(self, builder: x509.CertificateBuilder, context: LintContext, reserve: Reserve) -> Prepared:
        """Lint the TBS, then reserve its serial (committed by `reserve`); refused before any reservation."""
        return _lint_and_reserve(builder, context, reserve, self)

    def prepare_many(self, items: Sequence[tuple[x509.CertificateBuilder, LintContext]],
                     reserve_all: ReserveAll) -> list[Prepared | Refused]:
        """Lint each TBS, then reserve the serials of those that passed, together (committed by `reserve_all`, told
        each one's index in `items`); one Prepared or the lint's refusal per item, in order. If `reserve_all`
        raises, nothing is prepared."""
        linted: list[x509.Certificate | Refused] = []
        for builder, context in items:
            try:
                linted.append(_linted(builder, context))
            except Refused as exc:
                linted.append(exc)
        reserve_all([(index, serial_hex(c.serial_number)) for index, c in enumerate(linted)
                     if isinstance(c, x509.Certificate)])
        return [Prepared(builder, copy.tbs_certificate_bytes, serial_hex(copy.serial_number), context, self)
                if isinstance(copy, x509.Certificate) else copy
                for (builder, context), copy in zip(items, linted, strict=True)]

    def issue(self, prepared: Prepared) -> x509.Certificate:
        """Sign once with the CA key; refuse if the bytes signed differ from those linted or do not verify."""
        prepared._redeem(self)
        certificate = prepared.builder.sign(self._key, hashes.SHA256())
        if certificate.tbs_certificate_bytes != prepared.tbs_der:
            raise Refused("the signed certificate differs from the linted one: not stored")
        _verify(self.certificate.public_key(), certificate.signature,  # type: ignore[arg-type]
                certificate.tbs_certificate_bytes, f"{self.name}'s public key")
        return certificate

    def sign_crl(self, tbs: bytes) -> bytes:
        """The CA's signature (DER) over a linted TBSCertList, checked under its certificate's key."""
        signature = self._key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        _verify(self.certificate.public_key(), signature, tbs, f"{self.name}'s public key")  # type: ignore[arg-type]
        return signature


class RootIssuer:
    """The self-signed root, made once at the root ceremony with its new HSM key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def prepare(self, builder: x509.CertificateBuilder, twin: x509.CertificateBuilder, context: LintContext,
                reserve: Reserve) -> Prepared:
        """Lint the twin that certifies the throwaway key, then reserve the root's serial."""
        return _lint_and_reserve(builder, context, reserve, self, twin)

    def issue(self, prepared: Prepared) -> x509.Certificate:
        """Self-sign once; lint the signed root itself and verify its signature under its own key."""
        prepared._redeem(self)
        certificate = prepared.builder.sign(self._key, hashes.SHA256())
        refuse_findings(certificate, prepared.context, "the signed root is not stored")
        _verify(self._key.public_key(), certificate.signature, certificate.tbs_certificate_bytes,
                "the root's own public key")
        return certificate
