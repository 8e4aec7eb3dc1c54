"""EUI-64 Entity Identifiers: 64 bits, written as 16 uppercase hex digits."""

from __future__ import annotations

import re

from s1spki.errors import UsageError

_SEPARATORS = re.compile(r"[-:\s]")
_HEX16 = re.compile(r"^[0-9A-F]{16}$")


def normalise_eui64(text: str) -> str:
    """Accept 90B3D51F30010000 or 90-B3-D5-1F-30-01-00-00; return the 16-digit uppercase form."""
    value = _SEPARATORS.sub("", text).upper()
    if not _HEX16.match(value):
        raise UsageError(f"{text!r} is not an EUI-64: give 16 hex digits, e.g. 90B3D51F30010000")
    return value
