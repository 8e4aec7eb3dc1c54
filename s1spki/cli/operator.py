"""RA personnel, key custodians and auditors: their credentials and registration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import CliContext, get
from s1spki.cli.params import as_option, operator_argument
from s1spki.cli.table import Column
from s1spki.errors import NotFound, PolicyRefused, S1spkiError, UsageError
from s1spki.home.secret_source import source_from_flags

if TYPE_CHECKING:
    from s1spki.policy import NameLimits

app = typer.Typer(help="Operators: make credentials, register, rekey, list, show and withdraw RA personnel.",
                  no_args_is_help=True)

GRANT_HELP = "the people rapp/roles.toml [grants] names for the role, e.g. an RA manager and a key custodian"


@app.command("keygen", epilog="Example: s1spki operator keygen dave (the passphrase is asked twice)")
def keygen(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The operator's name."),
    credentials_dir: Path | None = typer.Option(None, "--credentials-dir", "--out", metavar="DIR",
                                                help="Folder for the credential (default: HOME/credentials)."),
    passphrase_file: Path | None = typer.Option(None, "--passphrase-file", metavar="FILE",
                                                help="File holding the key's passphrase (default: asked twice)."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="VAR",
                                              help="Variable holding the passphrase."),
    pkcs11_module: str | None = typer.Option(
        None, "--pkcs11-module", metavar="MODULE",
        help="Put the key on a token of this PKCS#11 module ('softhsm' for SoftHSM)."),
    pkcs11_token: str | None = typer.Option(None, "--pkcs11-token", metavar="LABEL", help="Label of that token."),
    softhsm_conf: Path | None = typer.Option(None, "--softhsm-conf", metavar="FILE",
                                             help="SoftHSM config of that token."),
) -> None:
    """Make a P-256 credential: an encrypted PEM key file, or a key on a PKCS#11 token (--pkcs11-*)."""
    from s1spki.credentials import keygen_file, keygen_pkcs11
    from s1spki.ra.staff import public_key_pem
    from s1spki.values.names import operator_name

    cli = get(ctx)
    operator_name(name, _name_limits(cli).operator)  # before anything is read or written
    _refuse_case_twin(cli, name)
    folder = (credentials_dir or cli.home / "credentials").resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--credentials-dir {folder} is not a folder")
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


def _refuse_case_twin(cli: CliContext, name: str) -> None:
    """As `operator add` does: no name that differs from a registered operator's only in case."""
    from s1spki.home.config import CONFIG_NAME

    if not (cli.home / CONFIG_NAME).is_file():
        return  # before init nobody is registered
    try:
        registered = cli.runtime.store.reader.operators()
    except S1spkiError:
        return  # a credential is made without the database; `operator add` checks again
    for existing in registered:
        if existing.name != name and existing.name.casefold() == name.casefold():
            raise PolicyRefused(f"operator name {name!r} differs from operator {existing.name!r} only in case: "
                                "choose a name of its own")


@app.command("add", epilog="Example: s1spki operator add dave --role ra_officer --public-key "
                           "ca/credentials/dave.pub.pem --as carol --as alice")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The new operator's name."),
    role: list[str] = typer.Option(..., "--role", metavar="ROLE",
                                   help="Role from rapp/roles.toml, e.g. ra_officer (repeat)."),
    public_key: Path = typer.Option(..., "--public-key", metavar="FILE", help="The operator's P-256 public key (PEM)."),
    as_: list[str] = as_option(GRANT_HELP),
) -> None:
    """Register an operator with a role and public key, granted by the people rapp/roles.toml [grants] names."""
    from s1spki.credentials.credential import load_public_key
    from s1spki.ra.staff import add_operator

    cli = get(ctx)
    record = add_operator(cli.command(as_), name, tuple(role), load_public_key(public_key))
    cli.emit(record.as_dict(), f"operator {record.name} registered as {', '.join(record.roles)}")


@app.command("rekey", epilog="Example: s1spki operator rekey dave --public-key ca/credentials/dave.pub.pem "
                             "--as carol --as alice")
def rekey(
    ctx: typer.Context,
    name: str = operator_argument("The operator whose key is replaced."),
    public_key: Path = typer.Option(..., "--public-key", metavar="FILE",
                                    help="The operator's new P-256 public key (PEM), e.g. from `operator keygen`."),
    as_: list[str] = as_option("the people rapp/roles.toml [grants] names for the operator's roles"),
) -> None:
    """Register a new public key for an operator whose key is lost or replaced: granted as their roles are
    (rapp/roles.toml [grants]; the operator being rekeyed never counts). Their old key no longer signs."""
    from s1spki.credentials.credential import load_public_key
    from s1spki.ra.staff import rekey_operator

    cli = get(ctx)
    record = rekey_operator(cli.command(as_), name, load_public_key(public_key))
    cli.emit(record.as_dict(), f"operator {record.name} rekeyed: key sha256 {record.key_sha256}")


@app.command("withdraw", epilog="Example: s1spki operator withdraw dave --as carol --as alice")
def withdraw(
    ctx: typer.Context,
    name: str = operator_argument("The operator to withdraw."),
    as_: list[str] = as_option(GRANT_HELP),
) -> None:
    """Withdraw an operator: from now on they may not act."""
    from s1spki.ra.staff import withdraw_operator

    cli = get(ctx)
    record = withdraw_operator(cli.command(as_), name)
    cli.emit(record.as_dict(), f"operator {record.name} withdrawn")


@app.command("list", epilog="Example: s1spki operator list")
def list_(ctx: typer.Context) -> None:
    """List operators with their roles, status and the SHA-256 of their public key."""
    cli = get(ctx)
    records = cli.runtime.store.reader.operators()
    cli.emit([r.as_dict() for r in records],
             lambda: cli.table("operators", [Column("name"), Column("roles", wrap=True), "status", "key sha256"],
                               [[r.name, " ".join(r.roles), r.status, r.key_sha256] for r in records]))


@app.command("show", epilog="Example: s1spki operator show dave")
def show(ctx: typer.Context, name: str = operator_argument("The operator.")) -> None:
    """Show one operator."""
    cli = get(ctx)
    record = cli.runtime.store.reader.operator(name)
    if record is None:
        raise NotFound(f"unknown operator {name!r}: see `s1spki operator list`")
    cli.emit(record.as_dict(), "\n".join(f"{k}: {v}" for k, v in record.as_dict().items()))
