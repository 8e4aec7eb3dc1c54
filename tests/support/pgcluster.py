"""A private PostgreSQL cluster for the tests: initdb into a folder of its own, a unix socket in that folder, no
TCP port and no system service. `scripts/test` starts one and hands its URL to pytest in S1SPKI_TEST_PG.

    python -m tests.support.pgcluster start DIR   # prints S1SPKI_TEST_PG=<url>
    python -m tests.support.pgcluster stop DIR

PostgreSQL refuses to run as root: as root, the cluster's programs run as the `postgres` account the Debian
package creates, and the folder is given to it. The cluster trades durability for speed (fsync off): it holds
test data only, and a restart (`restart`) still keeps every committed row.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

SUPERUSER = "postgres"
URL_VARIABLE = "S1SPKI_TEST_PG"


class ClusterError(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest installed server's programs (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterError("PostgreSQL server not installed (scripts/setup installs it)")


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str]) -> None:
    proc = subprocess.run(_as_owner(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ClusterError(f"{Path(argv[0]).name} failed: {(proc.stderr or proc.stdout).strip()}")


def _paths(base: Path) -> tuple[Path, Path, Path]:
    return base / "data", base / "socket", base / "server.log"


def url(base: Path, database: str = SUPERUSER) -> str:
    """The SQLAlchemy URL of `database` in the cluster at `base` (unix socket, trust authentication)."""
    return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={_paths(base)[1]}"


def start(base: Path) -> str:
    """Create (once) and start the cluster at `base`; returns its URL."""
    data, socket, log = _paths(base)
    programs = bin_dir()
    base.mkdir(parents=True, exist_ok=True)
    if not (data / "PG_VERSION").exists():
        socket.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(base, SUPERUSER)
            shutil.chown(socket, SUPERUSER)
        _run([str(programs / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
              "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C"])
    options = (f"-k {socket} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=200")
    _run([str(programs / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"])
    return url(base)


def stop(base: Path) -> None:
    data, _, _ = _paths(base)
    if (data / "postmaster.pid").exists():
        _run([str(bin_dir() / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"])


def restart(base: Path) -> None:
    """Stop then start again, dropping every connection (the fault tests' 'PostgreSQL restarted')."""
    stop(base)
    start(base)


def _has_c_utf8() -> bool:
    return subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().count("c.utf") > 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.support.pgcluster start|stop DIR", file=sys.stderr)
        return 2
    base = Path(argv[1]).resolve()
    try:
        if argv[0] == "start":
            print(f"{URL_VARIABLE}={start(base)}")
        else:
            stop(base)
    except ClusterError as exc:
        print(f"pgcluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
