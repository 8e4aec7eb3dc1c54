"""Create a CA home: s1spki.toml, copies of policy/ and rapp/, the database, and with --softhsm a private
SoftHSM token under the home. Registers the first key custodians and RA managers from their public keys."""

from __future__ import annotations

from pathlib import Path

import typer

from s1spki.cli.context import get, note
from s1spki.errors import UsageError
from s1spki.home.config import DEFAULT_TOKEN_LABEL
from s1spki.values.clock import Clock


def _people(values: list[str], kind: str) -> list[tuple[str, str, object]]:
    from s1spki.credentials.credential import load_public_key

    people = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--{kind} takes NAME=PUBLIC_KEY_FILE, not {value!r}")
        people.append((name, kind, load_public_key(Path(path))))
    return people


def init(
    ctx: typer.Context,
    softhsm: bool = typer.Option(False, "--softhsm", help="Create a private SoftHSM2 token under the home."),
    module: str | None = typer.Option(None, "--module", help="PKCS#11 module of a real HSM (instead of --softhsm)."),
    token_label: str = typer.Option(DEFAULT_TOKEN_LABEL, "--token-label", help="Label of the HSM token."),
    pin_file: Path | None = typer.Option(None, "--pin-file", help="File holding the token's user PIN "
                                         "(with --softhsm and no such file, a random PIN is written there)."),
    pin_env: str | None = typer.Option(None, "--pin-env", help="Environment variable holding the user PIN."),
    custodian: list[str] = typer.Option([], "--custodian", help="Key custodian as NAME=PUBLIC_KEY_FILE (repeat)."),
    ra_manager: list[str] = typer.Option([], "--ra-manager", help="RA manager as NAME=PUBLIC_KEY_FILE (repeat)."),
    database_url: str | None = typer.Option(None, "--database-url",
                                            help="SQLAlchemy URL (default: SQLite s1spki.db in the home)."),
    policy: Path | None = typer.Option(None, "--policy", help="policy/ folder to copy (default: the shipped one)."),
    rapp: Path | None = typer.Option(None, "--rapp", help="rapp/ folder to copy (default: the shipped one)."),
) -> None:
    from s1spki.ra.initialise import InitOptions, initialise

    cli = get(ctx)
    people = _people(custodian, "custodian") + _people(ra_manager, "manager")
    result = initialise(InitOptions(cli.home, softhsm, module, token_label, pin_file, pin_env, database_url, policy,
                                    rapp, tuple(people)), Clock())  # type: ignore[arg-type]
    cli.emit(result, f"initialised CA home {cli.home} (operators: {', '.join(result['operators']) or 'none'})")
    if not cli.json:
        note("next: `s1spki ceremony root --as CUSTODIAN --as CUSTODIAN`")
