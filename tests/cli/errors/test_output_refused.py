"""The system refusing a command's output: written to a device that is full (`/dev/full`, as a full disk), or to a
pipe whose reader went away. With output unbuffered (PYTHONUNBUFFERED=1) the refusal comes in the middle of the
command: a full device is one line saying what failed, exit 1, never "unexpected error"; a closed pipe ends the
command quietly with exit 1. Buffered, the refusal comes at the end: a reader that went away then is no failure
(what it read stands)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CaHome


def _run(ca: CaHome, stdout: int, unbuffered: bool, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | ({"PYTHONUNBUFFERED": "1"}
                                                                           if unbuffered else {})
    return subprocess.Popen([sys.executable, "-m", "s1spki", "--home", str(ca.home), *args], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_output_to_a_full_device_is_one_line_and_exit_1(ca: CaHome, unbuffered: bool) -> None:
    with open("/dev/full", "w") as full:
        done = _run(ca, full.fileno(), unbuffered, "cert", "list")
        _, err = done.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert done.returncode == 1, err
    assert len(lines) == 1 and "No space left on device" in lines[0] and "unexpected" not in lines[0], err


def test_a_reader_gone_before_the_output_ends_the_command_quietly(ca: CaHome) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader went away before the command wrote anything
    try:
        cut = _run(ca, write, True, "cert", "list")
        _, err = cut.communicate(timeout=60)
        quiet = _run(ca, write, False, "cert", "list")
        _, quiet_err = quiet.communicate(timeout=60)
    finally:
        os.close(write)
    assert cut.returncode == 1 and err == ""  # cut short, and the reader that asked for it gone: nothing to say
    assert quiet.returncode == 0 and quiet_err == ""
