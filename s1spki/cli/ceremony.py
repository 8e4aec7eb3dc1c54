"""Key ceremonies: generate a CA key in the HSM under multi-person control and certify it."""

from __future__ import annotations

import typer

from s1spki.cli.context import AS_HELP, get

app = typer.Typer(help="Key ceremonies: the root CA and issuing CAs, each under multi-person control.",
                  no_args_is_help=True)


@app.command("root")
def root(
    ctx: typer.Context,
    as_: list[str] = typer.Option([], "--as", help=AS_HELP + " Each key custodian gives their own --as."),
    name: str | None = typer.Option(None, "--name", help="The root CA's common name (default from policy/)."),
) -> None:
    """Generate the root key in the HSM and make the self-signed root certificate."""
    _run(ctx, "root", as_, name, None)


@app.command("issuing")
def issuing(
    ctx: typer.Context,
    as_: list[str] = typer.Option([], "--as", help=AS_HELP + " Each key custodian gives their own --as."),
    name: str | None = typer.Option(None, "--name", help="The issuing CA's common name (default from policy/)."),
    root_name: str | None = typer.Option(None, "--root", help="The root that certifies it (default: the root)."),
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
