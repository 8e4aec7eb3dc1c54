"""A CI run never passes without the PostgreSQL half of the suite: under CI=true a test marked both_engines fails
on PostgreSQL when the server is not given or not reachable; outside CI it is skipped, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.engines import URL_VARIABLE

REPO = Path(__file__).resolve().parents[2]
# a doubled test that needs no CA home: the PostgreSQL half alone, run by a pytest of its own
ONE = "tests/store/test_transactions.py::test_a_new_request_record_names_the_request_it_created[postgresql]"


def _pytest(ci: bool, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (URL_VARIABLE, "CI")}
    if ci:
        env["CI"] = "true"
    if url is not None:
        env[URL_VARIABLE] = url
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs",
                           ONE], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_under_ci_a_missing_or_unreachable_postgresql_fails_the_run_and_says_why(tmp_path: Path) -> None:
    unset = _pytest(ci=True, url=None)
    unreachable = _pytest(ci=True, url=f"postgresql+psycopg://postgres@/postgres?host={tmp_path}")
    outside_ci = _pytest(ci=False, url=None)

    for run, why in ((unset, f"{URL_VARIABLE} is not set"), (unreachable, "is unreachable")):
        assert run.returncode == 1, run.stdout + run.stderr
        assert "CI=true: the PostgreSQL tests must run" in run.stdout and why in run.stdout, run.stdout
        assert "skipped" not in run.stdout.splitlines()[-1], run.stdout
    assert outside_ci.returncode == 0, outside_ci.stdout + outside_ci.stderr
    assert "1 skipped" in outside_ci.stdout and f"{URL_VARIABLE} is not set" in outside_ci.stdout, outside_ci.stdout
