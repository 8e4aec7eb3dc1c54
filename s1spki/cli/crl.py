"""CRLs and the ARL: issue (or re-issue on schedule), carry the root's ARL to the online home, show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli import complete
from s1spki.cli.context import CliContext, get, note
from s1spki.cli.output import check_out, write_file
from s1spki.cli.params import as_option, ca_option, out_option
from s1spki.cli.table import Column
from s1spki.errors import NotFound, UsageError

if TYPE_CHECKING:
    from s1spki.ra.crl import NotDue
    from s1spki.store.records import CrlRecord

app = typer.Typer(help="CRLs (issuing CAs) and the ARL (root home; imported by the online home): issue, "
                       "re-issue on schedule, import, show.", no_args_is_help=True)

IF_DUE_HELP = "Only if the current one is older than policy/'s re-issue period (for cron); otherwise say when."


def _report(cli: CliContext, record: CrlRecord | NotDue, what: str, extra: dict[str, object] | None = None,
            lines: str = "") -> None:
    from s1spki.ra.crl import NotDue
    from s1spki.values.clock import iso

    if isinstance(record, NotDue):
        cli.emit({"issued": False, "ca": record.ca, "due_at": iso(record.due_at)},
                 f"the {what} of {record.ca} is not due until {iso(record.due_at)} (policy/policy.toml): nothing "
                 "issued")
        return
    cli.emit({"issued": True, **record.as_dict(), **(extra or {})},
             f"{record.kind.upper()} {record.number} of {record.ca} issued: {record.entries} entries, "
             f"next update {record.next_update}{lines}")


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
    reasons: list[str] = []
    with progress(cli, "issuing the CRL: reading, linting and signing its entries") as advance:
        issued = issue_scheduled(cli.command(as_), "crl", ca, if_due, started=lambda: advance(0),
                                 because=reasons.append)
    _report(cli, issued, "CRL", *_because(reasons))


def _because(reasons: list[str]) -> tuple[dict[str, object], str]:
    """Why a CRL or ARL was due before its re-issue period: for the report's JSON and its line."""
    if not reasons:
        return {}, ""
    return {"due_because": reasons[0]}, f" (due now: {reasons[0]})"


@app.command("arl", epilog="Example: s1spki crl arl --if-due --as alice --as bob")
def arl(
    ctx: typer.Context,
    if_due: bool = typer.Option(False, "--if-due", help=IF_DUE_HELP),
    as_: list[str] = as_option("the participants rapp/ names for crl.arl, e.g. two key custodians"),
    out: Path | None = out_option("Root home: where to write the ARL's bundle (default: HOME/bundles/)."),
) -> None:
    """Root home: issue the root's ARL (the revoked issuing CA certificates) now, under the participants rapp/
    names, and write it as a bundle for the online home's `s1spki crl import-arl`."""
    from s1spki.ra.arl_exchange import write_arl_bundle
    from s1spki.ra.crl import NotDue, issue_scheduled

    cli = get(ctx)
    if out is not None:
        check_out(out)
    command = cli.command(as_)
    reasons: list[str] = []
    record = issue_scheduled(command, "arl", None, if_due, because=reasons.append)
    extra, why = _because(reasons)
    if isinstance(record, NotDue) or cli.runtime.kind != "root":
        _report(cli, record, "ARL", extra, why)
        return
    written = write_arl_bundle(command, record, out)
    _report(cli, record, "ARL", {"arl_bundle": written.as_dict(), **extra},
            f"{why}\nARL bundle: {written.path}\nbundle sha256: {written.sha256}")
    if not cli.json:
        note("next: carry the bundle to the online home and run `s1spki crl import-arl BUNDLE --sha256 SHA256 "
             "--as NAME` there, then `s1spki repo publish`")


@app.command("import-arl", epilog="Example: s1spki crl import-arl arl-2.json --sha256 9f86d081884c7d65 --as alice")
def import_arl(
    ctx: typer.Context,
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="An ARL bundle from the root home."),
    sha256: str = typer.Option(..., "--sha256", metavar="HEX",
                               help="The bundle's SHA-256 as read out at the root home (64 hex digits, or the first "
                                    "16 or more)."),
    as_: list[str] = as_option("the participants rapp/ names for crl.import-arl"),
) -> None:
    """Online home: import the root's ARL from a bundle (signed by the pinned root, cRLNumber above the last one
    imported, lint); the issuing CAs it lists are marked revoked here. Publish it with `s1spki repo publish`."""
    from s1spki.ra.arl_exchange import import_arl as import_bundle

    cli = get(ctx)
    imported = import_bundle(cli.command(as_), bundle, sha256)
    revoked = f"; revoked here: {', '.join(imported.revoked)}" if imported.revoked else ""
    cli.emit(imported.as_dict(), f"ARL {imported.arl.number} of {imported.arl.ca} imported: {imported.arl.entries} "
                                 f"entries, next update {imported.arl.next_update}{revoked}")


