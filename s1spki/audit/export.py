"""`audit export`: a period of the trail as JSON Lines or CSV, with a signed manifest; and reading such an
export back to verify it offline, with nothing but the files and the audit certificate.

JSON Lines: one record per line, exactly the canonical JSON of
    {"hash": ..., "prev_hash": ..., "record": {the hashed fields}, "seq": N}
so `record` is byte for byte what the record's hash covers (`jq .record` reads it).

CSV: a header, then one row per record: seq, hash, prev_hash, the hashed fields as stored (details and
statements as canonical JSON text), and `null_fields` naming the fields that are null (CSV cannot tell
null from empty on its own).

The manifest names the CA home, the period, the first and last seq, the count, the hash before the first
record, the first and last hash, every checkpoint signed over a record of the period, and the audit
certificate; it is signed by the audit key (manifest.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from ..audit_record import GENESIS_HASH, AuditEvent
from ..canonical import canonical_json
from ..clock import iso
from ..errors import PolicyRefused, UsageError
from .chain import COLUMNS, NULLABLE, Link, record_bytes
from .checkpoint import Checkpoint, checkpoint_rows, read_checkpoint_file
from .fast import jsonl_stretches
from .live import verify_live
from .manifest import MANIFEST_VERSION, manifest_path, read_manifest, signed_manifest, write_new
from .signer import current_signer, public_keys
from .verify import BAD_MANIFEST, AuditTampered, Problem, Verdict, verify_chain, verify_stretches

if TYPE_CHECKING:
    from ..app import App

FORMATS = ("jsonl", "csv")
CSV_HEADER = ["seq", "hash", "prev_hash", *COLUMNS[3:], "null_fields"]
_QUOTE = json.encoder.encode_basestring  # type: ignore[attr-defined]
_LINE = '{"hash":%s,"prev_hash":%s,"record":%s,"seq":%d}\n'
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """From and to (inclusive), as stored timestamps; None is open-ended. A date alone means the whole day."""

    start: str | None
    end: str | None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        low = _moment(start, "--from", end_of_day=False) if start else None
        high = _moment(end, "--to", end_of_day=True) if end else None
        if low and high and low > high:
            raise UsageError(f"--from {start} is after --to {end}")
        return cls(low, high)

    def as_dict(self) -> dict[str, str | None]:
        return {"from": self.start, "to": self.end}


def _moment(text: str, flag: str, end_of_day: bool) -> str:
    value = text.strip()
    if _DATE.match(value):
        value += "T23:59:59.999999Z" if end_of_day else "T00:00:00.000000Z"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag} takes a UTC date or time like 2026-01-31 or 2026-01-31T12:00:00Z, "
                         f"not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def export_line(row: Any) -> bytes:
    body = record_bytes(row)
    if body is None:
        raise PolicyRefused(f"audit record {row[0]} cannot be exported: it is not a well-formed record")
    return (_LINE % (_QUOTE(row[2]), _QUOTE(row[1]), body.decode("utf-8"), row[0])).encode("utf-8")


def csv_row(row: Any) -> list[Any]:
    values = dict(zip(COLUMNS, row, strict=True))
    nulls = [name for name in NULLABLE if values[name] is None]
    return [values["seq"], values["hash"], values["prev_hash"],
            *("" if values[name] is None else values[name] for name in COLUMNS[3:]), " ".join(nulls)]


@dataclass(frozen=True)
class ExportResult:
    records_file: Path
    manifest_file: Path
    body: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        keep = ("format", "period", "first_seq", "last_seq", "count", "first_hash", "last_hash",
                "audit_certificate_sha256", "exported_by")
        return {"records_file": str(self.records_file), "manifest_file": str(self.manifest_file),
                "checkpoints": len(self.body["checkpoints"]), **{k: self.body[k] for k in keep}}


def output_paths(fmt: str, start: str | None, end: str | None, out: Path) -> tuple[Period, Path, Path]:
    """The period, the output file and its manifest's path, for an export or a report."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    out = out.resolve()
    return Period.parse(start, end), out, manifest_path(out)


@dataclass(frozen=True)
class SignedOutput:
    """What an export or report may go on with: a signer, the records of the period, the auditor."""

    signer: Any
    first: int | None
    last: int | None
    actor: str
    event: AuditEvent


