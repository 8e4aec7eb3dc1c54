"""The store: its schema revision, upgrading it, and backing it up."""

from __future__ import annotations

from pathlib import Path

import typer

from s1spki.cli.context import get
from s1spki.cli.params import as_option

app = typer.Typer(help="The database: schema status and upgrade, backup.", no_args_is_help=True)


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


@app.command("backup", epilog="Example: s1spki db backup /backups/ca-2026-06-01.s1db --as erin")
def backup(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE", help="The backup file to write (new: never overwritten); its "
                                                        "manifest, signed by the audit key, goes to "
                                                        "FILE.manifest.json."),
    as_: list[str] = as_option("a CA administrator, rapp/ db.backup"),
) -> None:
    """Copy the store (registry, requests, certificates, CRLs, audit trail; no key: keys stay in the HSM) into a
    new file, consistent while other nodes write: SQLite's online backup, or pg_dump's custom format for
    PostgreSQL (restore it with pg_restore). Audited; README "Backup and restore" says how to restore."""
    from s1spki.ra.backup import back_up, check_target

    cli = get(ctx)
    check_target(file)  # before the home is opened: a name taken is refused at once
    done = back_up(cli.command(as_), file).as_dict()
    head = done["audit_head"]
    cli.emit(done, f"backup of the {done['engine']} store written to {done['file']} ({done['size']} bytes, "
                   f"sha256 {done['sha256']}); schema revision {done['schema_revision']}, audit records up to "
                   f"{head['seq']} ({head['hash'][:16]}...)\nmanifest: {done['manifest_file']}"
                   + "".join(f"\nremoved {name}: a partial copy left by a backup that did not finish"
                             for name in done["left_behind_removed"]))
