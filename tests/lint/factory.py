"""GBCS-shaped test certificates and CRLs made with `cryptography` and software P-256 keys.

`Pki.create()` makes a good root, issuing CA and end-entity certificate (and a CRL of the CA), shaped as
the spec and DCC's Z1 certificates: the tests break one thing at a time. `CertSpec` is an immutable
recipe (change a field, rebuild); `edit_certificate` and `edit_crl` make byte-level changes that the
builders refuse (NULL parameters, negative serials, GeneralizedTime before 2050) with asn1crypto, then
re-sign.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from s1spki.lint import Finding

TEST_POLICY = "1.2.826.0.1.8641679.1.2.1.4"  # DCC's test policy OID (spec 2.7)
UNIQUE_IDENTIFIER = ObjectIdentifier("2.5.4.45")
EUI64 = bytes.fromhex("90B3D51F30010000")
START = datetime(2025, 1, 1, tzinfo=UTC)
END_ENTITY_END = datetime(2034, 12, 31, 23, 59, 59, tzinfo=UTC)
CA_END = datetime(2039, 12, 31, 23, 59, 59, tzinfo=UTC)
ROOT_END = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)

Ext = tuple[x509.ExtensionType, bool]  # (value, critical)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def ski_method2(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 5280 method (2), computed independently of the linter's own implementation."""
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    low = bytearray(hashlib.sha1(point).digest()[-8:])
    low[0] = 0x40 | (low[0] & 0x0F)
    return bytes(low)


def serial(seed: int = 1) -> int:
    """A 16-octet positive serial (bit 126 set, bit 127 clear)."""
    return (1 << 126) | (seed * 0x9E3779B97F4A7C15)


def ca_name(role: str, common_name: str, string_type: _ASN1Type = _ASN1Type.PrintableString) -> x509.Name:
    return x509.Name(
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role, string_type)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.COMMON_NAME, common_name, string_type)]
            ),
        ]
    )


def uid(eui64: bytes = EUI64, unused_bits: int = 0) -> x509.NameAttribute:
    # cryptography takes the BIT STRING's contents: the unused-bits octet comes first.
    return x509.NameAttribute(UNIQUE_IDENTIFIER, bytes([unused_bits]) + eui64, _type=_ASN1Type.BitString)


def ou(role: str = "02", string_type: _ASN1Type = _ASN1Type.UTF8String) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role, string_type)


def cn(name: str = "TEST SUPPLIER", string_type: _ASN1Type = _ASN1Type.UTF8String) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, name, string_type)


def rdns(*attributes: x509.NameAttribute) -> x509.Name:
    """A Name with each attribute in an RDN of its own."""
    return x509.Name([x509.RelativeDistinguishedName([a]) for a in attributes])


def key_usage(*names: str) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(dict.fromkeys(names, True))
    return x509.KeyUsage(**flags)


def policies(*oids: str, qualifier: str | None = None) -> x509.CertificatePolicies:
    return x509.CertificatePolicies(
        [x509.PolicyInformation(ObjectIdentifier(oid), [qualifier] if qualifier else None) for oid in oids]
    )


def aki(key_id: bytes) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier(key_id, None, None)


@dataclass(frozen=True)
class CertSpec:
    """An immutable recipe for one certificate."""

    subject: x509.Name
    issuer: x509.Name
    public_key: ec.EllipticCurvePublicKey
    signing_key: ec.EllipticCurvePrivateKey
    extensions: tuple[Ext, ...]
    serial_number: int = serial()
    not_before: datetime = START
    not_after: datetime = END_ENTITY_END
    hash_algorithm: hashes.HashAlgorithm = field(default_factory=hashes.SHA256)

    def replace(self, **changes: object) -> CertSpec:
        return dataclasses.replace(self, **changes)

    def with_extension(self, value: x509.ExtensionType, critical: bool) -> CertSpec:
        """Replace the extension of the same type in place, or append it."""
        oid = value.oid
        if any(e.oid == oid for e, _ in self.extensions):
            return self.replace(
                extensions=tuple((value, critical) if e.oid == oid else (e, c) for e, c in self.extensions)
            )
        return self.replace(extensions=(*self.extensions, (value, critical)))

    def without_extension(self, oid: ObjectIdentifier) -> CertSpec:
        return self.replace(extensions=tuple((e, c) for e, c in self.extensions if e.oid != oid))

    def ordered(self, *oids: ObjectIdentifier) -> CertSpec:
        by_oid = {e.oid: (e, c) for e, c in self.extensions}
        return self.replace(extensions=tuple(by_oid[oid] for oid in oids))

    def build(self) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(self.issuer)
            .public_key(self.public_key)
            .serial_number(self.serial_number)
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
        )
        for value, critical in self.extensions:  # cryptography keeps the order they are added in
            builder = builder.add_extension(value, critical)
        return builder.sign(self.signing_key, self.hash_algorithm).public_bytes(Encoding.DER)


@dataclass(frozen=True)
class CrlSpec:
    """An immutable recipe for one CRL."""

    issuer: x509.Name
    signing_key: ec.EllipticCurvePrivateKey
    extensions: tuple[Ext, ...]
    entries: tuple[tuple[int, tuple[Ext, ...]], ...] = ()
    this_update: datetime = START
    next_update: datetime = START + timedelta(hours=48)
    hash_algorithm: hashes.HashAlgorithm = field(default_factory=hashes.SHA256)

    def replace(self, **changes: object) -> CrlSpec:
        return dataclasses.replace(self, **changes)

    def build(self) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issuer)
            .last_update(self.this_update)
            .next_update(self.next_update)
        )
        for value, critical in self.extensions:
            builder = builder.add_extension(value, critical)
        for serial_number, extensions in self.entries:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial_number)
                .revocation_date(self.this_update)
            )
            for value, critical in extensions:
                entry = entry.add_extension(value, critical)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self.signing_key, self.hash_algorithm).public_bytes(Encoding.DER)