def authorise_signed_output(app: App, names: list[str], event: AuditEvent, kind: str, fmt: str, period: Period,
                            out: Path, manifest_file: Path, what: str) -> SignedOutput:
    """Checks shared by `audit export` and `audit report`: new files only, an audit key to sign with, an auditor
    (audit.export), and a live trail that verifies; run inside the command's refusals_recorded."""
    for path in (out, manifest_file):
        if path.exists():
            raise UsageError(f"{path} exists: {what} never overwrites a file, choose another --out")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder: choose another --out")
    reader = app.store.reader
    signer = current_signer(reader)
    if signer is None:
        raise PolicyRefused(f"this CA home has no audit key, so {what} cannot be signed")
    span = reader.audit_seq_range(period.start, period.end)
    first, last = span if span else (None, None)
    auth = app.authorise("audit.export", {"kind": kind, "format": fmt, **period.as_dict(), "first_seq": first,
                                          "last_seq": last}, names)
    verdict = verify_live(app)
    if not verdict.ok:
        raise AuditTampered(verdict, "the live audit trail (nothing was written; run `s1spki audit verify`)")
    return SignedOutput(signer, first, last, auth.actor,
                        event.attributed(auth.actor, auth.actor_role, auth.records()))


def export_trail(app: App, names: list[str], start: str | None, end: str | None, fmt: str,
                 out: Path) -> ExportResult:
    """Write the period's records and a signed manifest; the export itself is audited."""
    period, out, manifest_file = output_paths(fmt, start, end, out)
    event = app.event("audit.export", "+".join(names), "", "audit-export", out.name, format=fmt,
                      period=period.as_dict())
    with app.refusals_recorded(event):
        allowed = authorise_signed_output(app, names, event, "audit-export", fmt, period, out, manifest_file,
                                          "an export")
        signer, first, last, event = allowed.signer, allowed.first, allowed.last, allowed.event
        reader = app.store.reader
        key = signer.signing_key(app.hsm(), reader)
        body, records = _write_records(app, fmt, first, last, out)
        body.update({"period": period.as_dict(), "audit_certificate": signer.pem(),
                     "audit_certificate_sha256": signer.fingerprint, "exported_at": iso(app.clock.now()),
                     "exported_by": allowed.actor, "records_file": out.name})
        manifest = signed_manifest(key, body)
        staged = out.with_name(out.name + ".partial")
        try:
            write_new(staged, records)
            write_new(manifest_file, manifest)
            done = event.with_outcome("ok", first_seq=first, last_seq=last, count=body["count"],
                                      last_hash=body["last_hash"],
                                      records_sha256=hashlib.sha256(records).hexdigest(),
                                      manifest_sha256=hashlib.sha256(manifest).hexdigest())
            with app.store.change(done):
                pass
        except BaseException:
            staged.unlink(missing_ok=True)
            manifest_file.unlink(missing_ok=True)
            raise
        os.replace(staged, out)
    return ExportResult(out, manifest_file, body)


def _write_records(app: App, fmt: str, first: int | None, last: int | None, out: Path
                   ) -> tuple[dict[str, Any], bytes]:
    """The records file's bytes and the manifest's description of them."""
    checkpoints = {cp.line(): cp for cp in read_checkpoint_file(app.config.audit.checkpoints_file).checkpoints}
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    writer = csv.writer(text) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_HEADER)
    count, first_hash, last_hash, start_hash = 0, None, None, None
    with app.store.reader.audit_snapshot() as snapshot:
        for cp in checkpoint_rows(snapshot.checkpoints()):
            checkpoints.setdefault(cp.line(), cp)
        if first is not None:
            start_hash = snapshot.hash_of(first - 1) if first > 1 else GENESIS_HASH
            for row in snapshot.rows(first, last):
                if writer is not None:
                    writer.writerow(csv_row(row))
                else:
                    text.write(export_line(row).decode("utf-8"))
                first_hash = first_hash or row[2]
                last_hash = row[2]
                count += 1
    text.flush()
    covering = sorted((cp for cp in checkpoints.values()
                       if first is not None and last is not None and first - 1 <= cp.seq <= last),
                      key=lambda cp: (cp.seq, cp.at))
    body = {"v": MANIFEST_VERSION, "kind": "audit-export", "home_id": app.ca_id, "format": fmt,
            "first_seq": first, "last_seq": last, "count": count, "start_hash": start_hash,
            "first_hash": first_hash, "last_hash": last_hash,
            "checkpoints": [cp.as_dict() for cp in covering]}
    return body, buffer.getvalue()


# --- reading an export back (offline: no database, no HSM) ---

_P1, _P2, _P3, _SEQ = b'{"hash":"', b'","prev_hash":"', b'","record":', b',"seq":'


