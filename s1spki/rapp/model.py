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
class ParticipantRule:
    """Who takes part in one command: the first named holds one of `first_roles`, every other one of
    `other_roles`, and at least `participants` distinct people sign it."""

    operation: str
    participants: int
    first_roles: tuple[str, ...]
    other_roles: tuple[str, ...]


@dataclass(frozen=True)
class GrantRule:
    """Who grants and withdraws a role (rapp/roles.toml [grants], spec 6: changes to RA personnel need more
    than one person): the first participant holds one of `by`, the others one of `by` or `also`."""

    role: str
    by: tuple[str, ...]
    also: tuple[str, ...]
    participants: int


@dataclass(frozen=True)
class Rapp:
    directory: Path
    hash: str
    roles: Mapping[str, OperatorRole]
    operations: Mapping[str, Operation]
    exclusive: tuple[frozenset[str], ...]
    custodian_role: str
    manager_role: str
    grants: Mapping[str, GrantRule]
    component_may: frozenset[str] = frozenset()  # what S1SP components may do themselves ([components])

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

    def participant_rule(self, operation: str) -> ParticipantRule:
        """Who takes part in `operation` (rapp/operations.toml and the roles' `may`)."""
        return ParticipantRule(operation, self.participants(operation), self.roles_for(operation),
                               self.co_participant_roles(operation))

    def grant_rule(self, operation: str, roles: tuple[str, ...]) -> ParticipantRule:
        """Who takes part in granting or withdrawing `roles` (all of them: each role's rule must hold)."""
        rules = [self.grants[role] for role in roles]
        first = tuple(r for r in self.roles if all(r in rule.by for rule in rules))
        other = tuple(r for r in self.roles if all(r in rule.by or r in rule.also for rule in rules))
        return ParticipantRule(operation, max(rule.participants for rule in rules), first, other)

    def unmet(self, holders: Mapping[str, tuple[str, ...]]) -> list[str]:
        """What rapp/ asks for that these operators (name -> roles) cannot do together: each operation's
        participants and approvals, and the grant of each role."""
        def can(rule: ParticipantRule) -> bool:
            first = [n for n, roles in holders.items() if set(roles) & set(rule.first_roles)]
            eligible = {n for n, roles in holders.items() if set(roles) & set(rule.other_roles)} | set(first)
            return bool(first) and len(eligible) >= rule.participants

        # a component's own operations need no operator
        unmet = [name for name in self.operations
                 if name not in self.component_may and not can(self.participant_rule(name))]
        for name, operation in self.operations.items():
            approvers = [n for n, roles in holders.items() if set(roles) & set(operation.approval.approver_roles)]
            if operation.approval.approvals and len(approvers) < operation.approval.approvals:
                unmet.append(f"{name} approvals")
        unmet += [f"granting {role}" for role in self.grants if not can(self.grant_rule("operator.add", (role,)))]
        return unmet
