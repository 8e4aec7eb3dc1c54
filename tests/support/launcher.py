"""Running `s1spki` for a test: through the fork server (tests/support/zygote.py), one per test process, started on
first use; `S1SPKI_TEST_EXEC=1` runs every command as a new interpreter instead, as a user's shell would."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ZYGOTE = Path(__file__).resolve().parent / "zygote.py"
REPO = ZYGOTE.parent.parent.parent


class _Server:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._path = ""

    def path(self) -> str:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                folder = tempfile.mkdtemp(prefix="s1spki-zygote-")
                self._path = os.path.join(folder, "socket")
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                                 os.environ.get("PYTHONPATH")]))}
                self._proc = subprocess.Popen([sys.executable, str(ZYGOTE), self._path, str(os.getpid())],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                                              env=env, cwd=REPO)
                assert self._proc.stdout is not None
                ready = self._proc.stdout.readline()
                assert ready == "ready\n", f"the tests' fork server did not start: {ready!r}"
                atexit.register(self._proc.kill)
            return self._path


_server = _Server()


def run(argv: list[str], env: dict[str, str], timeout: float, seams: bool) -> tuple[int, str, str]:
    """Run `s1spki ARGS` (argv without the program) in a forked process; returns (exit code, stdout, stderr) as
    subprocess.run(text=True) would, and raises subprocess.TimeoutExpired as it would."""
    if os.environ.get("S1SPKI_TEST_EXEC") == "1":
        entry = [str(ZYGOTE.parent / "entry.py")] if seams else ["-m", "s1spki"]
        proc = subprocess.run([sys.executable, *entry, *argv], capture_output=True, text=True, env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr
    request = {"args": argv, "env": env, "cwd": os.getcwd(), "seams": seams}
    with (open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err,
          socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn):
        conn.connect(_server.path())
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [stdin.fileno(), out.fileno(), err.fileno()])
        conn.settimeout(timeout)
        reader = conn.makefile("r")
        pid = json.loads(reader.readline())["pid"]
        try:
            reply = reader.readline()
        except TimeoutError:
            os.killpg(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(argv, timeout) from None
        code = json.loads(reply)["code"]
        out.seek(0)
        err.seek(0)
        return code, _text(out.read()), _text(err.read())


def _text(data: bytes) -> str:
    # subprocess's text mode: the locale's encoding (UTF-8 here) and universal newlines
    return data.decode("utf-8", errors="strict").replace("\r\n", "\n").replace("\r", "\n")
