"""RA personnel, key custodians and auditors: their credentials and registration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import AS_HELP, CliContext, get
from s1spki.errors import NotFound, UsageError
from s1spki.home.secret_source import source_from_flags

if TYPE_CHECKING:
    from s1spki.policy import NameLimits

app = typer.Typer(help="Operators: make credentials, register, list, show and withdraw RA personnel.",
                  no_args_is_help=True)


@app.command("keygen")
def keygen(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The operator's name."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the credential (default: HOME/credentials)."),
    passphrase_file: Path | None = typer.Option(None, "--passphrase-file", help="File holding the key's passphrase."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", help="Variable holding the passphrase."),
    pkcs11_module: str | None = typer.Option(
        None, "--pkcs11-module", help="Put the key on a token of this PKCS#11 module ('softhsm' for SoftHSM)."),
    pkcs11_token: str | None = typer.Option(None, "--pkcs11-token", help="Label of that token."),
    softhsm_conf: Path | None = typer.Option(None, "--softhsm-conf", help="SoftHSM config of that token."),
) -> None:
    """Make a P-256 credential: an encrypted PEM key file, or a key on a PKCS#11 token (--pkcs11-*)."""
    from s1spki.credentials import keygen_file, keygen_pkcs11
    from s1spki.ra.staff import public_key_pem
    from s1spki.values.names import operator_name

    cli = get(ctx)
    operator_name(name, _name_limits(cli).operator)  # before anything is read or written
    folder = (out or cli.home / "credentials").resolve()
    secret = source_from_flags(passphrase_file, passphrase_env, "the passphrase or PIN")
    if pkcs11_module or pkcs11_token:
        if not (pkcs11_module and pkcs11_token):
            raise UsageError("a token credential needs both --pkcs11-module and --pkcs11-token")
        descriptor, public = keygen_pkcs11(name, folder, secret, pkcs11_module, pkcs11_token,
                                           softhsm_conf.resolve() if softhsm_conf else None)
    else:
        descriptor, public = keygen_file(name, folder, secret)
    cli.emit({"operator": name, "credential": str(descriptor), "public_key_file": str(folder / f"{name}.pub.pem"),
              "public_key_pem": public_key_pem(public)},
             f"credential for {name}: {descriptor}\npublic key: {folder / f'{name}.pub.pem'}")


def _name_limits(cli: CliContext) -> NameLimits:
    """The name limits of the home's policy; before `init` (credentials are made first), the shipped policy's."""
    from s1spki.home.config import CONFIG_NAME

    if (cli.home / CONFIG_NAME).is_file():
        return cli.runtime.policy_as_written().names
    from s1spki.home.shipped import data_dir
    from s1spki.policy import load_policy

    return load_policy(data_dir("policy")).names


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The new operator's name."),
    role: list[str] = typer.Option(..., "--role", help="Role from rapp/roles.toml, e.g. ra_officer (repeat)."),
    public_key: Path = typer.Option(..., "--public-key", help="The operator's P-256 public key (PEM)."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Register an operator with a role and public key."""
    from s1spki.credentials.credential import load_public_key
    from s1spki.ra.staff import add_operator

    cli = get(ctx)
    record = add_operator(cli.command(as_), name, tuple(role), load_public_key(public_key))
    cli.emit(record.as_dict(), f"operator {record.name} registered as {', '.join(record.roles)}")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The operator to withdraw."),
    as_: list[str] = typer.Option([], "--as", help=AS_HELP),
) -> None:
    """Withdraw an operator: from now on they may not act."""
    from s1spki.ra.staff import withdraw_operator

    cli = get(ctx)
    record = withdraw_operator(cli.command(as_), name)
    cli.emit(record.as_dict(), f"operator {record.name} withdrawn")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List operators with their roles and status."""
    cli = get(ctx)
    records = cli.runtime.store.reader.operators()
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("operators", ["name", "roles", "status", "key sha256"],
                               [[r.name, " ".join(r.roles), r.status, r.key_sha256[:16]] for r in records]))


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="Operator name.")) -> None:
    """Show one operator."""
    cli = get(ctx)
    record = cli.runtime.store.reader.operator(name)
    if record is None:
        raise NotFound(f"unknown operator {name!r}")
    cli.emit(record.as_dict(), "\n".join(f"{k}: {v}" for k, v in record.as_dict().items()))
