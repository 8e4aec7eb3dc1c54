"""Small disks for fault tests: a tmpfs of a given size mounted for the test (root only; CI runs as root) and
filled to the last byte, so that a write fails for real with ENOSPC."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    if os.geteuid() != 0 or not shutil.which("mount"):
        if os.environ.get("CI") == "true":
            pytest.fail("the disk-full tests mount a tmpfs and must run as root under CI")
        pytest.skip("mounting a small tmpfs needs root")
    mounted: list[Path] = []

    def mount(name: str, size_kib: int, parent: Path = tmp_path) -> Path:
        point = parent / name
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "s1spki-test", str(point)],
                       check=True, capture_output=True)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
        if point.parent != tmp_path:
            shutil.rmtree(point.parent, ignore_errors=True)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until the disk refuses another byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler
