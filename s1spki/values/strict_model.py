"""The base of every data-file model: a TOML table read strictly (imported only by the schema modules, so
that pydantic is loaded only when a file is read)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictTable(BaseModel):
    """A TOML table: unknown keys refused, no coercion (a string is never an int, a bool never an int),
    frozen once read."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
