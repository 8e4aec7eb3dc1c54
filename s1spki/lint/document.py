"""The object under lint, split into its encoded fields once, for every rule to read.

Built from the DER with `s1spki.lint.der`, not with `cryptography` (which refuses NULL ECDSA parameters)
nor from asn1crypto's re-encodings, so each rule sees the bytes as they will be signed. Facts that several
rules need (CA or end entity, root, SKI) are computed once, lazily.
"""

from __future__ import annotations

import functools
from datetime import datetime

from asn1crypto import x509

from s1spki.lint import der, oids
from s1spki.lint.der import Extension, Tlv
from s1spki.lint.model import LintContext

_DEFAULT_CONTEXT = LintContext()


def _outer(data: bytes, what: str) -> tuple[Tlv, Tlv, Tlv]:
    """Split a signed object into (to-be-signed, signatureAlgorithm, signatureValue)."""
    outer = der.parse(data)
    parts = der.children(outer.contents) if outer.is_universal(der.SEQUENCE) else []
    if len(parts) != 3:
        raise ValueError(f"a {what} is a SEQUENCE of three elements")
    tbs, algorithm, signature = parts
    if not (
        tbs.is_universal(der.SEQUENCE)
        and algorithm.is_universal(der.SEQUENCE)
        and signature.is_universal(der.BIT_STRING)
    ):
        raise ValueError(f"a {what} is a SEQUENCE of a SEQUENCE, an AlgorithmIdentifier and a BIT STRING")
    return tbs, algorithm, signature


def _expect(tlv: Tlv, tag: int, field: str) -> Tlv:
    if not tlv.is_universal(tag):
        raise ValueError(f"{field} must be a {der.TAG_NAMES[tag]}, found {tlv.type_name()}")
    return tlv


class SignedDocument:
    """What certificates and CRLs share: the signature envelope, the issuer and the extensions."""

    kind: str = "object"

    def __init__(self, data: bytes, context: LintContext) -> None:
        self.der = data
        self.context = context
        self.tbs, self.outer_algorithm, self.signature_value = _outer(data, self.kind)
        self.tbs_fields = der.children(self.tbs.contents)
        # Set by the subclass from its TBS layout.
        self.signature_algorithm: Tlv
        self.issuer_der: bytes
        self.extensions: tuple[Extension, ...] = ()

    def extension(self, oid: str) -> Extension | None:
        """The first extension with this OID, or None."""
        return next((e for e in self.extensions if e.oid == oid), None)

    @functools.cached_property
    def _issuer(self) -> tuple[CertificateDocument | None, str | None]:
        if self.context.issuer_der is None:
            return None, None
        try:
            return _issuer_document(self.context.issuer_der), None
        except Exception as exc:  # noqa: BLE001 - a bad issuer certificate is reported, not raised
            return None, str(exc)

    @property
    def issuer_certificate(self) -> CertificateDocument | None:
        """The context's issuer certificate, decoded; None if not given or not decodable."""
        return self._issuer[0]

    @property
    def issuer_error(self) -> str | None:
        """Why the context's issuer certificate cannot be decoded, if it cannot."""
        return self._issuer[1]

    @functools.cached_property
    def aki_key_id(self) -> bytes | None:
        """The AKI keyIdentifier if the AKI is present and decodable."""
        extension = self.extension(oids.AUTHORITY_KEY_IDENTIFIER)
        if extension is None:
            return None
        try:
            aki = der.parse(extension.value)
            first = der.children(aki.contents)[:1]
        except ValueError:
            return None
        return first[0].contents if first and first[0].is_context(0) else None


