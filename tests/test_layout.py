"""The package's layout holds: no import cycle between modules (function-local and TYPE_CHECKING imports
counted), and no import upward: parts never import the runtime, the pipeline, a use case or a front door.

    front doors   s1spki.cli, s1spki.est
    use cases     s1spki.ra, s1spki.auditor, and their command context s1spki.command
    runtime       s1spki.runtime (opens and wires the parts)
    pipeline      s1spki.issuance
    parts         everything else: lint, audit, store, hsm, policy, rapp, credentials, home, values, errors
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "s1spki"
FRONT_DOORS = ("s1spki.cli", "s1spki.est", "s1spki.__main__")
USE_CASES = ("s1spki.ra", "s1spki.auditor", "s1spki.command")
RUNTIME = ("s1spki.runtime",)
PIPELINE = ("s1spki.issuance",)
# What each layer may never import.
FORBIDDEN = {
    "use case": FRONT_DOORS,
    "runtime": FRONT_DOORS + USE_CASES + PIPELINE,
    "pipeline": FRONT_DOORS + USE_CASES + RUNTIME,
    "part": FRONT_DOORS + USE_CASES + RUNTIME + PIPELINE,
}
# The audit part checks records offline: it opens neither a database nor an HSM.
AUDIT_NEVER = ("s1spki.store", "s1spki.hsm", "s1spki.runtime")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer(name: str) -> str:
    for label, prefixes in (("front door", FRONT_DOORS), ("use case", USE_CASES), ("runtime", RUNTIME),
                            ("pipeline", PIPELINE)):
        if _within(name, prefixes):
            return label
    return "part"


def imports_of(name: str) -> Iterator[tuple[str, int]]:
    """Every s1spki module `name` imports, anywhere in the file, with the line."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("s1spki"):
                    yield _known(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("s1spki"):
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield (target if target in MODULES else _known(base)), node.lineno


def _known(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


GRAPH = {name: {target for target, _ in imports_of(name) if target != name} for name in MODULES}


def test_the_walk_sees_function_local_and_type_checking_imports() -> None:
    # cli/cert.py imports its use case inside the command function, and its store types under TYPE_CHECKING
    assert "s1spki.ra.issue" in GRAPH["s1spki.cli.cert"]
    assert "s1spki.store" in GRAPH["s1spki.cli.cert"]


def test_no_import_cycle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_no_layer_imports_upward() -> None:
    upward = []
    for name in sorted(MODULES):
        forbidden = FORBIDDEN.get(layer(name), ())
        if _within(name, ("s1spki.audit",)):
            forbidden = forbidden + AUDIT_NEVER
        for target, line in imports_of(name):
            if _within(target, forbidden):
                upward.append(f"{MODULES[name].relative_to(REPO)}:{line}: {layer(name)} {name} imports "
                              f"{layer(target)} {target}")
    assert not upward, "\n".join(upward)
