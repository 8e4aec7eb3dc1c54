"""Certificate requests: submit a PKCS#10 request for a subscriber, list and show them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from s1spki.cli.context import get
from s1spki.cli.output import check_out, write_file
from s1spki.cli.params import as_option, limit_option, org_option, out_option, request_id_argument
from s1spki.cli.table import Column
from s1spki.errors import NotFound, UsageError

app = typer.Typer(help="Certificate requests: submit, approve, reject, list and show.", no_args_is_help=True)


@app.command("submit", epilog="Example: s1spki request submit --csr ds.csr --org \"Acme Energy Ltd\" --aro \"Ann "
                              "Officer\" --role supplier --key-usage digitalSignature --eui64 90B3D51F30010000 "
                              "--as carol")
def submit(
    ctx: typer.Context,
    csr: Path = typer.Option(..., "--csr", metavar="FILE", help="The PKCS#10 request, PEM or DER."),
    org: str = org_option("The subscriber organisation.", required=True),
    role: str = typer.Option(..., "--role", metavar="ROLE", help="Remote-party role, e.g. supplier."),
    key_usage: str = typer.Option(..., "--key-usage", metavar="USAGE", help="digitalSignature or keyAgreement."),
    eui64: str = typer.Option(..., "--eui64", metavar="EUI64", help="The EUI-64 entity id the certificate is for."),
    cn: str | None = typer.Option(None, "--cn", metavar="NAME", help="Optional common name (UTF8String)."),
    aro: str | None = typer.Option(None, "--aro", metavar="NAME",
                                   help="The organisation's ARO on whose behalf it is made."),
    as_: list[str] = as_option("an operator rapp/ lets submit, for request.submit"),
) -> None:
    """Submit a certificate request; the CA decides its contents, the request gives only the key."""
    from s1spki.ra.requests import submit_request

    cli = get(ctx)
    try:
        with csr.open("rb") as handle:  # one byte past the limit is enough to refuse a huge file
            data = handle.read(cli.runtime.policy.max_request_bytes + 1)
    except OSError as exc:  # a folder, a missing file
        raise UsageError(f"cannot read --csr {csr}: {exc.strerror}") from None
    record = submit_request(cli.command(as_), org, role, key_usage, eui64, cn, data, aro)
    cli.emit(record.as_dict(), f"request {record.id} submitted for {record.org_name} ({record.role}, "
                               f"{record.key_usage}, EUI-64 {record.eui64})")


@app.command("approve", epilog="Example: s1spki request approve 1 --as dave; from another machine: s1spki request "
                               "approve 1 --sign-only --out approval.json --as dave, then s1spki request approve 1 "
                               "--statement approval.json")
def approve(
    ctx: typer.Context,
    request_id: int = request_id_argument("The request to approve."),
    statement: Path | None = typer.Option(None, "--statement", metavar="FILE",
                                          help="Hand in an approval statement signed earlier (--sign-only)."),
    sign_only: bool = typer.Option(False, "--sign-only", help="Only sign the approval statement; write it to --out."),
    out: Path | None = out_option("Where --sign-only writes the statement."),
    as_: list[str] = as_option("one approver rapp/ counts for the request, never its submitter"),
) -> None:
    """Approve a request: your signed statement over the request's digest (never your own request).

    The approver's key may be on another machine: sign there with --sign-only --out FILE (it needs the home's
    database and the approver's credential, changes nothing), and hand the file in here with --statement."""
    from s1spki.ra.approvals import decide, read_statement, sign_approval

    cli = get(ctx)
    if sign_only:
        if out is None or len(as_) != 1:
            raise UsageError("--sign-only needs exactly one --as and --out FILE")
        check_out(out)  # before the passphrase is asked for
        signed = sign_approval(cli.command(as_), as_[0], request_id)
        write_file(out, (json.dumps(signed.as_record(), indent=2) + "\n").encode("utf-8"))
        cli.emit({"statement": str(out), "request": request_id, "operator": as_[0]}, f"wrote {out}")
        return
    if statement is not None and as_:
        raise UsageError("give --statement (signed earlier) or --as, not both")
    record = decide(cli.command(as_), request_id, "approve", statement=read_statement(statement) if statement else None)
    cli.emit(record.as_dict(), f"request {request_id} approved by {record.operator}")


@app.command("reject", epilog="Example: s1spki request reject 2 --reason \"wrong EUI-64\" --as dave")
def reject(
    ctx: typer.Context,
    request_id: int = request_id_argument("The request to reject."),
    reason: str = typer.Option(..., "--reason", metavar="TEXT", help="Why it is rejected."),
    as_: list[str] = as_option("an operator rapp/ lets reject, for request.reject"),
) -> None:
    """Reject a request: it can no longer be issued."""
    from s1spki.ra.approvals import decide

    cli = get(ctx)
    record = decide(cli.command(as_), request_id, "reject", reason=reason)
    cli.emit(record.as_dict(), f"request {request_id} rejected by {record.operator}")


REQUEST_COLUMNS = [Column("id"), Column("organisation", wrap=True), Column("ARO", wrap=True), Column("role"),
                   Column("key usage"), Column("EUI-64"), Column("status"), Column("by", wrap=True),
                   Column("approved by", wrap=True), Column("waiting for", wrap=True)]


@app.command("list", epilog="Example: s1spki request list --status submitted --limit 20")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", metavar="STATUS",
                                      help="submitted, issuing, issued or rejected."),
    org: str | None = org_option("Only this organisation's requests."),
    limit: int | None = limit_option(),
) -> None:
    """List requests, oldest first, with the approvals each still waits for (as they are read)."""
    from s1spki.ra.requests import waiting_for
    from s1spki.store.reader import RequestQuery

    cli = get(ctx)
    reader = cli.runtime.store.reader
    if org is not None and reader.organisation(org) is None:
        raise NotFound(f"unknown organisation {org!r}: see `s1spki org list`")
    command = cli.command([])
    rows = ({**r.as_dict(), **waiting_for(command, r)} for r in reader.iter_requests(RequestQuery(status, org, limit)))
    cli.emit_each(rows, lambda listed: cli.table("requests", REQUEST_COLUMNS, (
        [r["id"], r["organisation"], r["aro"], r["role"], r["key_usage"], r["eui64"], r["status"], r["submitted_by"],
         " ".join(r["approved_by"]),
         f"{r['approvals_missing']} of {' / '.join(r['approver_roles'])}" if r["approvals_missing"] else ""]
        for r in listed)))


@app.command("show", epilog="Example: s1spki request show 1")
def show(ctx: typer.Context, request_id: int = request_id_argument("The request.")) -> None:
    """Show one request with its approvals."""
    from s1spki.ra.requests import waiting_for

    cli = get(ctx)
    record = cli.runtime.store.reader.request(request_id)
    if record is None:
        raise NotFound(f"no request {request_id}")
    data = {**record.as_dict(), **waiting_for(cli.command([]), record)}
    cli.emit(data, "\n".join(f"{k}: {v}" for k, v in data.items() if k != "approvals"))
