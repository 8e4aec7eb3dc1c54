"""Certificate requests: submit a PKCS#10 request for a subscriber, list and show them."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import NotFound, UsageError
from .context import AS_HELP, get

app = typer.Typer(help="Certificate requests: submit, list and show.", no_args_is_help=True)


@app.command("submit")
def submit(
    ctx: typer.Context,
    csr: Path = typer.Option(..., "--csr", help="The PKCS#10 request, PEM or DER."),
    org: str = typer.Option(..., "--org", help="The subscriber organisation."),
    role: str = typer.Option(..., "--role", help="Remote-party role, e.g. supplier."),
    key_usage: str = typer.Option(..., "--key-usage", help="digitalSignature or keyAgreement."),
    eui64: str = typer.Option(..., "--eui64", help="The EUI-64 entity id the certificate is for."),
    cn: str | None = typer.Option(None, "--cn", help="Optional common name (UTF8String)."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Submit a certificate request; the CA decides its contents, the request gives only the key."""
    from ..end_entity import submit_request

    cli = get(ctx)
    try:
        with csr.open("rb") as handle:  # one byte past the limit is enough to refuse a huge file
            data = handle.read(cli.app.policy.max_request_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read --csr {csr}: {exc.strerror}") from None
    record = submit_request(cli.app, as_, org, role, key_usage, eui64, cn, data)
    cli.emit(record.as_dict(), f"request {record.id} submitted for {record.org_name} ({record.role}, "
                               f"{record.key_usage}, EUI-64 {record.eui64})")


@app.command("list")
def list_(ctx: typer.Context, status: str | None = typer.Option(None, "--status", help="submitted or issued.")) -> None:
    """List requests."""
    cli = get(ctx)
    records = cli.app.store.reader.requests(status)
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("requests", ["id", "organisation", "role", "key usage", "EUI-64", "status", "by"],
                               [[r.id, r.org_name, r.role, r.key_usage, r.eui64, r.status, r.submitted_by]
                                for r in records]))


@app.command("show")
def show(ctx: typer.Context, request_id: int = typer.Argument(..., help="Request id.")) -> None:
    """Show one request."""
    cli = get(ctx)
    record = cli.app.store.reader.request(request_id)
    if record is None:
        raise NotFound(f"no request {request_id}")
    cli.emit(record.as_dict(), "\n".join(f"{k}: {v}" for k, v in record.as_dict().items()))
