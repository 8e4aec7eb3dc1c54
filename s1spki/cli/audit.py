"""The audit trail: export a period for auditors, verify an export offline or the live trail, and the
issuance report."""

from __future__ import annotations

from pathlib import Path

import typer

from s1spki.cli.context import get, note
from s1spki.cli.output import check_out
from s1spki.cli.params import as_option
from s1spki.cli.progress import progress
from s1spki.errors import UsageError

app = typer.Typer(help="The audit trail: export a period (signed), verify an export or the live trail, "
                       "issuance report.", no_args_is_help=True)

FROM_HELP = "Start of the period, UTC: 2026-01-01 or 2026-01-01T08:00:00Z (default: the beginning)."
TO_HELP = "End of the period, inclusive; a date alone means that whole day (default: now)."
CERT_HELP = "The audit certificate to trust (PEM), as pinned by the auditor; repeat for several."


@app.command("export", epilog="Example: s1spki audit export --from 2026-01-01 --to 2026-03-31 --out q1.jsonl "
                              "--as fred")
def export(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", metavar="FILE",
                             help="The records file; its signed manifest goes to FILE.manifest.json."),
    fmt: str = typer.Option("jsonl", "--format", metavar="jsonl|csv", help="jsonl (JSON Lines) or csv."),
    start: str | None = typer.Option(None, "--from", metavar="DATE", help=FROM_HELP),
    end: str | None = typer.Option(None, "--to", metavar="DATE", help=TO_HELP),
    as_: list[str] = as_option("an auditor, rapp/ audit.export"),
) -> None:
    """Export the audit records of a period with a manifest signed by the audit key (auditors; audited)."""
    from s1spki.auditor.export import export_trail

    cli = get(ctx)
    check_out(out)
    with progress(cli, "exporting audit records") as advance:
        result = export_trail(cli.command(as_), start, end, fmt, out, advance)
    data = result.as_dict()
    span = f"records {data['first_seq']} to {data['last_seq']}" if data["count"] else "no records"
    cli.emit(data, f"exported {data['count']} audit records ({span}) to {data['records_file']}\n"
                   f"manifest: {data['manifest_file']} (audit certificate sha256 {data['audit_certificate_sha256']})")


@app.command("verify", epilog="Example: s1spki audit verify q1.jsonl --cert ca/audit/audit-cert.pem (offline); "
                              "s1spki audit verify (the live trail)")
def verify(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, metavar="[EXPORT]",
                                       help="An export (or report) to check offline; none: the live trail."),
    manifest: Path | None = typer.Option(None, "--manifest", metavar="FILE",
                                         help="Its manifest (default: FILE.manifest.json)."),
    cert: list[Path] = typer.Option([], "--cert", metavar="FILE", help=CERT_HELP),
    fingerprint: list[str] = typer.Option([], "--fingerprint", metavar="SHA256",
                                          help="SHA-256 of the audit certificate to trust (hex), as pinned."),
    trust_embedded: bool = typer.Option(False, "--trust-embedded",
                                        help="Trust the certificate an export carries (demos only: anyone can make "
                                             "an export that verifies this way)."),
    pinned_checkpoint: list[str] = typer.Option([], "--pinned-checkpoint", metavar="SEQ:HASH|FILE",
                                                help="A checkpoint kept earlier, SEQ:HASH or a file of checkpoint "
                                                     "lines: the trail must still hold it (live trail)."),
    deep: bool = typer.Option(False, "--deep", help="Also check every record's authenticator and every statement "
                              "from the first record on, and every row's seal (live trail)."),
) -> None:
    """Check that the trail is complete and unaltered: an export, or the live trail.

    An export is checked with nothing but itself and the audit certificate you pinned (--cert or
    --fingerprint): no database, no HSM. The live trail is checked with the HSM's record key as well. Exit 0
    when it verifies; exit 3 with one line naming the first bad record and what is wrong with it."""
    from s1spki.audit.signer import pinned_certificates
    from s1spki.audit.verify import AuditTampered

    cli = get(ctx)
    pinned = pinned_certificates(cert)
    if file is not None:
        from s1spki.audit.offline import verify_export

        if file.is_dir() or not file.exists():
            raise UsageError(f"{file} is not an export file")
        if not pinned and not fingerprint and not trust_embedded:
            raise UsageError("give the audit certificate you pinned: --cert FILE or --fingerprint SHA256 (an export "
                             "is trusted only against it; --trust-embedded for demos)")
        if trust_embedded and not (pinned or fingerprint):
            note("s1spki: warning: trusting the audit certificate the export carries: anyone can make an export "
                 "that verifies this way")
        with progress(cli, f"verifying {file.name}") as advance:
            advance(0)  # nothing is asked for: the work begins at once
            verdict = verify_export(file, manifest, pinned or None, fingerprints=fingerprint)
        what = f"export {file}"
    else:
        from s1spki.auditor.live import parse_pinned, verify_live

        with progress(cli, "verifying the audit trail") as advance:
            verdict = verify_live(cli.command([]), pinned, parse_pinned(pinned_checkpoint), deep,
                                  started=lambda: advance(0))
        what = "the audit trail"
    if not verdict.ok:
        raise AuditTampered(verdict, what)
    for warning in verdict.warnings:
        note(f"s1spki: note: {warning}")
    span = f"records {verdict.first_seq} to {verdict.last_seq}" if verdict.records else "no records"
    covered = f", signed up to record {verdict.covered_to}" if verdict.covered_to else ""
    cli.emit(verdict.as_dict(), f"{what} verifies: {verdict.records} records ({span}), "
                                f"{verdict.checkpoints} checkpoints checked{covered}")


@app.command("report", epilog="Example: s1spki audit report --from 2026-01-01 --to 2026-03-31 --out q1.csv "
                              "--as fred")
def report(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", metavar="FILE",
                             help="The report file; its signed manifest goes to FILE.manifest.json."),
    fmt: str = typer.Option("csv", "--format", metavar="csv|jsonl", help="csv or jsonl."),
    start: str | None = typer.Option(None, "--from", metavar="DATE", help=FROM_HELP),
    end: str | None = typer.Option(None, "--to", metavar="DATE", help=TO_HELP),
    as_: list[str] = as_option("an auditor, rapp/ audit.export"),
) -> None:
    """Issuance report of a period, with a manifest signed by the audit key (auditors; audited).

    Every certificate issued and revoked in the period, with its request, submitter, ARO, approvers and their
    signed statements."""
    from s1spki.auditor.report import report_trail

    cli = get(ctx)
    check_out(out)
    with progress(cli, "reporting issuance and revocation") as advance:
        data = report_trail(cli.command(as_), start, end, fmt, out, advance)
    cli.emit(data, f"issuance report: {data['count']} certificates issued or revoked, written to "
                   f"{data['report_file']}\nmanifest: {data['manifest_file']}")
