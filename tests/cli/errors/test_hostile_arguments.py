"""Bad input never ends in "unexpected error" (exit 1): every hostile argument below gets one line on stderr
and the exit code of its kind (2 usage or not found, 3 refused, 4 auth), never a traceback. And the CLI
library's own usage errors are one line too, `s1spki: <message> (see --help)`, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import csr as asn1_csr

from tests.conftest import ACME, ACME_ARO, ACME_EUI, CaHome, Result, run_s1spki


def _wrong_version_csr(ca: CaHome) -> list[str]:
    """A CSR whose version field is 3 (PKCS#10 knows only v1, 0); the signature is the original's."""
    request = asn1_csr.CertificationRequest.load(_der(ca))
    request["certification_request_info"]["version"] = 3
    path = ca.work / "v4.csr"
    path.write_bytes(request.dump(force=True))
    return ["request", "submit", "--csr", str(path), "--org", ACME, "--aro", ACME_ARO, "--role", "supplier",
            "--key-usage", "digitalSignature", "--eui64", ACME_EUI, "--as", "carol"]


def _der(ca: CaHome) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_csr(ca.csr().read_bytes()).public_bytes(serialization.Encoding.DER)


def _deep_statement(ca: CaHome) -> list[str]:
    request_id = ca.submit_approved()
    path = ca.work / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    return ["request", "approve", str(request_id), "--statement", str(path)]


def _a_file(ca: CaHome) -> Path:
    path = ca.work / "a-file"
    path.write_text("not a folder\n")
    return path


def _missing_folder(ca: CaHome) -> Path:
    return ca.work / "no-such-folder" / "out.pem"


# (id, the arguments, made from the test's CA home)
CASES: list[tuple[str, Callable[[CaHome], list[str]]]] = [
    ("csr-wrong-version", _wrong_version_csr),
    ("request-id-past-64-bits-approve", lambda ca: ["request", "approve", str(2**64 + 5), "--as", "dave"]),
    ("request-id-past-64-bits-show", lambda ca: ["request", "show", str(2**70)]),
    ("request-id-past-64-bits-issue", lambda ca: ["cert", "issue", str(2**64), "--as", "carol"]),
    ("certificate-id-past-64-bits", lambda ca: ["cert", "show", "9" * 30]),
    ("limit-past-64-bits", lambda ca: ["cert", "list", "--limit", str(2**65)]),
    ("deeply-nested-statement", _deep_statement),
    ("cert-export-out-is-a-folder", lambda ca: ["cert", "export", "1", "--out", str(ca.work)]),
    ("cert-export-out-in-missing-folder", lambda ca: ["cert", "export", "1", "--out", str(_missing_folder(ca))]),
    ("crl-show-out-is-a-folder", lambda ca: ["crl", "show", "S1SPKI Root CA", "--out", str(ca.work)]),
    ("sign-only-out-is-a-folder", lambda ca: ["request", "approve", str(ca.submit_approved()), "--sign-only",
                                              "--out", str(ca.work), "--as", "erin"]),
    ("audit-export-out-is-a-folder", lambda ca: ["audit", "export", "--out", str(ca.work), "--as", "fred"]),
    ("audit-report-out-in-missing-folder", lambda ca: ["audit", "report", "--out", str(_missing_folder(ca)),
                                                       "--as", "fred"]),
    ("repo-publish-out-is-a-file", lambda ca: ["repo", "publish", "--out", str(_a_file(ca))]),
    ("audit-verify-a-folder", lambda ca: ["audit", "verify", str(ca.work), "--trust-embedded"]),
    ("csr-is-a-folder", lambda ca: ["request", "submit", "--csr", str(ca.work), "--org", ACME, "--role",
                                    "supplier", "--key-usage", "digitalSignature", "--eui64", ACME_EUI,
                                    "--as", "carol"]),
    ("expires-before-not-a-date", lambda ca: ["cert", "list", "--expires-before", "soon"]),
    ("serial-filter-not-hex", lambda ca: ["cert", "list", "--serial", "%_"]),
]


def _run_bytes(home: Path, *args: bytes) -> Result:
    """Arguments as raw bytes, as a shell passes them: not necessarily UTF-8."""
    proc = subprocess.run([sys.executable.encode(), b"-m", b"s1spki", b"--home", os.fsencode(home), *args],
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def _assert_one_line_not_1(result: Result) -> None:
    assert result.code in (2, 3, 4), str(result)
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s1spki: "), str(result)


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_argument_is_one_line_and_never_exit_1(ca: CaHome, make: Callable[[CaHome], list[str]]) -> None:
    args = make(ca)
    _assert_one_line_not_1(ca.run(*args))
    _assert_one_line_not_1(ca.run("--json", *args))


@pytest.mark.parametrize("args", [
    [b"operator", b"show", b"d\xffve"],
    [b"org", b"show", b"Acme \xe9nergie"],
    [b"request", b"submit", b"--csr", b"/tmp/\xfe.csr", b"--org", b"x", b"--role", b"supplier", b"--key-usage",
     b"digitalSignature", b"--eui64", ACME_EUI.encode(), b"--as", b"carol"],
    [b"operator", b"keygen", b"\xc3\x28"],
], ids=["operator-name", "organisation-name", "csr-path", "keygen-name"])
def test_non_utf8_arguments_are_a_usage_error(ca: CaHome, args: list[bytes]) -> None:
    before = ca.snapshot()
    result = _run_bytes(ca.home, *args)
    _assert_one_line_not_1(result)
    assert result.code == 2 and "not valid UTF-8" in result.stderr, str(result)
    assert ca.snapshot() == before


@pytest.mark.parametrize("args", [
    ["cert", "list", "--bogus"],
    ["request", "show", "abc"],
    ["request", "approve"],
    ["cert", "list", "--limit", "0"],
    ["nosuchgroup"],
], ids=["unknown-option", "not-a-number", "missing-argument", "out-of-range", "unknown-command"])
def test_usage_errors_of_the_cli_library_are_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_s1spki(tmp_path / "home", *args)
    assert result.code == 2, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert lines[0].startswith("s1spki: ") and lines[0].endswith("(see --help)"), str(result)
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


@pytest.mark.parametrize("args", [
    ["cert", "show", "99"],
    ["cert", "export", "99", "--out", "x.pem"],
    ["cert", "show", "ABCDEF0123456789ABCDEF"],
    ["request", "show", "99"],
    ["operator", "show", "nobody"],
    ["org", "show", "Nobody Ltd"],
    ["crl", "show", "No Such CA"],
    ["cert", "list", "--org", "Nobody Ltd"],
], ids=["cert-id", "cert-export", "cert-serial", "request", "operator", "organisation", "ca", "listing-org"])
def test_not_found_is_a_usage_error(ca: CaHome, args: list[str]) -> None:
    result = ca.run("--json", *args)
    assert result.code == 2, str(result)
    assert result.json()["error"] == "not-found", str(result)
    assert len(result.stderr.strip().splitlines()) == 1, str(result)
