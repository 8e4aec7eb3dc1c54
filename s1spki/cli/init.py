"""Create a CA home: s1spki.toml, copies of policy/ and rapp/, the database, and with --softhsm private SoftHSM
tokens under the home (one for the CA keys, one for the audit and record keys, each with a PIN of its own).
Registers the first key custodians and RA managers from their public keys.

A root home (--root) holds the offline root; an online home the issuing CAs, and pins the root it trusts
(--root-cert, --root-fingerprint)."""

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
    root_home: bool = typer.Option(False, "--root", help="Make a root home: the offline root, which signs issuing "
                                   "CA certificates and the ARL from bundles and never serves a network."),
    root_cert: Path | None = typer.Option(None, "--root-cert", metavar="FILE",
                                          help="Online home: the root certificate it trusts (PEM, from the root "
                                               "home)."),
    root_fingerprint: str | None = typer.Option(None, "--root-fingerprint", metavar="SHA256",
                                                help="Online home: the root certificate's SHA-256, as the root "
                                                     "ceremony's transcript gives it."),
    token_label: str | None = typer.Option(None, "--token-label", help="Label of the CA keys' token (default "
                                           f"{DEFAULT_TOKEN_LABEL}, or {DEFAULT_TOKEN_LABEL}-root in a root home)."),
    pin_file: Path | None = typer.Option(None, "--pin-file", help="File holding the CA token's user PIN "
                                         "(with --softhsm and no such file, a random PIN is written there)."),
    pin_env: str | None = typer.Option(None, "--pin-env", help="Environment variable holding the CA token's PIN."),
    audit_token_label: str | None = typer.Option(None, "--audit-token-label",
                                                 help="Label of the audit and record keys' token (default: the CA "
                                                      "token's label with -audit)."),
    audit_pin_file: Path | None = typer.Option(None, "--audit-pin-file", help="File holding the audit token's PIN "
                                               "(another than the CA token's)."),
    audit_pin_env: str | None = typer.Option(None, "--audit-pin-env",
                                             help="Environment variable holding the audit token's PIN."),
    custodian: list[str] = typer.Option([], "--custodian", help="Key custodian as NAME=PUBLIC_KEY_FILE (repeat)."),
    ra_manager: list[str] = typer.Option([], "--ra-manager", help="RA manager as NAME=PUBLIC_KEY_FILE (repeat)."),
    database_url: str | None = typer.Option(None, "--database-url",
                                            help="SQLAlchemy URL (default: SQLite s1spki.db in the home)."),
    policy: Path | None = typer.Option(None, "--policy", help="policy/ folder to copy (default: the shipped one)."),
    rapp: Path | None = typer.Option(None, "--rapp", help="rapp/ folder to copy (default: the shipped one)."),
) -> None:
    from s1spki.ra.initialise import InitOptions, TokenOptions, initialise

    cli = get(ctx)
    people = _people(custodian, "custodian") + _people(ra_manager, "manager")
    if root_home and root_cert is not None:
        raise UsageError("a root home makes its own root at `ceremony root`: --root-cert is for online homes")
    label = token_label or (f"{DEFAULT_TOKEN_LABEL}-root" if root_home else DEFAULT_TOKEN_LABEL)
    audit = TokenOptions(audit_token_label or f"{label}-audit", audit_pin_file, audit_pin_env)
    result = initialise(InitOptions(cli.home, softhsm, module, label, pin_file, pin_env, database_url, policy,
                                    rapp, tuple(people), kind="root" if root_home else "online",  # type: ignore[arg-type]
                                    audit_token=audit, root_certificate=_root(root_cert),
                                    root_fingerprint=root_fingerprint), Clock())
    cli.emit(result, f"initialised {result['kind']} CA home {cli.home} (operators: "
                     f"{', '.join(result['operators']) or 'none'})")
    if not cli.json:
        note("next: `s1spki ceremony root --as CUSTODIAN --as CUSTODIAN`" if root_home else
             "next: `s1spki ceremony issuing --as CUSTODIAN --as CUSTODIAN` writes the request bundle for the root")


def _root(path: Path | None) -> object:
    from cryptography import x509

    if path is None:
        return None
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read --root-cert {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"--root-cert {path} is not a PEM certificate") from None
