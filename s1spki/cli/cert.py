"""Certificates: issue an approved request, show, list and export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import AS_HELP, get, note
from s1spki.errors import NotFound, UsageError

if TYPE_CHECKING:
    from s1spki.store import CertificateRecord, StoreReader

app = typer.Typer(help="Certificates: issue, show, list, export and revoke.", no_args_is_help=True)


@app.command("issue")
def issue(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., help="The request to issue."),
    ca: str | None = typer.Option(None, "--ca", help="Issuing CA name, when there are several."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Issue a certificate for a request: profile, lint, reserve serial, HSM signature, store."""
    from s1spki.ra.issue import issue_request

    cli = get(ctx)
    record = issue_request(cli.command(as_), request_id, ca)
    cli.emit(record.as_dict(), f"certificate {record.id} issued: serial {record.serial} by {record.issuer_cn}, "
                               f"sha256 {record.fingerprint}")


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
    out: Path | None = typer.Option(None, "--out", metavar="FILE", help="Root home, revoking an issuing CA: where "
                                    "to write the new ARL's bundle (default: HOME/bundles/)."),
) -> None:
    """Revoke a certificate and issue the new CRL at once. An issuing CA is revoked in the root home, under the
    participants rapp/ names for ca.revoke: the root's new ARL is written as a bundle for the online home's
    `s1spki crl import-arl`."""
    from s1spki.ra.revocation import revoke as revoke_certificate

    cli = get(ctx)
    command = cli.command(as_)
    revoked = revoke_certificate(command, serial, issuer, reason, requested_by)
    data, bundle = revoked.as_dict(), ""
    if revoked.crl.kind == "arl" and cli.runtime.kind == "root":
        from s1spki.ra.arl_exchange import write_arl_bundle

        written = write_arl_bundle(command, revoked.crl, out)
        data["arl_bundle"] = written.as_dict()
        bundle = f"\nARL bundle: {written.path}\nbundle sha256: {written.sha256}"
    cli.emit(data, f"{revoked.revocation.issuer_cn}/{revoked.revocation.serial} revoked "
                   f"({revoked.revocation.reason}); {revoked.crl.kind.upper()} {revoked.crl.number} of "
                   f"{revoked.crl.ca} issued with {revoked.crl.entries} entries{bundle}")
