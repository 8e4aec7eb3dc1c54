"""What every command receives: the CA home, the output mode, and the runtime opened on first use."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from s1spki.cli.table import Column, write_table
from s1spki.collector import collector_paused
from s1spki.home.config import resolve_home

if TYPE_CHECKING:
    from s1spki.command import Command
    from s1spki.runtime import Runtime

AS_HELP = "Operator performing this change (repeat for operations that need several people)."
OPENED: list[Runtime] = []  # the runtimes this command opened, for main()'s end-of-command audit checkpoint
# How a runtime is made for a home: the product's default, or a test-only entry point's (clock, seams).
RuntimeFactory = Callable[[Path], "Runtime"]
_factory: list[RuntimeFactory] = []
_documents: list[bool] = []  # one entry per JSON document this command printed (there is never a second)


def documents_emitted() -> bool:
    """Whether this command already printed its JSON document (main() then prints no error document)."""
    return bool(_documents)


def use_runtime_factory(factory: RuntimeFactory) -> None:
    """Make every command's runtime with `factory` (for a test-only entry point; see cli/main.py)."""
    _factory[:] = [factory]


@dataclass
class CliContext:
    home: Path
    json: bool
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            if _factory:
                self._runtime = _factory[0](self.home)
            else:
                with collector_paused():  # the store's modules load here (s1spki/collector.py)
                    from s1spki.runtime import Runtime  # opening the CA is what costs; --help must not pay for it

                    self._runtime = Runtime(self.home)
            OPENED.append(self._runtime)
        return self._runtime

    def command(self, names: list[str]) -> Command:
        """The command context for the operators named with --as."""
        from s1spki.command import Command, Operators
        from s1spki.ra.crl_completion import complete_unlisted_at_end

        # a change that succeeds also issues the CRL a revocation cut short left undone
        return complete_unlisted_at_end(Command(self.runtime, Operators(tuple(names))))

    def emit(self, data: Any, human: Callable[[], None] | str | None = None) -> None:
        """With --json, the one JSON document on stdout; otherwise the human form."""
        if self.json:
            _documents.append(True)
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        elif isinstance(human, str):
            sys.stdout.write(human + "\n")
        elif human is not None:
            human()

    def emit_each(self, items: Iterable[dict[str, Any]], human: Callable[[Iterable[dict[str, Any]]], None]) -> None:
        """A listing of any length, written as it is read: with --json one JSON array, else `human(items)`."""
        if not self.json:
            human(items)
            return
        _documents.append(True)
        out = sys.stdout
        out.write("[")
        for count, item in enumerate(items):
            out.write(("," if count else "") + "\n  " + json.dumps(item, default=str))
        out.write("\n]\n")

    def table(self, title: str, columns: list[str | Column], rows: Iterable[list[Any]]) -> None:
        """A table on stdout that fits the terminal (cli/table.py); a plain name is a column never narrowed."""
        write_table(title, [c if isinstance(c, Column) else Column(c) for c in columns], rows)


def get(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext(resolve_home(None), False)
    return root.obj


def note(message: str) -> None:
    """Talk goes to stderr, so stdout stays data."""
    sys.stderr.write(message + "\n")
