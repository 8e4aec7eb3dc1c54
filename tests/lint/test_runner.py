"""The entry points: type detection, bad input, files, the gate, and the value types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from s1spki.errors import UsageError
from s1spki.lint import (
    Finding,
    LintContext,
    Severity,
    has_errors,
    lint_certificate,
    lint_crl,
    lint_der,
    lint_file,
)
from tests.conftest import REFERENCE

from .factory import Pki, new_key, rules_of

NOT_CERTIFICATE_OR_CRL = "rfc5280.not_certificate_or_crl"


def _csr() -> bytes:
    key = new_key()
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.DER)


def _private_key() -> bytes:
    return new_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"garbage, not DER at all",
        b"\x30\x82\xff\xff\x30",  # a length beyond the data
        b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length (BER)
        b"\x02\x01\x05",  # an INTEGER
        b"\x30\x03\x02\x01\x05",  # a SEQUENCE of one INTEGER
    ],
    ids=["empty", "one-byte", "text", "overlong-length", "indefinite-length", "integer", "short-sequence"],
)
def test_lint_der_on_garbage_is_one_error(data: bytes) -> None:
    findings = lint_der(data)
    assert len(findings) == 1
    assert findings[0].rule == NOT_CERTIFICATE_OR_CRL and findings[0].severity is Severity.ERROR
    assert findings[0].message.startswith("not a certificate or CRL")


@pytest.mark.parametrize("make", [_csr, _private_key], ids=["csr", "private-key"])
def test_lint_der_on_other_der_is_one_error(make) -> None:
    (finding,) = lint_der(make())
    assert finding.rule == NOT_CERTIFICATE_OR_CRL


@pytest.mark.parametrize("cut", [1, 10, 100, 200])
def test_lint_der_on_truncated_certificates_and_crls(pki: Pki, cut: int) -> None:
    for der in (pki.ee.build(), pki.crl.build()):
        findings = lint_der(der[:-cut])
        assert len(findings) == 1 and findings[0].severity is Severity.ERROR, [f.line() for f in findings]


def test_lint_der_tells_certificates_from_crls(pki: Pki) -> None:
    assert lint_der(pki.ee.build()) == lint_certificate(pki.ee.build()) == ()
    assert lint_der(pki.crl.build()) == lint_crl(pki.crl.build()) == ()
    broken_crl = pki.crl.replace(hash_algorithm=hashes.SHA384()).build()
    assert "crl.signature_algorithm" in rules_of(lint_der(broken_crl))


def test_lint_certificate_on_a_crl_or_garbage_is_one_error(pki: Pki) -> None:
    for data in (pki.crl.build(), b"", pki.ee.build()[:50], pki.ee.build() + b"\x00"):
        (finding,) = lint_certificate(data)
        assert finding.rule == "rfc5280.der_decoding" and finding.message.startswith("not a DER certificate")
    (finding,) = lint_crl(pki.ee.build())
    assert finding.rule == "rfc5280.der_decoding" and finding.message.startswith("not a DER CRL")


def _pem(label: str, der: bytes) -> bytes:
    return pem.armor(label, der)


def test_lint_file_reads_pem_with_several_blocks(pki: Pki, tmp_path: Path) -> None:
    bad_ee = pki.ee.without_extension(x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER).build()
    path = tmp_path / "bundle.pem"
    path.write_bytes(
        _pem("CERTIFICATE", pki.ee.build()) + _pem("CERTIFICATE", bad_ee) + _pem("X509 CRL", pki.crl.build())
    )
    findings = lint_file(path)
    assert findings and all(f.message.startswith("block 2: ") for f in findings), [f.line() for f in findings]
    assert "gbcs.aki_present" in rules_of(findings)


def test_lint_file_single_block_is_not_prefixed(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "ee.pem"
    path.write_bytes(_pem("CERTIFICATE", pki.ee.without_extension(x509.oid.ExtensionOID.KEY_USAGE).build()))
    findings = lint_file(path)
    assert findings and not any(f.message.startswith("block") for f in findings)


def test_lint_file_reads_der(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "ee.der").write_bytes(pki.ee.build())
    (tmp_path / "crl.der").write_bytes(pki.crl.build())
    (tmp_path / "junk.der").write_bytes(b"\x01\x02\x03")
    assert lint_file(tmp_path / "ee.der") == ()
    assert lint_file(tmp_path / "crl.der") == ()
    assert rules_of(lint_file(tmp_path / "junk.der")) == {NOT_CERTIFICATE_OR_CRL}


def test_lint_file_flags_other_pem_blocks_and_bad_pem(pki: Pki, tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(_pem("PRIVATE KEY", _private_key()))
    (finding,) = lint_file(key_file)
    assert finding.rule == NOT_CERTIFICATE_OR_CRL and "PRIVATE KEY" in finding.message
    broken = tmp_path / "broken.pem"
    broken.write_bytes(b"-----BEGIN CERTIFICATE-----\n!!!!\n")
    (finding,) = lint_file(broken)
    assert finding.rule == NOT_CERTIFICATE_OR_CRL


def test_lint_file_on_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        lint_file(tmp_path / "absent.pem")


def test_the_gate_refuses_on_error_and_warning_only() -> None:
    def finding(severity: Severity, source: str = "gbcs") -> Finding:
        return Finding("gbcs.example", severity, "example", source)  # type: ignore[arg-type]

    assert not has_errors(())
    assert not has_errors([finding(Severity.INFO)])
    assert has_errors([finding(Severity.INFO), finding(Severity.WARNING, "pkilint")])
    assert has_errors([finding(Severity.WARNING)])
    assert has_errors(iter([finding(Severity.ERROR)]))


def test_pkilint_warnings_reach_the_gate(pki: Pki) -> None:
    """pkilint reports a non-critical keyUsage as a WARNING: the gate refuses it."""
    ku = pki.ee.extensions[0][0]
    findings = lint_certificate(pki.ee.with_extension(ku, False).build())
    warnings = [f for f in findings if f.source == "pkilint"]
    assert [f.severity for f in warnings] == [Severity.WARNING] and has_errors(warnings)


def test_finding_line_and_message_are_one_line() -> None:
    finding = Finding(
        "gbcs.ski_method2", Severity.ERROR, "SKI 4489 is not RFC 5280 method 2 (expected 4...)", "gbcs"
    )
    assert finding.line() == "error gbcs.ski_method2: SKI 4489 is not RFC 5280 method 2 (expected 4...)"
    with pytest.raises(ValueError, match="one line"):
        Finding("gbcs.x", Severity.ERROR, "two\nlines", "gbcs")


@pytest.mark.parametrize(
    "settings",
    [
        {"end_entity_basic_constraints": "critical-true"},
        {"root_path_length": -1},
        {"root_path_length": "none"},
        {"ca_subject_string_type": "ia5"},
        {"serial_octets": 21},
        {"role_codes": frozenset({256})},
    ],
)
def test_lint_context_refuses_impossible_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LintContext(**settings)  # type: ignore[arg-type]


def test_lint_context_wants_frozensets() -> None:
    with pytest.raises(TypeError):
        LintContext(role_codes={2, 3})  # type: ignore[arg-type]


# Run in a process of its own: the suite's process has loaded pkilint long before.
_FIRST_LINT = """
import gc, sys
from pathlib import Path
from s1spki.lint import lint_file
from s1spki.lint.pkilint_adapter import certificate_validator
lint_file(Path(sys.argv[1]))
collected = {id(o) for o in gc.get_objects()}
print(gc.isenabled(), id(certificate_validator()) in collected, len(certificate_validator().validators) > 0)
"""


def test_pkilint_validators_are_kept_out_of_later_collections() -> None:
    """The first lint of a process builds pkilint's validators frozen out of the collector's generations
    (s1spki/collector.py): an issuing process's collections do not scan them again and again."""
    out = subprocess.run([sys.executable, "-c", _FIRST_LINT, str(REFERENCE / "mdr-ds.pem")], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True", "False", "True"]  # the collector on, the validators not in its generations
