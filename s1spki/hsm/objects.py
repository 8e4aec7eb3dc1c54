"""Key objects on the token: the generation template, lookups by label, reading attributes back.

Functions here take a logged-in python-pkcs11 session and are called under the process lock.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11.exceptions import PKCS11Error

from s1spki.errors import HsmError, NotFound, Refused
from s1spki.hsm.settings import KeyAttributes

KEY_ID_BYTES = 16
LABEL_MAX_CHARS = 64
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")

# DER of the named-curve OIDs (CKA_EC_PARAMS) we can name; P-256 is the only one we generate.
P256_PARAMS = bytes.fromhex("06082a8648ce3d030107")
_CURVES: dict[bytes, tuple[str, ec.EllipticCurve]] = {
    P256_PARAMS: ("secp256r1", ec.SECP256R1()),
    bytes.fromhex("06052b81040022"): ("secp384r1", ec.SECP384R1()),
    bytes.fromhex("06052b81040023"): ("secp521r1", ec.SECP521R1()),
}

# Private-key template: on the token, login required, never leaves in clear, sign only.
_PRIVATE_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_PUBLIC_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: False,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
    Attribute.DERIVE: False,
}

_READ_BACK = [
    Attribute.LABEL,
    Attribute.ID,
    Attribute.KEY_TYPE,
    Attribute.SENSITIVE,
    Attribute.EXTRACTABLE,
    Attribute.ALWAYS_SENSITIVE,
    Attribute.NEVER_EXTRACTABLE,
    Attribute.LOCAL,
    Attribute.SIGN,
    Attribute.DECRYPT,
    Attribute.UNWRAP,
    Attribute.DERIVE,
    Attribute.TOKEN,
    Attribute.PRIVATE,
]


def check_label(label: str) -> None:
    """Refuse a key label we would not want in a ceremony record or a shell command."""
    if not isinstance(label, str) or not _LABEL_RE.match(label) or len(label) > LABEL_MAX_CHARS:
        raise Refused(
            f"key label {label!r} is not allowed: use 1 to {LABEL_MAX_CHARS} letters, digits and ._:@+- "
            "starting with a letter or digit",
            field="label",
        )


def objects_labelled(session: Any, label: str, object_class: ObjectClass | None = None) -> list[Any]:
    """All objects with this label (list() so the find operation is always finalised)."""
    attrs: dict[Attribute, Any] = {Attribute.LABEL: label}
    if object_class is not None:
        attrs[Attribute.CLASS] = object_class
    return list(session.get_objects(attrs))


def generate_ec_p256(session: Any, label: str, token_label: str) -> bytes:
    """Generate a P-256 key pair on the token under `label`; return its CKA_ID. Refuse a used label."""
    existing = objects_labelled(session, label)
    if existing:
        # SoftHSM (and several real HSMs) accept duplicate labels; we look keys up by label, so refuse.
        raise Refused(
            f"label '{label}' is already used on token '{token_label}' ({len(existing)} object(s)): "
            "choose another label",
            field="label",
            label=label,
            token=token_label,
        )
    key_id = os.urandom(KEY_ID_BYTES)
    params = session.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: P256_PARAMS}, local=True)
    params.generate_keypair(
        store=True,
        label=label,
        id=key_id,
        capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
        private_template=_PRIVATE_TEMPLATE,
        public_template=_PUBLIC_TEMPLATE,
    )
    return key_id


# Secret-key template for the record authenticator: HMAC-SHA256 only, never leaves in clear.
_SECRET_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
MAC_KEY_BITS = 256


def generate_mac_key(session: Any, label: str, token_label: str) -> None:
    """Generate a 256-bit generic secret key for CKM_SHA256_HMAC under `label`; refuse a used label."""
    existing = objects_labelled(session, label)
    if existing:
        raise Refused(f"label '{label}' is already used on token '{token_label}': choose another label",
                      field="label", label=label, token=token_label)
    session.generate_key(KeyType.GENERIC_SECRET, MAC_KEY_BITS, label=label, id=os.urandom(KEY_ID_BYTES), store=True,
                         template=_SECRET_TEMPLATE)


def secret_key(session: Any, label: str, token_label: str) -> Any:
    return _one(objects_labelled(session, label, ObjectClass.SECRET_KEY), "secret key", label, token_label)


def _one(objects: list[Any], what: str, label: str, token_label: str) -> Any:
    if not objects:
        raise NotFound(
            f"no {what} labelled '{label}' on token '{token_label}'", label=label, token=token_label
        )
    if len(objects) > 1:
        raise HsmError(
            f"{len(objects)} {what}s are labelled '{label}' on token '{token_label}': labels must be unique; "
            "remove or relabel the extra objects with the vendor's tool",
            label=label,
            token=token_label,
        )
    return objects[0]


def private_key(session: Any, label: str, token_label: str) -> Any:
    return _one(objects_labelled(session, label, ObjectClass.PRIVATE_KEY), "private key", label, token_label)


def public_key_object(session: Any, label: str, token_label: str) -> Any:
    found = objects_labelled(session, label, ObjectClass.PUBLIC_KEY)
    if not found:
        # Some tools label only the private half; its CKA_ID still pairs the two.
        key_id = private_key(session, label, token_label)[Attribute.ID]
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: key_id}))
    return _one(found, "public key", label, token_label)


def curve_name(ec_params: bytes) -> str:
    known = _CURVES.get(bytes(ec_params))
    return known[0] if known else f"unknown ({bytes(ec_params).hex()})"


def read_attributes(key: Any) -> KeyAttributes:
    """Read a private key's attributes from the token."""
    values = key.get_attributes(_READ_BACK)
    key_type = values[Attribute.KEY_TYPE]
    curve = curve_name(key[Attribute.EC_PARAMS]) if key_type == KeyType.EC else None
    return KeyAttributes(
        label=str(values[Attribute.LABEL]),
        id=bytes(values[Attribute.ID]).hex(),
        key_type=getattr(key_type, "name", str(key_type)),
        curve=curve,
        sensitive=bool(values[Attribute.SENSITIVE]),
        extractable=bool(values[Attribute.EXTRACTABLE]),
        always_sensitive=bool(values[Attribute.ALWAYS_SENSITIVE]),
        never_extractable=bool(values[Attribute.NEVER_EXTRACTABLE]),
        local=bool(values[Attribute.LOCAL]),
        sign=bool(values[Attribute.SIGN]),
        decrypt=bool(values[Attribute.DECRYPT]),
        unwrap=bool(values[Attribute.UNWRAP]),
        derive=bool(values[Attribute.DERIVE]),
        token=bool(values[Attribute.TOKEN]),
        private=bool(values[Attribute.PRIVATE]),
    )


