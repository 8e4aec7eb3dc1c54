"""`audit export`: the audit records of a period as JSON Lines or CSV, with a manifest signed by the audit key.

The manifest names the CA home, the period, the first and last seq, the count, the hash before the first
record, the first and last hash, every checkpoint signed over a record of the period (by any node of the
store: each node's checkpoint file is read), and the audit certificate; it is signed by the audit key
(manifest.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1spki.audit.checkpoint import checkpoint_rows, read_checkpoint_file
from s1spki.audit.export_format import CSV_HEADER, csv_row, export_line
from s1spki.audit.manifest import MANIFEST_VERSION, signed_manifest, write_new
from s1spki.audit.record import GENESIS_HASH
from s1spki.auditor.nodes import node_checkpoint_files
from s1spki.auditor.signed_output import authorise_signed_output, output_paths
from s1spki.command import Command
from s1spki.values.clock import iso


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


# told how many records were written, every so often, and the total first (a progress bar)
Progress = Callable[..., None]
STEP = 1000


def export_trail(cmd: Command, start: str | None, end: str | None, fmt: str,
                 out: Path, progress: Progress | None = None) -> ExportResult:
    """Write the period's records and a signed manifest; the export itself is audited."""
    period, out, manifest_file = output_paths(fmt, start, end, out)
    event = cmd.event("audit.export", "audit-export", out.name, format=fmt,
                      period=period.as_dict())
    with cmd.refusals_recorded(event):
        allowed = authorise_signed_output(cmd, event, "audit-export", fmt, period, out, manifest_file,
                                          "an export")
        signer, first, last, event = allowed.signer, allowed.first, allowed.last, allowed.event
        key = cmd.runtime.open_audit_key(signer)
        body, records = _write_records(cmd, fmt, first, last, out, progress or (lambda *_: None))
        body.update({"period": period.as_dict(), "audit_certificate": signer.pem(),
                     "audit_certificate_sha256": signer.fingerprint, "exported_at": iso(cmd.clock.now()),
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
            with cmd.store.change(done):
                pass
        except BaseException:
            staged.unlink(missing_ok=True)
            manifest_file.unlink(missing_ok=True)
            raise
        os.replace(staged, out)
    return ExportResult(out, manifest_file, body)


def _write_records(cmd: Command, fmt: str, first: int | None, last: int | None, out: Path, progress: Progress
                   ) -> tuple[dict[str, Any], bytes]:
    """The records file's bytes and the manifest's description of them."""
    # every node's checkpoint file (several nodes on one store), then the database's
    sinks, _notes = node_checkpoint_files(cmd)
    checkpoints = {cp.line(): cp for path, sink in sinks.items() if sink.primary
                   for cp in read_checkpoint_file(path).checkpoints}
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    writer = csv.writer(text) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_HEADER)
    count, first_hash, last_hash, start_hash = 0, None, None, None
    with cmd.reader.audit_snapshot() as snapshot:
        for cp in checkpoint_rows(snapshot.checkpoints()):
            checkpoints.setdefault(cp.line(), cp)
        if first is not None:
            start_hash = snapshot.hash_of(first - 1) if first > 1 else GENESIS_HASH
            progress(0, (last or first) - first + 1)
            for row in snapshot.rows(first, last):
                if writer is not None:
                    writer.writerow(csv_row(row))
                else:
                    text.write(export_line(row).decode("utf-8"))
                first_hash = first_hash or row[2]
                last_hash = row[2]
                count += 1
                if count % STEP == 0:
                    progress(STEP)
    text.flush()
    covering = sorted((cp for cp in checkpoints.values()
                       if first is not None and last is not None and first - 1 <= cp.seq <= last),
                      key=lambda cp: (cp.seq, cp.at))
    body = {"v": MANIFEST_VERSION, "kind": "audit-export", "home_id": cmd.home_id, "format": fmt,
            "first_seq": first, "last_seq": last, "count": count, "start_hash": start_hash,
            "first_hash": first_hash, "last_hash": last_hash,
            "checkpoints": [cp.as_dict() for cp in covering]}
    return body, buffer.getvalue()


