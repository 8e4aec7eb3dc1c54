"""Profile: policy/ and the registry decide the certificate's contents (spec 2-4).

The request contributes only its public key. Names, extensions, their order and criticality, the SKI
rule and the validity all come from the profile objects loaded from policy/.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from s1spki.errors import PolicyRefused
from s1spki.policy import CaProfile, EndEntityProfile, Policy

UNIQUE_IDENTIFIER = ObjectIdentifier("2.5.4.45")  # X.520 uniqueIdentifier: BIT STRING (the EUI-64)
_STRING_TYPES = {"printable": x509.name._ASN1Type.PrintableString, "utf8": x509.name._ASN1Type.UTF8String}


def key_identifier(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 5280 4.2.1.2 method (2): 0100 then the low 60 bits of SHA-1 of the subjectPublicKey (spec 2.5)."""
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    ski = bytearray(hashlib.sha1(point).digest()[-8:])
    ski[0] = (ski[0] & 0x0F) | 0x40
    return bytes(ski)


def new_serial(octets: int) -> int:
    """A positive serial of exactly `octets` octets in DER from the CSPRNG (spec 2.9).

    The top bit is cleared so the INTEGER is positive, and a zero first octet is drawn again, since DER
    would then drop it and the serial would be one octet short.
    """
    while True:
        raw = bytearray(secrets.token_bytes(octets))
        raw[0] &= 0x7F
        if raw[0]:
            return int.from_bytes(raw, "big")


def serial_hex(serial: int) -> str:
    """Uppercase hex with an even number of digits, as openssl prints serials."""
    text = f"{serial:X}"
    return text.rjust(len(text) + len(text) % 2, "0")


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a common year: the day after 28 February
        return moment.replace(year=moment.year + years, day=28) + timedelta(days=1)


def validity(now: datetime, lifetime_years: int, day_boundary: bool) -> tuple[datetime, datetime]:
    """notBefore, notAfter: day-boundary validity runs 00:00:00Z first day to 23:59:59Z last day (spec 2.11)."""
    start = now.astimezone(UTC).replace(microsecond=0)
    if day_boundary:
        start = start.replace(hour=0, minute=0, second=0)
    return start, _add_years(start, lifetime_years) - timedelta(seconds=1)


def end_entity_name(common_name: str | None, role_hex: str, eui64: str) -> x509.Name:
    """Separate single-attribute RDNs: optional CN, OU = role hex, uniqueIdentifier = EUI-64 (spec 3)."""
    rdns = []
    if common_name:
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, common_name,
                                                                      _STRING_TYPES["utf8"])]))
    rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_hex,
                                                                  _STRING_TYPES["utf8"])]))
    # cryptography takes a BIT STRING's content octets: the leading 0x00 is the unused-bits count.
    rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(
        UNIQUE_IDENTIFIER, b"\x00" + bytes.fromhex(eui64), x509.name._ASN1Type.BitString)]))
    return x509.Name(rdns)


def ca_name(role_hex: str, common_name: str, string_type: str) -> x509.Name:
    """`OU=<role hex>, CN=<CA name>` as separate RDNs, in the profile's string type (spec 4)."""
    kind = _STRING_TYPES[string_type]
    if string_type == "printable" and not _printable(common_name):
        raise PolicyRefused(f"CA name {common_name!r} has characters a PrintableString cannot hold")
    return x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_hex, kind)]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, common_name, kind)]),
    ])


def _printable(text: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
    return bool(text) and all(ch in allowed for ch in text)


@dataclass(frozen=True)
class CaFacts:
    """What the profile needs of the issuing CA's certificate: its exact subject, key id and validity."""

    certificate: x509.Certificate

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    @property
    def key_id(self) -> bytes:
        return self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def common_name(self) -> str:
        return str(self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _extension(name: str, *, policy: Policy, key_usage: tuple[str, ...], ski: bytes, aki: bytes | None,
               ca: bool, path_length: int | None, ee_basic: str | None) -> tuple[x509.ExtensionType, bool]:
    """One extension of the profile and its criticality (spec 2.4-2.7, 3, 4)."""
    if name == "keyUsage":
        flags = {u: u in key_usage for u in ("digitalSignature", "keyAgreement", "keyCertSign", "cRLSign")}
        return x509.KeyUsage(digital_signature=flags["digitalSignature"], content_commitment=False,
                             key_encipherment=False, data_encipherment=False, key_agreement=flags["keyAgreement"],
                             key_cert_sign=flags["keyCertSign"], crl_sign=flags["cRLSign"], encipher_only=False,
                             decipher_only=False), True
    if name == "subjectKeyIdentifier":
        return x509.SubjectKeyIdentifier(ski), False
    if name == "certificatePolicies":
        return x509.CertificatePolicies([x509.PolicyInformation(ObjectIdentifier(policy.policy_oid), None)]), True
    if name == "authorityKeyIdentifier":
        if aki is None:
            raise ValueError("authorityKeyIdentifier needs the issuer's key id")
        return x509.AuthorityKeyIdentifier(aki, None, None), False
    if name == "basicConstraints":
        if not ca and ee_basic != "critical-false":
            raise ValueError("basicConstraints listed for an end-entity profile without critical-false")
        return x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True
    raise ValueError(f"unknown extension {name!r}")


def end_entity_builder(policy: Policy, profile: EndEntityProfile, issuer: CaFacts, subject: x509.Name,
                       public_key: ec.EllipticCurvePublicKey, serial: int, now: datetime) -> x509.CertificateBuilder:
    not_before, not_after = validity(now, profile.lifetime_years, policy.day_boundary)
    _refuse_outliving(not_after, issuer)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.name).public_key(public_key)
               .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after))
    for name in profile.extensions:
        value, critical = _extension(name, policy=policy, key_usage=(profile.key_usage,),
                                     ski=key_identifier(public_key), aki=issuer.key_id, ca=False, path_length=None,
                                     ee_basic=profile.basic_constraints)
        builder = builder.add_extension(value, critical)
    return builder


def ca_builder(policy: Policy, profile: CaProfile, subject: x509.Name, public_key: ec.EllipticCurvePublicKey,
               serial: int, now: datetime, issuer: CaFacts | None) -> x509.CertificateBuilder:
    """A root (issuer None: self-signed, no AKI) or an issuing CA certified by `issuer`."""
    not_before, not_after = validity(now, profile.lifetime_years, policy.day_boundary)
    if issuer is not None:
        _refuse_outliving(not_after, issuer)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.name if issuer else subject)
               .public_key(public_key).serial_number(serial).not_valid_before(not_before)
               .not_valid_after(not_after))
    for name in profile.extensions:
        value, critical = _extension(name, policy=policy, key_usage=profile.key_usage,
                                     ski=key_identifier(public_key), aki=issuer.key_id if issuer else None, ca=True,
                                     path_length=profile.path_length, ee_basic=None)
        builder = builder.add_extension(value, critical)
    return builder


def _refuse_outliving(not_after: datetime, issuer: CaFacts) -> None:
    # spec 1: no CA may issue a certificate that outlives its own (policy.toml validity.outliving_issuer)
    if not_after > issuer.not_after:
        raise PolicyRefused(f"the certificate would run to {not_after:%Y-%m-%d %H:%M:%SZ}, after its issuer "
                            f"{issuer.common_name!r} expires ({issuer.not_after:%Y-%m-%d %H:%M:%SZ}): refused "
                            "(spec 1); certify a new issuing CA")
