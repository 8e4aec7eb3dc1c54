"""A test-only entry point: the `s1spki` command with the runtime's seams and clock set from the environment.

Product code only calls `Seams.reached(point)`, which does nothing; this entry point (never installed, never
on a user's PATH) makes a point act as a test asks:
  S1SPKI_TEST_KILL_AT=POINT          SIGKILL the process at POINT (a crash there)
  S1SPKI_TEST_HOLD_AT=POINT:FILE     at POINT, create FILE.held, then wait until FILE exists (a race window held
                                     open while the test acts from outside)
  S1SPKI_TEST_CLOCK_SHIFT=SECONDS    the clock runs SECONDS ahead (e.g. an approval that has expired)
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from s1spki.cli.main import main
from s1spki.runtime import Runtime, Seams
from s1spki.values.clock import Clock

HOLD_LIMIT_S = 60


class EnvironmentSeams(Seams):
    def reached(self, point: str) -> None:
        if os.environ.get("S1SPKI_TEST_KILL_AT") == point:
            os.kill(os.getpid(), signal.SIGKILL)
        held, _, release = os.environ.get("S1SPKI_TEST_HOLD_AT", "").partition(":")
        if held == point and release:
            Path(release + ".held").touch()
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not Path(release).exists() and time.monotonic() < deadline:
                time.sleep(0.02)


class ShiftedClock(Clock):
    def __init__(self, seconds: float) -> None:
        self._shift = timedelta(seconds=seconds)

    def now(self) -> datetime:
        return super().now() + self._shift


def _runtime(home: Path) -> Runtime:
    shift = float(os.environ.get("S1SPKI_TEST_CLOCK_SHIFT", "0"))
    return Runtime(home, clock=ShiftedClock(shift) if shift else None, seams=EnvironmentSeams())


if __name__ == "__main__":
    sys.argv[0] = "s1spki"
    main(runtime_factory=_runtime)
