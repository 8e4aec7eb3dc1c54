"""`audit export` and `audit verify FILE`: an auditor exports a period with a signed manifest; the export
verifies with nothing but itself and the audit certificate; every change to it is found and named; only
auditors export, and each export is itself in the trail."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.cli.audit.tamper import forged_hash
from tests.conftest import CaHome, Result, run_s1spki


def export(ca: CaHome, auditor: str, name: str, *args: str) -> dict[str, Any]:
    return ca.ok("--json", "audit", "export", "--out", str(ca.work / name), "--as", auditor, *args).json()


def offline(tmp_path: Path, files: list[Path], *args: str) -> Result:
    """`audit verify` where no CA home exists: only the export and the pinned certificate."""
    place = tmp_path / "auditor-laptop"
    place.mkdir(exist_ok=True)
    for file in files:
        shutil.copy(file, place / file.name)
    result = run_s1spki(tmp_path / "no-ca-home", *args, str(place / files[0].name))
    assert not (tmp_path / "no-ca-home").exists()
    return result


def _files(ca: CaHome, name: str) -> list[Path]:
    return [ca.work / name, ca.work / f"{name}.manifest.json", ca.home / "audit" / "audit-cert.pem"]


@pytest.mark.both_engines  # reads the live trail from the store
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_auditor_exports_and_the_export_verifies_offline(busy: CaHome, auditor: str, tmp_path: Path,
                                                            fmt: str) -> None:
    name = f"trail.{fmt}"
    made = export(busy, auditor, name, "--format", fmt)
    trail = busy.audit()
    exported = [r for r in trail if r["event"] != "audit.export"]
    assert (made["count"], made["first_seq"], made["last_seq"]) == (len(exported), 1, exported[-1]["seq"])
    manifest = json.loads((busy.work / f"{name}.manifest.json").read_text())["manifest"]
    assert manifest["last_hash"] == exported[-1]["hash"] and manifest["count"] == len(exported)
    assert manifest["checkpoints"] and manifest["audit_certificate"].startswith("-----BEGIN CERTIFICATE")
    files = _files(busy, name)

    result = offline(tmp_path, files, "--json", "audit", "verify", "--cert", str(files[2]))

    assert result.code == 0, str(result)
    verdict = result.json()
    assert verdict["ok"] and verdict["records"] == len(exported) and verdict["warnings"] == [], str(result)
    assert verdict["covered_to"] == max(c["seq"] for c in manifest["checkpoints"])
    unpinned = offline(tmp_path, files, "audit", "verify")
    assert unpinned.code == 2 and "--cert FILE or --fingerprint" in unpinned.stderr, str(unpinned)
    fingerprint = hashlib.sha256(x509.load_pem_x509_certificate(files[2].read_bytes())
                                 .public_bytes(serialization.Encoding.DER)).hexdigest()
    by_fingerprint = offline(tmp_path, files, "audit", "verify", "--fingerprint", fingerprint)
    assert by_fingerprint.code == 0, str(by_fingerprint)
    wrong = offline(tmp_path, files, "audit", "verify", "--fingerprint", "0" * 64)
    assert wrong.code == 3 and "another audit certificate" in wrong.stderr, str(wrong)
    demo = offline(tmp_path, files, "audit", "verify", "--trust-embedded")
    assert demo.code == 0 and "anyone can make an export" in demo.stderr, str(demo)


@pytest.mark.both_engines  # reads the live trail from the store
def test_the_export_is_itself_audited(busy: CaHome, auditor: str) -> None:
    made = export(busy, auditor, "trail.jsonl")
    record = busy.audit()[-1]
    assert (record["event"], record["actor"], record["outcome"]) == ("audit.export", auditor, "ok")
    details = json.loads(record["details"])
    data = (busy.work / "trail.jsonl").read_bytes()
    assert details["records_sha256"] == hashlib.sha256(data).hexdigest()
    assert (details["first_seq"], details["last_seq"]) == (made["first_seq"], made["last_seq"])
    [statement] = json.loads(record["statements"])
    assert statement["operator"] == auditor and statement["body"]["operation"] == "audit.export"
    assert busy.ok("audit", "verify").code == 0  # and the trail, with the export in it, is signed and whole


@pytest.mark.both_engines  # reads the live trail from the store
def test_only_auditors_export(busy: CaHome) -> None:
    before = len(busy.audit())
    result = busy.run("audit", "export", "--out", str(busy.work / "x.jsonl"), "--as", "carol")
    assert result.code == 4, str(result)
    assert len(result.stderr.strip().splitlines()) == 1, str(result)
    assert "carol" in result.stderr and "audit.export" in result.stderr and "auditor" in result.stderr
    assert not (busy.work / "x.jsonl").exists() and not (busy.work / "x.jsonl.manifest.json").exists()
    trail = busy.audit()
    assert len(trail) == before + 1 and (trail[-1]["event"], trail[-1]["outcome"]) == ("audit.export", "refused")
    nobody = busy.run("audit", "export", "--out", str(busy.work / "y.jsonl"))
    assert nobody.code == 4 and "--as" in nobody.stderr, str(nobody)


@pytest.mark.both_engines  # reads the live trail from the store
def test_an_export_covers_the_period_asked_for(busy: CaHome, auditor: str, tmp_path: Path) -> None:
    trail = busy.audit()
    middle = trail[len(trail) // 2]
    made = export(busy, auditor, "half.jsonl", "--from", middle["at"])
    assert made["first_seq"] == middle["seq"] and made["count"] == len(trail) - middle["seq"] + 1
    files = _files(busy, "half.jsonl")
    assert offline(tmp_path, files, "audit", "verify", "--cert", str(files[2])).code == 0
    none = export(busy, auditor, "none.jsonl", "--from", "2999-01-01")
    assert none["count"] == 0
    files = _files(busy, "none.jsonl")
    assert offline(tmp_path, files, "audit", "verify", "--cert", str(files[2])).code == 0
    wrong = busy.run("audit", "export", "--out", str(busy.work / "w.jsonl"), "--from", "last tuesday",
                     "--as", auditor)
    assert wrong.code == 2 and "--from" in wrong.stderr, str(wrong)


@pytest.mark.both_engines  # reads the live trail from the store
def test_an_export_is_refused_while_the_live_trail_does_not_verify(busy: CaHome, auditor: str) -> None:
    from tests.cli.audit.tamper import open_db

    conn = open_db(busy)
    conn.execute("delete from audit where seq = 5")
    conn.close()
    result = busy.run("audit", "export", "--out", str(busy.work / "t.jsonl"), "--as", auditor)
    assert result.code == 3 and "record 5: missing" in result.stderr, str(result)
    assert not (busy.work / "t.jsonl").exists()


# --- tampering with an export, as a text editor would ---

def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def field_changed(path: Path, k: int) -> tuple[int, str]:
    lines = _lines(path)
    lines[k - 1] = lines[k - 1].replace('"actor":"', '"actor":"x', 1)
    _write(path, lines)
    return k, "altered"


def line_deleted(path: Path, k: int) -> tuple[int, str]:
    lines = _lines(path)
    del lines[k - 1]
    _write(path, lines)
    return k, "missing"


def line_inserted(path: Path, k: int) -> tuple[int, str]:
    """A forged record k, chained correctly to record k-1, put in front of the real record k."""
    lines = _lines(path)
    before = json.loads(lines[k - 2])
    record = dict(before["record"], seq=k, actor="mallory")
    forged = {"hash": forged_hash(before["hash"], {**record, "details": json.dumps(record["details"]),
                                                   "statements": json.dumps(record["statements"])}),
              "prev_hash": before["hash"], "record": record, "seq": k}
    lines.insert(k - 1, json.dumps(forged, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    _write(path, lines)
    return k, "inserted"


def two_swapped(path: Path, k: int) -> tuple[int, str]:
    lines = _lines(path)
    lines[k - 1], lines[k] = lines[k], lines[k - 1]
    _write(path, lines)
    return k, "out of order"


def tail_cut(path: Path, k: int) -> tuple[int, str]:
    lines = _lines(path)
    _write(path, lines[:-2])
    return len(lines) - 1, "truncated"


def checkpoint_signature_altered(path: Path, k: int) -> tuple[int, str]:
    manifest = path.with_name(path.name + ".manifest.json")
    document = json.loads(manifest.read_text())
    checkpoint = document["manifest"]["checkpoints"][0]
    signature = checkpoint["signature"]
    checkpoint["signature"] = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    manifest.write_text(json.dumps(document, indent=2))
    return checkpoint["seq"], "bad checkpoint signature"


def manifest_changed(path: Path, k: int) -> tuple[int | None, str]:
    manifest = path.with_name(path.name + ".manifest.json")
    document = json.loads(manifest.read_text())
    document["manifest"]["last_seq"] -= 2
    manifest.write_text(json.dumps(document, indent=2))
    return None, "bad manifest signature"


EXPORT_TAMPERING = [field_changed, line_deleted, line_inserted, two_swapped, tail_cut, checkpoint_signature_altered,
                    manifest_changed]


@pytest.mark.parametrize("tamper", EXPORT_TAMPERING, ids=lambda f: f.__name__)
def test_tampering_with_an_export_is_found_and_named(busy: CaHome, auditor: str, tmp_path: Path,
                                                     tamper: Callable[[Path, int], tuple[int | None, str]]) -> None:
    export(busy, auditor, "trail.jsonl")
    files = _files(busy, "trail.jsonl")
    place = tmp_path / "copy"
    place.mkdir()
    copies = [Path(shutil.copy(f, place / f.name)) for f in files]
    seq, kind = tamper(copies[0], len(_lines(copies[0])) // 2)

    result = run_s1spki(tmp_path / "no-ca-home", "audit", "verify", str(copies[0]), "--cert", str(copies[2]))

    assert result.code == 3, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, str(result)
    where = f"record {seq}" if seq is not None else "the audit trail"
    assert f"{where}: {kind}:" in lines[0], str(result)


def test_a_changed_csv_export_is_found(busy: CaHome, auditor: str, tmp_path: Path) -> None:
    export(busy, auditor, "trail.csv", "--format", "csv")
    path = busy.work / "trail.csv"
    table = list(csv.reader(path.open(newline="", encoding="utf-8")))
    table[7][4] = "mallory"  # row 7 is record 7: its actor
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)
    result = run_s1spki(tmp_path / "no-ca-home", "audit", "verify", str(path),
                        "--cert", str(busy.home / "audit" / "audit-cert.pem"))
    assert result.code == 3 and "record 7: altered:" in result.stderr, str(result)


def test_an_export_signed_by_another_audit_key_is_refused(busy: CaHome, auditor: str, ca_template: Path,
                                                          tmp_path: Path) -> None:
    export(busy, auditor, "trail.jsonl")
    other = tmp_path / "other-cert.pem"
    other.write_text(_self_signed_pem())
    result = run_s1spki(tmp_path / "no-ca-home", "audit", "verify", str(busy.work / "trail.jsonl"),
                        "--cert", str(other))
    assert result.code == 3 and "bad manifest signature" in result.stderr, str(result)


def _self_signed_pem() -> str:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the audit signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()