def jsonl_links(path: Path) -> Iterator[Link]:
    with path.open("rb") as handle:
        for raw in handle:
            line = raw[:-1] if raw[-1:] == b"\n" else raw
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line.strip():
                continue
            if line[:9] == _P1 and line[73:88] == _P2 and line[152:163] == _P3 and line[-1:] == b"}":
                cut = line.rfind(_SEQ)
                digits = line[cut + 7:-1]
                if cut > 163 and digits.isdigit():
                    try:
                        yield int(digits), line[88:152].decode("ascii"), line[9:73].decode("ascii"), line[163:cut]
                        continue
                    except UnicodeDecodeError:
                        pass
            yield _slow_link(line)


def _slow_link(line: bytes) -> Link:
    """A line in another layout than the exporter's (re-formatted): parse it and re-canonicalise."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or set(data) != {"hash", "prev_hash", "record", "seq"}:
            raise ValueError("not an exported record")
        seq, prev_hash, digest, record = data["seq"], data["prev_hash"], data["hash"], data["record"]
        if not isinstance(seq, int) or not isinstance(record, dict):
            raise ValueError("not an exported record")
        return seq, str(prev_hash), str(digest), canonical_json(record)
    except (ValueError, UnicodeDecodeError):
        return None, "", "", None  # type: ignore[return-value]


def csv_links(path: Path) -> Iterator[Link]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        if next(rows, None) != CSV_HEADER:
            yield None, "", "", None  # type: ignore[misc]
            return
        width = len(CSV_HEADER)
        for row in rows:
            if len(row) != width:
                yield None, "", "", None  # type: ignore[misc]
                continue
            seq = int(row[0]) if row[0].isdigit() else None
            values: list[Any] = [seq, row[2], row[1], *row[3:15]]
            nulls = row[15].split()
            body: bytes | None = None
            if all(name in NULLABLE and values[COLUMNS.index(name)] == "" for name in nulls):
                for name in nulls:
                    values[COLUMNS.index(name)] = None
                body = record_bytes(values)
            yield seq, row[2], row[1], body  # type: ignore[misc]


def verify_export(path: Path, manifest_file: Path | None = None,
                  pinned: list[x509.Certificate] | None = None) -> Verdict:
    """Check an export file against its signed manifest and the audit certificate."""
    manifest = read_manifest(manifest_file or manifest_path(path), pinned)
    problems = [Problem(None, BAD_MANIFEST, manifest.problem)] if manifest.problem else []
    notes = [] if pinned else [f"trusted the audit certificate the manifest carries (sha256 "
                               f"{manifest.get('audit_certificate_sha256', '?')}); pin it with --cert"]
    if manifest.get("kind") == "issuance-report":
        from .report import verify_report  # report builds on this module

        return verify_report(path, manifest, problems, notes)
    fmt = manifest.get("format")
    if fmt not in FORMATS:
        fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    carried = [manifest.certificate] if manifest.certificate is not None else []
    trusted = public_keys(pinned or carried)
    checkpoints = []
    for index, data in enumerate([] if manifest.foreign else manifest.get("checkpoints") or []):
        try:
            checkpoints.append(Checkpoint.from_dict(data, "manifest"))
        except (ValueError, TypeError):
            problems.append(Problem(None, BAD_MANIFEST, f"checkpoint {index + 1} of the manifest is not a checkpoint"))
    first, last = manifest.get("first_seq"), manifest.get("last_seq")
    start_seq = first if isinstance(first, int) else 1
    end = (last, manifest.get("last_hash") or "") if isinstance(last, int) else (start_seq - 1, "")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    common: dict[str, Any] = {"trusted": trusted, "home_id": manifest.get("home_id"), "checkpoints": checkpoints,
                              "start_seq": start_seq, "start_hash": manifest.get("start_hash") or GENESIS_HASH,
                              "end": end, "end_name": "the signed manifest", "extra_problems": problems,
                              "warnings": notes}
    if fmt == "jsonl":
        # the clean case, fast; anything amiss and the lines are gone over one by one to say what
        count = manifest.get("count")
        try:
            stretches = jsonl_stretches(path, count if isinstance(count, int) else 0,
                                        frozenset(c.seq for c in checkpoints))
        except Exception:  # a worker that could not run: the exact route below still decides
            stretches = [None]
        verdict = verify_stretches(stretches, **common)
        if verdict is not None:
            return verdict
    return verify_chain(csv_links(path) if fmt == "csv" else jsonl_links(path), **common)
