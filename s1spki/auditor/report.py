"""`audit report`: the issuance report for a period, with a manifest signed by the audit key (auditors; audited).

What the report holds and how its rows are linked is `s1spki.audit.report_format`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from s1spki.audit.manifest import MANIFEST_VERSION, signed_manifest, write_new
from s1spki.audit.report_format import issuance_rows, report_bytes
from s1spki.auditor.signed_output import authorise_signed_output, output_paths
from s1spki.command import Command
from s1spki.values.clock import iso

STEP = 1000


def _counted(rows: Iterator[Any], progress: Callable[..., None]) -> Iterator[Any]:
    """The rows, telling `progress` every STEP of them."""
    for count, row in enumerate(rows, 1):
        if count % STEP == 0:
            progress(STEP)
        yield row


def report_trail(cmd: Command, start: str | None, end: str | None, fmt: str,
                 out: Path, progress: Callable[..., None] | None = None) -> dict[str, Any]:
    """Write the issuance report for a period and its signed manifest; the report is audited."""
    period, out, manifest_file = output_paths(fmt, start, end, out)
    event = cmd.event("audit.report", "issuance-report", out.name, format=fmt,
                      period=period.as_dict())
    with cmd.refusals_recorded(event):
        allowed = authorise_signed_output(cmd, event, "issuance-report", fmt, period, out, manifest_file,
                                          "a report")
        signer, event = allowed.signer, allowed.event
        span = (allowed.first, allowed.last) if allowed.first is not None else None
        reader = cmd.reader
        rows: list[dict[str, Any]] = []
        last_hash = None
        if span is not None:
            with reader.audit_snapshot() as snapshot:
                told = progress or (lambda *_: None)
                told(0, span[1])  # every record up to the period's end is read: requests precede their issuance
                rows = issuance_rows(_counted(snapshot.rows(1, span[1]), told), *span)
                last_hash = snapshot.hash_of(span[1])
        data = report_bytes(rows, fmt)
        body = {"v": MANIFEST_VERSION, "kind": "issuance-report", "home_id": cmd.home_id, "format": fmt,
                "period": period.as_dict(), "first_seq": span[0] if span else None,
                "last_seq": span[1] if span else None, "last_hash": last_hash, "count": len(rows),
                "report_file": out.name, "report_sha256": hashlib.sha256(data).hexdigest(),
                "audit_certificate": signer.pem(), "audit_certificate_sha256": signer.fingerprint,
                "exported_at": iso(cmd.clock.now()), "exported_by": allowed.actor}
        manifest = signed_manifest(cmd.runtime.open_audit_key(signer), body)
        try:
            write_new(out, data)
            write_new(manifest_file, manifest)
            with cmd.store.change(event.with_outcome("ok", count=len(rows), report_sha256=body["report_sha256"],
                                                     first_seq=body["first_seq"], last_seq=body["last_seq"])):
                pass
        except BaseException:
            out.unlink(missing_ok=True)
            manifest_file.unlink(missing_ok=True)
            raise
    return {"report_file": str(out), "manifest_file": str(manifest_file), "format": fmt, "count": len(rows),
            "period": period.as_dict(), "first_seq": body["first_seq"], "last_seq": body["last_seq"]}
