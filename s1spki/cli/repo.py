"""The published repository: CA certificates, CRLs, the ARL and an index, as files ready to serve."""

from __future__ import annotations

from pathlib import Path

import typer

from s1spki.cli.context import get

app = typer.Typer(help="The published repository: publish.", no_args_is_help=True)


@app.command("publish")
def publish(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", help="Directory to publish into (default: HOME/repository)."),
) -> None:
    """Write the CA certificates, the current CRLs and ARL, and index.json of the issued certificates (keyed by
    issuer CN and serial, and by EUI-64, role and key usage); each file is replaced atomically."""
    from s1spki.ra.repository import publish as publish_repository

    cli = get(ctx)
    published = publish_repository(cli.command([]), out or cli.home / "repository")
    cli.emit(published.as_dict(), f"published {len(published.files)} files ({published.certificates} certificates "
                                  f"in the index) to {published.out}")
