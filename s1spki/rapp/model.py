"""The RAPP as frozen value objects, built only by `load.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OperatorRole:
    name: str
    title: str
    may: frozenset[str]


@dataclass(frozen=True)
class Operation:
    name: str
    participants: int  # distinct operators who must each sign the same command


@dataclass(frozen=True)
class Rapp:
    directory: Path
    hash: str
    roles: Mapping[str, OperatorRole]
    operations: Mapping[str, Operation]
    custodian_role: str
    manager_role: str

    def may(self, role: str, operation: str) -> bool:
        held = self.roles.get(role)
        return held is not None and operation in held.may

    def roles_for(self, operation: str) -> tuple[str, ...]:
        return tuple(name for name, role in self.roles.items() if operation in role.may)

    def participants(self, operation: str) -> int:
        return self.operations[operation].participants
