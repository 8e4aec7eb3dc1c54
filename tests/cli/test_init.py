"""`s1spki init`: a new home holds its own SoftHSM config and token, registers the bootstrap operators in the
roles its rapp/ names, keeps the PIN out of the config; an existing home is refused untouched. And every
group's `--help` works without a home."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from s1spki.hsm import find_softhsm_module
from tests.conftest import REPO, CaHome, pinned_root, run_s1spki, s1spki_argv


def _files(home: Path) -> dict[str, str]:
    """Every file's digest; SQLite's -wal/-shm come and go with the test's own readers (the db is compared apart)."""
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_init_on_an_existing_home_is_refused_and_changes_nothing(ca: CaHome) -> None:
    files, before, audit = _files(ca.home), ca.snapshot(), ca.audit()
    keys = ca.home / "credentials"

    result = ca.run("init", "--softhsm", "--custodian", f"erin={keys / 'alice.pub.pem'}",
                    "--ra-manager", f"frank={keys / 'carol.pub.pem'}")

    assert result.code == 3, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already an s1spki CA home" in lines[0], str(result)
    assert _files(ca.home) == files
    assert ca.snapshot() == before and ca.audit() == audit


def test_init_makes_a_home_with_its_own_token_and_the_rapp_bootstrap_roles(ca_template: Path,
                                                                           tmp_path: Path) -> None:
    # a rapp/ whose bootstrap custodian role is not the shipped one: the roles must come from the rapp given
    rapp = tmp_path / "rapp"
    shutil.copytree(REPO / "rapp", rapp)
    roles_file = rapp / "roles.toml"
    text, count = re.subn(r'(?m)^custodian_role = ".*"$', 'custodian_role = "ca_administrator"',
                          roles_file.read_text())
    assert count == 1
    roles_file.write_text(text)
    home = tmp_path / "new-home"
    keys = ca_template / "home" / "credentials"

    created = run_s1spki(home, "--json", "init", "--softhsm", "--rapp", str(rapp), *pinned_root(ca_template),
                         "--custodian", f"alice={keys / 'alice.pub.pem'}", "--custodian", f"bob={keys / 'bob.pub.pem'}",
                         "--ra-manager", f"carol={keys / 'carol.pub.pem'}")

    assert created.code == 0, str(created)
    assert created.json()["operators"] == ["alice", "bob", "carol"]
    bootstrap = tomllib.loads((home / "rapp" / "roles.toml").read_text())["bootstrap"]
    assert bootstrap == {"custodian_role": "ca_administrator", "manager_role": "ra_manager"}
    listed = run_s1spki(home, "--json", "operator", "list")
    assert listed.code == 0, str(listed)
    assert {o["name"]: (o["roles"], o["status"]) for o in listed.json()} == {
        "alice": (["ca_administrator"], "active"), "bob": (["ca_administrator"], "active"),
        "carol": (["ra_manager"], "active")}

    config = tomllib.loads((home / "s1spki.toml").read_text())["hsm"]
    conf = home / config["softhsm_conf"]
    assert conf == home / "softhsm" / "softhsm2.conf" and conf.is_file()
    [tokendir] = re.findall(r"(?m)^directories\.tokendir\s*=\s*(.+?)\s*$", conf.read_text())
    assert Path(tokendir) == home / "softhsm" / "tokens"
    assert stat.S_IMODE(os.stat(tokendir).st_mode) == 0o700 and any(Path(tokendir).iterdir())
    slots = subprocess.run(["softhsm2-util", "--show-slots"], env={**os.environ, "SOFTHSM2_CONF": str(conf)},
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert re.search(r"(?m)^\s+Label:\s+s1spki\s*$", slots.stdout), slots.stdout + slots.stderr
    # the audit and record keys' token, with a PIN of its own
    assert re.search(r"(?m)^\s+Label:\s+s1spki-audit\s*$", slots.stdout), slots.stdout + slots.stderr
    audit_config = tomllib.loads((home / "s1spki.toml").read_text())["audit_hsm"]
    assert audit_config["token_label"] == "s1spki-audit" and audit_config["pin_file"] == "secrets/audit-user.pin"
    assert (home / "secrets" / "audit-user.pin").read_text() != (home / "secrets" / "hsm-user.pin").read_text()

    pin_file = home / config["pin_file"]
    assert pin_file == home / "secrets" / "hsm-user.pin" and stat.S_IMODE(pin_file.stat().st_mode) == 0o600
    for secret_file in (pin_file, home / "secrets" / "hsm-so.pin"):
        secret = secret_file.read_text().strip()
        assert len(secret) >= 16
        assert secret not in (home / "s1spki.toml").read_text()
        assert secret not in created.stdout + created.stderr
        assert secret.encode() not in (home / "s1spki.db").read_bytes()  # nor in the init audit record


class ProcessWatch:
    """Reads the command line and environment of every process on the machine, over and over, until stopped."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    for part in ("cmdline", "environ"):
                        with contextlib.suppress(OSError):  # gone already, or another user's environment
                            self.seen.add(Path(entry.path, part).read_bytes())
            self.sweeps += 1

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# Logs in to the new token as SO and as user with the PINs read from stdin (run in a child: PyKCS11 must not
# share this process with python-pkcs11).
_BOTH_PINS_LOG_IN = """
import json, sys, PyKCS11
pins = json.loads(sys.stdin.read())
lib = PyKCS11.PyKCS11Lib()
lib.load(sys.argv[1])
[slot] = [s for s in lib.getSlotList(True) if lib.getTokenInfo(s).label.rstrip() == sys.argv[2]]
for pin, user in ((pins["so"], PyKCS11.CKU_SO), (pins["user"], PyKCS11.CKU_USER)):
    session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)  # SO needs read-write
    session.login(pin, user)
    session.logout()
    session.closeSession()
