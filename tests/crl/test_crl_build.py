"""CRLs below the CLI (s1spki.ra.crl, s1spki.issuance.crl): entries encoded as asn1crypto would, and a CRL
too large for a full lint is issued complete, signed and verified, with a lint form that still sees every
reason."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from s1spki.command import Command, Operators
from s1spki.errors import LintRefused
from s1spki.hsm import Hsm
from s1spki.issuance.crl import FULL_LINT_ENTRIES, entry_der
from s1spki.issuance.profile import serial_hex
from s1spki.policy import REVOCATION_REASON_CODES
from s1spki.ra.cas import open_issuer
from s1spki.ra.crl import issue
from s1spki.runtime import Runtime
from tests.cli.crl.helpers import ISSUING
from tests.conftest import REPO, CaHome

_spec = importlib.util.spec_from_file_location("bench_crl", REPO / "scripts" / "bench_crl.py")
assert _spec and _spec.loader
bench_crl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_crl)

ASN1_REASONS = {1: "key_compromise", 2: "ca_compromise", 3: "affiliation_changed", 4: "superseded",
                5: "cessation_of_operation", 9: "privilege_withdrawn"}


@pytest.mark.parametrize("serial", [1, 0x7F, 0x80, (1 << 126) | 12345, (1 << 127) | 5])
@pytest.mark.parametrize("when", [datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC),
                                  datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
                                  datetime(2050, 1, 1, tzinfo=UTC)])
def test_entry_is_the_der_asn1crypto_makes(serial: int, when: datetime) -> None:
    for code in REVOCATION_REASON_CODES.values():
        expected = asn1_crl.RevokedCertificate({
            "user_certificate": serial,
            "revocation_date": asn1_x509.Time({"utc_time" if when.year < 2050 else "general_time": when}),
            "crl_entry_extensions": [{"extn_id": "crl_reason", "critical": False, "extn_value": ASN1_REASONS[code]}],
        }).dump()
        assert entry_der(serial, when, code) == expected


@pytest.fixture
def app(ca: CaHome) -> Iterator[Runtime]:
    runtime = Runtime(ca.home)
    yield runtime
    runtime.close()
    Hsm.close_all()


def _issue(app: Runtime):  # type: ignore[no-untyped-def]
    cmd = Command(app, Operators(("carol",)))
    ca = app.store.reader.ca(ISSUING)
    assert ca is not None
    event = cmd.event("crl.issue", "crl", ISSUING, actor="carol", actor_role="ra_manager")
    return ca, issue(cmd, ca, open_issuer(cmd, ca), event)


def test_a_crl_beyond_the_full_lint_is_complete_signed_and_says_what_was_linted(app: Runtime, ca: CaHome) -> None:
    count = 3 * FULL_LINT_ENTRIES
    serials = bench_crl.insert_certificates(app, ISSUING, count, revoked=True)
    issuing, record = _issue(app)

    assert record.entries == count and record.der is not None
    parsed = x509.load_der_x509_crl(record.der)
    assert parsed.is_signature_valid(issuing.certificate.certificate().public_key())  # type: ignore[arg-type]
    assert {serial_hex(r.serial_number) for r in parsed} == set(serials)
    reasons = {r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name for r in parsed}
    assert reasons == {"key_compromise", "ca_compromise", "affiliation_changed", "superseded",
                       "cessation_of_operation", "privilege_withdrawn"}
    details = json.loads(ca.audit()[-1]["details"])
    assert details["entries"] == count and FULL_LINT_ENTRIES // 2 < details["entries_linted"] <= FULL_LINT_ENTRIES + 10


def test_the_lint_form_sees_every_reason_of_a_large_crl(app: Runtime, ca: CaHome) -> None:
    count = 3 * FULL_LINT_ENTRIES
    serials = bench_crl.insert_certificates(app, ISSUING, count, revoked=True)
    # One entry in the middle, off the evenly spaced sample, with a reason the policy never allows.
    odd = serials[count // 2 + 1]
    when = datetime(2026, 1, 2, tzinfo=UTC)
    with ca.db() as conn:
        conn.execute("update revocations set reason = 'certificateHold', entry_der = ? where serial = ?",
                     (entry_der(int(odd, 16), when, 6), odd))
    with pytest.raises(LintRefused, match=r"certificateHold \(6\)"):
        _issue(app)
    assert app.store.reader.crl(ISSUING) is None


@pytest.mark.parametrize(("breaks", "words"), [
    pytest.param(lambda serial, when: entry_der(serial, datetime(2049, 12, 31, tzinfo=UTC), 1),
                 "is after thisUpdate", id="revoked-after-this-update"),
    pytest.param(lambda serial, when: entry_der(serial, when, 1)[:-1] + b"\x00",
                 r"unspecified \(0\)", id="reason-unspecified"),
    pytest.param(lambda serial, when: entry_der(-serial, when, 1), "not positive", id="negative-serial"),
])
def test_every_entry_beyond_the_lint_form_is_checked(app: Runtime, ca: CaHome, breaks, words: str) -> None:  # type: ignore[no-untyped-def]
    """An entry off the lint form's sample that breaks a rule refuses the CRL: no entry is signed unchecked."""
    count = 3 * FULL_LINT_ENTRIES
    serials = bench_crl.insert_certificates(app, ISSUING, count, revoked=True)
    odd = serials[count // 2 + 1]  # neither a first of its reason, an end, nor one of the evenly spaced
    with ca.db() as conn:
        conn.execute("update revocations set entry_der = ? where serial = ?",
                     (breaks(int(odd, 16), datetime(2026, 1, 2, tzinfo=UTC)), odd))
    with pytest.raises(LintRefused, match=rf"crl\.entry_scan: entry {count // 2 + 2} .*{words}"):
        _issue(app)
    assert app.store.reader.crl(ISSUING) is None
