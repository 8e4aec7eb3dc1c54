"""What every command receives: the CA home, the output mode, and the App opened on first use."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from ..config import resolve_home

if TYPE_CHECKING:
    from ..app import App

AS_HELP = "Operator performing this change (repeat for operations that need several people)."
OPENED: list[App] = []  # the Apps this command opened, for main()'s end-of-command audit checkpoint


@dataclass
class CliContext:
    home: Path
    json: bool
    _app: App | None = field(default=None, repr=False)

    @property
    def app(self) -> App:
        if self._app is None:
            from ..app import App  # opening the CA is what costs; --help must not pay for it

            self._app = App(self.home)
            OPENED.append(self._app)
        return self._app

    def emit(self, data: Any, human: Callable[[], None] | str | None = None) -> None:
        """With --json, the one JSON document on stdout; otherwise the human form."""
        if self.json:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        elif isinstance(human, str):
            sys.stdout.write(human + "\n")
        elif human is not None:
            human()

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console(width=160).print(table)


def get(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext(resolve_home(None), False)
    return root.obj


def note(message: str) -> None:
    """Talk goes to stderr, so stdout stays data."""
    sys.stderr.write(message + "\n")
