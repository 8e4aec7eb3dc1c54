"""The policy/ and rapp/ a home has adopted: their files, as the trail's `policy.adopt` record keeps them.

A change to either folder takes effect only once it is adopted under dual control (`s1spki policy adopt`,
rapp/ operations.toml `policy.adopt`): until then every command that reads the policy or the RAPP refuses,
naming the file that differs. The adoption record holds the files themselves, so that the rule an adoption is
authorised by is the one adopted before, not the one just edited.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FOLDERS = ("policy", "rapp")
ADOPT_EVENT = "policy.adopt"


def folder_files(directory: Path, suffixes: tuple[str, ...] = (".toml",)) -> dict[str, bytes]:
    """The data files of a folder by relative path (what `tree_hash` covers)."""
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file() and p.suffix in suffixes}


@dataclass(frozen=True)
class Adoption:
    """What a `policy.adopt` record says: for each folder, its hash and its files."""

    seq: int
    hashes: Mapping[str, str]  # folder -> tree hash
    files: Mapping[str, Mapping[str, bytes]]  # folder -> relative path -> bytes

    @classmethod
    def from_details(cls, seq: int, details: Mapping[str, Any]) -> Adoption:
        """ValueError if the record is not an adoption."""
        try:
            hashes = {folder: str(details[f"{folder}_hash"]) for folder in FOLDERS}
            files = {folder: {path: base64.b64decode(text) for path, text in details[f"{folder}_files"].items()}
                     for folder in FOLDERS}
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"record {seq} is not a policy adoption ({exc})") from None
        return cls(seq, hashes, files)

    def differences(self, folder: str, directory: Path) -> list[str]:
        """The files of `directory` that are not as adopted: changed, added or removed."""
        adopted, current = self.files[folder], folder_files(directory)
        changed = [f"{folder}/{p} (changed)" for p in sorted(set(adopted) & set(current)) if adopted[p] != current[p]]
        added = [f"{folder}/{p} (added)" for p in sorted(set(current) - set(adopted))]
        removed = [f"{folder}/{p} (removed)" for p in sorted(set(adopted) - set(current))]
        return changed + added + removed

    def materialise(self, folder: str, target: Path) -> Path:
        """Write the adopted files of `folder` under `target` (to load the rule an adoption is judged by)."""
        for path, data in self.files[folder].items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(data)
        return target


def adoption_details(directories: Mapping[str, Path], hashes: Mapping[str, str]) -> dict[str, Any]:
    """The details of a `policy.adopt` record for the folders in force."""
    details: dict[str, Any] = {}
    for folder in FOLDERS:
        files = folder_files(directories[folder])
        details[f"{folder}_hash"] = hashes[folder]
        details[f"{folder}_files"] = {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}
        details[f"{folder}_file_sha256"] = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    return details
