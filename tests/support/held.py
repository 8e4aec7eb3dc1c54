"""A command held at one of the test-only entry point's seams (tests/support/entry.py): a race window kept open
by the test, not by sleeping in product code."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.conftest import CaHome, s1spki_argv


def held_at(ca: CaHome, point: str, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """Start `s1spki ARGS` held at seam `point` until the returned file exists."""
    release = ca.work / f"release-{point}"
    env = {"S1SPKI_TEST_HOLD_AT": f"{point}:{release}"}
    process = subprocess.Popen(s1spki_argv(ca.home, *args, seams=True), env={**os.environ, **env}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    held = Path(str(release) + ".held")
    deadline = time.monotonic() + 120
    while not held.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never reached the seam"
        time.sleep(0.05)
    return process, release
