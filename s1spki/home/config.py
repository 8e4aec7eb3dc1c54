"""The CA home's `s1spki.toml`: where the policy, RAPP, database, HSM and credentials are."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from s1spki.errors import ConfigError, UsageError
from s1spki.home.secret_source import SecretSource
from s1spki.values.datafile import DataFolder

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
    # further sinks that receive every checkpoint: files (best on other, append-only storage) and syslog
    # collectors ("syslog://HOST:PORT" over UDP, or "syslog:/dev/log")
    sink_files: tuple[Path, ...] = ()
    syslog_sinks: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file that receives the checkpoints: the checkpoint file, then the further file sinks."""
        return (self.checkpoints_file, *self.sink_files)


@dataclass(frozen=True)
class Config:
    home: Path
    policy_dir: Path
    rapp_dir: Path
    database_url: str
    hsm: HsmConfig
    credential_dirs: tuple[Path, ...]
    audit: AuditConfig = AuditConfig()
    audit_hsm: HsmConfig | None = None  # the token of the audit and record keys; None: the CA keys' token
    # per node when several share one store: its id (None: the original node) and EST listen address
    node_id: str | None = None
    est_listen: str | None = None


def resolve_home(option: Path | None) -> Path:
    """`--home`, else $S1SPKI_HOME, else ./s1spki-home (interface.md)."""
    if option is not None:
        return option.expanduser().resolve()
    env = os.environ.get("S1SPKI_HOME")
    return Path(env).expanduser().resolve() if env else Path("s1spki-home").resolve()


def load_config(home: Path) -> Config:
    """Read HOME/s1spki.toml strictly (every problem reported together, as `file: key.path: reason`)."""
    path = home / CONFIG_NAME
    if not path.is_file():
        raise UsageError(f"{home} is not an s1spki CA home (no {CONFIG_NAME}): run `s1spki init` or give --home")
    from s1spki.home.config_schema import ConfigFile  # pydantic is loaded only when a file is read

    folder = DataFolder(home, "configuration")
    doc = folder.read(CONFIG_NAME, ConfigFile)
    folder.raise_if_any()
    assert doc is not None
    return Config(
        home=home,
        policy_dir=_under(home, doc.ca.policy_dir),
        rapp_dir=_under(home, doc.ca.rapp_dir),
        database_url=_database_url(home, doc.database.url, doc.database.url_env, doc.database.url_file),
        hsm=_hsm(home, doc.hsm),
        audit_hsm=_hsm(home, doc.audit_hsm) if doc.audit_hsm is not None else None,
        credential_dirs=tuple(_under(home, d) for d in doc.credentials.dirs),
        audit=AuditConfig(doc.audit.checkpoint_every, _under(home, doc.audit.checkpoints_file),
                          tuple(_under(home, s) for s in doc.audit.sinks if not s.startswith("syslog:")),
                          tuple(s for s in doc.audit.sinks if s.startswith("syslog:"))),
        node_id=doc.node.id if doc.node is not None else None,
        est_listen=doc.est.listen,
    )


def _hsm(home: Path, table: Any) -> HsmConfig:
    if table.pin_file:
        pin = SecretSource("file", str(_under(home, table.pin_file)))
    elif table.pin_env:
        pin = SecretSource("env", table.pin_env)
    else:
        pin = SecretSource("prompt")
    return HsmConfig(table.module, table.token_label, pin, _under(home, table.softhsm_conf) if table.softhsm_conf
                     else None)


def _under(home: Path, value: str | None) -> Path:
    path = Path(value or ".").expanduser()
    return path if path.is_absolute() else home / path


def _database_url(home: Path, url: str | None, url_env: str | None, url_file: str | None = None) -> str:
    """A relative SQLite path is taken against the home; a URL with a password belongs in url_env or url_file."""
    if url_env:
        value = os.environ.get(url_env, "")
        if not value:
            raise ConfigError(f"database URL is expected in environment variable {url_env}, which is not set")
        return value
    if url_file:
        return SecretSource("file", str(_under(home, url_file))).read("the database URL", error=ConfigError)
    assert url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        return prefix + str(home / url[len(prefix):])
    return url


_CONFIG_HEADER = """\
# s1spki CA home configuration. Secrets never go here: name a file or an environment variable.
#   [ca]           policy_dir, rapp_dir: the certificate policy and the RAPP in force (reviewed copies)
#   [database]     url: SQLite by default; for PostgreSQL with a password use url_file = "FILE" (0600, the URL
#                  on one line) or url_env = "VAR": never the password itself here
#   [hsm]          the CA keys' token: module ("softhsm" or a PKCS#11 module path), token_label, pin_file or pin_env
#   [audit_hsm]    the audit and record keys' token, with a PIN source of its own (the same keys as [hsm])
#   [credentials]  dirs: folders holding operators' <name>.credential.toml files (`s1spki operator keygen`)
#   [audit]        checkpoint_every: the chain head is signed by the audit key at the end of every command and
#                  at least this often; checkpoints_file: signed checkpoints are also appended here, outside
#                  the database (best on other, append-only storage); sinks: more places that receive every
#                  checkpoint: file paths, "syslog://HOST:PORT" (UDP) or "syslog:/dev/log"
#   [node]         id: this node's id when several nodes share one PostgreSQL store (`init --join`); absent on
#                  the original node. [hsm], [audit_hsm], [database], [audit] and [est] are this node's own;
#                  what all nodes share (the CA, its keys' records, the pinned root, the adopted policy/ and
#                  rapp/ hashes, the nodes and their checkpoint files) is kept in the database
#   [est]          listen: HOST:PORT for `s1spki est serve` when --listen is not given

"""


def render_config(*, hsm: Mapping[str, str | None], audit_hsm: Mapping[str, str | None] | None,
                  database: Mapping[str, str], node_id: str | None = None,
                  credential_dirs: Sequence[str] = ("credentials",), est_listen: str | None = None) -> str:
    """The text of a new s1spki.toml (written once by `init`, then edited by people); `database` is its
    [database] table (url, url_env or url_file)."""
    document: dict[str, Any] = {
        "ca": {"policy_dir": "policy", "rapp_dir": "rapp"},
        "database": dict(database),
        "hsm": {k: v for k, v in hsm.items() if v},
        "credentials": {"dirs": list(credential_dirs)},
        "audit": {"checkpoint_every": AuditConfig.checkpoint_every,
                  "checkpoints_file": AuditConfig.checkpoints_file.as_posix()},
    }
    if audit_hsm is not None:
        document["audit_hsm"] = {k: v for k, v in audit_hsm.items() if v}
    if node_id is not None:
        document["node"] = {"id": node_id}
    if est_listen is not None:
        document["est"] = {"listen": est_listen}
    return _CONFIG_HEADER + tomli_w.dumps(document)
