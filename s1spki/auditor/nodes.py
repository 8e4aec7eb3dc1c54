"""The checkpoint files of every node sharing the store: this node's own (its [audit] checkpoint file and
further file sinks) and each other node's checkpoint file as it listed it when it joined (`nodes`), read by
`audit verify` and `audit export` on any node. On one machine or a shared filesystem they are readable; one
that is not is named, never passed over."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s1spki.audit.checkpoint import Checkpoint
from s1spki.command import Command


@dataclass(frozen=True)
class CheckpointFile:
    """A file that receives the checkpoints of one node: `primary` for the node's checkpoint file (kept from the
    node's first checkpoint on), not for a further sink added later."""

    node: str  # "" for the original node
    primary: bool
    checkpoints: tuple[Checkpoint, ...] = ()

    def describe(self) -> str:
        return f"node {self.node}" if self.node else "the original node"


def node_checkpoint_files(cmd: Command) -> tuple[dict[Path, CheckpointFile], list[str]]:
    """Every node's checkpoint files, this node's first; and notes on nodes whose file cannot be read here."""
    config = cmd.runtime.config
    own = config.node_id or ""
    files: dict[Path, CheckpointFile] = {}
    for position, path in enumerate(config.audit.files):
        files.setdefault(path, CheckpointFile(own, position == 0))
    notes: list[str] = []
    for row in cmd.reader.nodes():
        node, registered = row["node_id"] or "", row["checkpoints_file"]
        if node == own:
            continue
        name = f"node {node}" if node else "the original node"
        if not registered:
            notes.append(f"{name} has not listed its checkpoint file yet (its next command lists it)")
            continue
        path = Path(registered)
        if not path.exists():
            notes.append(f"the checkpoint file {path} of {name} is not readable here")
        files.setdefault(path, CheckpointFile(node, True))
    return files, notes
