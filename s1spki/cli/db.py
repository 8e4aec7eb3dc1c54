"""The store's schema: which migration revision it is at, and upgrading it."""

from __future__ import annotations

import typer

from s1spki.cli.context import get

app = typer.Typer(help="The database: schema status and upgrade.", no_args_is_help=True)


@app.command("status", epilog="Example: s1spki db status")
def status(ctx: typer.Context) -> None:
    """Show the store's schema revision and the one this s1spki needs."""
    from s1spki.store import migrations
    from s1spki.store.engine import make_engine
    from s1spki.store.writer import schema_revision

    cli = get(ctx)
    engine = make_engine(cli.runtime.config.database_url)
    try:
        revision = schema_revision(engine)
    finally:
        engine.dispose()
    data = {"revision": revision, "head": migrations.HEAD, "up_to_date": revision == migrations.HEAD}
    behind = "" if data["up_to_date"] else f"; this s1spki needs {migrations.HEAD}: run `s1spki db upgrade`"
    cli.emit(data, f"schema revision {revision}{behind}")


@app.command("upgrade", epilog="Example: s1spki db upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the store's schema to the revision this s1spki needs (take a backup first). A store made before
    authenticators is sealed with the HSM once its trail verifies."""
    from s1spki.ra.store_upgrade import upgrade_store

    cli = get(ctx)
    done = upgrade_store(cli.runtime)
    said = (f"schema upgraded from revision {done['from']} to {done['to']}" if done["upgraded"] else
            f"schema already at revision {done['to']}")
    if done["sealed"]:
        said += (f"; {done['sealed']['rows']} rows sealed, records authenticated from "
                 f"{done['sealed']['authenticated_from']}")
    cli.emit(done, said)
