"""Certificate requests: submit a PKCS#10 request for a subscriber, list and show them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from s1spki.cli.context import AS_HELP, get
from s1spki.errors import NotFound, UsageError

app = typer.Typer(help="Certificate requests: submit, approve, reject, list and show.", no_args_is_help=True)


@app.command("submit")
def submit(
    ctx: typer.Context,
    csr: Path = typer.Option(..., "--csr", help="The PKCS#10 request, PEM or DER."),
    org: str = typer.Option(..., "--org", help="The subscriber organisation."),
    role: str = typer.Option(..., "--role", help="Remote-party role, e.g. supplier."),
    key_usage: str = typer.Option(..., "--key-usage", help="digitalSignature or keyAgreement."),
    eui64: str = typer.Option(..., "--eui64", help="The EUI-64 entity id the certificate is for."),
    cn: str | None = typer.Option(None, "--cn", help="Optional common name (UTF8String)."),
    aro: str | None = typer.Option(None, "--aro", help="The organisation's ARO on whose behalf it is made."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Submit a certificate request; the CA decides its contents, the request gives only the key."""
    from s1spki.ra.requests import submit_request

    cli = get(ctx)
    try:
        with csr.open("rb") as handle:  # one byte past the limit is enough to refuse a huge file
            data = handle.read(cli.runtime.policy.max_request_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read --csr {csr}: {exc.strerror}") from None
    record = submit_request(cli.command(as_), org, role, key_usage, eui64, cn, data, aro)
    cli.emit(record.as_dict(), f"request {record.id} submitted for {record.org_name} ({record.role}, "
                               f"{record.key_usage}, EUI-64 {record.eui64})")


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., help="The request to approve."),
    statement: Path | None = typer.Option(None, "--statement",
                                          help="Hand in an approval statement signed earlier (--sign-only)."),
    sign_only: bool = typer.Option(False, "--sign-only", help="Only sign the approval statement; write it to --out."),
    out: Path | None = typer.Option(None, "--out", help="Where --sign-only writes the statement."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Approve a request: your signed statement over the request's digest (never your own request)."""
    from s1spki.ra.approvals import decide, read_statement, sign_approval

    cli = get(ctx)
    if sign_only:
        if out is None or len(as_) != 1:
            raise UsageError("--sign-only needs exactly one --as and --out FILE")
        signed = sign_approval(cli.command(as_), as_[0], request_id)
        out.write_text(json.dumps(signed.as_record(), indent=2) + "\n", encoding="utf-8")
        cli.emit({"statement": str(out), "request": request_id, "operator": as_[0]}, f"wrote {out}")
        return
    if statement is not None and as_:
        raise UsageError("give --statement (signed earlier) or --as, not both")
    record = decide(cli.command(as_), request_id, "approve", statement=read_statement(statement) if statement else None)
    cli.emit(record.as_dict(), f"request {request_id} approved by {record.operator}")


@app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., help="The request to reject."),
    reason: str = typer.Option(..., "--reason", help="Why it is rejected."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Reject a request: it can no longer be issued."""
    from s1spki.ra.approvals import decide

    cli = get(ctx)
    record = decide(cli.command(as_), request_id, "reject", reason=reason)
    cli.emit(record.as_dict(), f"request {request_id} rejected by {record.operator}")


@app.command("list")
def list_(ctx: typer.Context,
          status: str | None = typer.Option(None, "--status", help="submitted, issued or rejected.")) -> None:
    """List requests, with the approvals each still waits for."""
    from s1spki.ra.requests import waiting_for

    cli = get(ctx)
    records = cli.runtime.store.reader.requests(status)
    command = cli.command([])
    rows = [{**r.as_dict(), **waiting_for(command, r)} for r in records]
    cli.emit(rows, lambda: cli.table(
        "requests", ["id", "organisation", "ARO", "role", "key usage", "EUI-64", "status", "by", "approved by",
                     "waiting for"],
        [[r["id"], r["organisation"], r["aro"], r["role"], r["key_usage"], r["eui64"], r["status"],
          r["submitted_by"], " ".join(r["approved_by"]),
          f"{r['approvals_missing']} of {' / '.join(r['approver_roles'])}" if r["approvals_missing"] else ""]
         for r in rows]))


@app.command("show")
def show(ctx: typer.Context, request_id: int = typer.Argument(..., help="Request id.")) -> None:
    """Show one request with its approvals."""
    from s1spki.ra.requests import waiting_for

    cli = get(ctx)
    record = cli.runtime.store.reader.request(request_id)
    if record is None:
        raise NotFound(f"no request {request_id}")
    data = {**record.as_dict(), **waiting_for(cli.command([]), record)}
    cli.emit(data, "\n".join(f"{k}: {v}" for k, v in data.items() if k != "approvals"))
