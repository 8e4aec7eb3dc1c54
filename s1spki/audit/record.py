"""An audit record and the hash that chains it to the one before (spec 7).

Each record's hash covers its own fields and the previous record's hash, so a record altered, removed,
inserted or moved breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from s1spki.values.canonical import canonical_json

GENESIS_HASH = "0" * 64
OUTCOMES = ("ok", "refused", "error")


@dataclass(frozen=True)
class AuditEvent:
    """What happened, by whom, to what, with what result: one audit record before it is chained."""

    event: str
    actor: str
    actor_role: str
    outcome: str = "ok"
    object_type: str | None = None
    object_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    statements: tuple[Mapping[str, Any], ...] = ()
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    policy_hash: str | None = None
    rapp_hash: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")

    def attributed(self, actor: str, actor_role: str, statements: tuple[Mapping[str, Any], ...],
                   **details: Any) -> AuditEvent:
        """The event, attributed to the verified operators and carrying their signed statements."""
        return replace(self, actor=actor, actor_role=actor_role, statements=self.statements + statements,
                       details={**self.details, **details})

    def with_outcome(self, outcome: str, **details: Any) -> AuditEvent:
        return replace(self, outcome=outcome, details={**self.details, **details})


def hashed_fields(seq: int, at: str, event: AuditEvent, node_id: str | None = None) -> dict[str, Any]:
    """The fields a record's hash covers, in the form they are stored. `node_id` is the node that writes it
    (several nodes on one store); None for the single original node, whose records carry no node_id field at
    all, so that records written before nodes existed hash as they always did."""
    fields = {
        "seq": seq,
        "at": at,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "event": event.event,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "correlation_id": event.correlation_id,
        "policy_hash": event.policy_hash,
        "rapp_hash": event.rapp_hash,
        "details": dict(event.details),
        "statements": [dict(s) for s in event.statements],
    }
    if node_id is not None:
        fields["node_id"] = node_id
    return fields


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(dict(fields))).hexdigest()
