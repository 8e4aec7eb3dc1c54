"""A fork server for the tests' `s1spki` commands: a process that has imported every s1spki module once and forks
a fresh child for each command, so a test pays for a fork rather than for starting Python and importing
SQLAlchemy, cryptography and pkilint again (that start-up was most of the suite's time).

Each command still runs in a process of its own, with its own environment, working folder, stdin, stdout and
stderr (passed as file descriptors), its own PKCS#11 library load (the server never loads one: a PKCS#11 library
must not be used across fork) and its own exit status, SIGKILL included. What this skips is what
tests/cli/test_help.py and the README and demo tests still run as real processes: the interpreter's start.

Protocol over a unix socket, one connection per command: the client sends one JSON request with three file
descriptors (stdin, stdout, stderr); the server replies with the command's pid, then its exit status.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import pkgutil
import runpy
import signal
import socket
import sqlite3
import sqlite3.dbapi2
import sys
import traceback
from pathlib import Path
from typing import NoReturn

ENTRY = Path(__file__).resolve().parent / "entry.py"
# imported by a command when it needs them; the server imports them up front so no child pays for them
WARM = ("sqlalchemy", "sqlalchemy.dialects.sqlite", "alembic.command", "alembic.config", "alembic.runtime.migration",
        "pkilint", "cryptography.x509", "pkcs11", "psycopg", "sqlalchemy.dialects.postgresql.psycopg")
# run as scripts, not imported: the CLI's entry and Alembic's environment and revisions (loaded from their files)
SKIP = ("s1spki.__main__", "s1spki.store.migrations.env", "s1spki.store.migrations.versions")


def _warm() -> None:
    import s1spki

    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for module in pkgutil.walk_packages(s1spki.__path__, "s1spki."):
        if not module.name.startswith(SKIP):
            importlib.import_module(module.name)
    importlib.import_module("tests.support.entry")


def _run_command(request: dict, fds: list[int]) -> NoReturn:
    """In the command's own process: become the command, run it and end as `python -m s1spki` would."""
    os.setpgid(0, 0)  # a group of its own, so a timeout kills whatever it started too
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command waits for children of its own (token init, pg_dump)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    opened = _track_sqlite()
    code = 0
    try:
        if request["seams"]:
            sys.argv = [str(ENTRY), *request["args"]]
            runpy.run_path(str(ENTRY), run_name="__main__")
        else:
            sys.argv = ["s1spki", *request["args"]]
            runpy.run_module("s1spki", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    _end(code, opened)


def _track_sqlite() -> list[sqlite3.Connection]:
    """Every SQLite connection the command opens, to be closed when it ends as the interpreter's shutdown would
    (which checkpoints and removes the WAL); a whole shutdown of a process this size costs 0.4 s, the fork 0.01 s."""
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def tracked(*args, **kwargs):  # type: ignore[no-untyped-def]
        conn = connect(*args, **kwargs)
        opened.append(conn)
        return conn

    sqlite3.connect = sqlite3.dbapi2.connect = tracked  # type: ignore[assignment]  # SQLAlchemy calls dbapi2's
    return opened


def _end(code: int, opened: list[sqlite3.Connection]) -> NoReturn:
    """End the command's process as `python -m s1spki` ends: atexit, output flushed, databases closed."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        for conn in opened:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
    finally:
        os._exit(code & 0xFF)


def _serve_one(conn: socket.socket) -> None:
    """In a child of the server: fork the command, report its pid and then its exit status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    message, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while not message.endswith(b"\n"):  # a large environment may come in more than one piece
        message += conn.recv(1 << 16)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_command(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)  # -N for a signal, as subprocess reports it
    conn.sendall(json.dumps({"code": code}).encode() + b"\n")


def serve(path: str, parent: int) -> None:
    """Serve until the test process that started the server is gone."""
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the server reaps nobody: children vanish when they end
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.settimeout(1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while os.getppid() == parent:  # gone with the test process that started it
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            try:
                _serve_one(conn)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
