"""Files a command writes where the user said (--out): a folder, a missing folder or an unwritable place is a
usage error naming the flag, never an unexpected error."""

from __future__ import annotations

import errno
from pathlib import Path

from s1spki.errors import DiskFull, UsageError


def check_out(path: Path, flag: str = "--out") -> Path:
    """`path` as a file to write: refused when it is a folder or its folder does not exist."""
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder: name a file in it")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: the folder {path.parent} does not exist")
    return path


def write_file(path: Path, data: bytes, flag: str = "--out") -> None:
    check_out(path, flag)
    try:
        path.write_bytes(data)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            path.unlink(missing_ok=True)  # a cut-off file must not pass for the whole one
            raise DiskFull(str(path.parent)) from None
        raise UsageError(f"cannot write {flag} {path}: {exc.strerror}") from None
