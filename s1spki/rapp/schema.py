"""What each rapp/ file may contain, as strict pydantic models (imported only by `load.py`).

The two files name each other's entries: roles.toml says which operations a role may perform,
operations.toml which roles take part in or approve an operation. Those names are checked against the
other file's tables, given as the validation context (`roles`, `operations`: the names each file defines,
None when that file could not be read).
Rules that need both files validated are the loader's.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from s1spki.values.datafile import choice, known, list_of, refusal, unique
from s1spki.values.strict_model import StrictTable

from .model import CHECKS

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int | None:
    """Seconds of a duration written as a number and s, m, h or d ("72h"), or None if it is not one."""
    match = _DURATION.match(text)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


_STRINGS = BeforeValidator(list_of("strings"))
_UNIQUE = AfterValidator(unique)
RoleNames = Annotated[list[Annotated[str, AfterValidator(known("roles"))]], _STRINGS, _UNIQUE]
OperationNames = Annotated[list[Annotated[str, AfterValidator(known("operations"))]], _STRINGS, _UNIQUE]
Checks = Annotated[list[Annotated[str, AfterValidator(choice(CHECKS))]], _STRINGS, _UNIQUE]


# --- operations.toml ----------------------------------------------------------------------------------------

class OperationEntry(StrictTable):
    """[operations."<group.command>"]: what the operation needs (spec 6)."""

    participants: Annotated[int, Field(ge=1, le=10)] = 1
    participant_roles: RoleNames = []
    approvals: Annotated[int, Field(ge=0, le=10)] = 0
    approver_roles: RoleNames = []
    approval_valid_for: str | None = None
    checks: Checks = []

    @model_validator(mode="after")
    def _consistent(self) -> OperationEntry:
        problems: list[tuple[tuple[str], str]] = []
        if self.approvals:
            if not self.approver_roles:
                problems.append((("approver_roles",), "approvals need at least one approver role"))
            if self.valid_seconds is None:
                problems.append((("approval_valid_for",), "approvals need a validity like \"72h\" (s, m, h or d),"
                                 f" not {self.approval_valid_for!r}"))
        else:
            if self.approver_roles:
                problems.append((("approver_roles",), "approver roles without approvals = N >= 1"))
            if self.approval_valid_for is not None:
                problems.append((("approval_valid_for",), "a validity without approvals = N >= 1"))
        # spec 6 multi-person control: the roles of the other participants, so only with more than one
        if self.participant_roles and self.participants <= 1:
            problems.append((("participant_roles",), "participant roles only apply when participants > 1"))
        if problems:
            raise refusal(problems)
        return self

    @property
    def valid_seconds(self) -> int | None:
        """How long an approval stays valid, in seconds (None without a valid `approval_valid_for`)."""
        return None if self.approval_valid_for is None else parse_duration(self.approval_valid_for)


class OperationsFile(StrictTable):
    """operations.toml."""

    operations: dict[str, OperationEntry]


# --- roles.toml ---------------------------------------------------------------------------------------------

class RoleEntry(StrictTable):
    """[roles.<name>]: an operator role and the operations it may perform (spec 6)."""

    title: str
    may: OperationNames


def _pair(value: Any) -> Any:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(r, str) for r in value)
            and value[0] != value[1]):
        raise ValueError(f"must be a pair of two different roles, not {value!r}")
    return value


def _known_pair(value: list[str], info: ValidationInfo) -> list[str]:
    roles = (info.context or {})["roles"]
    unknown = [r for r in value if roles is not None and r not in roles]
    if unknown:
        raise ValueError(f"{', '.join(map(repr, unknown))} is not a role")
    return value


class Separation(StrictTable):
    """[separation]: pairs of roles one person may not hold together (spec 6, separation of duties)."""

    exclusive: Annotated[list[Annotated[list[str], BeforeValidator(_pair), AfterValidator(_known_pair)]],
                         BeforeValidator(list_of("[role, role] pairs"))] = []


class Bootstrap(StrictTable):
    """[bootstrap]: the roles `s1spki init` registers for the people who set up the CA."""

    custodian_role: Annotated[str, AfterValidator(known("roles"))]
    manager_role: Annotated[str, AfterValidator(known("roles"))]


class GrantEntry(StrictTable):
    """[grants.<role>]: who grants and withdraws the role, and how many take part (spec 6)."""

    by: RoleNames
    also: RoleNames = []
    participants: Annotated[int, Field(ge=2, le=10)]  # spec 6: changes to RA personnel need more than one person

    @model_validator(mode="after")
    def _someone_grants(self) -> GrantEntry:
        if not self.by:
            raise refusal([(("by",), "name at least one role that grants it")])
        return self


class Components(StrictTable):
    """[components]: what S1SP components may do themselves, authenticated by their TLS client certificate or, at
    first enrolment, by the one-time secret of an approved enrolment authorisation; never an operator."""

    may: OperationNames = []


class RolesFile(StrictTable):
    """roles.toml."""

    roles: dict[str, RoleEntry]
    components: Components = Components()
    separation: Separation = Separation()
    bootstrap: Bootstrap
    grants: dict[str, GrantEntry]
