"""Key ceremonies: generate a CA key in the HSM under multi-person control and certify it."""

from __future__ import annotations

import typer

from s1spki.cli import complete
from s1spki.cli.context import get, note
from s1spki.cli.params import as_option

CUSTODIANS = "the participants rapp/operations.toml names for the ceremony, e.g. two key custodians"

app = typer.Typer(help="Key ceremonies: the root CA and issuing CAs, each under multi-person control.",
                  no_args_is_help=True)


@app.command("root", epilog="Example: s1spki ceremony root --as alice --as bob")
def root(
    ctx: typer.Context,
    as_: list[str] = as_option(CUSTODIANS),
    name: str | None = typer.Option(None, "--name", metavar="NAME",
                                    help="The root CA's common name (default from policy/)."),
) -> None:
    """Generate the root key in the HSM and make the self-signed root certificate."""
    _run(ctx, "root", as_, name, None)


@app.command("issuing", epilog="Example: s1spki ceremony issuing --as alice --as bob")
def issuing(
    ctx: typer.Context,
    as_: list[str] = as_option(CUSTODIANS),
    name: str | None = typer.Option(None, "--name", metavar="NAME",
                                    help="The issuing CA's common name (default from policy/)."),
    root_name: str | None = typer.Option(None, "--root", metavar="NAME", autocompletion=complete.ca_names,
                                         help="The root CA that certifies it (default: the root)."),
) -> None:
    """Generate an issuing CA key in the HSM and certify it with the root."""
    _run(ctx, "issuing", as_, name, root_name)


def _run(ctx: typer.Context, kind: str, names: list[str], name: str | None, root_name: str | None) -> None:
    from s1spki.ra.ceremony import run_ceremony

    cli = get(ctx)
    record, transcript = run_ceremony(cli.command(names), kind, name, root_name)
    cli.emit({**record.as_dict(), "transcript": str(transcript)},
             f"{kind} CA {record.name!r} created: serial {record.certificate.serial}, sha256 "
             f"{record.certificate.fingerprint}\ntranscript: {transcript}")
    if kind == "issuing" and not cli.json:
        note(f"next: issue its first CRL with `s1spki crl issue --ca \"{record.name}\" --as NAME` (an RA officer or "
             "manager, rapp/ crl.issue); relying parties need it before its certificates are used")
