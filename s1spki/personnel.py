"""RA personnel: registering and withdrawing operators (who may act, with which key, in which role)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .app import App
from .errors import AuthError, NotFound, PolicyRefused
from .operators import public_key_sha256
from .store import ChangeTx, Duplicate, OperatorRecord


def public_key_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def register_operator(tx: ChangeTx, name: str, roles: tuple[str, ...], public_key: ec.EllipticCurvePublicKey) -> None:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        tx.add_operator(name, roles, der, public_key_sha256(public_key))
    except Duplicate:
        raise PolicyRefused(f"operator {name!r} is already registered") from None


def add_operator(app: App, names: list[str], name: str, roles: tuple[str, ...],
                 public_key: ec.EllipticCurvePublicKey) -> OperatorRecord:
    # The audit record keeps the public key, so this operator's statements verify offline.
    event = app.event("operator.add", "+".join(names), "", "operator", name, roles=list(roles),
                      public_key_pem=public_key_pem(public_key))
    with app.refusals_recorded(event):
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise PolicyRefused(f"operator name {name!r} must be 1 to 64 letters, digits, '.', '-' or '_'")
        if not roles:
            raise PolicyRefused("give the operator at least one --role")
        for role in roles:
            if role not in app.rapp.roles:
                raise PolicyRefused(f"role {role!r} is not in rapp/roles.toml (roles: {', '.join(app.rapp.roles)})")
        for pair in app.rapp.conflicts(roles):
            raise PolicyRefused(f"one person may not hold both {pair[0]} and {pair[1]} (rapp/roles.toml separation)")
        key_hash = public_key_sha256(public_key)
        for existing in app.store.reader.operators():
            if existing.key_sha256 == key_hash:
                raise PolicyRefused(f"this public key is already registered to operator {existing.name!r}: "
                                    "every operator has a key of their own")
        auth = app.authorise("operator.add", {"name": name, "roles": list(roles), "key_sha256": key_hash}, names)
        if name in (o.name for o in auth.operators):
            raise AuthError("an operator cannot register themselves")
        with app.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            register_operator(tx, name, roles, public_key)
    record = app.store.reader.operator(name)
    assert record is not None
    return record


def withdraw_operator(app: App, names: list[str], name: str) -> OperatorRecord:
    event = app.event("operator.withdraw", "+".join(names), "", "operator", name)
    with app.refusals_recorded(event):
        current = app.store.reader.operator(name)
        if current is None:
            raise NotFound(f"unknown operator {name!r}")
        if current.status != "active":
            raise PolicyRefused(f"operator {name!r} was already withdrawn on {current.withdrawn_at}")
        auth = app.authorise("operator.withdraw", {"name": name}, names)
        with app.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            tx.withdraw_operator(name)
    record = app.store.reader.operator(name)
    assert record is not None
    return record
