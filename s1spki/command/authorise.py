"""Before anything changes: each named operator signs the command's statement, and the signature, the
operator's registration, role and the number of distinct participants are checked against rapp/."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.statements import SignedStatement, sign_statement, statement_body, verify_statement
from s1spki.errors import AuthError
from s1spki.rapp.model import ParticipantRule, Rapp
from s1spki.store import OperatorRecord, StoreReader
from s1spki.values.clock import Clock, parse_iso

# A statement is made and checked within one command; older ones are refused as possible replays.
MAX_STATEMENT_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class Authorisation:
    """The verified statements of everyone who took part in one operation."""

    operation: str
    statements: tuple[SignedStatement, ...]
    operators: tuple[OperatorRecord, ...]
    # the unlocked keys, kept only so the same people can attest a result within this command
    _keys: tuple[ec.EllipticCurvePrivateKey, ...] = field(default=(), repr=False, compare=False)
    component: str | None = None  # the component that acts (no operators, no statements)

    @property
    def actor(self) -> str:
        return self.component or "+".join(o.name for o in self.operators)

    @property
    def actor_role(self) -> str:
        if self.component is not None:
            return "component"
        return "+".join(sorted({role for o in self.operators for role in o.roles}))

    def records(self) -> tuple[dict[str, Any], ...]:
        return tuple(s.as_record() for s in self.statements)

    def attest(self, operation: str, obj: Mapping[str, Any], clock: Clock, ca_id: str) -> tuple[SignedStatement, ...]:
        """Each participant signs a statement over a result (e.g. a ceremony transcript's digest)."""
        return tuple(sign_statement(key, statement_body(operation, obj, operator.name, clock.now(), ca_id))
                     for key, operator in zip(self._keys, self.operators, strict=True))


KeySource = Callable[[str], ec.EllipticCurvePrivateKey]
Trust = Callable[[str, int, str], None]  # refuses a protected row that is not as s1spki wrote it


def authorise_operators(reader: StoreReader, rule: ParticipantRule, clock: Clock, ca_id: str, key_for: KeySource,
                        obj: Mapping[str, Any], names: Sequence[str], trust: Trust | None = None) -> Authorisation:
    """Sign `rule.operation` on `obj` as each of `names` and check everything against the rule; AuthError (exit 4)
    if not. With `trust`, each operator's record must be as s1spki wrote it."""
    operation = rule.operation
    if not names:
        raise AuthError(f"{operation} changes the CA: name the operator with --as NAME")
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise AuthError(f"{', '.join(repeated)} named more than once: each participant in {operation} must be a"
                        " different person")
    if len(names) < rule.participants:
        raise AuthError(f"{operation} needs {rule.participants} distinct participants of role "
                        f"{' or '.join(rule.first_roles)} (rapp/), got {len(names)}")
    statements: list[SignedStatement] = []
    operators: list[OperatorRecord] = []
    keys: list[ec.EllipticCurvePrivateKey] = []
    for position, name in enumerate(names):
        # the first named performs the operation; the others take part in a role rapp/ allows for it
        allowed = rule.first_roles if position == 0 else rule.other_roles
        operator = _registered(reader, operation, name, allowed)
        if trust is not None:
            trust("operators", operator.id, f"operator {name}")
        key = key_for(name)
        statement = sign_statement(key, statement_body(operation, obj, name, clock.now(), ca_id))
        check_statement(operator, statement, operation, clock)
        statements.append(statement)
        operators.append(operator)
        keys.append(key)
    return Authorisation(operation, tuple(statements), tuple(operators), tuple(keys))


def authorise_component(rapp: Rapp, operation: str, label: str) -> Authorisation:
    """A component may perform `operation` only if rapp/roles.toml [components] lists it; AuthError if not."""
    if operation not in rapp.component_may:
        raise AuthError(f"an S1SP component may not perform {operation}: rapp/roles.toml [components] allows "
                        f"{', '.join(sorted(rapp.component_may)) or 'nothing'}", operation=operation)
    return Authorisation(operation, (), (), component=label)


def active_operator(reader: StoreReader, name: str) -> OperatorRecord:
    operator = reader.operator(name)
    if operator is None:
        raise AuthError(f"unknown operator {name!r}: register them with `s1spki operator add`", operator=name)
    if operator.status != "active":
        raise AuthError(f"operator {name!r} was withdrawn on {operator.withdrawn_at} and may not act", operator=name)
    return operator


def _registered(reader: StoreReader, operation: str, name: str, allowed: tuple[str, ...]) -> OperatorRecord:
    operator = active_operator(reader, name)
    if not set(operator.roles) & set(allowed):
        raise AuthError(f"operator {name!r} ({', '.join(operator.roles)}) may not take part in {operation}; "
                        f"rapp/ allows: {', '.join(allowed) or 'nobody'}", operator=name, roles=list(operator.roles))
    return operator


def check_statement(operator: OperatorRecord, statement: SignedStatement, operation: str, clock: Clock,
                    max_age: timedelta = MAX_STATEMENT_AGE) -> None:
    """The statement is the operator's, for this operation, fresh, and signed with the registered key."""
    if statement.operator != operator.name or statement.body.get("operation") != operation:
        raise AuthError(f"statement is for {statement.body.get('operation')!r} by {statement.operator!r}, not "
                        f"{operation} by {operator.name!r}", operator=operator.name)
    try:
        age = clock.now() - parse_iso(str(statement.body["time"]))
    except (KeyError, ValueError):
        raise AuthError(f"statement by {operator.name!r} has no valid time", operator=operator.name) from None
    if age > max_age or age < -MAX_STATEMENT_AGE:
        raise AuthError(f"statement by {operator.name!r} is dated {statement.body['time']}, outside the "
                        f"{int(max_age.total_seconds())} s window", operator=operator.name)
    if not verify_statement(operator.public_key_der, statement):
        raise AuthError(f"the key used for operator {operator.name!r} is not their registered key "
                        f"(registered key sha256 {operator.key_sha256[:16]}...)", operator=operator.name)