print("both PINs log in")
"""


def test_init_never_puts_a_pin_on_a_command_line_or_in_an_environment(ca_template: Path, tmp_path: Path) -> None:
    # Any local user can read every process's command line (`ps`, /proc/PID/cmdline): the PINs of the new
    # token must appear in no process that init starts. strace sees every exec, however short-lived;
    # the /proc watch sees what any other user could.
    strace = shutil.which("strace")
    assert strace, "strace is not installed: scripts/setup installs it for this test"
    home, trace = tmp_path / "new-home", tmp_path / "execve.trace"
    keys = ca_template / "home" / "credentials"
    argv = s1spki_argv(home, "init", "--softhsm", *pinned_root(ca_template),
                       "--custodian", f"alice={keys / 'alice.pub.pem'}", "--custodian", f"bob={keys / 'bob.pub.pem'}",
                       "--ra-manager", f"carol={keys / 'carol.pub.pem'}")

    with ProcessWatch() as watch:
        init = subprocess.run([strace, "-f", "-qq", "-v", "-s", "65536", "-e", "trace=execve", "-o", str(trace),
                               *argv], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)

    assert init.returncode == 0, f"exit {init.returncode}\n{init.stdout}\n{init.stderr}"
    pins = {name: (home / "secrets" / f"{name}.pin").read_text().strip()
            for name in ("hsm-user", "hsm-so", "audit-user", "audit-so")}
    execs = [line for line in trace.read_text().splitlines() if "execve(" in line]
    assert len(execs) >= 2, f"strace saw no child process of init: {execs}"  # so it did look at the children
    assert watch.sweeps >= 2
    for which, pin in pins.items():
        assert len(pin) >= 16
        assert not [line for line in execs if pin in line], f"the {which} PIN is on a traced command line"
        assert not [blob for blob in watch.seen if pin.encode() in blob], f"the {which} PIN was seen in /proc"
        assert pin not in init.stdout + init.stderr
    # and both PINs of both tokens were set: the SO PIN by C_InitToken, the user PIN by C_InitPIN
    for token, prefix in (("s1spki", "hsm"), ("s1spki-audit", "audit")):
        check = subprocess.run([sys.executable, "-c", _BOTH_PINS_LOG_IN, find_softhsm_module(), token],
                               input=json.dumps({"so": pins[f"{prefix}-so"], "user": pins[f"{prefix}-user"]}),
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "SOFTHSM2_CONF": str(home / "softhsm" / "softhsm2.conf")})
        assert check.returncode == 0 and "both PINs log in" in check.stdout, check.stdout + check.stderr


GROUPS = {
    "": ["init", "lint", "operator", "ceremony", "org", "request", "cert", "crl", "repo", "audit"],
    "init": ["--softhsm", "--custodian", "--ra-manager", "--root", "--root-cert", "--root-fingerprint"],
    "lint": ["--issuer", "--verify-signature"],
    "operator": ["keygen", "add", "withdraw", "list", "show"],
    "ceremony": ["root", "issuing", "sign-issuing", "import-issuing"],
    "org": ["register", "list", "show", "withdraw", "sro", "aro"],
    "org sro": ["add", "withdraw"],
    "org aro": ["add", "verify", "withdraw"],
    "request": ["submit", "approve", "reject", "list", "show"],
    "cert": ["issue", "show", "list", "export", "revoke"],
    "crl": ["issue", "arl", "import-arl", "show"],
    "repo": ["publish"],
    "audit": ["export", "verify", "report"],
}


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g or "s1spki")
def test_help_of_every_group(tmp_path: Path, group: str) -> None:
    home = tmp_path / "no-home-yet"

    result = run_s1spki(home, *group.split(), "--help")

    assert result.code == 0, str(result)
    assert f"Usage: s1spki {group}".rstrip() in result.stdout, str(result)
    for word in GROUPS[group]:
        assert re.search(rf"(?m)^[│|]?\s*{re.escape(word)}\b", result.stdout), f"{word} missing:\n{result.stdout}"
    assert not home.exists()  # help needs no CA home and makes none
