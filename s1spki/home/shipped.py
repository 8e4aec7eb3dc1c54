"""Where the shipped data folders (policy/, rapp/, hsm_config/) are found.

In a wheel they are packed under `s1spki/_data/`; in a source checkout (editable install, tests) they
sit beside the package at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # s1spki/


def data_dir(name: str) -> Path:
    """Return the shipped data folder `name` (policy, rapp or hsm_config)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"s1spki data folder {name!r} is missing from this installation")
