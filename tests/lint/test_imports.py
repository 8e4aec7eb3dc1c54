"""The linter reads asn1crypto through its public API only: no `asn1crypto.parser`, no private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import s1spki.lint

LINT = Path(s1spki.lint.__file__).parent
MODULES = sorted(LINT.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _on_self(node: ast.Attribute) -> bool:
    # Our own objects keep private state on `self`; any other `._x` would reach into asn1crypto.
    return isinstance(node.value, ast.Name) and node.value.id == "self"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LINT)))
def test_no_parser_and_no_private_asn1crypto_names(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            offences += [alias.name for alias in node.names if alias.name.startswith("asn1crypto.parser")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asn1crypto"):
            if node.module == "asn1crypto.parser":
                offences.append(node.module)
            offences += [f"{node.module}.{a.name}" for a in node.names if a.name == "parser" or _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr) and not _on_self(node):
            offences.append(f"line {node.lineno}: .{node.attr}")
    assert offences == [], f"{path.name}: {offences}"


def test_the_old_reader_is_gone() -> None:
    assert not (LINT / "der.py").exists()
