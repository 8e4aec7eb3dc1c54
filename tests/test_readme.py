"""The README's walk-through runs as written: its shell blocks, from "A first CA, step by step" to the audit
trail, run in order in an empty folder, through the real `s1spki` on PATH, at a terminal where each person types
their passphrase when asked (real SoftHSM, SQLite and openssl)."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.terminal import run_on_terminal

SECTIONS = ("## A first CA, step by step", "## Revocation, CRLs and the published repository", "## The audit trail")


def walk_through() -> str:
    """The README's shell blocks of the walk-through sections, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = []
    for title in SECTIONS:
        assert title in text, f"README.md has no section {title!r}"
        section = text.split(title, 1)[1].split("\n## ", 1)[0]
        found = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
        assert found, f"README.md section {title!r} has no sh block"
        blocks += found
    return "\n".join(blocks)


def _passphrase(match: re.Match[str]) -> str:
    return f"walk-through passphrase of {match.group(1)}"


@pytest.mark.slow
@pytest.mark.hsm
def test_the_readme_walk_through_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "walk-through.sh"
    script.write_text("set -euo pipefail\nset -x\n" + walk_through(), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "s1spki"  # `s1spki` on PATH is this checkout's, whatever is installed elsewhere
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m s1spki "$@"\n')
    wrapper.chmod(0o755)
    folder = tmp_path / "fresh"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("S1SPKI_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])), TERM="xterm")

    run = run_on_terminal(["bash", str(script)], env=env, cwd=str(folder),
                          answers=[(r"(?:a new passphrase for|the passphrase of) ([A-Za-z0-9._-]+)'s key(?:, again)?:",
                                    _passphrase)])

    assert run.code == 0, str(run)
    assert "Traceback" not in run.output, str(run)
    for made in ("acme-ds.pem", "issuing.pem", "approval-2.json", "issuing-crl.pem", "pki/index.json",
                 "trail.jsonl", "trail.jsonl.manifest.json", "issuance.csv"):
        assert (folder / made).is_file(), f"{made} was not written:\n{run}"
    home = folder / "ca"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700, oct(home.stat().st_mode)
    assert stat.S_IMODE((home / "s1spki.db").stat().st_mode) == 0o600
    assert "is ready" in run.output  # hsm probe's verdict
    assert "operator dave rekeyed" in run.output
