"""Help that explains itself: no Python types as metavars, one example per command, `--as` marked required;
`--version`; shell completion of operators, organisations, CA names and serials from the home's database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from s1spki import __version__
from tests.conftest import ACME, CaHome, run_s1spki

PYTHON_TYPES = re.compile(r"<(?:bool|str|int|float|path|list\[[^\]]*\]|Path)>|\blist\[str\]")


def _commands(home: Path, group: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command, found by walking the help of each group."""
    shown = run_s1spki(home, *group, "--help").stdout
    panel = shown.split("Commands", 1)[1] if "Commands" in shown else ""
    names = re.findall(r"(?m)^│ ([a-z][a-z-]*) ", panel)
    if not names:
        return [group]
    found = []
    for name in names:
        found += _commands(home, (*group, name))
    return found


def test_every_command_explains_itself(tmp_path: Path) -> None:
    home = tmp_path / "no-home"
    commands = _commands(home)
    assert ("operator", "rekey") in commands and ("hsm", "probe") in commands and ("hsm", "status") in commands
    assert len(commands) > 35, commands
    for command in [(), *commands]:
        result = run_s1spki(home, *command, "--help")
        assert result.code == 0, f"{command}: {result}"
        assert not PYTHON_TYPES.search(result.stdout), f"s1spki {' '.join(command)} --help shows a Python type:\n" \
                                                       f"{result.stdout}"
        if command:
            assert "Example: s1spki" in result.stdout, f"s1spki {' '.join(command)} --help has no example"
        if "--as" in result.stdout:
            flat = " ".join(result.stdout.replace("│", " ").split())
            # `init` takes --as only to join a further node to an existing store (`init --join`), where it says so
            joining = command == ("init",) and re.search(r"--as NAME With --join", flat)
            assert joining or re.search(r"--as NAME Required", flat), \
                f"s1spki {' '.join(command)}: --as not marked required"
    assert not home.exists()


def test_a_mistyped_name_gets_the_libraries_suggestions(tmp_path: Path) -> None:
    # a command line builds only the group it names; a word that names none still meets every group
    home = tmp_path / "no-home"
    for words, said in ((("crt", "list"), "No such command 'crt'. Did you mean 'cert', 'crl'?"),
                        (("cert", "shw"), "No such command 'shw'. Did you mean 'show'?")):
        result = run_s1spki(home, *words)
        assert result.code == 2 and said in result.stderr and len(result.stderr.splitlines()) == 1, result
    assert not home.exists()


def test_a_root_options_value_is_not_taken_for_the_group(ca: CaHome) -> None:
    # `--log-format` and `--home` take values: `org` here is a value and `cert` the group
    (ca.work / "org").symlink_to(ca.home)
    done = subprocess.run([sys.executable, "-m", "s1spki", "--home", "org", "--log-format", "plain", "cert", "list"],
                          capture_output=True, text=True, cwd=ca.work)
    assert done.returncode == 0 and "S1SPKI Root CA" in done.stdout, done


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "s1spki", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"s1spki {__version__}", result


def _complete(home: Path, words: str) -> list[str]:
    env = {**os.environ, "_S1SPKI_COMPLETE": "complete_bash", "COMP_WORDS": f"s1spki --home {home} {words}",
           "COMP_CWORD": str(len(f"s1spki --home {home} {words}".split(" ")) - 1)}
    done = subprocess.run([sys.executable, "-m", "s1spki"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_offers_the_homes_names(ca: CaHome) -> None:
    issued = ca.issue_new()
    assert {"alice", "dave", "fred"} <= set(_complete(ca.home, "operator show "))
    assert _complete(ca.home, "operator withdraw da") == ["dave"]
    assert ACME.split()[0] in " ".join(_complete(ca.home, "org show A"))
    assert "S1SPKI" in _complete(ca.home, "crl issue --ca ")
    assert _complete(ca.home, f"cert revoke {issued['serial'][:6]}") == [issued["serial"]]
    assert _complete(tmp := ca.work / "no-home", "operator show ") == [] and not tmp.exists()
    shown = subprocess.run([sys.executable, "-m", "s1spki", "--show-completion", "bash"], capture_output=True,
                           text=True, env={**os.environ, "SHELL": "/bin/bash"})
    assert shown.returncode == 0 and "_S1SPKI_COMPLETE" in shown.stdout, shown
