"""The RAPP as frozen value objects, built only by `load.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The registry checks a request operation may name (spec 5, 6); registration.py implements each.
CHECKS = ("organisation_eligible", "aro_active", "eui64_owned", "role_permitted", "key_usage_allowed")


@dataclass(frozen=True)
class OperatorRole:
    name: str
    title: str
    may: frozenset[str]


@dataclass(frozen=True)
class ApprovalRule:
    """What a request needs before the operation on it may run; recorded with the request."""

    approvals: int
    approver_roles: tuple[str, ...]
    valid_seconds: int

    def as_dict(self) -> dict[str, Any]:
        return {"approvals": self.approvals, "approver_roles": list(self.approver_roles),
                "valid_seconds": self.valid_seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalRule:
        return cls(int(data["approvals"]), tuple(data["approver_roles"]), int(data["valid_seconds"]))


@dataclass(frozen=True)
class Operation:
    name: str
    participants: int  # distinct operators who must each sign the same command
    participant_roles: tuple[str, ...]  # roles of the participants after the first; () = those who `may`
    approval: ApprovalRule
    checks: tuple[str, ...]


@dataclass(frozen=True)
class Rapp:
    directory: Path
    hash: str
    roles: Mapping[str, OperatorRole]
    operations: Mapping[str, Operation]
    exclusive: tuple[frozenset[str], ...]
    custodian_role: str
    manager_role: str

    def may(self, role: str, operation: str) -> bool:
        held = self.roles.get(role)
        return held is not None and operation in held.may

    def may_any(self, roles: tuple[str, ...], operation: str) -> bool:
        return any(self.may(role, operation) for role in roles)

    def roles_for(self, operation: str) -> tuple[str, ...]:
        return tuple(name for name, role in self.roles.items() if operation in role.may)

    def participants(self, operation: str) -> int:
        return self.operations[operation].participants

    def co_participant_roles(self, operation: str) -> tuple[str, ...]:
        return self.operations[operation].participant_roles or self.roles_for(operation)

    def conflicts(self, roles: tuple[str, ...]) -> list[tuple[str, str]]:
        """Pairs of `roles` that separation of duties forbids one person to hold."""
        held = set(roles)
        return [tuple(sorted(pair)) for pair in self.exclusive if pair <= held]  # type: ignore[misc]