def reason(flag: x509.ReasonFlags) -> tuple[Ext, ...]:
    return ((x509.CRLReason(flag), False),)


@dataclass(frozen=True)
class Pki:
    """A good two-tier hierarchy and an end entity, as recipes and as DER."""

    root_key: ec.EllipticCurvePrivateKey
    ca_key: ec.EllipticCurvePrivateKey
    ee_key: ec.EllipticCurvePrivateKey
    root: CertSpec
    ca: CertSpec
    ee: CertSpec
    crl: CrlSpec

    @classmethod
    def create(cls) -> Pki:
        root_key, ca_key, ee_key = new_key(), new_key(), new_key()
        root_name = ca_name("00", "S1SPKI Test Root")
        ca_subject = ca_name("07", "S1SPKI Test CA")
        root_ski, ca_ski = ski_method2(root_key.public_key()), ski_method2(ca_key.public_key())
        ca_usage = (key_usage("key_cert_sign", "crl_sign"), True)
        root = CertSpec(
            subject=root_name,
            issuer=root_name,
            public_key=root_key.public_key(),
            signing_key=root_key,
            extensions=(
                (x509.BasicConstraints(ca=True, path_length=1), True),
                ca_usage,
                (x509.SubjectKeyIdentifier(root_ski), False),
                (policies(TEST_POLICY), True),
            ),
            serial_number=serial(2),
            not_after=ROOT_END,
        )
        ca = CertSpec(
            subject=ca_subject,
            issuer=root_name,
            public_key=ca_key.public_key(),
            signing_key=root_key,
            extensions=(
                (x509.BasicConstraints(ca=True, path_length=0), True),
                ca_usage,
                (x509.SubjectKeyIdentifier(ca_ski), False),
                (policies(TEST_POLICY), True),
                (aki(root_ski), False),
            ),
            serial_number=serial(3),
            not_after=CA_END,
        )
        ee = CertSpec(
            subject=rdns(cn(), ou("02"), uid()),
            issuer=ca_subject,
            public_key=ee_key.public_key(),
            signing_key=ca_key,
            extensions=(
                (key_usage("digital_signature"), True),
                (x509.SubjectKeyIdentifier(ski_method2(ee_key.public_key())), False),
                (policies(TEST_POLICY), True),
                (aki(ca_ski), False),
            ),
            serial_number=serial(4),
        )
        crl = CrlSpec(
            issuer=ca_subject,
            signing_key=ca_key,
            extensions=((aki(ca_ski), False), (x509.CRLNumber(7), False)),
            entries=(
                (serial(5), reason(x509.ReasonFlags.key_compromise)),
                (serial(6), ()),
                (serial(7), reason(x509.ReasonFlags.privilege_withdrawn)),
            ),
        )
        return cls(root_key, ca_key, ee_key, root, ca, ee, crl)


def edit_certificate(
    data: bytes,
    signing_key: ec.EllipticCurvePrivateKey,
    edit_tbs: Callable[[asn1_x509.TbsCertificate], None] | None = None,
    outer_algorithm: algos.SignedDigestAlgorithm | None = None,
) -> bytes:
    """Change the TBS (and/or the outer signatureAlgorithm) with asn1crypto and re-sign with SHA-256."""
    cert = asn1_x509.Certificate.load(data)
    tbs = cert["tbs_certificate"]
    if edit_tbs is not None:
        edit_tbs(tbs)
    tbs_der = tbs.dump()
    algorithm = cert["signature_algorithm"] if outer_algorithm is None else outer_algorithm
    return asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": algorithm,
            "signature_value": signing_key.sign(tbs_der, ec.ECDSA(hashes.SHA256())),
        }
    ).dump()


def edit_crl(
    data: bytes,
    signing_key: ec.EllipticCurvePrivateKey,
    edit_tbs: Callable[[asn1_crl.TbsCertList], None] | None = None,
    outer_algorithm: algos.SignedDigestAlgorithm | None = None,
) -> bytes:
    """Change the TBSCertList (and/or the outer signatureAlgorithm) with asn1crypto and re-sign."""
    crl = asn1_crl.CertificateList.load(data)
    tbs = crl["tbs_cert_list"]
    if edit_tbs is not None:
        edit_tbs(tbs)
    tbs_der = tbs.dump()
    algorithm = crl["signature_algorithm"] if outer_algorithm is None else outer_algorithm
    return asn1_crl.CertificateList(
        {
            "tbs_cert_list": asn1_crl.TbsCertList.load(tbs_der),
            "signature_algorithm": algorithm,
            "signature": signing_key.sign(tbs_der, ec.ECDSA(hashes.SHA256())),
        }
    ).dump()


# ecdsa-with-SHA256 with NULL parameters, as DCC's mdr-* certificates have it.
NULL_PARAMETERS = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa", "parameters": core.Null()})


def rules_of(findings: Iterable[Finding]) -> set[str]:
    return {finding.rule for finding in findings}
