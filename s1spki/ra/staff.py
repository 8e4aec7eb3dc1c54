"""RA staff: registering and withdrawing operators (who may act, with which key, in which role)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.command import Command
from s1spki.errors import AuthError, NotFound, PolicyRefused
from s1spki.store import ChangeTx, Duplicate, OperatorRecord
from s1spki.values.keys import key_sha256
from s1spki.values.names import operator_name


def public_key_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def register_operator(tx: ChangeTx, name: str, roles: tuple[str, ...], public_key: ec.EllipticCurvePublicKey) -> None:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        tx.add_operator(name, roles, der, key_sha256(public_key))
    except Duplicate:
        raise PolicyRefused(f"operator {name!r} is already registered") from None


def add_operator(cmd: Command, name: str, roles: tuple[str, ...],
                 public_key: ec.EllipticCurvePublicKey) -> OperatorRecord:
    # The audit record keeps the public key, so this operator's statements verify offline.
    event = cmd.event("operator.add", "operator", name, roles=list(roles),
                      public_key_pem=public_key_pem(public_key))
    with cmd.refusals_recorded(event):
        operator_name(name, cmd.policy.names.operator)
        if not roles:
            raise PolicyRefused("give the operator at least one --role")
        for role in roles:
            if role not in cmd.rapp.roles:
                raise PolicyRefused(f"role {role!r} is not in rapp/roles.toml (roles: {', '.join(cmd.rapp.roles)})")
        for pair in cmd.rapp.conflicts(roles):
            raise PolicyRefused(f"one person may not hold both {pair[0]} and {pair[1]} (rapp/roles.toml separation)")
        key_hash = key_sha256(public_key)
        for existing in cmd.reader.operators():
            if existing.name != name and existing.name.casefold() == name.casefold():
                raise PolicyRefused(f"operator name {name!r} differs from operator {existing.name!r} only in case: "
                                    "choose a name of its own")
            if existing.key_sha256 == key_hash:
                raise PolicyRefused(f"this public key is already registered to operator {existing.name!r}: "
                                    "every operator has a key of their own")
        if name in cmd.principal.names:
            raise AuthError("an operator cannot register themselves: the operator being added never counts")
        # spec 6: who may grant each role, and how many people that takes, is rapp/roles.toml [grants]
        auth = cmd.authorise("operator.add", {"name": name, "roles": list(roles), "key_sha256": key_hash},
                             cmd.rapp.grant_rule("operator.add", roles))
        with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            register_operator(tx, name, roles, public_key)
    record = cmd.reader.operator(name)
    assert record is not None
    return record


def withdraw_operator(cmd: Command, name: str) -> OperatorRecord:
    event = cmd.event("operator.withdraw", "operator", name)
    with cmd.refusals_recorded(event):
        current = cmd.reader.operator(name)
        if current is None:
            raise NotFound(f"unknown operator {name!r}")
        cmd.trust("operators", current.id, f"operator {name}")
        if current.status != "active":
            raise PolicyRefused(f"operator {name!r} was already withdrawn on {current.withdrawn_at}")
        if name in cmd.principal.names:
            raise AuthError("an operator cannot withdraw themselves: the operator being withdrawn never counts")
        auth = cmd.authorise("operator.withdraw", {"name": name}, cmd.rapp.grant_rule("operator.withdraw",
                                                                                      current.roles))
        _refuse_lockout(cmd, current)
        with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            tx.withdraw_operator(name)
    record = cmd.reader.operator(name)
    assert record is not None
    return record


def rekey_operator(cmd: Command, name: str, public_key: ec.EllipticCurvePublicKey) -> OperatorRecord:
    """Register a new public key for an operator whose key is lost or replaced, under the rule that grants their
    roles (rapp/roles.toml [grants]; the operator being rekeyed never counts). The record keeps the new key, so
    their later statements verify offline."""
    event = cmd.event("operator.rekey", "operator", name, public_key_pem=public_key_pem(public_key))
    with cmd.refusals_recorded(event):
        current = cmd.reader.operator(name)
        if current is None:
            raise NotFound(f"unknown operator {name!r}: see `s1spki operator list`")
        cmd.trust("operators", current.id, f"operator {name}")
        if current.status != "active":
            raise PolicyRefused(f"operator {name!r} was withdrawn on {current.withdrawn_at}: a withdrawn operator is "
                                "not rekeyed")
        key_hash = key_sha256(public_key)
        if key_hash == current.key_sha256:
            raise PolicyRefused(f"this is already {name}'s registered key: give the new public key")
        for existing in cmd.reader.operators():
            if existing.key_sha256 == key_hash:
                raise PolicyRefused(f"this public key is already registered to operator {existing.name!r}: "
                                    "every operator has a key of their own")
        if name in cmd.principal.names:
            raise AuthError("an operator cannot rekey themselves: the operator being rekeyed never counts")
        auth = cmd.authorise("operator.rekey", {"name": name, "key_sha256": key_hash},
                             cmd.rapp.grant_rule("operator.rekey", current.roles))
        der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records(),
                                               previous_key_sha256=current.key_sha256)) as tx:
            tx.set_operator_key(name, der, key_hash)
    record = cmd.reader.operator(name)
    assert record is not None
    return record


def _refuse_lockout(cmd: Command, leaving: OperatorRecord) -> None:
    """A withdrawal may not leave fewer holders of a role than an operation in rapp/ needs (no lock-out)."""
    active = {o.name: o.roles for o in cmd.reader.operators() if o.status == "active"}
    before = set(cmd.rapp.unmet(active))
    after = [what for what in cmd.rapp.unmet({n: r for n, r in active.items() if n != leaving.name})
             if what not in before]
    if after:
        raise PolicyRefused(f"withdrawing {leaving.name!r} ({', '.join(leaving.roles)}) would leave too few operators "
                            f"for {', '.join(after)} (rapp/): register a successor first")