class CertificateDocument(SignedDocument):
    """A certificate's encoded fields. Raises ValueError if the DER is not a certificate's shape."""

    kind = "certificate"

    def __init__(self, data: bytes, context: LintContext = _DEFAULT_CONTEXT) -> None:
        super().__init__(data, context)
        fields = self.tbs_fields
        # version [0] EXPLICIT is optional (DEFAULT v1); everything after it is positional.
        start = 1 if fields and fields[0].is_context(0) else 0
        self.version: Tlv | None = der.parse(fields[0].contents) if start else None
        if len(fields) < start + 6:
            raise ValueError(
                "a TBSCertificate has at least serialNumber, signature, issuer, validity, "
                "subject and subjectPublicKeyInfo"
            )
        serial, signature, issuer, validity, subject, spki = fields[start : start + 6]
        self.serial = _expect(serial, der.INTEGER, "serialNumber")
        self.signature_algorithm = _expect(signature, der.SEQUENCE, "signature")
        self.issuer_der = _expect(issuer, der.SEQUENCE, "issuer").der
        self.subject_der = _expect(subject, der.SEQUENCE, "subject").der
        self.spki = _expect(spki, der.SEQUENCE, "subjectPublicKeyInfo")
        times = der.children(_expect(validity, der.SEQUENCE, "validity").contents)
        if len(times) != 2 or not all(der.is_time(t) for t in times):
            raise ValueError("validity is a SEQUENCE of two times")
        self.not_before, self.not_after = times
        self.extensions = ()
        for field in fields[start + 6 :]:
            if field.is_context(3):
                self.extensions = tuple(der.extensions(der.parse(field.contents)))

    @functools.cached_property
    def subject_rdns(self) -> list[list[tuple[str, Tlv]]]:
        """The subject's RDNs as (attribute type, value as encoded); read by several rules."""
        return der.name_attributes(self.subject_der)

    @functools.cached_property
    def not_after_time(self) -> datetime:
        return der.time(self.not_after)

    @functools.cached_property
    def subject_public_key(self) -> bytes:
        """The subjectPublicKey BIT STRING's value (without the unused-bits octet)."""
        parts = der.children(self.spki.contents)
        if len(parts) != 2 or not parts[1].is_universal(der.BIT_STRING) or not parts[1].contents:
            raise ValueError("subjectPublicKeyInfo is a SEQUENCE of an AlgorithmIdentifier and a BIT STRING")
        return parts[1].contents[1:]

    @functools.cached_property
    def ski(self) -> bytes | None:
        """The SKI's key identifier if the extension is present and decodable."""
        extension = self.extension(oids.SUBJECT_KEY_IDENTIFIER)
        if extension is None:
            return None
        try:
            value = der.parse(extension.value)
        except ValueError:
            return None
        return value.contents if value.is_universal(der.OCTET_STRING) else None

    @functools.cached_property
    def is_ca(self) -> bool:
        """basicConstraints cA is TRUE: how CA and end entity are told apart."""
        extension = self.extension(oids.BASIC_CONSTRAINTS)
        if extension is None:
            return False
        try:
            return bool(x509.BasicConstraints.load(extension.value)["ca"].native)
        except ValueError:
            return False

    @functools.cached_property
    def is_self_issued(self) -> bool:
        """Issuer and subject are the same name under RFC 5280 7.1 comparison (string types ignored)."""
        if self.issuer_der == self.subject_der:
            return True
        try:
            return bool(x509.Name.load(self.issuer_der) == x509.Name.load(self.subject_der))
        except ValueError:
            return False

    @functools.cached_property
    def is_root(self) -> bool:
        """A self-signed root: a self-issued CA whose AKI, if any, names its own key."""
        return self.is_ca and self.is_self_issued and self.aki_key_id in (None, self.ski)

    @property
    def role(self) -> str:
        """How the rules see it, for messages."""
        return "root CA" if self.is_root else "issuing CA" if self.is_ca else "end-entity"


class CrlDocument(SignedDocument):
    """A CRL's encoded fields. Raises ValueError if the DER is not a CRL's shape."""

    kind = "CRL"

    def __init__(self, data: bytes, context: LintContext = _DEFAULT_CONTEXT) -> None:
        super().__init__(data, context)
        fields = list(self.tbs_fields)
        # version is optional (v1 CRLs omit it); then signature, issuer, thisUpdate are positional.
        self.version: Tlv | None = fields.pop(0) if fields and fields[0].is_universal(der.INTEGER) else None
        if len(fields) < 3:
            raise ValueError("a TBSCertList has at least signature, issuer and thisUpdate")
        signature, issuer, this_update, *rest = fields
        self.signature_algorithm = _expect(signature, der.SEQUENCE, "signature")
        self.issuer_der = _expect(issuer, der.SEQUENCE, "issuer").der
        if not der.is_time(this_update):
            raise ValueError(f"thisUpdate must be a time, found {this_update.type_name()}")
        self.this_update = this_update
        self.next_update: Tlv | None = rest.pop(0) if rest and der.is_time(rest[0]) else None
        revoked = rest.pop(0) if rest and rest[0].is_universal(der.SEQUENCE) else None
        self.entries: tuple[CrlEntry, ...] = (
            tuple(CrlEntry(entry) for entry in der.children(revoked.contents)) if revoked else ()
        )
        self.extensions = ()
        for field in rest:
            if not field.is_context(0):
                raise ValueError(f"unexpected {field.type_name()} in TBSCertList")
            self.extensions = tuple(der.extensions(der.parse(field.contents)))


class CrlEntry:
    """One revokedCertificates entry as encoded."""

    def __init__(self, entry: Tlv) -> None:
        parts = der.children(entry.contents)
        if not entry.is_universal(der.SEQUENCE) or len(parts) not in (2, 3):
            raise ValueError("a CRL entry is a SEQUENCE of userCertificate, revocationDate, extensions")
        self.serial = _expect(parts[0], der.INTEGER, "userCertificate")
        if not der.is_time(parts[1]):
            raise ValueError(f"revocationDate must be a time, found {parts[1].type_name()}")
        self.revocation_date = parts[1]
        self.extensions: tuple[Extension, ...] = tuple(der.extensions(parts[2])) if len(parts) == 3 else ()

    def extension(self, oid: str) -> Extension | None:
        return next((e for e in self.extensions if e.oid == oid), None)

    def serial_hex(self) -> str:
        return self.serial.contents.hex()


@functools.lru_cache(maxsize=32)
def _issuer_document(data: bytes) -> CertificateDocument:
    # The same CA certificate is passed for every issuance: decode it once.
    return CertificateDocument(data)
