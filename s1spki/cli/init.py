"""Create a CA home: s1spki.toml, copies of policy/ and rapp/, the database, and with --softhsm private SoftHSM
tokens under the home (one for the CA keys, one for the audit and record keys, each with a PIN of its own).
Registers the first key custodians and RA managers from their public keys.

A root home (--root) holds the offline root; an online home the issuing CAs, and pins the root it trusts
(--root-cert, --root-fingerprint). With --join, the home of a further online node of an existing store (one
PostgreSQL database, one HSM): no key and no schema is made, two key custodians add it (--as, twice)."""

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
                                            help="SQLAlchemy URL without a password (default: SQLite s1spki.db in "
                                                 "the home)."),
    database_url_file: Path | None = typer.Option(None, "--database-url-file", metavar="FILE",
                                                  help="File (mode 0600) holding the database URL with its password; "
                                                       "s1spki.toml names the file."),
    database_url_env: str | None = typer.Option(None, "--database-url-env", metavar="VAR",
                                                help="Environment variable holding the database URL with its "
                                                     "password; s1spki.toml names the variable."),
    node_id: str | None = typer.Option(None, "--node-id", metavar="ID",
                                       help="This node's id, recorded in its audit records (with --join: default "
                                            "node-N, the first N not taken)."),
    join: bool = typer.Option(False, "--join", help="Make a further node of the existing store named by "
                              "--database-url-file/-env: no new keys or schema; needs --as twice (key custodians)."),
    softhsm_token_dir: Path | None = typer.Option(None, "--softhsm-token-dir", metavar="DIR",
                                                  help="With --join: the SoftHSM token directory of the first node "
                                                       "(the shared HSM)."),
    credentials: list[Path] = typer.Option([], "--credentials", metavar="DIR",
                                           help="With --join: a folder of operators' credentials (repeat)."),
    est_listen: str | None = typer.Option(None, "--est-listen", metavar="HOST:PORT",
                                          help="This node's EST listen address, kept in its s1spki.toml."),
    as_: list[str] = typer.Option([], "--as", metavar="NAME", help="With --join: the key custodians who add the "
                                  "node (repeat)."),
    policy: Path | None = typer.Option(None, "--policy", help="policy/ folder to copy (default: the shipped one)."),
    rapp: Path | None = typer.Option(None, "--rapp", help="rapp/ folder to copy (default: the shipped one)."),
) -> None:
    from s1spki.ra.initialise import DatabaseChoice, InitOptions, TokenOptions, initialise

    cli = get(ctx)
    database = DatabaseChoice.from_flags(database_url, database_url_file, database_url_env)
    if join:
        _join(ctx, database, node_id, module, softhsm_token_dir, token_label, pin_file, pin_env, audit_token_label,
              audit_pin_file, audit_pin_env, credentials, policy, rapp, est_listen, as_,
              softhsm or root_home or bool(custodian or ra_manager or root_cert or root_fingerprint))
        return
    if as_ or softhsm_token_dir or credentials:
        raise UsageError("--as, --softhsm-token-dir and --credentials are for --join")
    people = _people(custodian, "custodian") + _people(ra_manager, "manager")
    if root_home and root_cert is not None:
        raise UsageError("a root home makes its own root at `ceremony root`: --root-cert is for online homes")
    label = token_label or (f"{DEFAULT_TOKEN_LABEL}-root" if root_home else DEFAULT_TOKEN_LABEL)
    audit = TokenOptions(audit_token_label or f"{label}-audit", audit_pin_file, audit_pin_env)
    result = initialise(InitOptions(cli.home, softhsm, module, label, pin_file, pin_env, database_url, policy,
                                    rapp, tuple(people), kind="root" if root_home else "online",  # type: ignore[arg-type]
                                    audit_token=audit, root_certificate=_root(root_cert),
                                    root_fingerprint=root_fingerprint, database=database, node_id=node_id,
                                    est_listen=est_listen), Clock())
    cli.emit(result, f"initialised {result['kind']} CA home {cli.home} (operators: "
                     f"{', '.join(result['operators']) or 'none'})")
    if not cli.json:
        note("next: `s1spki ceremony root --as CUSTODIAN --as CUSTODIAN`" if root_home else
             "next: `s1spki ceremony issuing --as CUSTODIAN --as CUSTODIAN` writes the request bundle for the root")


def _join(ctx: typer.Context, database: object, node_id: str | None, module: str | None, token_dir: Path | None,
          token_label: str | None, pin_file: Path | None, pin_env: str | None, audit_token_label: str | None,
          audit_pin_file: Path | None, audit_pin_env: str | None, credentials: list[Path], policy: Path | None,
          rapp: Path | None, est_listen: str | None, as_: list[str], first_node_flags: bool) -> None:
    from s1spki.ra.join import JoinOptions, join

    cli = get(ctx)
    if first_node_flags:
        raise UsageError("--join makes a further node of an existing store: --softhsm, --root, --custodian, "
                         "--ra-manager and --root-cert belong to the first node's init")
    if database is None:
        raise UsageError("--join needs the shared store: give --database-url-file FILE or --database-url-env VAR")
    label = token_label or DEFAULT_TOKEN_LABEL
    result = join(JoinOptions(cli.home, database, tuple(as_), tuple(credentials), node_id, module,  # type: ignore[arg-type]
                              token_dir, label, pin_file, pin_env, audit_token_label or f"{label}-audit",
                              audit_pin_file, audit_pin_env, policy, rapp, est_listen), Clock())
    cli.emit(result, f"node {result['node_id']} joined the store of CA home {result['home_id']} (nodes: "
                     f"{', '.join(result['nodes'])}); its checkpoints go to {result['checkpoints_file']}")


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
