"""The issuance report's rows, built from the audit trail alone, its file formats, and its offline check.

Every certificate issued (end-entity, and CA certificates from ceremonies) and every revocation in the
period, with its request (the CSR's SHA-256 and the CSR itself), the submitting operator and the
subscriber's ARO where the request names one, the approvers, and every signed statement on the way:
submission, approvals, issuance, revocation (a revocation repeats what the trail holds of the issuance
it undoes). As CSV or JSON Lines, with a manifest signed by the audit key.

The records are linked as the trail keeps them: an issuance names its request id (object_id) and the
request's key; a submission is found by its request id when it names one, else by the public key of the
request it carries; approvals (`request.approve`) by the request id they name.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.audit.chain import COLUMNS
from s1spki.audit.manifest import Manifest
from s1spki.audit.verify import ALTERED, Problem, Verdict
from s1spki.errors import UsageError
from s1spki.values.canonical import canonical_json

REPORT_COLUMNS = ["event", "at", "audit_seq", "kind", "serial", "issuer", "sha256_fingerprint", "request_id",
                  "organisation", "eui64", "role", "key_usage", "request_sha256", "submitted_at", "submitted_by",
                  "aro", "approvers", "actor", "reason", "statements", "request_der_b64"]
# the ceremonies that make a CA certificate: the root's, a combined home's issuing CA, the root's signature of
# an online home's request (issued there), its installation (in the online home); an online home's
# `ceremony.issuing` record is a request, with no certificate yet
CEREMONIES = {"ceremony.root": "root", "ceremony.issuing": "issuing", "ceremony.sign-issuing": "issuing",
              "ceremony.import-issuing": "issuing"}
_LINKED = {"request.submit", "request.approve", "cert.issue", *CEREMONIES}


REVOCATIONS = {"cert.revoke": "end-entity", "ca.revoke": "issuing"}
# what a revocation row repeats of the issuance it undoes
_FROM_ISSUANCE = ("kind", "request_id", "organisation", "eui64", "role", "key_usage", "request_sha256", "submitted_at",
                  "submitted_by", "aro", "approvers", "request_der_b64")


def _is_revocation(event: str) -> bool:
    return event in REVOCATIONS


def _object(statement: Mapping[str, Any]) -> Mapping[str, Any]:
    body = statement.get("body") if isinstance(statement, Mapping) else None
    obj = body.get("object") if isinstance(body, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def _request_id(record: Mapping[str, Any]) -> str | None:
    oid = record["object_id"]
    if record["object_type"] == "request" and oid and str(oid).isdigit():
        return str(oid)
    for source in (record["details"], *(_object(s) for s in record["statements"])):
        for key in ("request_id", "request"):
            value = source.get(key)
            if value is not None and str(value).isdigit():
                return str(value)
    return None


def _key(record: Mapping[str, Any]) -> str | None:
    """The SHA-256 of the public key a record is about: named, or taken from the request it carries."""
    for source in (record["details"], *(_object(s) for s in record["statements"])):
        if source.get("key_sha256"):
            return str(source["key_sha256"])
    der = record["details"].get("request_der_b64")
    if der:
        try:
            key = x509.load_der_x509_csr(base64.b64decode(der)).public_key()
            spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        except ValueError:
            return None
        return hashlib.sha256(spki).hexdigest()
    return None


def _statements(step: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"step": step, "audit_seq": record["seq"], "statement": s} for s in record["statements"]]


def issuance_rows(rows: Iterable[Any], first: int, last: int) -> list[dict[str, Any]]:
    """Report rows for the records `first`..`last`, given the trail's rows (COLUMNS order) from its start."""
    by_id: dict[str, dict[str, Any]] = {}
    by_key: dict[str, dict[str, Any]] = {}
    approvals: dict[str, list[dict[str, Any]]] = {}
    issued: dict[str, dict[str, Any]] = {}  # by certificate fingerprint, for the revocations
    report: list[dict[str, Any]] = []
    for row in rows:
        seq, event, outcome = row[0], row[6], row[9]
        if seq > last:
            break
        if outcome != "ok" or not (event in _LINKED or _is_revocation(event)):
            continue
        record = dict(zip(COLUMNS, row, strict=True))
        try:
            record["details"] = json.loads(record["details"])
            record["statements"] = json.loads(record["statements"])
        except ValueError:
            continue
        if event == "request.submit":
            request_id, key = _request_id(record), _key(record)
            if request_id:
                by_id[request_id] = record
            if key:
                by_key[key] = record
        elif event == "request.approve":
            request_id = _request_id(record)
            if request_id:
                approvals.setdefault(request_id, []).append(record)
        elif event in CEREMONIES and "serial" not in record["details"]:
            continue  # a request bundle: nothing issued yet
        else:
            made = _row(record, by_id, by_key, approvals, issued)
            if made["event"] == "issued" and made["sha256_fingerprint"]:
                issued[made["sha256_fingerprint"]] = made
            if seq >= first:
                report.append(made)
    return report