def _der_octet_string(data: bytes) -> bytes | None:
    """Content of a DER OCTET STRING, or None if `data` is not exactly one."""
    if len(data) < 2 or data[0] != 0x04:
        return None
    length, offset = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or len(data) < 2 + count:
            return None
        length, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    return data[offset:] if len(data) - offset == length else None


def read_public_key(obj: Any, label: str, token_label: str) -> ec.EllipticCurvePublicKey:
    """Turn a token's EC public key object into a cryptography public key."""
    params = bytes(obj[Attribute.EC_PARAMS])
    known = _CURVES.get(params)
    if known is None:
        raise Refused(
            f"key '{label}' on token '{token_label}' is on an unsupported curve ({curve_name(params)})",
            label=label,
        )
    raw = bytes(obj[Attribute.EC_POINT])
    # PKCS#11 says CKA_EC_POINT is a DER OCTET STRING; some modules return the bare point. The point's
    # length (1 + 2n uncompressed, 1 + n compressed) tells the two apart.
    size = (known[1].key_size + 7) // 8
    point = _der_octet_string(raw)
    if point is None or len(point) not in (1 + 2 * size, 1 + size):
        point = raw
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(known[1], point)
    except ValueError as exc:
        raise HsmError(
            f"token '{token_label}' returned an invalid EC point for key '{label}'",
            label=label,
            token=token_label,
        ) from exc


_SECRET_READ_BACK = [Attribute.ID, Attribute.SENSITIVE, Attribute.EXTRACTABLE, Attribute.ALWAYS_SENSITIVE,
                     Attribute.NEVER_EXTRACTABLE, Attribute.LOCAL, Attribute.SIGN, Attribute.TOKEN]


def secret_key_details(session: Any) -> list[dict[str, Any]]:
    """Label and protection attributes of every secret key on the token (what `hsm status` shows)."""
    found = []
    for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})):
        values: dict[str, Any] = {"label": str(obj[Attribute.LABEL])}
        for attribute in _SECRET_READ_BACK:
            try:
                value = obj[attribute]
            except PKCS11Error:  # an attribute the token will not say
                value = None
            values[attribute.name.lower()] = value.hex() if isinstance(value, bytes) else value
        found.append(values)
    return found
