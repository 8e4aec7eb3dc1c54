"""The object under lint, read once through asn1crypto's declared structures, for every rule to read.

`x509.Certificate` and `crl.CertificateList` keep the bytes they read, so each rule sees the fields as they
will be signed; `cryptography` is not used here (it refuses NULL ECDSA parameters). Building a document
checks the shape and DER of what every rule reads (the signed envelope, the to-be-signed fields, validity,
extensions, CRL entries) and raises ValueError if they are wrong; what lies deeper (names, the key, extension
values) is read, and checked, when a rule asks. Facts that several rules need are computed once, lazily.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

from asn1crypto import core, crl, keys, x509

from s1spki.lint import encoding, fields, names, oids
from s1spki.lint.fields import Extension
from s1spki.lint.model import LintContext
from s1spki.lint.names import Attribute

_DEFAULT_CONTEXT = LintContext()


@functools.cache
def _field_count(spec: type[core.Sequence]) -> int:
    return sum(1 for _ in spec())  # iterating a SEQUENCE gives its declared field names


def _declared_fields(value: core.Sequence, what: str) -> list[core.Asn1Value]:
    """The fields present in a declared SEQUENCE, refusing elements its declaration has no field for."""
    present = encoding.elements(value)
    declared = _field_count(type(value))
    if len(value) > declared:  # asn1crypto keeps elements after the last field it could match
        raise ValueError(f"unexpected {encoding.type_name(value[declared])} in {what}")
    return present


class SignedDocument:
    """What certificates and CRLs share: the signature envelope, the issuer and the extensions."""

    kind: str = "object"

    def __init__(self, data: bytes, context: LintContext, spec: type[core.Sequence]) -> None:
        self.der = data
        self.context = context
        self.signed = encoding.load(spec, data)
        # SEQUENCE { to-be-signed, signatureAlgorithm, signatureValue }, all three required
        self.tbs, self.outer_algorithm, self.signature_value = _declared_fields(self.signed, f"a {self.kind}")
        self.tbs_fields = _declared_fields(self.tbs, f"the {self.kind}'s to-be-signed part")
        # Set by the subclass from its TBS layout.
        self.signature_algorithm: core.Sequence
        self.issuer: x509.Name
        self.extensions: tuple[Extension, ...] = ()

    def present(self, value: core.Asn1Value) -> bool:
        """Whether an optional or DEFAULT to-be-signed field is encoded (asn1crypto fills in defaults)."""
        return any(value is field for field in self.tbs_fields)

    @functools.cached_property
    def algorithms(self) -> tuple[fields.Algorithm, fields.Algorithm]:
        """The to-be-signed signature algorithm and the outer signatureAlgorithm, read."""
        return fields.algorithm(self.signature_algorithm), fields.algorithm(self.outer_algorithm)

    @functools.cached_property
    def issuer_der(self) -> bytes:
        return self.issuer.dump()

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
            key_id = extension.parsed["key_identifier"]
        except ValueError:
            return None
        return None if isinstance(key_id, core.Void) else key_id.contents


class CertificateDocument(SignedDocument):
    """A certificate's fields as encoded. Raises ValueError if the DER is not a certificate's."""

    kind = "certificate"

    def __init__(self, data: bytes, context: LintContext = _DEFAULT_CONTEXT) -> None:
        super().__init__(data, context, x509.Certificate)
        tbs = self.tbs
        # version [0] EXPLICIT is DEFAULT v1: None when not encoded.
        self.version: core.Integer | None = tbs["version"] if self.present(tbs["version"]) else None
        self.serial: core.Integer = tbs["serial_number"]
        self.signature_algorithm = tbs["signature"]
        self.issuer = tbs["issuer"]
        self.subject: x509.Name = tbs["subject"]
        self.spki: keys.PublicKeyInfo = tbs["subject_public_key_info"]
        times = encoding.elements(tbs["validity"])
        if len(times) != 2:
            raise ValueError("validity is a SEQUENCE of two times")
        self.not_before: core.Asn1Value = times[0].chosen
        self.not_after: core.Asn1Value = times[1].chosen
        self.extensions = fields.extensions(tbs["extensions"])

    @functools.cached_property
    def subject_der(self) -> bytes:
        return self.subject.dump()

    @functools.cached_property
    def subject_rdns(self) -> list[list[Attribute]]:
        """The subject's RDNs, each value as encoded; read by several rules."""
        return names.rdns(self.subject)

    @functools.cached_property
    def not_after_time(self) -> datetime:
        return self.not_after.native

    @functools.cached_property
    def spki_fields(self) -> tuple[core.Asn1Value, core.Asn1Value]:
        """subjectPublicKeyInfo as its AlgorithmIdentifier and its subjectPublicKey BIT STRING, as encoded."""
        parts = encoding.open_elements(self.spki)  # asn1crypto types the key by the algorithm
        if len(parts) != 2 or not encoding.is_universal(parts[1], encoding.BIT_STRING) or not parts[1].contents:
            raise ValueError("subjectPublicKeyInfo is a SEQUENCE of an AlgorithmIdentifier and a BIT STRING")
        return parts[0], parts[1]

    @functools.cached_property
    def public_key_algorithm(self) -> fields.Algorithm:
        return fields.algorithm(self.spki_fields[0])

    @functools.cached_property
    def subject_public_key(self) -> bytes:
        """The subjectPublicKey BIT STRING's value (without the unused-bits octet)."""
        return self.spki_fields[1].contents[1:]

    @functools.cached_property
    def ski(self) -> bytes | None:
        """The SKI keyIdentifier if the SKI is present and an OCTET STRING."""
        extension = self.extension(oids.SUBJECT_KEY_IDENTIFIER)
        if extension is None:
            return None
        try:
            value = extension.encoded
        except ValueError:
            return None
        return value.contents if encoding.is_universal(value, encoding.OCTET_STRING) else None

    @functools.cached_property
    def is_ca(self) -> bool:
        """basicConstraints cA is TRUE: how CA and end entity are told apart."""
        extension = self.extension(oids.BASIC_CONSTRAINTS)
        if extension is None:
            return False
        try:
            # Read leniently: a defect elsewhere in the value is for the basicConstraints rules to report,
            # not a reason to lint a CA as an end entity.
            return bool(extension.declared["extn_value"].parsed["ca"].native)
        except ValueError:
            return False

    @functools.cached_property
    def is_self_issued(self) -> bool:
        """Issuer and subject are the same name under RFC 5280 7.1 comparison (string types ignored)."""
        if self.issuer_der == self.subject_der:
            return True
        try:
            return bool(self.issuer == self.subject)
        except (ValueError, TypeError):
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
    """A CRL's fields as encoded. Raises ValueError if the DER is not a CRL's."""

    kind = "CRL"

    def __init__(self, data: bytes, context: LintContext = _DEFAULT_CONTEXT) -> None:
        super().__init__(data, context, crl.CertificateList)
        tbs = self.tbs
        # version is OPTIONAL (v1 CRLs omit it).
        self.version: core.Integer | None = tbs["version"] if self.present(tbs["version"]) else None
        self.signature_algorithm = tbs["signature"]
        self.issuer = tbs["issuer"]
        self.this_update: core.Asn1Value = tbs["this_update"].chosen
        next_update = tbs["next_update"]
        self.next_update: core.Asn1Value | None = next_update.chosen if self.present(next_update) else None
        revoked = tbs["revoked_certificates"]
        self.entries: tuple[CrlEntry, ...] = (
            tuple(CrlEntry(entry) for entry in encoding.elements(revoked)) if self.present(revoked) else ()
        )
        self.extensions = fields.extensions(tbs["crl_extensions"])


