"""Certificates: issue an approved request, show, list and export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import CliContext, get, note
from s1spki.cli.output import check_out, write_file
from s1spki.cli.params import (
    as_option,
    ca_option,
    certificate_argument,
    check_ids,
    limit_option,
    org_option,
    out_option,
)
from s1spki.cli.table import Column
from s1spki.errors import NotFound, Refused, UsageError

if TYPE_CHECKING:
    from s1spki.store import CertificateRecord, StoreReader

# `--all-approved` in batches of this many requests (two transactions a batch): what one failed batch transaction
# sends back to issuing one at a time, and what a crash leaves claimed until the next command takes the claims over
BATCH_SIZE, MAX_BATCH_SIZE = 50, 1000

app = typer.Typer(help="Certificates: issue, show, list, export and revoke.", no_args_is_help=True)


@app.command("issue", epilog="Example: s1spki cert issue 7 --as carol (or every approved one: s1spki cert issue "
                              "--all-approved --as carol)")
def issue(
    ctx: typer.Context,
    request_ids: list[int] | None = typer.Argument(None, metavar="ID", callback=check_ids,
                                                   help="The approved request(s) to issue, in turn."),
    ca: str | None = ca_option("The issuing CA, by name, when there are several."),
    all_approved: bool = typer.Option(False, "--all-approved",
                                      help="Issue every submitted request whose approvals count now (and any a command "
                                           "that died had claimed), in batches, each request through every gate "
                                           "(exit 3 if any is refused; the others are issued)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, max=MAX_BATCH_SIZE, metavar="N",
                                          help=f"With --all-approved: requests whose serials are reserved in one "
                                               f"transaction and whose certificates are stored in one (default "
                                               f"{BATCH_SIZE})."),
    as_: list[str] = as_option("an operator rapp/ lets issue, for cert.issue"),
) -> None:
    """Issue a certificate for each approved request: profile, lint, reserve serial, HSM signature, store.

    Several requests are issued one after the other (a progress bar on a terminal); the first refusal stops
    the run, and the certificates issued before it stay issued. With --all-approved they are issued in batches,
    and a refusal stops only its own request."""
    from s1spki.cli.progress import progress
    from s1spki.ra.issue import issue_request

    cli = get(ctx)
    if all_approved == bool(request_ids):
        raise UsageError("give the request ids or --all-approved")
    if batch_size is not None and not all_approved:
        raise UsageError("--batch-size goes with --all-approved")
    if all_approved:
        _issue_all(cli, ca, as_, batch_size or BATCH_SIZE)
        return
    ids = list(request_ids or ())
    command = cli.command(as_)
    issued = []
    with progress(cli, "issuing certificates") as advance:
        for request_id in ids:
            issued.append(issue_request(command, request_id, ca))
            if len(ids) > 1:  # the first has asked for any passphrase: the bar may start
                advance(1, len(ids))
    for record in issued if not cli.json else ():
        print(f"certificate {record.id} issued: serial {record.serial} by {record.issuer_cn}, "
              f"sha256 {record.fingerprint}")
    cli.emit(issued[0].as_dict() if len(issued) == 1 else [r.as_dict() for r in issued], None)


def _issue_all(cli: CliContext, ca: str | None, as_: list[str], batch_size: int) -> None:
    from s1spki.ra.batch import issue_all_approved

    outcome = issue_all_approved(cli.command(as_), ca, batch_size)
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


def find_certificate(reader: StoreReader, ident: str, ca: str | None) -> CertificateRecord:
    """By id (a number) or by serial in hex (with --ca when two CAs used the same serial)."""
    if ident.isdigit() and len(ident) < 10:
        record = reader.certificate(int(ident))
        if record is None:
            raise NotFound(f"no certificate {ident}: see `s1spki cert list`")
        return record
    return reader.one_certificate_by_serial(ident, ca)


@app.command("show", epilog="Example: s1spki cert show 3 (or by serial: s1spki cert show 4E1F...C2)")
def show(
    ctx: typer.Context,
    ident: str = certificate_argument(),
    ca: str | None = ca_option("The issuing CA, by name, to pick by serial when two CAs used it."),
) -> None:
    """Show one certificate, with its PEM."""
    cli = get(ctx)
    record = find_certificate(cli.runtime.store.reader, ident, ca)
    data = {**record.as_dict(), "pem": record.pem()}
    cli.emit(data, lambda: print("\n".join(f"{k}: {v}" for k, v in record.as_dict().items()) + "\n" + record.pem()))


def _before(value: str | None) -> str | None:
    """--expires-before as the store keeps not_after (2027-01-31T00:00:00Z)."""
    if value is None:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--expires-before takes a UTC date or time like 2027-01-31 or 2027-01-31T12:00:00Z, "
                         f"not {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CERT_COLUMNS = [Column("id"), Column("kind"), Column("issuer", wrap=True), Column("serial"), Column("EUI-64"),
                Column("role"), Column("usage"), Column("not after"), Column("status")]


@app.command("list", epilog="Example: s1spki cert list --org \"Acme Energy Ltd\" --status valid "
                            "--expires-before 2027-06-30 --limit 50")
def list_(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind", metavar="KIND", help="root, issuing or end-entity."),
    org: str | None = org_option("Only this organisation's certificates."),
    status: str | None = typer.Option(None, "--status", metavar="STATUS", help="valid or revoked."),
    expires_before: str | None = typer.Option(None, "--expires-before", metavar="DATE",
                                              help="Only those whose notAfter is before this UTC date or time."),
    serial: str | None = typer.Option(None, "--serial", metavar="HEX",
                                      help="Only those whose serial starts with these hex digits."),
    limit: int | None = limit_option(),
    reserved: bool = typer.Option(False, "--reserved",
                                  help="List serial reservations instead, saying whether each was issued."),
) -> None:
    """List certificates (or, with --reserved, serial reservations), oldest first, as they are read: a listing of
    any length starts at once."""
    from s1spki.store.reader import CertificateQuery

    cli = get(ctx)
    reader = cli.runtime.store.reader
    if reserved:
        cli.emit_each((s.as_dict() for s in reader.iter_serials(limit)), lambda rows: cli.table(
            "serial reservations", ["issuer", "serial", "purpose", "request", "issued"],
            ([s["issuer_cn"], s["serial"], s["purpose"], s["request_id"],
              "yes" if s["certificate_exists"] else "NO (reserved, unissued)"] for s in rows)))
        return
    if status is not None and status not in ("valid", "revoked"):
        raise UsageError(f"--status takes valid or revoked, not {status!r}")
    query = CertificateQuery(kind, org, status, _before(expires_before),
                             serial.upper().replace(":", "") if serial else None, limit)
    if org is not None and reader.organisation(org) is None:
        raise NotFound(f"unknown organisation {org!r}: see `s1spki org list`")
    cli.emit_each((r.as_dict() for r in reader.iter_certificates(query)), lambda rows: cli.table(
        "certificates", CERT_COLUMNS,
        ([r["id"], r["kind"], r["issuer_cn"], r["serial"], r["eui64"], r["role"], r["key_usage"], r["not_after"],
          r["status"]] for r in rows)))


@app.command("export", epilog="Example: s1spki cert export 3 --out acme-ds.pem")
def export(
    ctx: typer.Context,
    ident: str = certificate_argument(),
    ca: str | None = ca_option("The issuing CA, by name, to pick by serial when two CAs used it."),
    fmt: str = typer.Option("pem", "--format", metavar="pem|der", help="pem or der."),
    out: Path | None = out_option("File to write (default: stdout for PEM)."),
) -> None:
    """Write a certificate as PEM or DER."""
    cli = get(ctx)
    if fmt not in ("pem", "der"):
        raise UsageError(f"--format must be pem or der, not {fmt!r}")
    record = find_certificate(cli.runtime.store.reader, ident, ca)
    data = record.pem().encode("ascii") if fmt == "pem" else record.der
    if out is None and (fmt == "der" or cli.json):
        raise UsageError("give --out FILE for DER output or with --json")
    if out is not None:
        write_file(out, data, "--out")
        cli.emit({"id": record.id, "serial": record.serial, "format": fmt, "file": str(out)}, None)
        if not cli.json:
            note(f"wrote {out}")
    else:
        typer.echo(data.decode("ascii"), nl=False)


@app.command("revoke", epilog="Example: s1spki cert revoke 3 --reason keyCompromise --requested-by "
                              "'aro:Ann Officer' --as dave")
def revoke(
    ctx: typer.Context,
    ident: str = certificate_argument(),
    reason: str = typer.Option(..., "--reason", metavar="REASON",
                               help="Why: a reason policy/policy.toml [revocation] allows, such as keyCompromise or "
                                    "superseded (never certificateHold: nothing is suspended)."),
    ca: str | None = ca_option("The issuing CA, by name, to pick by serial when two CAs used it."),
    requested_by: str = typer.Option("ra", "--requested-by", metavar="WHO",
                                     help="Who asked: ra (the RA's own initiative), pma (the policy management "
                                          "authority) or aro:NAME (an active ARO of the subscriber)."),
    as_: list[str] = as_option("rapp/ for cert.revoke; for an issuing CA, ca.revoke (in the root home)"),
    out: Path | None = out_option("Root home, revoking an issuing CA: where to write the new ARL's bundle "
                                  "(default: HOME/bundles/)."),
) -> None:
    """Revoke a certificate and issue the new CRL at once.

    An issuing CA is revoked in the root home, under the participants rapp/ names for ca.revoke: the root's new
    ARL is written as a bundle for the online home's `s1spki crl import-arl`."""
    from s1spki.ra.revocation import revoke as revoke_certificate

    cli = get(ctx)
    if out is not None:
        check_out(out)
    serial, issuer = ident, ca
    if ident.isdigit() and len(ident) < 10:  # an id; a serial is looked up (and a miss recorded) by the revocation
        certificate = find_certificate(cli.runtime.store.reader, ident, ca)
        serial, issuer = certificate.serial, certificate.issuer_cn
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
