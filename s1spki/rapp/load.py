"""Load rapp/ strictly: unknown keys, unknown operations and contradictions are refused together."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from s1spki.values.datafile import DataFolder, tree_hash

from .model import ApprovalRule, GrantRule, Operation, OperatorRole, Rapp
from .schema import OperationsFile, RolesFile, parse_duration

__all__ = ["load_rapp", "parse_duration"]


def load_rapp(directory: Path) -> Rapp:
    """Read rapp/ (roles.toml, operations.toml) into a `Rapp`, or raise ConfigError."""
    folder = DataFolder(directory, "rapp")
    ops_document, roles_document = folder.toml("operations.toml"), folder.toml("roles.toml")
    # each file names the other's entries: the names each defines are the context of both
    context = {"operations": _names(ops_document, "operations"), "roles": _names(roles_document, "roles")}
    ops = None if ops_document is None else folder.validate("operations.toml", OperationsFile, ops_document, context)
    roles = None if roles_document is None else folder.validate("roles.toml", RolesFile, roles_document, context)
    if ops is not None and roles is not None:
        _check_across(folder, ops, roles)
    folder.raise_if_any()
    assert ops is not None and roles is not None
    operations = {
        name: Operation(name, entry.participants, tuple(entry.participant_roles),
                        ApprovalRule(entry.approvals, tuple(entry.approver_roles), entry.valid_seconds or 0),
                        tuple(entry.checks))
        for name, entry in ops.operations.items()
    }
    return Rapp(
        directory=directory,
        hash=tree_hash(directory),
        roles=MappingProxyType({name: OperatorRole(name, role.title, frozenset(role.may))
                                for name, role in roles.roles.items()}),
        operations=MappingProxyType(operations),
        exclusive=tuple(frozenset(pair) for pair in roles.separation.exclusive),
        custodian_role=roles.bootstrap.custodian_role,
        manager_role=roles.bootstrap.manager_role,
        grants=MappingProxyType({role: GrantRule(role, tuple(entry.by), tuple(entry.also), entry.participants)
                                 for role, entry in roles.grants.items()}),
        component_may=frozenset(roles.components.may),
    )


def _names(document: dict[str, Any] | None, table: str) -> tuple[str, ...] | None:
    """The entries a file defines in its main table, as parsed (None if unreadable: names in it go unchecked)."""
    entries = (document or {}).get(table)
    return tuple(entries) if isinstance(entries, dict) else None


def _check_across(folder: DataFolder, ops: OperationsFile, roles: RolesFile) -> None:
    """The rules that need both files: every operation can be done, approved and co-signed (spec 6)."""
    may = {name: role.may for name, role in roles.roles.items()}
    components = set(roles.components.may)
    for name, operation in ops.operations.items():
        if not any(name in operations for operations in may.values()) and name not in components:
            folder.refuse("operations.toml", f"operations.{name}", "no role in roles.toml may perform it")
        if name in components and (operation.participants > 1 or operation.approvals):
            # a component acts alone, on what an operator's authorisation (or its own certificate) allows
            folder.refuse("operations.toml", f"operations.{name}", "a component's operation takes one participant "
                          "and no approvals (they belong to the operation that authorises it)")
        for approver in operation.approver_roles:
            # an approver role that may not approve could never give the approvals the rule asks for
            if "request.approve" not in may[approver]:
                folder.refuse("operations.toml", f"operations.{name}.approver_roles",
                              f"{approver!r} may not request.approve in roles.toml, so it can never approve")
        for participant in operation.participant_roles:
            if name not in may[participant]:
                folder.refuse("operations.toml", f"operations.{name}.participant_roles",
                              f"{participant!r} may not perform {name} in roles.toml")
    for role in roles.roles:
        # every role is granted under a rule, or nobody could ever be given it
        if role not in roles.grants:
            folder.refuse("roles.toml", f"grants.{role}", "is required: say who grants and withdraws this role")
    for role in roles.grants:
        if role not in roles.roles:
            folder.refuse("roles.toml", f"grants.{role}", "is not a role in [roles]")
    custodian = roles.bootstrap.custodian_role
    for name in ops.operations:
        # spec 1: every CA key operation is under multi-person control of the key custodians
        if name.startswith("ceremony.") and name not in may[custodian]:
            folder.refuse("roles.toml", f"roles.{custodian}.may", f"key custodians must be able to take part in {name}")
