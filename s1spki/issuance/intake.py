"""Intake: the first stage of the pipeline. Parse a PKCS#10 request, check proof of possession, the
key type (EC P-256, uncompressed point only: spec 2.2) and the size limit. Nothing else from the request
is used: the CA decides the certificate's contents (spec 5), so requested extensions are ignored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from s1spki.errors import IntakeRefused

_PEM_CSR = re.compile(rb"-----BEGIN (NEW )?CERTIFICATE REQUEST-----(.+?)-----END (NEW )?CERTIFICATE REQUEST-----",
                      re.DOTALL)
UNCOMPRESSED_POINT_LENGTH = 65  # 0x04 || X (32) || Y (32) for P-256


@dataclass(frozen=True)
class CertificationRequest:
    """A request that passed intake: its DER and the public key to certify."""

    der: bytes
    public_key: ec.EllipticCurvePublicKey
    key_sha256: str  # SHA-256 of the DER SubjectPublicKeyInfo

    @classmethod
    def from_der(cls, der: bytes) -> CertificationRequest:
        """Re-read a request stored after intake (it passed before; the checks run again, once per process for the
        same bytes: issuance re-reads a request several times)."""
        return _reread(bytes(der))


@lru_cache(maxsize=256)
def _reread(der: bytes) -> CertificationRequest:
    return parse_request(der, max_bytes=len(der))


def parse_request(data: bytes, max_bytes: int) -> CertificationRequest:
    if len(data) > max_bytes:
        # The caller may read only max_bytes + 1 bytes of a huge file, so its true size is not known here.
        raise IntakeRefused(f"the request is over the {max_bytes}-byte limit (policy.toml intake.max_request_bytes)",
                            limit=max_bytes)
    der = _der_of(data)
    try:
        request = x509.load_der_x509_csr(der)
        public_key = request.public_key()
    except (ValueError, TypeError):
        raise IntakeRefused("not a PKCS#10 certificate request (PEM or DER), or it is truncated") from None
    except x509.UnsupportedGeneralNameType:
        raise IntakeRefused("the request holds a name type s1spki cannot read") from None
    if isinstance(public_key, rsa.RSAPublicKey):
        raise IntakeRefused(f"the request's key is RSA-{public_key.key_size}: only EC P-256 keys are certified "
                            "(spec 2.2)")
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise IntakeRefused(f"the request's key is {type(public_key).__name__}: only EC P-256 keys are certified")
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise IntakeRefused(f"the request's key is on {public_key.curve.name}: only P-256 (prime256v1) keys are "
                            "certified (spec 2.2)", curve=public_key.curve.name)
    point = _raw_point(der)
    if len(point) != UNCOMPRESSED_POINT_LENGTH or point[0] != 0x04:
        raise IntakeRefused("the request's public key is a compressed EC point: only the uncompressed form is "
                            "certified (spec 2.2)")
    if not request.is_signature_valid:
        raise IntakeRefused("the request's signature does not verify with its own key: no proof of possession")
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return CertificationRequest(der, public_key, hashlib.sha256(spki).hexdigest())


def _der_of(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        match = _PEM_CSR.search(data)
        if not match:
            raise IntakeRefused("PEM file holds no CERTIFICATE REQUEST block")
        try:
            return base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except binascii.Error:
            raise IntakeRefused("the PEM CERTIFICATE REQUEST block is not valid base64") from None
    return data


def _raw_point(der: bytes) -> bytes:
    """The EC point exactly as encoded (cryptography would silently decompress a compressed one)."""
    info = asn1_csr.CertificationRequest.load(der)["certification_request_info"]
    bit_string = info["subject_pk_info"]["public_key"]
    return bytes(bit_string.contents[1:])  # drop the unused-bits octet


@dataclass(frozen=True)
class EstHints:
    """What an EST request says beside its key, read from a request that passed intake. None of it goes into a
    certificate (the profile and the registry decide that): the channel binding is checked, the EUI-64 and key
    usage say which certificate a re-enrolment renews."""

    challenge_password: bytes | None  # RFC 7030 3.5: base64 of the TLS channel's tls-unique
    eui64: str | None  # the subject's uniqueIdentifier (2.5.4.45), 16 uppercase hex digits
    key_usage: str | None  # digitalSignature or keyAgreement, from a requested keyUsage extension


def est_hints(request: CertificationRequest) -> EstHints:
    csr = x509.load_der_x509_csr(request.der)
    try:
        password = csr.attributes.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD).value
    except x509.AttributeNotFound:
        password = None
    eui64 = None
    found = csr.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.45"))
    if found and isinstance(found[0].value, bytes):
        raw = found[0].value
        raw = raw[1:] if len(raw) == 9 and raw[0] == 0 else raw  # the BIT STRING's unused-bits octet
        eui64 = raw.hex().upper() if len(raw) == 8 else "malformed"
    key_usage = None
    try:
        usage = csr.extensions.get_extension_for_class(x509.KeyUsage).value
        key_usage = "keyAgreement" if usage.key_agreement else "digitalSignature" if usage.digital_signature else None
    except (x509.ExtensionNotFound, ValueError):
        pass
    return EstHints(password, eui64, key_usage)
