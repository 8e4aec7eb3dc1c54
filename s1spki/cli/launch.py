"""How a command's process starts (pyproject's `s1spki` script, `python -m s1spki`): the CLI's modules loaded with
the cyclic garbage collector paused (s1spki/collector.py), then the command run (cli/main.py)."""

from __future__ import annotations

from typing import NoReturn

from s1spki.collector import collector_paused


def main() -> NoReturn:
    """The `s1spki` command."""
    with collector_paused():
        from s1spki.cli.main import main as run
    run()
