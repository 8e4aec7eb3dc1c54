"""EST (RFC 7030) for S1SP components: the server, the RA's enrolment authorisation, and the component's client."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import typer

from s1spki.cli import params
from s1spki.cli.context import get, note
from s1spki.errors import UsageError

app = typer.Typer(help="EST for S1SP components: serve, authorise a first enrolment, and (on a component, no CA home "
                       "needed) enroll and renew.", no_args_is_help=True)


def _seconds(text: str, option: str) -> int:
    from s1spki.rapp import parse_duration

    seconds = parse_duration(text)
    if seconds is None:
        raise UsageError(f"{option} takes a number with s, m, h or d (e.g. 7d), not {text!r}")
    return seconds


@app.command("serve", epilog="Example: s1spki est serve --listen 0.0.0.0:8443 --tls-cert est-tls.pem "
             "--tls-key est-tls.key --workers 4")
def serve(
    ctx: typer.Context,
    listen: str | None = typer.Option(None, "--listen", metavar="HOST:PORT",
                                      help="HOST:PORT to listen on, e.g. 127.0.0.1:8443 (default: this node's "
                                           "s1spki.toml [est] listen)."),
    tls_cert: Path = typer.Option(..., "--tls-cert", metavar="FILE", help="The server's TLS certificate chain (PEM)."),
    tls_key: Path = typer.Option(..., "--tls-key", metavar="FILE", help="The server's TLS private key (PEM)."),
    workers: int = typer.Option(4, "--workers", metavar="N", help="Worker processes (each its own HSM session)."),
) -> None:
    """Serve EST over HTTPS (TLS 1.2 and 1.3) until SIGTERM: cacerts, csrattrs, simpleenroll, simplereenroll
    under /.well-known/est/ (optionally /.well-known/est/LABEL/ for one of several issuing CAs), and /health."""
    from s1spki.cli import context
    from s1spki.est.server import serve as run
    from s1spki.runtime import Runtime

    cli = get(ctx)
    factory = context._factory[0] if context._factory else Runtime
    if listen is None:
        from s1spki.errors import UsageError
        from s1spki.home.config import load_config

        listen = load_config(cli.home).est_listen
        if not listen:
            raise UsageError("give --listen HOST:PORT, or set [est] listen in this node's s1spki.toml")
    run(cli.home, factory, listen, tls_cert, tls_key, workers)


@app.command("authorise", epilog="Example: s1spki est authorise --org \"Acme Energy Ltd\" --aro \"Ann Officer\" "
             "--role supplier --key-usage digitalSignature --eui64 90B3D51F30010000 --valid-for 3d "
             "--secret-out meter-7.secret --as carol")
def authorise(
    ctx: typer.Context,
    org: str = params.org_option("The subscriber organisation.", required=True),
    role: str = typer.Option(..., "--role", metavar="ROLE", help="Remote-party role, e.g. supplier."),
    key_usage: str = typer.Option(..., "--key-usage", metavar="USAGE", help="digitalSignature or keyAgreement."),
    eui64: str = typer.Option(..., "--eui64", metavar="EUI64", help="The EUI-64 entity id the certificate is for."),
    cn: str | None = typer.Option(None, "--cn", metavar="CN", help="Optional common name (UTF8String)."),
    aro: str | None = typer.Option(None, "--aro", metavar="NAME",
                                   help="The organisation's ARO on whose behalf it is made."),
    valid_for: str | None = typer.Option(None, "--valid-for", metavar="DURATION",
                                         help="How long it may be used, e.g. 7d (default and ceiling: "
                                              "policy/policy.toml [est])."),
    secret_out: Path = typer.Option(..., "--secret-out", metavar="FILE",
                                    help="Where to write the one-time secret (mode 0600); "
                                    "hand it to the component by a channel of its own."),
    as_: list[str] = params.as_option("the RA operator; the approval comes with `request approve`"),
) -> None:
    """Authorise a component's first enrolment over EST: a request without a CSR, to be approved with `request
    approve`; the component enrols with its id and the one-time secret (HTTP Basic)."""
    from s1spki.ra.enrolment import authorise_enrolment

    cli = get(ctx)
    if secret_out.exists():
        raise UsageError(f"{secret_out} exists: the one-time secret is written to a new file")
    seconds = None if valid_for is None else _seconds(valid_for, "--valid-for")
    try:  # the file is made first (0600), so that a secret is never made that cannot be handed over
        descriptor = os.open(secret_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot create --secret-out {secret_out}: {exc.strerror}") from None
    try:
        record, secret = authorise_enrolment(cli.command(as_), org, aro, role, key_usage, eui64, cn, seconds)
    except BaseException:
        os.close(descriptor)
        secret_out.unlink()
        raise
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    cli.emit({**record.as_dict(), "secret_file": str(secret_out)},
             f"enrolment authorisation {record.id} for {record.org_name} ({record.role}, {record.key_usage}, EUI-64 "
             f"{record.eui64}), usable until {record.expires_at} once approved; secret in {secret_out}")


def _server(server: str, ca_cert: Path):  # type: ignore[no-untyped-def]
    from s1spki.est.client import Server

    return Server(server, ca_cert)


@app.command("enroll", epilog="Example: s1spki est enroll --server https://est.example:8443 --ca-cert est-tls-ca.pem "
             "--id 7 --secret-file meter-7.secret --key-out ds.key --cert-out ds.pem")
def enroll(
    ctx: typer.Context,
    server: str = typer.Option(..., "--server", metavar="URL", help="https://HOST:PORT of the EST server "
                               "(or https://HOST:PORT/.well-known/est/LABEL)."),
    ca_cert: Path = typer.Option(..., "--ca-cert", metavar="FILE",
                                 help="The trust anchor of the server's TLS certificate (PEM)."),
    id_: str = typer.Option(..., "--id", metavar="ID", help="The enrolment authorisation's id."),
    secret_file: Path = typer.Option(..., "--secret-file", metavar="FILE",
                                     help="The file holding its one-time secret."),
    key_out: Path = typer.Option(..., "--key-out", metavar="FILE",
                                 help="Where to write the new private key (mode 0600)."),
    cert_out: Path = typer.Option(..., "--cert-out", metavar="FILE", help="Where to write the certificate (PEM)."),
) -> None:
    """On a component (no CA home needed): make a P-256 key here and enrol it for the first time."""
    from s1spki.est.client import enroll as run

    cli = get(ctx)
    certificate = run(_server(server, ca_cert), id_, secret_file, key_out, cert_out)
    cli.emit({"serial": f"{certificate.serial_number:X}", "not_after": certificate.not_valid_after_utc.isoformat(),
              "cert": str(cert_out), "key": str(key_out)},
             f"enrolled: serial {certificate.serial_number:X}, valid to {certificate.not_valid_after_utc:%Y-%m-%d}; "
             f"key in {key_out}, certificate in {cert_out}")


@app.command("renew", epilog="Example: s1spki est renew --daemon --server https://est.example:8443 "
             "--ca-cert est-tls-ca.pem --cert ds.pem --key ds.key --before 60d --exec \"systemctl reload meter\"")
def renew(
    ctx: typer.Context,
    server: str = typer.Option(..., "--server", metavar="URL", help="https://HOST:PORT of the EST server."),
    ca_cert: Path = typer.Option(..., "--ca-cert", metavar="FILE",
                                 help="The trust anchor of the server's TLS certificate (PEM)."),
    cert: Path = typer.Option(..., "--cert", metavar="FILE", help="The certificate to renew (PEM); replaced in place."),
    key: Path = typer.Option(..., "--key", metavar="FILE",
                             help="Its private key (PEM); replaced by a new key in place."),
    before: str = typer.Option("60d", "--before", metavar="DURATION",
                               help="Renew when less than this is left, e.g. 60d."),
    auth_cert: Path | None = typer.Option(None, "--auth-cert", metavar="FILE",
                                          help="For a keyAgreement certificate: the same "
                                          "component's digitalSignature certificate, to authenticate with."),
    auth_key: Path | None = typer.Option(None, "--auth-key", metavar="FILE", help="The key of --auth-cert."),
    daemon: bool = typer.Option(False, "--daemon", help="Keep running: renew whenever due, back off on errors."),
    check_every: str = typer.Option("1h", "--check-every", metavar="DURATION",
                                    help="With --daemon: how often to look at the files."),
    exec_: str | None = typer.Option(None, "--exec", metavar="COMMAND",
                                     help="A command to run after each renewal (no shell), e.g. "
                                     "'systemctl reload my-service'."),
) -> None:
    """On a component (no CA home needed): renew with the current certificate over mutual TLS when due."""
    from s1spki.est.client import Renewal

    cli = get(ctx)
    if (auth_cert is None) != (auth_key is None):
        raise UsageError("give --auth-cert and --auth-key together")
    renewal = Renewal(_server(server, ca_cert), cert, key, _timedelta(before, "--before"), auth_cert, auth_key,
                      shlex.split(exec_) if exec_ else None)
    if daemon:
        note(f"renewing {cert} when it has less than {before} left; SIGTERM stops")
        renewal.daemon(check_every=_timedelta(check_every, "--check-every").total_seconds())
        return
    renewed = renewal.once()
    if renewed is None:
        cli.emit({"renewed": False, "cert": str(cert)}, f"{cert} is not due for renewal yet")
        return
    cli.emit({"renewed": True, "serial": f"{renewed.serial_number:X}", "cert": str(cert),
              "not_after": renewed.not_valid_after_utc.isoformat()},
             f"renewed: serial {renewed.serial_number:X}, valid to {renewed.not_valid_after_utc:%Y-%m-%d}")


def _timedelta(text: str, option: str):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(seconds=_seconds(text, option))