def _row(record: dict[str, Any], by_id: dict[str, dict[str, Any]], by_key: dict[str, dict[str, Any]],
         approvals: dict[str, list[dict[str, Any]]], issued: dict[str, dict[str, Any]]) -> dict[str, Any]:
    details, event = record["details"], record["event"]
    row: dict[str, Any] = dict.fromkeys(REPORT_COLUMNS)
    row.update({"at": record["at"], "audit_seq": record["seq"], "actor": record["actor"], "approvers": [],
                "statements": []})
    if _is_revocation(event):
        issuer, _, serial = str(record["object_id"] or "").rpartition("/")
        fingerprint = details.get("sha256_fingerprint")
        row.update({"event": "revoked", "kind": REVOCATIONS[event], "serial": details.get("serial") or serial,
                    "issuer": details.get("issuer") or issuer or None, "sha256_fingerprint": fingerprint,
                    "reason": details.get("reason"), "eui64": details.get("eui64"), "role": details.get("role"),
                    "key_usage": details.get("key_usage")})
        earlier = issued.get(fingerprint or "")
        if earlier is not None:
            row.update({k: earlier[k] for k in _FROM_ISSUANCE if earlier[k] is not None})
        row["statements"] = [*(earlier["statements"] if earlier else []), *_statements("revoke", record)]
        return row
    row.update({"event": "installed" if event == "ceremony.import-issuing" else "issued",
                "serial": details.get("serial"), "sha256_fingerprint": details.get("sha256_fingerprint")})
    if event in CEREMONIES:
        row.update({"kind": CEREMONIES[event], "issuer": details.get("issuer") or details.get("root")
                    or record["object_id"],
                    "statements": _statements("ceremony", record)})
        return row
    request_id = _request_id(record)
    submitted = by_id.get(request_id or "") or by_key.get(_key(record) or "")
    row.update({"kind": "end-entity", "issuer": details.get("issuer"), "request_id": request_id,
                "organisation": details.get("organisation"), "eui64": details.get("eui64"),
                "role": details.get("role"), "key_usage": details.get("key_usage")})
    steps: list[dict[str, Any]] = []
    if submitted is not None:
        sub = submitted["details"]
        row.update({"request_sha256": sub.get("request_sha256"), "request_der_b64": sub.get("request_der_b64"),
                    "submitted_at": submitted["at"], "submitted_by": submitted["actor"], "aro": sub.get("aro")})
        for name in ("organisation", "eui64", "role", "key_usage"):
            row[name] = row[name] or sub.get(name)
        steps += _statements("submit", submitted)
    for approval in approvals.get(request_id or "", []):
        row["approvers"].append(approval["actor"])
        steps += _statements("approve", approval)
    row["aro"] = row["aro"] or details.get("aro")
    row["statements"] = steps + _statements("issue", record)
    return row


def report_bytes(rows: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt == "jsonl":
        return b"".join(canonical_json(row) + b"\n" for row in rows)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        cells = dict(row, approvers="; ".join(row["approvers"]),
                     statements=canonical_json(row["statements"]).decode("utf-8"))
        writer.writerow(["" if cells[c] is None else cells[c] for c in REPORT_COLUMNS])
    return text.getvalue().encode("utf-8")


def verify_report(path: Path, manifest: Manifest, problems: list[Problem], notes: list[str]) -> Verdict:
    """A report is checked as a whole: its SHA-256 must be the one the signed manifest names."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if digest != manifest.get("report_sha256"):
        problems.append(Problem(None, ALTERED, f"{path.name} is not the report the manifest signed (its SHA-256 "
                                "differs)"))
    count = manifest.get("count") if isinstance(manifest.get("count"), int) else 0
    return Verdict(count, manifest.get("first_seq"), manifest.get("last_seq"), manifest.get("last_hash"), 0, None,
                   tuple(problems), tuple(notes), (manifest.signer,) if manifest.signer else ())
