"""What `s1spki.toml` may contain, as strict pydantic models (imported only by `config.load_config`)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from s1spki.oplog import parse_format, parse_level, parse_target
from s1spki.values.datafile import list_of, refusal
from s1spki.values.strict_model import StrictTable

DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_CHECKPOINTS_FILE = "audit/checkpoints.jsonl"


class CaTable(StrictTable):
    policy_dir: str = "policy"
    rapp_dir: str = "rapp"


class DatabaseTable(StrictTable):
    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if not self.url and not self.url_env:
            raise refusal([(("url",), "give url or url_env")])
        return self


class HsmTable(StrictTable):
    module: str  # a module path, or "softhsm" for the installed SoftHSM2
    token_label: str
    softhsm_conf: str | None = None
    pin_file: str | None = None
    pin_env: str | None = None

    @model_validator(mode="after")
    def _one_pin_source(self) -> Self:
        if self.pin_file and self.pin_env:
            raise refusal([(("pin_file",), "give pin_file or pin_env, not both")])
        return self


class CredentialsTable(StrictTable):
    dirs: Annotated[list[str], BeforeValidator(list_of("strings"))] = ["credentials"]


class AuditTable(StrictTable):
    checkpoint_every: int = Field(DEFAULT_CHECKPOINT_EVERY, ge=1)
    checkpoints_file: str = DEFAULT_CHECKPOINTS_FILE
    sinks: Annotated[list[str], BeforeValidator(list_of("strings"))] = []

    @model_validator(mode="after")
    def _sinks_are_places(self) -> Self:
        bad = [s for s in self.sinks if s.startswith("syslog:") and not (s.startswith("syslog://") or
                                                                         s.startswith("syslog:/"))]
        if bad:
            raise refusal([(("sinks",), f"a syslog sink is syslog://HOST:PORT or syslog:/PATH, not {bad[0]!r}")])
        return self


class LoggingTable(StrictTable):
    """[logging]: this node's operational logs (s1spki/oplog.py); the command line and S1SPKI_LOG_* win."""

    level: Annotated[str, AfterValidator(parse_level)] = "warning"
    format: Annotated[str, AfterValidator(parse_format)] = "plain"
    to: Annotated[str, AfterValidator(parse_target)] = "stderr"


class ConfigFile(StrictTable):
    ca: CaTable
    database: DatabaseTable
    hsm: HsmTable
    # the token of the audit key and the record key, with a PIN source of its own: whoever holds the CA keys'
    # PIN cannot also sign this home's checkpoints or authenticate its records (absent: [hsm], as homes made
    # before it)
    audit_hsm: HsmTable | None = None
    credentials: CredentialsTable = CredentialsTable()
    audit: AuditTable = AuditTable()
    logging: LoggingTable = LoggingTable()
