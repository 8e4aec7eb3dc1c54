"""The product's files: a licence, metadata with bounds on fast-moving dependencies, and a lock with hashes that
scripts/setup installs from."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_license_and_metadata() -> None:
    assert "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0" in (REPO / "LICENSE").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["urls"] and project["classifiers"]
    bounded = {_name(r): r for r in project["dependencies"]}
    for name, bound in (("typer", "<1"), ("sqlalchemy", "<3"), ("pydantic", "<3")):
        assert bound in bounded[name], bounded[name]


def test_the_lock_pins_every_dependency_with_hashes_and_setup_uses_it() -> None:
    lock = (REPO / "requirements.lock").read_text()
    pinned = dict(re.findall(r"(?m)^([A-Za-z0-9._-]+)==([^ \\]+)", lock))
    pinned = {name.lower().replace("_", "-"): version for name, version in pinned.items()}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = [*project["project"]["dependencies"], *project["project"]["optional-dependencies"]["test"],
              *project["build-system"]["requires"]]
    missing = [r for r in wanted if _name(r) not in pinned]
    assert not missing, f"requirements.lock lacks {missing}: re-make it (its header says how)"
    for block in re.split(r"(?m)^(?=[A-Za-z0-9])", lock.split("\n\n", 1)[-1]):
        if "==" in block:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
    setup = (REPO / "scripts" / "setup").read_text()
    assert "--require-hashes -r requirements.lock" in setup
