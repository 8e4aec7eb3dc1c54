"""Run a command on a pseudo-terminal, as a person at a terminal would: prompts answered as they appear.

`getpass` reads from the controlling terminal, so the command runs in a session of its own on a new pty; every
byte it writes (stdout, stderr and prompts alike) is collected. A prompt is answered when the output so far
ends with text a pattern matches; the answer is written as if typed, followed by Enter.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Answer = Callable[[re.Match[str]], str]


@dataclass
class TerminalRun:
    code: int
    output: str

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.output[-6000:]}"


def run_on_terminal(argv: Sequence[str], *, env: dict[str, str], cwd: str, answers: Sequence[tuple[str, Answer]] = (),
                    timeout: float = 600, columns: int = 120) -> TerminalRun:
    prompts = [(re.compile(pattern + r"\s*$"), answer) for pattern, answer in answers]
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        try:
            os.chdir(cwd)
            os.execvpe(argv[0], list(argv), env)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    chunks: list[str] = []
    pending = ""  # output since the last answer, where the next prompt is looked for
    deadline = time.monotonic() + timeout
    status = None
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"{argv} did not end within {timeout} s:\n{''.join(chunks)[-4000:]}")
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal: it has ended
                data = ""
            if not data:
                break
            chunks.append(data)
            pending += data
            for pattern, answer in prompts:
                match = pattern.search(pending)
                if match:
                    os.write(master, (answer(match) + "\n").encode("utf-8"))
                    pending = ""
                    break
        else:
            done, ended = os.waitpid(pid, os.WNOHANG)
            if done:
                status = ended
                break
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(master)
    return TerminalRun(os.waitstatus_to_exitcode(status), "".join(chunks).replace("\r\n", "\n"))
