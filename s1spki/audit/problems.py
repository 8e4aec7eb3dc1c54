"""What can be wrong with the audit trail: a problem names the first bad record and what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALTERED = "altered"
MISSING = "missing"
INSERTED = "inserted"
OUT_OF_ORDER = "out of order"
TRUNCATED = "truncated"
ROLLED_BACK = "rolled back"
BAD_CHECKPOINT = "bad checkpoint signature"
BAD_MANIFEST = "bad manifest signature"
UNAUTHENTICATED = "unauthenticated"  # no authenticator, or not the HSM's record key's
BAD_STATEMENT = "bad statement"  # an operator's statement that does not verify under their registered key
NOT_COVERED = "not covered"  # records no signed checkpoint vouches for, when one must
CHECKPOINTS_MISSING = "checkpoints missing"  # a checkpoint file or sink lacks checkpoints the others hold
KINDS = (ALTERED, MISSING, INSERTED, OUT_OF_ORDER, TRUNCATED, ROLLED_BACK, BAD_CHECKPOINT, BAD_MANIFEST,
         UNAUTHENTICATED, BAD_STATEMENT, NOT_COVERED, CHECKPOINTS_MISSING)


@dataclass(frozen=True)
class Problem:
    """What is wrong, and with which record (None when no record can be named)."""

    seq: int | None
    kind: str
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"problem kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    def line(self) -> str:
        where = f"record {self.seq}" if self.seq is not None else "the audit trail"
        return f"{where}: {self.kind}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}
