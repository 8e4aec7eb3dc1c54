"""Strict reading of the TOML data files (policy/, rapp/, s1spki.toml, credential descriptors).

Every problem is collected with its file, dotted key path and reason, and all of them are reported
together in one `ConfigError`, as Boulder's strict config decoding does: unknown keys and wrong types
fail, nothing is silently defaulted.

policy/, rapp/, s1spki.toml and operators' credential descriptors are pydantic models (`DataFolder` reads
a folder's files into them and words pydantic's errors as ours; the validators below are shared by their
schemas). pydantic is imported only when a file is read, never when this module is: `s1spki --help` must
stay fast.
"""

from __future__ import annotations

import ast
import hashlib
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from s1spki.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationInfo
    from pydantic_core import ErrorDetails

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")
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


def _parse_toml(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The document of one TOML file, or None and why not."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        return None, "file is missing"
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid TOML ({exc})"


def tree_hash(directory: Path, suffixes: tuple[str, ...] = (".toml",)) -> str:
    """SHA-256 over every data file of a folder (relative path and bytes), stamped on what it governs."""
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in suffixes):
        relative = file.relative_to(directory).as_posix().encode()
        content = file.read_bytes()
        digest.update(len(relative).to_bytes(4, "big") + relative)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


class _Hashed(Protocol):
    hash: str  # the `tree_hash` of the files it was loaded from


H = TypeVar("H", bound=_Hashed)
_LOADED: dict[tuple[Callable[..., Any], Path, str], Any] = {}


def loaded_once(directory: Path, load: Callable[[Path], H]) -> H:
    """`load(directory)`, made once per process for the same bytes of the folder's files: a process that loads
    policy/ or rapp/ again and again (an EST worker, for every request) parses and validates each version once.
    Kept by the hash of the files it was made from, looked up by their hash now: a file changed in any byte is
    loaded afresh; a folder that fails to load is never kept."""
    key = (load, directory.resolve())
    found = _LOADED.get((*key, tree_hash(directory)))
    if found is None:
        found = load(directory)
        _LOADED[(*key, found.hash)] = found
    return found  # type: ignore[no-any-return]


# --- pydantic models of a folder's files -------------------------------------------------------------------

class DataFolder:
    """The TOML files of one folder read into strict pydantic models, every problem of every file collected.

    Each problem reads `<folder>/<file>: key.path: reason`; `raise_if_any` raises them all as one ConfigError
    (`"<what> <folder> refused: " + "; ".join(problems)`, the list in `facts["problems"]`).
    """

    def __init__(self, directory: Path, what: str) -> None:
        self.directory = directory
        self.what = what
        self.name = directory.name or str(directory)
        self.problems = Problems()

    def label(self, relative: str) -> str:
        """How problems name a file or sub-folder of the folder: `policy/profiles/root.toml`."""
        return f"{self.name}/{relative}"

    def toml(self, relative: str) -> dict[str, Any] | None:
        """The parsed document of one file; a missing or malformed file is a problem and gives None."""
        document, why = _parse_toml(self.directory / relative)
        if document is None:
            self.problems.add(self.label(relative), "", why)
        return document

    def validate(self, relative: str, model: type[M], document: Any,
                 context: Mapping[str, Any] | None = None) -> M | None:
        """The document as `model`, or None with each of pydantic's errors recorded as a problem."""
        from pydantic import ValidationError

        try:
            return model.model_validate(document, context=context)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                for loc, reason in _problems_of(error):
                    self.problems.add(self.label(relative), key_path(loc), reason)
            return None

    def read(self, relative: str, model: type[M], context: Mapping[str, Any] | None = None) -> M | None:
        """Parse one file and validate it as `model` (None if either failed; the problems are recorded)."""
        document = self.toml(relative)
        return None if document is None else self.validate(relative, model, document, context)

    def refuse(self, relative: str, key: str, reason: str) -> None:
        """Record a problem found by the loader itself (a rule across files)."""
        self.problems.add(self.label(relative), key, reason)

    def raise_if_any(self) -> None:
        self.problems.raise_if_any(f"{self.what} {self.directory}")