class CrlEntry:
    """One revokedCertificates entry as encoded."""

    def __init__(self, entry: crl.RevokedCertificate) -> None:
        # userCertificate, revocationDate, then crlEntryExtensions if present (a CRL has many entries, so
        # they are taken as read rather than looked up by name)
        serial, revocation_date, *extensions = _declared_fields(entry, "a CRL entry")
        self.serial: core.Integer = serial
        self.revocation_date: core.Asn1Value = revocation_date.chosen
        self.extensions: tuple[Extension, ...] = fields.extensions(extensions[0]) if extensions else ()

    def extension(self, oid: str) -> Extension | None:
        return next((e for e in self.extensions if e.oid == oid), None)

    def serial_hex(self) -> str:
        return self.serial.contents.hex()


@functools.lru_cache(maxsize=32)
def _issuer_document(data: bytes) -> CertificateDocument:
    # The same CA certificate is passed for every issuance: decode it once.
    return CertificateDocument(data)


def kind(data: bytes) -> Literal["certificate", "crl"]:
    """Tell a certificate from a CRL by the to-be-signed part; ValueError if it is neither.

    Both are a SEQUENCE of a to-be-signed SEQUENCE, an algorithm and a signature. A TBSCertList has a time
    (thisUpdate) after its signature and issuer; a TBSCertificate has at least six elements (serialNumber,
    signature, issuer, validity, subject, subjectPublicKeyInfo), where a CSR's has four.
    """
    signed = core.Sequence.load(data, strict=True)  # any SEQUENCE, elements read by their own tags
    tbs = signed[0] if len(signed) == 3 else None
    if not isinstance(tbs, core.Sequence):
        raise ValueError("not a SEQUENCE of a to-be-signed SEQUENCE, an algorithm and a signature")
    try:
        crl.CertificateList.load(data, strict=True)["tbs_cert_list"]["this_update"]  # builds the time CHOICE
    except (ValueError, KeyError, TypeError):
        pass
    else:
        return "crl"
    if len(tbs) >= 6:
        return "certificate"
    raise ValueError("the to-be-signed part is neither a TBSCertificate nor a TBSCertList")
