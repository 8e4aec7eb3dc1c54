"""The bundle file's outer shape, read strictly (the body's own fields are checked by the use case that
reads it, against the home it arrives in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from s1spki.errors import IntegrityRefused


class BundleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    s1spki_bundle: Literal["issuing-request", "issuing-response", "arl"]
    version: Literal[1]
    body: dict[str, Any]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    attestations: list[dict[str, Any]]

    @classmethod
    def read(cls, document: Any, path: Path) -> BundleFile:
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the document"
            raise IntegrityRefused(f"{path} is not a bundle s1spki reads: {where}: {first['msg']}") from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def read(cls, body: Any, path: Path) -> Any:
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise IntegrityRefused(f"{path}: body.{where}: {first['msg']}: not a bundle s1spki wrote") from None


class Participant(_Body):
    name: str
    roles: list[str]
    public_key_pem: str


class IssuingRequest(_Body):
    """What the online home asks the root to certify: written by `ceremony issuing`."""

    home_id: str
    ca_name: str
    key_label: str
    csr_pem: str
    requested_at: str
    token: dict[str, str]
    key_attributes: dict[str, Any]
    participants: list[Participant]
    statements: list[dict[str, Any]]
    policy_hash: str
    rapp_hash: str
    supersedes: str | None


class IssuingResponse(_Body):
    """The root's answer: written by `ceremony sign-issuing`."""

    request_sha256: str
    root_home_id: str
    ca_name: str
    certificate_pem: str
    root_certificate_pem: str
    signed_at: str
    participants: list[Participant]
    statements: list[dict[str, Any]]
    policy_hash: str
    rapp_hash: str


class ArlBundle(_Body):
    """The root's ARL as issued (by `crl arl` or a CA revocation at the root)."""

    root_home_id: str
    root_certificate_pem: str
    arl_pem: str
    crl_number: int
    this_update: str
    next_update: str
    entries: int
