"""Certificates: issue an approved request, show, list and export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import AS_HELP, CliContext, get, note
from s1spki.errors import NotFound, Refused, UsageError

if TYPE_CHECKING:
    from s1spki.store import CertificateRecord, StoreReader

app = typer.Typer(help="Certificates: issue, show, list, export and revoke.", no_args_is_help=True)


@app.command("issue")
def issue(
    ctx: typer.Context,
    request_id: int | None = typer.Argument(None, help="The request to issue."),
    ca: str | None = typer.Option(None, "--ca", help="Issuing CA name, when there are several."),
    all_approved: bool = typer.Option(False, "--all-approved",
                                      help="Issue every submitted request whose approvals count now, one by one "
                                           "(exit 3 if any is refused; the others are issued)."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Issue a certificate for a request: profile, lint, reserve serial, HSM signature, store."""
    from s1spki.ra.issue import issue_request

    cli = get(ctx)
    if all_approved == (request_id is not None):
        raise UsageError("give a request id or --all-approved")
    if request_id is None:
        _issue_all(cli, ca, as_)
        return
    record = issue_request(cli.command(as_), request_id, ca)
    cli.emit(record.as_dict(), f"certificate {record.id} issued: serial {record.serial} by {record.issuer_cn}, "
                               f"sha256 {record.fingerprint}")


def _issue_all(cli: CliContext, ca: str | None, as_: list[str]) -> None:
    from s1spki.ra.issue import issue_all_approved

    outcome = issue_all_approved(cli.command(as_), ca)
    data = {"issued": [r.as_dict() for r in outcome.issued],
            "refused": [{"request": i, "error": e.kind, "message": e.message} for i, e in outcome.refused]}
    text = "\n".join([*(f"certificate {r.id} issued for request {r.request_id}: serial {r.serial}"
                        for r in outcome.issued),
                      *(f"request {i} refused: {e.message}" for i, e in outcome.refused),
                      f"{len(outcome.issued)} issued, {len(outcome.refused)} refused"])
    if not outcome.refused:
        cli.emit(data, text)
        return
    if not cli.json:
        print(text)
    raise Refused(f"{len(outcome.refused)} of {len(outcome.issued) + len(outcome.refused)} approved requests were "
                  "refused (each refusal is in the audit trail)", **data)


def _find(reader: StoreReader, ident: str, issuer: str | None) -> CertificateRecord:
    """By id (a number) or by serial in hex (with --issuer when two CAs used the same serial)."""
    if ident.isdigit() and len(ident) < 10:
        record = reader.certificate(int(ident))
        if record is None:
            raise NotFound(f"no certificate {ident}")
        return record
    return reader.one_certificate_by_serial(ident, issuer)


@app.command("show")
def show(
    ctx: typer.Context,
    ident: str = typer.Argument(..., help="Certificate id, or serial in hex."),
    issuer: str | None = typer.Option(None, "--issuer", help="Issuer common name, to pick by serial."),
) -> None:
    """Show one certificate."""
    cli = get(ctx)
    record = _find(cli.runtime.store.reader, ident, issuer)
    data = {**record.as_dict(), "pem": record.pem()}
    cli.emit(data, lambda: print("\n".join(f"{k}: {v}" for k, v in record.as_dict().items()) + "\n" + record.pem()))


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind", help="root, issuing or end-entity."),
    org: str | None = typer.Option(None, "--org", help="Only this organisation's certificates."),
    reserved: bool = typer.Option(False, "--reserved",
                                  help="List serial reservations instead, saying whether each was issued."),
) -> None:
    """List certificates (or, with --reserved, serial reservations)."""
    cli = get(ctx)
    reader = cli.runtime.store.reader
    if reserved:
        serials = reader.serials()
        cli.emit([s.as_dict() for s in serials],
                 lambda: cli.table("serial reservations", ["issuer", "serial", "purpose", "request", "issued"],
                                   [[s.issuer_cn, s.serial, s.purpose, s.request_id,
                                     "yes" if s.issued else "NO (reserved, unissued)"] for s in serials]))
        return
    records = list(reader.certificates(kind, org))
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("certificates", ["id", "kind", "issuer", "serial", "EUI-64", "role", "usage",
                                                "not after", "status"],
                               [[r.id, r.kind, r.issuer_cn, r.serial, r.eui64, r.role, r.key_usage, r.not_after,
                                 r.status] for r in records]))


@app.command("export")
def export(
    ctx: typer.Context,
    ident: str = typer.Argument(..., help="Certificate id, or serial in hex."),
    issuer: str | None = typer.Option(None, "--issuer", help="Issuer common name, to pick by serial."),
    fmt: str = typer.Option("pem", "--format", help="pem or der."),
    out: Path | None = typer.Option(None, "--out", help="File to write (default: stdout for PEM)."),
) -> None:
    """Write a certificate as PEM or DER."""
    cli = get(ctx)
    if fmt not in ("pem", "der"):
        raise UsageError(f"--format must be pem or der, not {fmt!r}")
    record = _find(cli.runtime.store.reader, ident, issuer)
    data = record.pem().encode("ascii") if fmt == "pem" else record.der
    if out is None and (fmt == "der" or cli.json):
        raise UsageError("give --out FILE for DER output or with --json")
    if out is not None:
        out.write_bytes(data)
        cli.emit({"id": record.id, "serial": record.serial, "format": fmt, "file": str(out)},
                 None)
        if not cli.json:
            note(f"wrote {out}")
    else:
        typer.echo(data.decode("ascii"), nl=False)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    serial: str = typer.Argument(..., help="Serial of the certificate, in hex."),
    reason: str = typer.Option(..., "--reason", help="Why: a reason policy/policy.toml allows, such as "
                               "keyCompromise or superseded (never certificateHold: nothing is suspended)."),
    issuer: str | None = typer.Option(None, "--issuer", help="Issuer common name, when two CAs used the serial."),
    requested_by: str = typer.Option("ra", "--requested-by",
                                     help="Who asked: ra (the RA's own initiative), pma (the policy management "
                                          "authority) or aro:NAME (an active ARO of the subscriber)."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Revoke a certificate and issue the new CRL at once; an issuing CA's certificate goes on the root's new ARL
    and needs the participants rapp/ names for ca.revoke."""
    from s1spki.ra.revocation import revoke as revoke_certificate

    cli = get(ctx)
    revoked = revoke_certificate(cli.command(as_), serial, issuer, reason, requested_by)
    cli.emit(revoked.as_dict(), f"{revoked.revocation.issuer_cn}/{revoked.revocation.serial} revoked "
                                f"({revoked.revocation.reason}); {revoked.crl.kind.upper()} {revoked.crl.number} of "
                                f"{revoked.crl.ca} issued with {revoked.crl.entries} entries")
