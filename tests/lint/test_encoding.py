"""Values as encoded, on asn1crypto: it reads BER and retypes some values, the linter must see neither.

Certificates and CRLs are reassembled by hand from the good ones, one element re-encoded in a BER form
(non-minimal or indefinite length), so that the rest of each object stays as the factory made it.
"""

from __future__ import annotations

import pytest
from asn1crypto import core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from s1spki.lint import Severity, encoding, has_errors, lint_certificate, lint_crl
from s1spki.lint.document import CertificateDocument

from .factory import NULL_PARAMETERS, Pki, edit_certificate, ou, rdns, rules_of, uid

TBS_CERTIFICATE = (
    "version",
    "serial_number",
    "signature",
    "issuer",
    "validity",
    "subject",
    "subject_public_key_info",
    "extensions",
)
TBS_CERT_LIST = (
    "version",
    "signature",
    "issuer",
    "this_update",
    "next_update",
    "revoked_certificates",
    "crl_extensions",
)


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _tlv(identifier: int, contents: bytes) -> bytes:
    return bytes([identifier]) + _length(len(contents)) + contents


def _non_minimal(der: bytes) -> bytes:
    """The same element with its length in one more octet than DER allows (short form: 81 LL)."""
    assert der[1] < 0x80, "only short-form lengths are lengthened here"
    return der[:1] + b"\x81" + der[1:]


def _indefinite(der: bytes) -> bytes:
    """The same constructed element with an indefinite length (BER)."""
    assert der[1] < 0x80, "only short-form lengths are rewritten here"
    return der[:1] + b"\x80" + der[2:] + b"\x00\x00"


def _signed(tbs: bytes, signed: core.Sequence, algorithm: str, signature: str) -> bytes:
    return _tlv(0x30, _tlv(0x30, tbs) + signed[algorithm].dump() + signed[signature].dump())


def _certificate(der: bytes, **replaced: bytes) -> bytes:
    """A certificate reassembled from its TBS fields, some replaced (the signature is left as it was)."""
    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    fields = b"".join(replaced.get(name, tbs[name].dump()) for name in TBS_CERTIFICATE)
    return _signed(fields, cert, "signature_algorithm", "signature_value")


def _crl(der: bytes, **replaced: bytes) -> bytes:
    crl = asn1_crl.CertificateList.load(der)
    tbs = crl["tbs_cert_list"]
    fields = b"".join(replaced.get(name, tbs[name].dump()) for name in TBS_CERT_LIST)
    return _signed(fields, crl, "signature_algorithm", "signature")


def _only_der_decoding(findings: tuple) -> str:
    (finding,) = findings
    assert finding.rule == "rfc5280.der_decoding" and finding.severity is Severity.ERROR, finding.line()
    return finding.message


def test_reassembly_is_faithful(pki: Pki) -> None:
    certificate, crl = pki.ee.build(), pki.crl.build()
    assert _certificate(certificate) == certificate
    assert _crl(crl) == crl


def test_a_non_minimal_length_in_the_tbs_is_not_der(pki: Pki) -> None:
    der = pki.ee.build()
    serial = asn1_x509.Certificate.load(der)["tbs_certificate"]["serial_number"].dump()
    message = _only_der_decoding(lint_certificate(_certificate(der, serial_number=_non_minimal(serial))))
    assert "not DER" in message and "non-minimal" in message


def test_an_indefinite_length_in_the_tbs_is_not_der(pki: Pki) -> None:
    der = pki.ee.build()
    validity = asn1_x509.Certificate.load(der)["tbs_certificate"]["validity"].dump()
    message = _only_der_decoding(lint_certificate(_certificate(der, validity=_indefinite(validity))))
    assert "not DER" in message and "indefinite" in message


def test_a_non_minimal_outer_length_is_not_der(pki: Pki) -> None:
    der = pki.ee.build()
    assert der[1] == 0x82
    message = _only_der_decoding(lint_certificate(der[:1] + b"\x83\x00" + der[2:]))
    assert "not DER" in message


def test_a_non_minimal_length_inside_the_subject_is_caught_by_the_subject_rules(pki: Pki) -> None:
    der = pki.ee.build()
    subject = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject"]
    first_rdn = subject.chosen[0].dump()
    ber_subject = _tlv(0x30, _non_minimal(first_rdn) + subject.chosen.contents[len(first_rdn) :])
    findings = lint_certificate(_certificate(der, subject=ber_subject))
    (finding,) = [f for f in findings if f.rule == "gbcs.subject_ee_structure"]
    assert finding.message.startswith("could not be checked") and "not DER" in finding.message
    assert has_errors(findings)


