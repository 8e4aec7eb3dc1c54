"""Progress of long work on stderr, only when stderr is a terminal and never under --json (stdout stays data,
and a script's stderr stays the one line of its outcome).

The bar appears only when the work tells it that it has begun (`advance(0, total)`), so that nothing is drawn
over a passphrase or PIN prompt that comes before the work; it is gone before the command prints its result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from s1spki.cli.context import CliContext

# advance(steps) moves the bar on; advance(0, total) says the work has begun (total None: not known)
Advance = Callable[..., None]


def shown(cli: CliContext) -> bool:
    return not cli.json and sys.stderr.isatty()


@contextmanager
def progress(cli: CliContext, description: str) -> Iterator[Advance]:
    """A progress bar for `description`, drawn from the work's first `advance` call until the block ends."""
    if not shown(cli):
        yield lambda steps, total=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with ExitStack() as stack:
        state: dict[str, Any] = {}

        def advance(steps: int, total: int | None = None) -> None:
            if "bar" not in state:
                bar = stack.enter_context(Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                                   MofNCompleteColumn(), TimeElapsedColumn(),
                                                   console=Console(stderr=True), transient=True))
                state.update(bar=bar, task=bar.add_task(description, total=total))
                bar.refresh()  # drawn now, however short the work
            state["bar"].update(state["task"], advance=steps, **({"total": total} if total is not None else {}))

        yield advance
