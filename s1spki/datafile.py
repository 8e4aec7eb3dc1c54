"""Strict reading of the TOML data files (policy/, rapp/, s1spki.toml).

Every problem is collected with its file, dotted key path and reason, and all of them are reported
together in one `ConfigError`, as Boulder's strict config decoding does: unknown keys and wrong types
fail, nothing is silently defaulted.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")
_MISSING = object()
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


class Problems:
    """Accumulates `file: key: reason` lines; `raise_if_any` turns them into one ConfigError."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, file: str, key: str, reason: str) -> None:
        self.lines.append(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")

    def raise_if_any(self, what: str) -> None:
        if self.lines:
            raise ConfigError(f"{what} refused: " + "; ".join(self.lines), problems=list(self.lines))


def load_toml(path: Path, problems: Problems, label: str) -> dict[str, Any]:
    """Parse one TOML file; a missing or malformed file becomes a problem, not an exception."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(label, "", "file is missing")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add(label, "", f"not valid TOML ({exc})")
    return {}


class Table:
    """A view of one TOML table that records which keys were read, so unknown keys can be refused."""

    def __init__(self, data: Any, file: str, path: str, problems: Problems) -> None:
        self.file, self.path, self.problems = file, path, problems
        if not isinstance(data, dict):
            self._fail("", f"must be a table, not {type(data).__name__}")
            data = {}
        self.data: dict[str, Any] = data
        self._seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else (self.path or key)

    def _fail(self, key: str, reason: str) -> None:
        self.problems.add(self.file, self._key(key), reason)

    def names(self) -> list[str]:
        return list(self.data)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any, kind_name: str) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if default is _MISSING:
                self._fail(key, "is required")
                return None
            return default
        value = self.data[key]
        # bool is an int in Python; a TOML boolean is never a valid number here
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            self._fail(key, f"must be {kind_name}, not {value!r}")
            return None if default is _MISSING else default
        return value

    def str(self, key: str, default: Any = _MISSING, choices: Iterable[str] | None = None) -> Any:
        value = self._get(key, str, default, "a string")
        if choices is not None and isinstance(value, str):
            allowed = tuple(choices)
            if value not in allowed:
                self._fail(key, f"must be one of {', '.join(allowed)}, not {value!r}")
                return None
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int | None = None, maximum: int | None = None) -> Any:
        value = self._get(key, int, default, "an integer")
        if isinstance(value, int) and not isinstance(value, bool):
            if minimum is not None and value < minimum:
                self._fail(key, f"must be >= {minimum}, not {value}")
                return None
            if maximum is not None and value > maximum:
                self._fail(key, f"must be <= {maximum}, not {value}")
                return None
        return value

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, bool, default, "true or false")

    def str_list(self, key: str, default: Any = _MISSING, choices: Iterable[str] | None = None) -> Any:
        value = self._get(key, list, default, "a list of strings")
        if value is None:
            return None
        allowed = tuple(choices) if choices is not None else None
        result: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self._fail(f"{key}[{index}]", f"must be a string, not {item!r}")
            elif allowed is not None and item not in allowed:
                self._fail(f"{key}[{index}]", f"must be one of {', '.join(allowed)}, not {item!r}")
            else:
                result.append(item)
        if len(set(result)) != len(result):
            self._fail(key, "lists an entry twice")
        return tuple(result)

    def oid(self, key: str, default: Any = _MISSING) -> Any:
        value = self.str(key, default)
        if isinstance(value, str) and not _OID.match(value):
            self._fail(key, f"must be a dotted OID, not {value!r}")
            return None
        return value

    def table(self, key: str, required: bool = True) -> Table:
        self._seen.add(key)
        if key not in self.data:
            if required:
                self._fail(key, "is required")
            return Table({}, self.file, self._key(key), self.problems)
        return Table(self.data[key], self.file, self._key(key), self.problems)

    def tables(self, key: str) -> dict[str, Table]:
        """The sub-tables of `key`, by name (e.g. one per role or per operation)."""
        outer = self.table(key)
        outer._seen.update(outer.data)
        return {name: Table(value, self.file, outer._key(name), self.problems) for name, value in outer.data.items()}

    def check(self, key: str, ok: bool, reason: str) -> None:
        if not ok:
            self._fail(key, reason)

    def finish(self) -> None:
        """Refuse keys that nobody read: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self._seen:
                self._fail(key, "unknown key")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def tree_hash(directory: Path, suffixes: tuple[str, ...] = (".toml",)) -> str:
    """SHA-256 over every data file of a folder (relative path and bytes), stamped on what it governs."""
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in suffixes):
        relative = file.relative_to(directory).as_posix().encode()
        content = file.read_bytes()
        digest.update(len(relative).to_bytes(4, "big") + relative)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def build_or_none(build: Callable[[], T], problems: Problems, file: str, key: str) -> T | None:
    """Run a value-object constructor; its ValueError becomes a located problem."""
    try:
        return build()
    except ValueError as exc:
        problems.add(file, key, str(exc))
        return None
