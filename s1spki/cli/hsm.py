"""The HSM: probe a module and token before trusting it with keys, and see which keys live on the token."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer

from s1spki.cli.context import CliContext, get
from s1spki.cli.table import Column
from s1spki.errors import ConfigError, HsmError, S1spkiError, UsageError

app = typer.Typer(help="The HSM: probe a module and token (mechanisms, login); status of the keys on the token.",
                  no_args_is_help=True)


def _settings(cli: CliContext, profile: Path | None) -> tuple[str, str, Any, Path | None]:
    """(module, token label, PIN source, SoftHSM config) from a profile's [hsm] table, else the home's."""
    from s1spki.home.config import HsmConfig, load_config
    from s1spki.home.secret_source import SecretSource
    from s1spki.hsm import find_softhsm_module

    if profile is None:
        hsm: HsmConfig = load_config(cli.home).hsm
        module, label, pin, conf = hsm.module, hsm.token_label, hsm.pin, hsm.softhsm_conf
    else:
        try:
            table = tomllib.loads(profile.read_text(encoding="utf-8")).get("hsm")
        except OSError as exc:
            raise UsageError(f"cannot read --profile {profile}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{profile}: not TOML: {exc}") from None
        if not isinstance(table, dict) or not isinstance(table.get("module"), str) \
                or not isinstance(table.get("token_label"), str):
            raise ConfigError(f"{profile}: hsm: give module and token_label (hsm_config/README.md)")
        module, label, conf = table["module"], table["token_label"], None
        pin = (SecretSource("env", str(table["pin_env"])) if table.get("pin_env") else
               SecretSource("file", str(Path(str(table["pin_file"])).expanduser())) if table.get("pin_file") else
               SecretSource("prompt"))
    return (find_softhsm_module() if module == "softhsm" else module), label, pin, conf


@app.command("probe", epilog="Example: s1spki hsm probe --profile hsm_config/profiles/thales-luna.toml")
def probe(
    ctx: typer.Context,
    profile: Path | None = typer.Option(None, "--profile", metavar="FILE",
                                        help="An HSM profile's [hsm] table (hsm_config/profiles/) instead of the "
                                             "home's s1spki.toml: probe a real HSM before `init`."),
) -> None:
    """List the module's slots and tokens, check that the token offers the mechanisms s1spki needs (EC key
    generation, CKM_ECDSA, a generic secret key and CKM_SHA256_HMAC) and log in with the configured PIN source;
    ends with a one-line verdict (exit 0 ready, 5 not). Nothing is created on the token."""
    from s1spki.hsm.probe import probe as probe_module

    cli = get(ctx)
    module, label, pin, conf = _settings(cli, profile)
    report = probe_module(module, label, lambda: pin.read(f"the PIN of token {label!r}", error=HsmError), conf)
    if not cli.json:
        cli.table(f"slots of {module}", ["slot", Column("description", wrap=True), Column("token", wrap=True),
                                         "serial", Column("model", wrap=True)],
                  [[s.slot_id, s.description, s.token_label or "(no token)", s.token_serial, s.token_model]
                   for s in report.slots])
        for name, offered in report.mechanisms.items():
            print(f"{name}: {'offered' if offered else 'MISSING'}")
        print(f"login with {pin.describe()}: {report.login}")
    if not report.ok:
        raise HsmError(f"hsm probe: token '{label}' in {module} is not ready: {'; '.join(report.problems)}",
                       **report.as_dict())
    cli.emit(report.as_dict(), f"hsm probe: token '{label}' in {module} is ready: the mechanisms s1spki needs are "
                               "offered and the PIN logs in")


@app.command("status", epilog="Example: s1spki hsm status")
def status(ctx: typer.Context) -> None:
    """Which keys live on the home's tokens, read from the tokens: the CA token and the audit token (each its own
    PIN), each private and secret key with its attributes, and what it is to this home (a CA key, the audit key,
    the record key) as the database says."""
    from s1spki.hsm.probe import key_reports
    from s1spki.runtime import RECORD_KEY_PREFIX

    cli = get(ctx)
    runtime = cli.runtime
    uses: dict[str, str] = {}
    try:
        reader = runtime.store.reader
        uses.update({ca.key_label: f"{ca.kind} CA {ca.name}" for ca in reader.cas()})
        uses.update({s["key_label"]: "audit key" for s in reader.audit_signers()})
    except S1spkiError:
        pass  # the tokens' own account stands without the database
    tokens: list[dict[str, Any]] = []
    for holds, hsm in (("CA keys", runtime.hsm()), ("audit and record keys", runtime.audit_hsm())):
        token = hsm.token_info()
        if any(t["token"]["label"] == token.label for t in tokens):
            tokens[-1]["holds"] = "CA, audit and record keys"  # a home made before the tokens were apart
            continue
        rows = [{"label": k.label, "class": k.kind, "type": k.key_type,
                 "use": uses.get(k.label) or ("record key" if k.label.startswith(RECORD_KEY_PREFIX) else ""),
                 **k.attributes} for k in key_reports(hsm)]
        tokens.append({"token": token.as_dict(), "holds": holds, "keys": rows})
    data = {"tokens": tokens, "keys": [{**row, "token": t["token"]["label"]} for t in tokens for row in t["keys"]]}

    def human() -> None:
        for entry in tokens:
            token = entry["token"]
            print(f"token '{token['label']}' ({entry['holds']}; serial {token['serial']}, {token['manufacturer']} "
                  f"{token['model']})")
            cli.table("keys", [Column("label"), "class", "type", Column("use", wrap=True), "sensitive",
                               "extractable", "local"],
                      [[r["label"], r["class"], r["type"], r["use"], r.get("sensitive"), r.get("extractable"),
                        r.get("local")] for r in entry["keys"]])

    cli.emit(data, human)
