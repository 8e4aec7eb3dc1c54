"""`s1spki lint FILE...`: one line per finding, exit 3 when any is an error, through the real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from tests.conftest import REFERENCE
from tests.lint.factory import Pki, aki, ca_name, ou, rdns, uid


def lint(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s1spki", "--home", str(home), "lint", *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_dcc_z1_certificates_pass(tmp_path: Path) -> None:
    files = sorted(str(p) for p in REFERENCE.glob("Z1*.pem"))
    result = lint(*files, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("name", "rule"), [
    ("mdr-ds.pem", "gbcs.signature_params_absent"),
    ("xml-sign-00DB123456780004-ds.pem", "gbcs.aki_present"),
])
def test_deviant_dcc_certificates_are_reported(tmp_path: Path, name: str, rule: str) -> None:
    result = lint(str(REFERENCE / name), home=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(rule in line for line in lines), lines
    assert all(line.startswith(str(REFERENCE / name) + ": ") for line in lines)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _write(tmp_path: Path, name: str, der: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(der)
    return path


def test_policy_breakages_are_each_caught(tmp_path: Path) -> None:
    pki = Pki.create()
    ca_der = pki.ca.build()
    issuer = _write(tmp_path, "ca.der", ca_der)
    ski = x509.load_der_x509_certificate(ca_der).extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cases = {
        "bad-ski.der": (pki.ee.with_extension(x509.SubjectKeyIdentifier(b"\x01" * 8), False), "gbcs.ski_method2"),
        "no-aki.der": (pki.ee.without_extension(x509.AuthorityKeyIdentifier.oid), "gbcs.aki_present"),
        "critical-aki.der": (pki.ee.with_extension(aki(ski.value.digest), True), "gbcs.aki_present"),
        "lowercase-ou.der": (pki.ee.replace(subject=rdns(ou("0a"), uid())), "gbcs.subject_ee_role_code"),
        "utf8-issuer.der": (pki.ee.replace(issuer=ca_name("07", "S1SPKI Test CA", x509.name._ASN1Type.UTF8String)),
                            "gbcs.issuer_matches_ca_subject"),
    }
    good = _write(tmp_path, "good.der", pki.ee.build())
    clean = lint("--issuer", str(issuer), str(good), home=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for name, (spec, rule) in cases.items():
        path = _write(tmp_path, name, spec.build())
        result = lint("--issuer", str(issuer), str(path), home=tmp_path)
        assert result.returncode == 3, f"{name}: {result.stdout}{result.stderr}"
        assert rule in result.stdout, f"{name}: expected {rule} in {result.stdout}"


def test_not_a_certificate_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    junk = _write(tmp_path, "junk.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    empty = _write(tmp_path, "empty.der", b"")
    result = lint(str(junk), str(empty), home=tmp_path)
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stdout.strip().splitlines()) >= 2
    missing = lint(str(tmp_path / "absent.pem"), home=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
