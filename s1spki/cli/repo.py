"""The published repository: CA certificates, CRLs, the ARL and an index, as files ready to serve."""

from __future__ import annotations

from pathlib import Path

import typer

from s1spki.cli.context import get
from s1spki.errors import UsageError

app = typer.Typer(help="The published repository: publish.", no_args_is_help=True)


@app.command("publish", epilog="Example: s1spki repo publish --out pki")
def publish(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", metavar="DIR",
                                    help="Folder to publish into (default: HOME/repository)."),
) -> None:
    """Write the CA certificates, the current CRLs and ARL, and index.json of the issued certificates (keyed by
    issuer CN and serial, and by EUI-64, role and key usage); each file is replaced atomically."""
    from s1spki.ra.repository import publish as publish_repository

    cli = get(ctx)
    folder = out or cli.home / "repository"
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file: name a folder to publish into")
    published = publish_repository(cli.command([]), folder)
    cli.emit(published.as_dict(), f"published {len(published.files)} files ({published.certificates} certificates "
                                  f"in the index) to {published.out}")
