"""The CA home's `s1spki.toml`: where the policy, RAPP, database, HSM and credentials are."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from s1spki.datafile import Problems, Table, load_toml
from s1spki.errors import ConfigError, UsageError
from s1spki.home.secret_source import SecretSource

CONFIG_NAME = "s1spki.toml"
DEFAULT_TOKEN_LABEL = "s1spki"


@dataclass(frozen=True)
class HsmConfig:
    module: str  # a module path, or "softhsm" for the installed SoftHSM2
    token_label: str
    pin: SecretSource
    softhsm_conf: Path | None


@dataclass(frozen=True)
class AuditConfig:
    """[audit]: how often the chain head is checkpointed, and the file outside the database that keeps them."""

    checkpoint_every: int = 1000  # records; a checkpoint is also signed at the end of every command
    checkpoints_file: Path = Path("audit/checkpoints.jsonl")


@dataclass(frozen=True)
class Config:
    home: Path
    policy_dir: Path
    rapp_dir: Path
    database_url: str
    hsm: HsmConfig
    credential_dirs: tuple[Path, ...]
    audit: AuditConfig = AuditConfig()


def resolve_home(option: Path | None) -> Path:
    """`--home`, else $S1SPKI_HOME, else ./s1spki-home (interface.md)."""
    if option is not None:
        return option.expanduser().resolve()
    env = os.environ.get("S1SPKI_HOME")
    return Path(env).expanduser().resolve() if env else Path("s1spki-home").resolve()


def load_config(home: Path) -> Config:
    path = home / CONFIG_NAME
    if not path.is_file():
        raise UsageError(f"{home} is not an s1spki CA home (no {CONFIG_NAME}): run `s1spki init` or give --home")
    problems = Problems()
    doc = Table(load_toml(path, problems, str(path)), str(path), "", problems)

    ca = doc.table("ca")
    policy_dir = _under(home, ca.str("policy_dir", "policy"))
    rapp_dir = _under(home, ca.str("rapp_dir", "rapp"))
    ca.finish()

    database = doc.table("database")
    url = database.str("url", None)
    url_env = database.str("url_env", None)
    database.finish()
    database_url = _database_url(home, url, url_env, database)

    hsm = doc.table("hsm")
    module = hsm.str("module")
    token_label = hsm.str("token_label")
    conf = hsm.str("softhsm_conf", None)
    pin = _pin_source(home, hsm)
    hsm.finish()

    creds = doc.table("credentials", required=False)
    dirs = creds.str_list("dirs", ("credentials",))
    creds.finish()
    audit = doc.table("audit", required=False)
    every = audit.int("checkpoint_every", AuditConfig.checkpoint_every, minimum=1)
    checkpoints = audit.str("checkpoints_file", str(AuditConfig.checkpoints_file))
    audit.finish()
    doc.finish()
    problems.raise_if_any("configuration")
    return Config(
        home=home,
        policy_dir=policy_dir,
        rapp_dir=rapp_dir,
        database_url=database_url,
        hsm=HsmConfig(module, token_label, pin, _under(home, conf) if conf else None),
        credential_dirs=tuple(_under(home, d) for d in dirs),
        audit=AuditConfig(every or AuditConfig.checkpoint_every, _under(home, checkpoints)),
    )


def _under(home: Path, value: str | None) -> Path:
    path = Path(value or ".").expanduser()
    return path if path.is_absolute() else home / path


def _database_url(home: Path, url: str | None, url_env: str | None, table: Table) -> str:
    """A relative SQLite path is taken against the home; a URL with a password belongs in url_env."""
    if url_env:
        value = os.environ.get(url_env, "")
        if not value:
            raise ConfigError(f"database URL is expected in environment variable {url_env}, which is not set")
        return value
    if not url:
        table.check("url", False, "give url or url_env")
        return ""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        return prefix + str(home / url[len(prefix):])
    return url


def _pin_source(home: Path, table: Table) -> SecretSource:
    pin_file = table.str("pin_file", None)
    pin_env = table.str("pin_env", None)
    if pin_file and pin_env:
        table.check("pin_file", False, "give pin_file or pin_env, not both")
    if pin_file:
        return SecretSource("file", str(_under(home, pin_file)))
    if pin_env:
        return SecretSource("env", pin_env)
    return SecretSource("prompt")


_CONFIG_HEADER = """\
# s1spki CA home configuration. Secrets never go here: name a file or an environment variable.
#   [ca]           policy_dir, rapp_dir: the certificate policy and the RAPP in force (reviewed copies)
#   [database]     url: SQLite by default; for PostgreSQL with a password use url_env = "VAR"
#   [hsm]          module ("softhsm" or a PKCS#11 module path), token_label, and pin_file or pin_env
#   [credentials]  dirs: folders holding operators' <name>.credential.toml files (`s1spki operator keygen`)
#   [audit]        checkpoint_every: the chain head is signed by the audit key at the end of every command and
#                  at least this often; checkpoints_file: signed checkpoints are also appended here, outside
#                  the database (best on other, append-only storage)

"""


def render_config(*, module: str, token_label: str, softhsm_conf: str | None, pin_file: str | None,
                  pin_env: str | None, database_url: str) -> str:
    """The text of a new s1spki.toml (written once by `init`, then edited by people)."""
    hsm: dict[str, str] = {"module": module, "token_label": token_label}
    if softhsm_conf:
        hsm["softhsm_conf"] = softhsm_conf
    if pin_file:
        hsm["pin_file"] = pin_file
    elif pin_env:
        hsm["pin_env"] = pin_env
    document = {
        "ca": {"policy_dir": "policy", "rapp_dir": "rapp"},
        "database": {"url": database_url},
        "hsm": hsm,
        "credentials": {"dirs": ["credentials"]},
        "audit": {"checkpoint_every": AuditConfig.checkpoint_every,
                  "checkpoints_file": AuditConfig.checkpoints_file.as_posix()},
    }
    return _CONFIG_HEADER + tomli_w.dumps(document)