def key_path(loc: Iterable[str | int]) -> str:
    """pydantic's error location as a dotted key path: ('roles', 'auditor', 'may', 2) -> roles.auditor.may[2]."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
    return key


# pydantic's error types, worded as the rest of s1spki words a refused value
_TYPE_NAMES = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUNDS = {"less_than_equal": ("<=", "le"), "greater_than_equal": (">=", "ge"),
           "less_than": ("<", "lt"), "greater_than": (">", "gt")}
# a problem a validator locates below its own key (see `refusal`)
_LOCATED = "s1spki_located"


def _problems_of(error: ErrorDetails) -> list[tuple[tuple[str | int, ...], str]]:
    """One pydantic error as (location, reason) pairs: one pair, or several for a `refusal`."""
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == _LOCATED:
        return [(loc + tuple(sub), reason) for sub, reason in ctx["problems"]]
    if kind == "extra_forbidden":
        reason = "unknown key"
    elif kind == "missing":
        reason = "is required"
    elif kind in _TYPE_NAMES:
        reason = f"must be {_TYPE_NAMES[kind]}, not {value!r}"
    elif kind in _BOUNDS:
        sign, name = _BOUNDS[kind]
        reason = f"must be {sign} {ctx[name]}, not {value!r}"
    elif kind in ("literal_error", "enum"):
        reason = one_of(_expected(ctx["expected"]), value)
    elif kind in ("value_error", "assertion_error"):
        reason = str(ctx["error"])
    elif kind == "too_short":
        reason = f"must have at least {ctx['min_length']} entries, not {ctx['actual_length']}"
    elif kind == "too_long":
        reason = f"must have at most {ctx['max_length']} entries, not {ctx['actual_length']}"
    else:
        reason = error["msg"]
    return [(loc, reason)]


_EXPECTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?[0-9]+")


def _expected(text: str) -> tuple[object, ...]:
    """The values of a literal error's `expected` ("'a', 'b' or 'c'", "1 or 'absent'")."""
    return tuple(ast.literal_eval(token) for token in _EXPECTED.findall(text))


# --- validators shared by the schemas: plain functions, wrapped by the schema modules ---------------------------

def one_of(allowed: Iterable[object], value: object) -> str:
    """The reason for a value outside a set: `must be one of a, b, not 'c'` (`must be a, not 'c'` for one)."""
    names = [str(a) for a in allowed]
    return (f"must be {names[0]}, not {value!r}" if len(names) == 1
            else f"must be one of {', '.join(names)}, not {value!r}")


def choice(allowed: Collection[str]) -> Callable[[str], str]:
    """An after-validator: the string is one of `allowed` (a table of the code: EXTENSION_OIDS, CHECKS...)."""
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(one_of(allowed, value))
        return value
    return check


def known(what: str) -> Callable[[str, ValidationInfo], str]:
    """An after-validator: the string names one of `context[what]`, the names another file defines.

    None there means that file could not be read (a problem already): its names are then not checked.
    """
    def check(value: str, info: ValidationInfo) -> str:
        allowed = (info.context or {})[what]
        if allowed is not None and value not in allowed:
            raise ValueError(one_of(allowed, value))
        return value
    return check


def exactly(*allowed: object) -> Callable[[Any], Any]:
    """A before-validator for a Literal with integers: Literal[0] takes False and 0.0, even in strict mode."""
    def check(value: Any) -> Any:
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise ValueError(one_of(allowed, value))
        return value
    return check


def list_of(what: str) -> Callable[[Any], Any]:
    """A before-validator naming what a list holds when the value is no list: `must be a list of strings`."""
    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"must be a list of {what}, not {value!r}")
        return value
    return check


def unique(items: list[T]) -> list[T]:
    """An after-validator: no entry of the list is given twice."""
    if len(set(items)) != len(items):
        raise ValueError("lists an entry twice")
    return items


def dotted_oid(value: str) -> str:
    """An after-validator: an object identifier in dotted form."""
    if not _OID.match(value):
        raise ValueError(f"must be a dotted OID, not {value!r}")
    return value


def refusal(problems: Iterable[tuple[tuple[str | int, ...], str]]) -> Exception:
    """The error for a validator to raise with problems below its own key: (sub-key path, reason) each.

    A model validator sees several fields and finds problems in several of them; a table validator finds
    them in its entries. pydantic locates a validator's error at its own key, so the sub-keys travel in the
    error's context and `DataFolder` appends them to the location.
    """
    from pydantic_core import PydanticCustomError

    located = tuple((tuple(sub), reason) for sub, reason in problems)
    return PydanticCustomError(_LOCATED, "; ".join(reason for _, reason in located), {"problems": located})
