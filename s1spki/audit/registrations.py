"""Operators' keys as the trail itself registered them: `init` registers the bootstrap operators, each
`operator.add` (and `operator.rekey`) one more key. A statement in a record is checked against the key its
operator had registered before that record."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

REGISTERING_EVENTS = ("init", "operator.add", "operator.rekey")


class RegisteredKeys:
    """Each operator's registered public keys, with the seq of the record that registered each."""

    def __init__(self) -> None:
        self._keys: dict[str, list[tuple[int, bytes]]] = {}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, str | None, str]]) -> RegisteredKeys:
        """From successful registering records as (seq, event, object_id, details JSON), oldest first."""
        keys = cls()
        for seq, event, object_id, details in rows:
            try:
                data = json.loads(details)
            except ValueError:
                continue  # an altered record: the chain check names it
            if event == "init":
                for operator in data.get("operators", []):
                    keys.add(seq, str(operator.get("name")), str(operator.get("public_key_pem", "")))
            elif object_id:
                keys.add(seq, object_id, str(data.get("public_key_pem", "")))
        return keys

    def add(self, seq: int, name: str, pem: str) -> None:
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return
        if isinstance(key, ec.EllipticCurvePublicKey):
            der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            self._keys.setdefault(name, []).append((seq, der))

    def key_at(self, name: str, seq: int) -> bytes | None:
        """The DER public key `name` had registered before record `seq`, or None."""
        registered = self._keys.get(name, [])
        index = bisect.bisect_left(registered, (seq, b""))
        return registered[index - 1][1] if index else None

    def as_dict(self) -> dict[str, Any]:
        return {name: [seq for seq, _ in entries] for name, entries in self._keys.items()}
