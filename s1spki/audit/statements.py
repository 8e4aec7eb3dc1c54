"""An operator's signed statement: what, on what, when, a nonce, signed with the operator's key; the
evidence that audit records keep of who took part.

The statement is canonical JSON, so an auditor can re-create the signed bytes from the stored record
and verify the signature with the operator's registered public key, offline.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.values.canonical import canonical_json
from s1spki.values.clock import iso

STATEMENT_VERSION = 1


@dataclass(frozen=True)
class SignedStatement:
    body: Mapping[str, Any]
    signature: bytes

    @property
    def operator(self) -> str:
        return str(self.body["operator"])

    @property
    def nonce(self) -> str:
        return str(self.body["nonce"])

    def as_record(self) -> dict[str, Any]:
        """The form kept in the audit record."""
        return {"operator": self.operator, "nonce": self.nonce, "body": dict(self.body),
                "signature": base64.b64encode(self.signature).decode("ascii")}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SignedStatement:
        return cls(dict(record["body"]), base64.b64decode(record["signature"]))


def statement_body(operation: str, obj: Mapping[str, Any], operator: str, now: datetime, ca_id: str) -> dict[str, Any]:
    return {"v": STATEMENT_VERSION, "operation": operation, "object": dict(obj), "operator": operator,
            "time": iso(now), "nonce": secrets.token_hex(16), "ca": ca_id}


def sign_statement(key: ec.EllipticCurvePrivateKey, body: Mapping[str, Any]) -> SignedStatement:
    return SignedStatement(dict(body), key.sign(canonical_json(dict(body)), ec.ECDSA(hashes.SHA256())))


def verify_statement(public_key_der: bytes, statement: SignedStatement) -> bool:
    return _verifies(bytes(public_key_der), canonical_json(dict(statement.body)), bytes(statement.signature))


# A verification is a function of the key, message and signature: a statement checked when its command is
# authorised and again before a checkpoint signs its record is verified once per process.
@lru_cache(maxsize=4096)
def _verifies(public_key_der: bytes, message: bytes, signature: bytes) -> bool:
    key = serialization.load_der_public_key(public_key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
