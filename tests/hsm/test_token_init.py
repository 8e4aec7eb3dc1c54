"""The token initialiser: a child process that takes the PINs on stdin only, so PyKCS11 (the one PKCS#11
wrapper with C_InitToken) never loads beside python-pkcs11 in the process that holds the CA's session."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s1spki.hsm import Hsm, HsmSettings, create_softhsm_token, softhsm_token_labels, write_softhsm_conf
from tests.conftest import REPO

INITIALISER = REPO / "s1spki" / "hsm" / "token_init.py"
USER_PIN, SO_PIN = "user-31c0ffee", "so-5eaf00d1"


def _run(module: str, conf: Path, label: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {"SOFTHSM2_CONF": str(conf), "PATH": os.environ.get("PATH", os.defpath)}
    return subprocess.run([sys.executable, "-I", str(INITIALISER), module, label], input=stdin, capture_output=True,
                          text=True, timeout=60, env=env)


def test_only_the_initialiser_imports_pykcs11_and_nothing_imports_it() -> None:
    importers, imported = [], []
    for path in sorted((REPO / "s1spki").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "PyKCS11" for n in names):
                importers.append(path.name)
            if any(n.endswith("token_init") for n in names) or (
                    isinstance(node, ast.ImportFrom) and any(a.name == "token_init" for a in node.names)):
                imported.append(path.name)
    assert importers == ["token_init.py"] and imported == []


@pytest.mark.hsm
def test_a_token_made_in_the_child_works_here_and_pykcs11_never_loads_here(tmp_path: Path,
                                                                          softhsm_module: str) -> None:
    conf, token_dir = tmp_path / "softhsm2.conf", tmp_path / "tokens"
    create_softhsm_token(conf, token_dir, "child-made", USER_PIN, SO_PIN)
    assert "PyKCS11" not in sys.modules
    with Hsm.connect(HsmSettings(softhsm_module, "child-made", USER_PIN, conf)) as hsm:
        assert hsm.token_info().label == "child-made"  # blank padded, as python-pkcs11 reads labels
    assert softhsm_token_labels(conf) == ["child-made"]


@pytest.mark.hsm
def test_the_child_refuses_a_taken_label_and_bad_input_without_echoing_pins(tmp_path: Path,
                                                                           softhsm_module: str) -> None:
    conf, token_dir = tmp_path / "softhsm2.conf", tmp_path / "tokens"
    token_dir.mkdir()
    write_softhsm_conf(conf, token_dir)
    pins = json.dumps({"so_pin": SO_PIN, "user_pin": USER_PIN})
    assert _run(softhsm_module, conf, "taken", pins).returncode == 0
    again = _run(softhsm_module, conf, "taken", pins)
    assert again.returncode == 3 and "already exists" in again.stderr, again.stderr
    for stdin, code in ((f"so_pin={SO_PIN} user_pin={USER_PIN}", 2), (json.dumps({"so_pin": SO_PIN}), 2),
                        (json.dumps({"so_pin": SO_PIN, "user_pin": "1"}), 1)):  # too short for SoftHSM
        refused = _run(softhsm_module, conf, "another", stdin)
        assert refused.returncode == code, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert SO_PIN not in refused.stderr and USER_PIN not in refused.stderr
