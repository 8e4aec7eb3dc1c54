"""`--json` prints one JSON document on stdout, nothing else, for every reading command, for a refusal too
(`lint` with findings once printed its report and then the error as a second document)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ACME, CaHome


def _one_document(stdout: str) -> object:
    decoder = json.JSONDecoder()
    document, end = decoder.raw_decode(stdout.lstrip())
    assert not stdout.lstrip()[end:].strip(), f"more than one JSON document on stdout:\n{stdout}"
    return document


READING = [
    ["operator", "list"], ["operator", "show", "dave"],
    ["org", "list"], ["org", "show", ACME],
    ["request", "list"], ["request", "list", "--status", "submitted", "--org", ACME, "--limit", "5"],
    ["request", "show", "1"],
    ["cert", "list"], ["cert", "list", "--reserved"], ["cert", "list", "--status", "valid", "--limit", "1"],
    ["cert", "list", "--kind", "end-entity", "--expires-before", "2099-01-01", "--serial", "0"],
    ["cert", "show", "1"],
    ["crl", "show"], ["crl", "show", "S1SPKI Issuing CA 1"],
    ["audit", "verify"],
    ["db", "status"],
    ["hsm", "probe"], ["hsm", "status"],
]


@pytest.mark.slow
def test_every_reading_command_prints_one_json_document(ca: CaHome) -> None:
    ca.issue_new()
    ca.submit(ca.csr())  # one request still waiting
    ca.ok("crl", "issue", "--as", "dave")
    for args in READING:
        result = ca.run("--json", *args)
        assert result.code == 0, f"{args}: {result}"
        _one_document(result.stdout)
        # and the same with --json after the command
        again = ca.run(*args, "--json")
        assert again.code == 0, f"{args}: {again}"
        _one_document(again.stdout)


def test_lint_with_findings_prints_one_document_with_the_error(ca: CaHome) -> None:
    not_a_certificate = ca.work / "junk.pem"
    not_a_certificate.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    clean = ca.export(1, "root.pem")

    result = ca.run("--json", "lint", str(clean), str(not_a_certificate))

    assert result.code == 3, str(result)
    document = _one_document(result.stdout)
    assert isinstance(document, dict) and document["ok"] is False and document["error"] == "lint", document
    assert document["files"][str(not_a_certificate)] and document["files"][str(clean)] == [], document
    assert len(result.stderr.strip().splitlines()) == 1, str(result)


@pytest.mark.parametrize("args", [["cert", "show", "99"], ["request", "approve", "99", "--as", "dave"],
                                  ["cert", "issue", "99", "--as", "carol"]],
                         ids=["not-found", "refused-change", "refused-issue"])
def test_an_error_is_one_json_document(ca: CaHome, args: list[str]) -> None:
    result = ca.run("--json", *args)
    assert result.code != 0
    document = _one_document(result.stdout)
    assert isinstance(document, dict) and document["exit_code"] == result.code, document
