"""CRLs and the ARL: issue (or re-issue on schedule) and show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli import complete
from s1spki.cli.context import CliContext, get, note
from s1spki.cli.output import write_file
from s1spki.cli.params import as_option, ca_option, out_option
from s1spki.cli.table import Column
from s1spki.errors import NotFound, UsageError

if TYPE_CHECKING:
    from s1spki.store.records import CrlRecord

app = typer.Typer(help="CRLs (issuing CAs) and the ARL (root): issue, re-issue on schedule, show.",
                  no_args_is_help=True)

IF_DUE_HELP = "Only if the current one is older than policy/'s re-issue period (for cron); otherwise do nothing."


def _report(cli: CliContext, record: CrlRecord | None, what: str) -> None:
    if record is None:
        cli.emit({"issued": False}, f"the {what} is not due yet (policy/policy.toml): nothing issued")
        return
    cli.emit({"issued": True, **record.as_dict()},
             f"{record.kind.upper()} {record.number} of {record.ca} issued: {record.entries} entries, "
             f"next update {record.next_update}")


@app.command("issue", epilog="Example: s1spki crl issue --if-due --as dave (from cron)")
def issue(
    ctx: typer.Context,
    ca: str | None = ca_option("The issuing CA, by name, when there are several."),
    if_due: bool = typer.Option(False, "--if-due", help=IF_DUE_HELP),
    as_: list[str] = as_option("an operator rapp/ lets issue CRLs, for crl.issue"),
) -> None:
    """Issue an issuing CA's CRL now (a CRL is also issued on every revocation)."""
    from s1spki.cli.progress import progress
    from s1spki.ra.crl import issue_scheduled

    cli = get(ctx)
    with progress(cli, "issuing the CRL: reading, linting and signing its entries") as advance:
        issued = issue_scheduled(cli.command(as_), "crl", ca, if_due, started=lambda: advance(0))
    _report(cli, issued, "CRL")


@app.command("arl", epilog="Example: s1spki crl arl --if-due --as alice --as bob")
def arl(
    ctx: typer.Context,
    if_due: bool = typer.Option(False, "--if-due", help=IF_DUE_HELP),
    as_: list[str] = as_option("the participants rapp/ names for crl.arl, e.g. two key custodians"),
) -> None:
    """Issue the root's ARL (the revoked issuing CA certificates) now; needs the participants rapp/ names."""
    from s1spki.ra.crl import issue_scheduled

    cli = get(ctx)
    _report(cli, issue_scheduled(cli.command(as_), "arl", None, if_due), "ARL")


@app.command("show", epilog="Example: s1spki crl show \"S1SPKI Issuing CA 1\" --out issuing-crl.pem")
def show(
    ctx: typer.Context,
    ca: str | None = typer.Argument(None, metavar="CA", autocompletion=complete.ca_names,
                                    help="A CA name; without it, the current CRL or ARL of every CA."),
    out: Path | None = out_option("Also write that CA's current CRL or ARL to this file."),
    fmt: str = typer.Option("pem", "--format", metavar="pem|der", help="pem or der, for --out."),
) -> None:
    """Show the current CRL or ARL of each CA (number, times, entries, SHA-256); --out writes one."""
    from s1spki.issuance.crl import pem_bytes

    cli = get(ctx)
    if fmt not in ("pem", "der"):
        raise UsageError(f"--format must be pem or der, not {fmt!r}")
    reader = cli.runtime.store.reader
    names = [ca] if ca else [c.name for c in reader.cas()]
    if ca and reader.ca(ca) is None:
        raise NotFound(f"no CA named {ca!r}")
    if out is not None and not ca:
        raise UsageError("--out writes one CA's CRL or ARL: name the CA")
    records = [(name, reader.crl(name)) for name in names]
    if out is not None:
        record = records[0][1]
        if record is None or record.der is None:
            raise NotFound(f"{ca} has issued no CRL or ARL yet: run `s1spki crl issue` or `s1spki crl arl`")
        write_file(out, pem_bytes(record.der) if fmt == "pem" else record.der)
        note(f"wrote {out}")
    data = [{"ca": name, **(r.as_dict() if r else {"crl_number": None})} for name, r in records]
    cli.emit(data[0] if ca else data,
             lambda: cli.table("current CRLs and ARL", [Column("CA", wrap=True), "kind", "number", "this update",
                                                          "next update", "entries", "sha256"],
                               [[name, r.kind, r.number, r.this_update, r.next_update, r.entries, r.sha256]
                                if r else [name, "-", "none yet", "", "", "", ""] for name, r in records]))