def test_a_non_minimal_length_inside_the_aki_is_still_caught(pki: Pki) -> None:
    """The AKI must be exactly 30 0A 80 08 <8 octets>: a longer length form is another encoding."""
    der = pki.ee.build()
    extensions = asn1_x509.Certificate.load(der)["tbs_certificate"]["extensions"]
    rebuilt = []
    for extension in extensions:
        if extension["extn_id"].dotted == "2.5.29.35":
            value = extension["extn_value"].contents
            extension = _tlv(0x30, extension["extn_id"].dump() + _tlv(0x04, _non_minimal(value)))
            rebuilt.append(extension)
        else:
            rebuilt.append(extension.dump())
    findings = lint_certificate(_certificate(der, extensions=_tlv(0xA3, _tlv(0x30, b"".join(rebuilt)))))
    (finding,) = [f for f in findings if f.rule == "gbcs.aki_key_id_only"]
    assert finding.message.startswith("authorityKeyIdentifier is 30810a8008")


def test_an_indefinite_length_crl_entry_is_not_der(pki: Pki) -> None:
    der = pki.crl.build()
    revoked = asn1_crl.CertificateList.load(der)["tbs_cert_list"]["revoked_certificates"]
    first = revoked[0].dump()
    ber_revoked = _tlv(0x30, _indefinite(first) + revoked.contents[len(first) :])
    message = _only_der_decoding(lint_crl(_crl(der, revoked_certificates=ber_revoked)))
    assert "not DER" in message


def test_null_parameters_are_a_finding_even_where_asn1crypto_reads_them(pki: Pki) -> None:
    """asn1crypto reads ecdsa-with-SHA256 with NULL parameters; the rule compares what was encoded."""
    der = edit_certificate(pki.ee.build(), pki.ca_key, lambda tbs: tbs.__setitem__("signature", NULL_PARAMETERS))
    assert asn1_x509.Certificate.load(der)["tbs_certificate"]["signature"]["parameters"].dump() == b"\x05\x00"
    findings = lint_certificate(der)
    assert {"gbcs.signature_params_absent", "gbcs.signature_algorithms_match"} <= rules_of(findings)


@pytest.mark.parametrize(
    ("value", "header"),
    [
        (core.Integer(5), "0201"),
        (core.OctetString(b"\x00" * 200), "0481c8"),
        (core.OctetString(b"\x00" * 300), "0482012c"),
        (core.OctetString(b"x", implicit=3), "8301"),
        (core.OctetString(b"x", implicit=200), "9f814801"),
        (core.Integer(2, explicit=0), "a0030201"),
    ],
    ids=["short", "one-length-octet", "two-length-octets", "implicit", "high-tag", "explicit"],
)
def test_der_header_is_the_one_der_gives(value: core.Asn1Value, header: str) -> None:
    assert encoding.der_header(value)[0].hex() == header
    assert value.dump().startswith(bytes.fromhex(header))


def test_elements_skip_the_defaults_asn1crypto_fills_in() -> None:
    extension = asn1_x509.Extension.load(bytes.fromhex("300b0603551d0f040403020780"))  # critical absent
    assert extension["critical"].native is False
    assert [type(e).__name__ for e in encoding.elements(extension)] == ["ExtensionId", "ParsableOctetString"]


def test_load_and_read_refuse_ber() -> None:
    with pytest.raises(ValueError, match="not DER"):
        encoding.load(core.Integer, bytes.fromhex("02810105"))
    with pytest.raises(ValueError, match="not DER"):
        encoding.read(bytes.fromhex("30800201010000"))
    assert encoding.is_universal(encoding.read(bytes.fromhex("3003020101")), encoding.SEQUENCE)
    assert encoding.read(bytes.fromhex("0403010203")).contents == b"\x01\x02\x03"


def test_an_attribute_value_asn1crypto_would_relabel_keeps_its_own_tag(pki: Pki) -> None:
    """asn1crypto reads an emailAddress encoded as a UTF8String as an IA5String: the rules see UTF8String."""
    email = x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ra@example.invalid", _ASN1Type.UTF8String)
    der = pki.ee.replace(subject=rdns(ou(), uid(), email)).build()
    document = CertificateDocument(der)
    (attribute,) = [a for rdn in document.subject_rdns for a in rdn if a.oid == "1.2.840.113549.1.9.1"]
    assert encoding.type_name(attribute.value) == "UTF8String"
    findings = lint_certificate(der)
    (finding,) = [f for f in findings if f.rule == "gbcs.subject_ee_structure"]
    assert "1.2.840.113549.1.9.1" in finding.message and "could not be checked" not in finding.message
