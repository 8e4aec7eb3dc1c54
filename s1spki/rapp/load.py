"""Load rapp/ strictly: unknown keys, unknown operations and contradictions are refused together."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ..datafile import Problems, Table, load_toml, tree_hash
from .model import Operation, OperatorRole, Rapp


def load_rapp(directory: Path) -> Rapp:
    """Read rapp/ (roles.toml, operations.toml) into a `Rapp`, or raise ConfigError."""
    problems = Problems()
    label = directory.name or str(directory)
    ops_file, roles_file = f"{label}/operations.toml", f"{label}/roles.toml"
    ops_doc = Table(load_toml(directory / "operations.toml", problems, ops_file), ops_file, "", problems)
    roles_doc = Table(load_toml(directory / "roles.toml", problems, roles_file), roles_file, "", problems)

    operations: dict[str, Operation] = {}
    for name, table in ops_doc.tables("operations").items():
        participants = table.int("participants", minimum=1, maximum=10)
        table.finish()
        if participants is not None:
            operations[name] = Operation(name, participants)
    ops_doc.finish()

    roles: dict[str, OperatorRole] = {}
    for name, table in roles_doc.tables("roles").items():
        title = table.str("title")
        may = table.str_list("may", choices=tuple(operations))
        table.finish()
        if title is not None and may is not None:
            roles[name] = OperatorRole(name, title, frozenset(may))
    bootstrap = roles_doc.table("bootstrap")
    custodian_role = bootstrap.str("custodian_role", choices=tuple(roles))
    manager_role = bootstrap.str("manager_role", choices=tuple(roles))
    bootstrap.finish()
    roles_doc.finish()

    for name in operations:
        holders = [r for r in roles.values() if name in r.may]
        if not holders:
            problems.add(ops_file, f"operations.{name}", "no role in roles.toml may perform it")
        custodians = roles.get(custodian_role or "")
        if name.startswith("ceremony.") and custodians is not None and name not in custodians.may:
            problems.add(roles_file, f"roles.{custodian_role}.may",
                         f"key custodians must be able to take part in {name}")
    problems.raise_if_any(f"rapp {directory}")
    return Rapp(directory, tree_hash(directory), MappingProxyType(roles), MappingProxyType(operations),
                custodian_role, manager_role)
