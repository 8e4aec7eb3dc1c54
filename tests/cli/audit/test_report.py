"""`audit report`: the issuance report of a period, from the audit trail alone: each certificate issued or
revoked with its request, submitter, ARO, approvers and their signed statements; signed, verifiable offline,
and itself audited."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.conftest import ACME_ARO, CaHome, run_s1spki

pytestmark = pytest.mark.both_engines


def report(ca: CaHome, auditor: str, name: str, *args: str) -> dict[str, Any]:
    return ca.ok("--json", "audit", "report", "--out", str(ca.work / name), "--as", auditor, *args).json()


def test_the_issuance_report_holds_every_issuance_and_revocation_with_its_people(ca: CaHome, auditor: str,
                                                                                 tmp_path: Path) -> None:
    issued = ca.issue_new()
    kept = ca.issue_new("keyAgreement")
    revoked = ca.run("--json", "cert", "revoke", issued["serial"], "--reason", "keyCompromise", "--as", "dave")
    assert revoked.code == 0, str(revoked)

    made = report(ca, auditor, "issuance.jsonl", "--format", "jsonl")

    rows = [json.loads(line) for line in (ca.work / "issuance.jsonl").read_text().splitlines()]
    assert made["count"] == len(rows)
    by_event = {(r["event"], r["serial"]): r for r in rows}
    # an online home issues end-entity certificates and installs the issuing CA the root certified
    assert {r["kind"] for r in rows if r["event"] == "issued"} == {"end-entity"}
    [installed] = [r for r in rows if r["event"] == "installed"]
    assert installed["kind"] == "issuing" and installed["issuer"] == "S1SPKI Root CA"
    for cert in (issued, kept):
        row = by_event[("issued", cert["serial"])]
        assert row["sha256_fingerprint"] == cert["sha256_fingerprint"] and row["issuer"] == cert["issuer_cn"]
        assert row["aro"] == ACME_ARO and row["submitted_by"] == "carol" and row["approvers"] == ["dave"]
        assert row["actor"] == "carol" and row["request_id"] == str(cert["request_id"])
        assert [s["step"] for s in row["statements"]] == ["submit", "approve", "issue"]
        assert [s["statement"]["operator"] for s in row["statements"]] == ["carol", "dave", "carol"]
        assert len(row["request_sha256"]) == 64  # of the CSR as submitted; the CSR itself, as DER:
        assert x509.load_der_x509_csr(base64.b64decode(row["request_der_b64"])).is_signature_valid
    gone = by_event[("revoked", issued["serial"])]
    assert gone["reason"] == "keyCompromise" and gone["actor"] == "dave" and gone["aro"] == ACME_ARO
    assert [s["step"] for s in gone["statements"]] == ["submit", "approve", "issue", "revoke"]

    record = ca.audit()[-1]
    assert (record["event"], record["actor"], record["outcome"]) == ("audit.report", auditor, "ok")
    files = [ca.work / "issuance.jsonl", ca.work / "issuance.jsonl.manifest.json"]
    cert = ca.home / "audit" / "audit-cert.pem"
    checked = run_s1spki(tmp_path / "no-home", "audit", "verify", str(files[0]), "--cert", str(cert))
    assert checked.code == 0, str(checked)
    files[0].write_text(files[0].read_text().replace('"keyCompromise"', '"superseded"'))
    changed = run_s1spki(tmp_path / "no-home", "audit", "verify", str(files[0]), "--cert", str(cert))
    assert changed.code == 3 and "altered" in changed.stderr, str(changed)


def test_the_report_as_csv_and_for_a_period(ca: CaHome, auditor: str) -> None:
    first = ca.issue_new()
    mark = len(ca.audit())
    second = ca.issue_new()
    since = ca.audit()[mark]["at"]  # the first record after the first issuance

    report(ca, auditor, "period.csv", "--from", since)

    table = list(csv.DictReader((ca.work / "period.csv").open(newline="", encoding="utf-8")))
    serials = {r["serial"] for r in table}
    assert second["serial"] in serials and first["serial"] not in serials
    row = next(r for r in table if r["serial"] == second["serial"])
    assert row["approvers"] == "dave" and json.loads(row["statements"])[0]["step"] == "submit"
    refused = ca.run("audit", "report", "--out", str(ca.work / "x.csv"), "--as", "carol")
    assert refused.code == 4, str(refused)
