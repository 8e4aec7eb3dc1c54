"""What `audit export` and `audit report` share before they write anything: new files only, an audit key to
sign with, an auditor (audit.export), and a live trail that verifies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1spki.audit.export_format import FORMATS, Period
from s1spki.audit.manifest import manifest_path
from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import current_signer
from s1spki.audit.verify import AuditTampered
from s1spki.auditor.live import verify_live
from s1spki.command import Command
from s1spki.errors import PolicyRefused, UsageError


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


def authorise_signed_output(cmd: Command, event: AuditEvent, kind: str, fmt: str, period: Period,
                            out: Path, manifest_file: Path, what: str) -> SignedOutput:
    """Checks shared by `audit export` and `audit report`: new files only, an audit key to sign with, an auditor
    (audit.export), and a live trail that verifies; run inside the command's refusals_recorded."""
    for path in (out, manifest_file):
        if path.exists():
            raise UsageError(f"{path} exists: {what} never overwrites a file, choose another --out")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder: choose another --out")
    reader = cmd.reader
    signer = current_signer(reader.audit_signers())
    if signer is None:
        raise PolicyRefused(f"this CA home has no audit key, so {what} cannot be signed")
    span = reader.audit_seq_range(period.start, period.end)
    first, last = span if span else (None, None)
    auth = cmd.authorise("audit.export", {"kind": kind, "format": fmt, **period.as_dict(), "first_seq": first,
                                          "last_seq": last})
    verdict = verify_live(cmd)
    if not verdict.ok:
        raise AuditTampered(verdict, "the live audit trail (nothing was written; run `s1spki audit verify`)")
    return SignedOutput(signer, first, last, auth.actor,
                        event.attributed(auth.actor, auth.actor_role, auth.records()))


