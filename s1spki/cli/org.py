"""Subscriber organisations: their EUI-64 entity identifiers and the roles they may hold."""

from __future__ import annotations

import typer

from ..errors import NotFound
from .context import AS_HELP, get

app = typer.Typer(help="Subscriber organisations: register, list and show.", no_args_is_help=True)


@app.command("register")
def register(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The organisation's name."),
    eui64: list[str] = typer.Option(..., "--eui64", help="An EUI-64 entity id it owns, 16 hex digits (repeat)."),
    role: list[str] = typer.Option(..., "--role", help="A remote-party role it may hold, from policy/roles.toml."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Register a subscriber organisation."""
    from ..registration import register_organisation

    cli = get(ctx)
    record = register_organisation(cli.app, as_, name, eui64, role)
    cli.emit(record.as_dict(), f"organisation {record.name} registered: EUI-64 {', '.join(record.eui64s)}; "
                               f"roles {', '.join(record.roles)}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List organisations."""
    cli = get(ctx)
    records = cli.app.store.reader.organisations()
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("organisations", ["name", "status", "EUI-64", "roles"],
                               [[r.name, r.status, " ".join(r.eui64s), " ".join(r.roles)] for r in records]))


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Organisation name.")) -> None:
    """Show one organisation."""
    cli = get(ctx)
    record = cli.app.store.reader.organisation(name)
    if record is None:
        raise NotFound(f"unknown organisation {name!r}")
    cli.emit(record.as_dict(), "\n".join(f"{k}: {v}" for k, v in record.as_dict().items()))
