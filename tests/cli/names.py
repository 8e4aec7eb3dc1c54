"""What every refused name must look like through the CLI: exit 2, one line naming the field and the
problem, no control or format character echoed raw, and nothing changed in the store."""

from __future__ import annotations

import unicodedata
from typing import Any

from tests.conftest import CaHome, Result

# what a message must never carry raw: it would move the cursor, reorder the line or split it
RAW_REFUSED = ("Cc", "Cf", "Cs", "Zl", "Zp")


def raw_controls(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in RAW_REFUSED]


def assert_name_refused(ca: CaHome, result: Result, before: dict[str, Any], audit_before: int, words: str,
                        code: int = 2) -> None:
    assert result.code == code, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert words.lower() in lines[0].lower(), str(result)
    assert not raw_controls(result.stderr.rstrip("\n")), f"raw {raw_controls(result.stderr)} in {result.stderr!r}"
    assert "Traceback" not in result.stderr
    assert ca.snapshot() == before
    assert all(a["outcome"] == "refused" for a in ca.audit()[audit_before:]), ca.audit()[audit_before:]
