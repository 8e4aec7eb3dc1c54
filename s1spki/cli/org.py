"""Subscriber organisations: their EUI-64 entity identifiers and the roles they may hold."""

from __future__ import annotations

import typer

from s1spki.cli.context import get
from s1spki.cli.params import as_option, org_argument
from s1spki.cli.table import Column
from s1spki.errors import NotFound

RA_HELP = "an RA officer or manager, as rapp/ says for this operation"

app = typer.Typer(help="Subscriber organisations, their SROs and AROs: register, list, show, withdraw.",
                  no_args_is_help=True)


@app.command("register", epilog='Example: s1spki org register "Acme Energy Ltd" --eui64 '
                                '90B3D51F30010000 --role supplier --as carol')
def register(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="ORG", help="The organisation's name."),
    eui64: list[str] = typer.Option(..., "--eui64", metavar="EUI64",
                                    help="An EUI-64 entity id it owns, 16 hex digits (repeat)."),
    role: list[str] = typer.Option(..., "--role", metavar="ROLE",
                                   help="A remote-party role it may hold, from policy/roles.toml (repeat)."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Register a subscriber organisation."""
    from s1spki.ra.organisations import register_organisation

    cli = get(ctx)
    record = register_organisation(cli.command(as_), name, eui64, role)
    cli.emit(record.as_dict(), f"organisation {record.name} registered: EUI-64 {', '.join(record.eui64s)}; "
                               f"roles {', '.join(record.roles)}")


@app.command("list", epilog='Example: s1spki org list')
def list_(ctx: typer.Context) -> None:
    """List organisations."""
    cli = get(ctx)
    records = cli.runtime.store.reader.organisations()
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("organisations", [Column("name", wrap=True), "status", Column("EUI-64", wrap=True),
                                                 Column("roles", wrap=True)],
                               [[r.name, r.status, " ".join(r.eui64s), " ".join(r.roles)] for r in records]))


@app.command("show", epilog='Example: s1spki org show "Acme Energy Ltd"')
def show(ctx: typer.Context, name: str = org_argument()) -> None:
    """Show one organisation."""
    cli = get(ctx)
    record = cli.runtime.store.reader.organisation(name)
    if record is None:
        raise NotFound(f"unknown organisation {name!r}")
    officers = cli.runtime.store.reader.officers(name)
    data = {**record.as_dict(), "officers": [o.as_dict() for o in officers]}
    cli.emit(data, lambda: (print("\n".join(f"{k}: {v}" for k, v in record.as_dict().items())),
                            cli.table("officers", ["kind", Column("name", wrap=True), "status",
                                                 Column("nominated by", wrap=True), Column("checks", wrap=True)],
                                      [[o.kind.upper(), o.name, o.status, o.nominated_by,
                                        ", ".join(f"{c.check} ({c.evidence}, by {c.checked_by})" for c in o.checks)]
                                       for o in officers])))


@app.command("withdraw", epilog='Example: s1spki org withdraw "Acme Energy Ltd" --as dave')
def withdraw(
    ctx: typer.Context,
    name: str = org_argument("The organisation whose subscription ends."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """End of subscription: withdraw the organisation and its officers, revoke all its certificates."""
    from s1spki.ra.organisations import withdraw_organisation

    cli = get(ctx)
    record, revoked = withdraw_organisation(cli.command(as_), name)
    cli.emit({**record.as_dict(), "revoked": revoked},
             f"organisation {record.name} withdrawn; its SROs and AROs are withdrawn; {len(revoked)} certificate(s) "
             "revoked and the CRL re-issued")


sro_app = typer.Typer(help="Senior Responsible Officers: add (verified) and withdraw.", no_args_is_help=True)
aro_app = typer.Typer(help="Authorised Responsible Officers: add (nominated by an SRO), verify, withdraw.",
                      no_args_is_help=True)
app.add_typer(sro_app, name="sro")
app.add_typer(aro_app, name="aro")


@sro_app.command("add",
                 epilog='Example: s1spki org sro add "Acme Energy Ltd" "Sam Senior" '
                        '--identity-evidence ID-0001 --authority-evidence BM-2026-11 --as dave')
def sro_add(
    ctx: typer.Context,
    org: str = org_argument(),
    name: str = typer.Argument(..., metavar="NAME", help="The SRO's name."),
    identity_evidence: str = typer.Option(..., "--identity-evidence", metavar="REF",
                                          help="Reference of the identity check (photo ID seen face to face)."),
    authority_evidence: str = typer.Option(..., "--authority-evidence", metavar="REF",
                                           help="Reference of the evidence of the SRO's authority."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Register a verified Senior Responsible Officer."""
    from s1spki.ra.subscriber_officers import add_sro

    cli = get(ctx)
    record = add_sro(cli.command(as_), org, name, identity_evidence, authority_evidence)
    cli.emit(record.as_dict(), f"SRO {record.name} of {record.org_name} is {record.status}")


@sro_app.command("withdraw",
                 epilog='Example: s1spki org sro withdraw "Acme Energy Ltd" "Sam Senior" --as dave')
def sro_withdraw(
    ctx: typer.Context,
    org: str = org_argument(),
    name: str = typer.Argument(..., metavar="NAME", help="The SRO's name."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Withdraw an SRO at once."""
    from s1spki.ra.subscriber_officers import withdraw_officer

    cli = get(ctx)
    record = withdraw_officer(cli.command(as_), org, "sro", name)
    cli.emit(record.as_dict(), f"SRO {record.name} of {record.org_name} withdrawn")


@aro_app.command("add",
                 epilog='Example: s1spki org aro add "Acme Energy Ltd" "Ann Officer" '
                        '--nominated-by "Sam Senior" --nomination-evidence NOM-1 --as dave')
def aro_add(
    ctx: typer.Context,
    org: str = org_argument(),
    name: str = typer.Argument(..., metavar="NAME", help="The ARO's name."),
    nominated_by: str = typer.Option(..., "--nominated-by", metavar="NAME", help="The SRO who nominates them."),
    nomination_evidence: str = typer.Option(..., "--nomination-evidence", metavar="REF",
                                            help="Reference of the nomination."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Record an SRO's nomination of an ARO (active only once verified with `aro verify`)."""
    from s1spki.ra.subscriber_officers import add_aro

    cli = get(ctx)
    record = add_aro(cli.command(as_), org, name, nominated_by, nomination_evidence)
    cli.emit(record.as_dict(), f"ARO {record.name} of {record.org_name} nominated by {record.nominated_by}: "
                               "record the identity check and BS 7858 screening with `org aro verify`")


@aro_app.command("verify",
                 epilog='Example: s1spki org aro verify "Acme Energy Ltd" "Ann Officer" '
                        '--check identity --evidence ID-0002 --as dave')
def aro_verify(
    ctx: typer.Context,
    org: str = org_argument(),
    name: str = typer.Argument(..., metavar="NAME", help="The ARO's name."),
    check: str = typer.Option(..., "--check", metavar="CHECK",
                              help="identity (photo ID, face to face) or screening (BS 7858)."),
    evidence: str = typer.Option(..., "--evidence", metavar="REF", help="Reference of the evidence checked."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Record an ARO's identity check or BS 7858 screening; with both the ARO becomes active."""
    from s1spki.ra.subscriber_officers import verify_aro

    cli = get(ctx)
    record = verify_aro(cli.command(as_), org, name, check, evidence)
    cli.emit(record.as_dict(), f"ARO {record.name} of {record.org_name}: {check} recorded; {record.status}")


@aro_app.command("withdraw",
                 epilog='Example: s1spki org aro withdraw "Acme Energy Ltd" "Ann Officer" --as dave')
def aro_withdraw(
    ctx: typer.Context,
    org: str = org_argument(),
    name: str = typer.Argument(..., metavar="NAME", help="The ARO's name."),
    as_: list[str] = as_option(RA_HELP),
) -> None:
    """Withdraw an ARO at once."""
    from s1spki.ra.subscriber_officers import withdraw_officer

    cli = get(ctx)
    record = withdraw_officer(cli.command(as_), org, "aro", name)
    cli.emit(record.as_dict(), f"ARO {record.name} of {record.org_name} withdrawn")