@app.command("show", epilog="Example: s1spki crl show \"S1SPKI Issuing CA 1\" --out issuing-crl.pem (or every "
                            "cRLNumber reserved: s1spki crl show --reserved)")
def show(
    ctx: typer.Context,
    ca: str | None = typer.Argument(None, metavar="CA", autocompletion=complete.ca_names,
                                    help="A CA name; without it, the current CRL or ARL of every CA."),
    out: Path | None = out_option("Also write that CA's current CRL or ARL to this file."),
    fmt: str = typer.Option("pem", "--format", metavar="pem|der|bundle",
                            help="pem or der, for --out; bundle: a root home's current ARL as a bundle for the "
                                 "online home, written again."),
    reserved: bool = typer.Option(False, "--reserved",
                                  help="List cRLNumber reservations instead (of CA, or of every CA), saying whether "
                                       "each was issued."),
) -> None:
    """Show the current CRL or ARL of each CA (number, times, entries, SHA-256); --out writes one; --reserved lists
    every cRLNumber reserved, issued or not."""
    from s1spki.issuance.crl import pem_bytes

    cli = get(ctx)
    if fmt not in ("pem", "der", "bundle"):
        raise UsageError(f"--format must be pem, der or bundle, not {fmt!r}")
    reader = cli.runtime.store.reader
    names = [ca] if ca else [c.name for c in reader.cas()]
    if ca and reader.ca(ca) is None:
        raise NotFound(f"no CA named {ca!r}")
    if reserved:
        if out is not None:
            raise UsageError("--reserved lists reservations: it writes no file (leave out --out)")
        _show_reserved(cli, ca)
        return
    if out is not None and not ca:
        raise UsageError("--out writes one CA's CRL or ARL: name the CA")
    records = [(name, reader.crl(name)) for name in names]
    if out is not None:
        record = records[0][1]
        if record is None or record.der is None:
            raise NotFound(f"{ca} has issued no CRL or ARL yet: run `s1spki crl issue` or `s1spki crl arl`")
        if fmt == "bundle":
            from s1spki.ra.arl_exchange import write_arl_bundle

            if record.kind != "arl" or cli.runtime.kind != "root":
                raise UsageError("--format bundle writes a root home's ARL: this is not one")
            written = write_arl_bundle(cli.command([]), record, check_out(out))
            note(f"wrote {out}, bundle sha256 {written.sha256}")
        else:
            write_file(out, pem_bytes(record.der) if fmt == "pem" else record.der)
            note(f"wrote {out}")
    data = [{"ca": name, **(r.as_dict() if r else {"crl_number": None})} for name, r in records]
    cli.emit(data[0] if ca else data,
             lambda: cli.table("current CRLs and ARL", [Column("CA", wrap=True), "kind", "number", "this update",
                                                          "next update", "entries", "sha256"],
                               [[name, r.kind, r.number, r.this_update, r.next_update, r.entries, r.sha256]
                                if r else [name, "-", "none yet", "", "", "", ""] for name, r in records]))


def _show_reserved(cli: CliContext, ca: str | None) -> None:
    """cRLNumbers as `cert list --reserved` shows serials: a number reserved and never issued was left by a command
    that ended before storing its CRL, or by one that found a higher number stored first (each has its audit
    record, `crl.reserve` or `arl.reserve`)."""
    numbers = cli.runtime.store.reader.crl_numbers(ca)
    cli.emit_each((n.as_dict() for n in numbers), lambda rows: cli.table(
        "cRLNumber reservations", [Column("CA", wrap=True), "kind", "number", "reserved", "issued"],
        ([n["ca"], n["kind"], n["crl_number"], n["reserved_at"],
          n["issued_at"] if n["crl_exists"] else "NO (reserved, unissued)"] for n in rows)))
