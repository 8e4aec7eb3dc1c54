"""Load rapp/ strictly: unknown keys, unknown operations and contradictions are refused together."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

from ..datafile import Problems, Table, load_toml, tree_hash
from .model import CHECKS, ApprovalRule, Operation, OperatorRole, Rapp

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int | None:
    match = _DURATION.match(text)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def load_rapp(directory: Path) -> Rapp:
    """Read rapp/ (roles.toml, operations.toml) into a `Rapp`, or raise ConfigError."""
    problems = Problems()
    label = directory.name or str(directory)
    ops_file, roles_file = f"{label}/operations.toml", f"{label}/roles.toml"
    ops_doc = Table(load_toml(directory / "operations.toml", problems, ops_file), ops_file, "", problems)
    roles_doc = Table(load_toml(directory / "roles.toml", problems, roles_file), roles_file, "", problems)

    role_tables = roles_doc.tables("roles")
    role_names = tuple(role_tables)
    operations: dict[str, Operation] = {}
    for name, table in ops_doc.tables("operations").items():
        operation = _operation(name, table, role_names)
        table.finish()
        if operation is not None:
            operations[name] = operation
    ops_doc.finish()

    roles: dict[str, OperatorRole] = {}
    for name, table in role_tables.items():
        title = table.str("title")
        may = table.str_list("may", choices=tuple(operations))
        table.finish()
        if title is not None and may is not None:
            roles[name] = OperatorRole(name, title, frozenset(may))
    exclusive = _separation(roles_doc.table("separation", required=False), role_names)
    bootstrap = roles_doc.table("bootstrap")
    custodian_role = bootstrap.str("custodian_role", choices=role_names)
    manager_role = bootstrap.str("manager_role", choices=role_names)
    bootstrap.finish()
    roles_doc.finish()

    for name, operation in operations.items():
        holders = [r for r in roles.values() if name in r.may]
        if not holders:
            problems.add(ops_file, f"operations.{name}", "no role in roles.toml may perform it")
        for approver in operation.approval.approver_roles:
            # an approver role that may not approve could never give the approvals the rule asks for
            if approver in roles and "request.approve" not in roles[approver].may:
                problems.add(ops_file, f"operations.{name}.approver_roles",
                             f"{approver!r} may not request.approve in roles.toml, so it can never approve")
        for participant in operation.participant_roles:
            if participant in roles and name not in roles[participant].may:
                problems.add(ops_file, f"operations.{name}.participant_roles",
                             f"{participant!r} may not perform {name} in roles.toml")
    custodians = roles.get(custodian_role or "")
    for name in operations:
        if name.startswith("ceremony.") and custodians is not None and name not in custodians.may:
            problems.add(roles_file, f"roles.{custodian_role}.may",
                         f"key custodians must be able to take part in {name}")
    problems.raise_if_any(f"rapp {directory}")
    return Rapp(directory, tree_hash(directory), MappingProxyType(roles), MappingProxyType(operations), exclusive,
                custodian_role, manager_role)


def _operation(name: str, table: Table, role_names: tuple[str, ...]) -> Operation | None:
    participants = table.int("participants", 1, minimum=1, maximum=10)
    participant_roles = table.str_list("participant_roles", (), choices=role_names)
    approvals = table.int("approvals", 0, minimum=0, maximum=10)
    approver_roles = table.str_list("approver_roles", (), choices=role_names)
    valid_for = table.str("approval_valid_for", None)
    checks = table.str_list("checks", (), choices=CHECKS)
    valid_seconds = 0
    if approvals:
        table.check("approver_roles", bool(approver_roles), "approvals need at least one approver role")
        seconds = parse_duration(valid_for) if isinstance(valid_for, str) else None
        table.check("approval_valid_for", seconds is not None,
                    f"approvals need a validity like \"72h\" (s, m, h or d), not {valid_for!r}")
        valid_seconds = seconds or 0
    else:
        table.check("approver_roles", not approver_roles, "approver roles without approvals = N >= 1")
        table.check("approval_valid_for", valid_for is None, "a validity without approvals = N >= 1")
    table.check("participant_roles", participants is None or participants > 1 or not participant_roles,
                "participant roles only apply when participants > 1")
    if None in (participants, participant_roles, approvals, approver_roles, checks):
        return None
    return Operation(name, participants, participant_roles, ApprovalRule(approvals, approver_roles, valid_seconds),
                     checks)


def _separation(table: Table, role_names: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    raw = table.data.get("exclusive", [])
    table._seen.add("exclusive")
    pairs: list[frozenset[str]] = []
    if not isinstance(raw, list):
        table.check("exclusive", False, "must be a list of [role, role] pairs")
        raw = []
    for index, pair in enumerate(raw):
        ok = (isinstance(pair, list) and len(pair) == 2 and all(isinstance(r, str) for r in pair)
              and pair[0] != pair[1])
        if not ok:
            table.check(f"exclusive[{index}]", False, f"must be a pair of two different roles, not {pair!r}")
            continue
        unknown = [r for r in pair if r not in role_names]
        if unknown:
            table.check(f"exclusive[{index}]", False, f"{', '.join(map(repr, unknown))} is not a role")
            continue
        pairs.append(frozenset(pair))
    table.finish()
    return tuple(pairs)
