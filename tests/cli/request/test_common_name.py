"""The CN signed into a certificate (`request submit --cn`, a CA's `ceremony --name`) keeps the CN character
profile: NFC, one line, no control or format characters, no surrounding spaces, none of RFC 4514's special
characters, so that no CN can read as a second attribute (`CN=admin,OU=07`) in any DN string."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.cli.names import assert_name_refused
from tests.conftest import CaHome

CASES = [
    ("second-attribute", "admin,OU=07", "must not contain , ="),
    ("multi-valued-rdn", "meter+UID=1", "must not contain + ="),
    ("quote", 'meter "one"', 'must not contain "'),
    ("backslash", "meter\\2C", "must not contain \\"),
    ("angle-brackets", "<meter>", "must not contain < >"),
    ("semicolon", "meter;OU=00", "must not contain ; ="),
    ("leading-hash", "#04036D6574", "must not begin with '#'"),
    ("newline", "meter\nOU=07", "U+000A at position 6"),
    ("bidi-override", "meter \u202e70=UO", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("zero-width", "me\u200bter", "U+200B ZERO WIDTH SPACE"),
    ("leading-space", " meter", "must not begin or end with whitespace"),
    ("trailing-space", "meter ", "must not begin or end with whitespace"),
    ("whitespace-only", "   ", "must not be whitespace only"),
    ("not-nfc", "Zoe\u0308", "must be in Unicode normal form NFC"),
    ("too-long", "m" * 65, "must have 1 to 64 characters, not 65"),
]


@pytest.mark.parametrize(("cn", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_submit_refuses_a_common_name_outside_the_profile(ca: CaHome, cn: str, words: str) -> None:
    csr = ca.csr()
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.submit(csr, cn=cn)

    assert_name_refused(ca, result, before, audit_before, words)
    assert "--cn" in result.stderr


def test_a_common_name_in_the_profile_is_signed_as_given(ca: CaHome) -> None:
    cn = "Zoë's meter #1 (façade) 2ⁿᵈ"
    issued = ca.issue_new(cn=cn)
    pem = ca.export(issued["serial"], "leaf.pem").read_bytes()
    subject = x509.load_pem_x509_certificate(pem).subject
    [attribute] = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert attribute.value == cn
    assert subject.rfc4514_string().endswith(f",CN={cn}")  # nothing in it needed escaping
    assert x509.Name.from_rfc4514_string(x509.Name([attribute]).rfc4514_string()) == x509.Name([attribute])


def test_ceremony_refuses_a_ca_name_outside_the_profile(ca: CaHome) -> None:
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("ceremony", "issuing", "--name", "S1SPKI Issuing CA 2,OU=00", "--as", "alice", "--as", "bob")

    assert_name_refused(ca, result, before, audit_before, "--name 'S1SPKI Issuing CA 2,OU=00' must not contain ,")
