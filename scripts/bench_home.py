"""The CA homes the benchmarks measure: a root home and an online home, made through the real CLI, the issuing
CA certified through the ceremony's bundles, with an organisation whose ARO is active (untimed set-up)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ORG, EUI, ARO = "Bench Energy Ltd", "90B3D51F30019999", "Ann"


def cli(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "s1spki", "--home", str(home), *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"bench: s1spki {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build_home(base: Path, init_args: tuple[str, ...] = ()) -> Path:
    """An online home whose issuing CA was certified by a root home of its own, through the ceremony's bundles;
    `init_args` are further arguments of the online home's `init` (e.g. --database-url-file)."""
    home, root = base / "home", base / "root"
    secrets = base / "secrets"
    secrets.mkdir()
    for person in ("alice", "bob", "carol", "dave"):
        (secrets / person).write_text(os.urandom(16).hex())
        cli(home, "operator", "keygen", person, "--passphrase-file", str(secrets / person))
    cred = home / "credentials"
    (root / "credentials").mkdir(parents=True)
    for person in ("alice", "bob"):
        for made in cred.glob(f"{person}.*"):
            shutil.copy2(made, root / "credentials" / made.name)
    custodians = ("--custodian", f"alice={cred / 'alice.pub.pem'}", "--custodian", f"bob={cred / 'bob.pub.pem'}")
    two = ("--as", "alice", "--as", "bob")
    cli(root, "init", "--root", "--softhsm", *custodians)
    cli(root, "ceremony", "root", *two)
    root_cert = json.loads(cli(root, "--json", "cert", "list", "--kind", "root"))[0]
    cli(root, "cert", "export", str(root_cert["id"]), "--out", str(base / "root.pem"))
    cli(home, "init", "--softhsm", "--root-cert", str(base / "root.pem"), "--root-fingerprint",
        root_cert["sha256_fingerprint"], *custodians, "--ra-manager", f"carol={cred / 'carol.pub.pem'}", *init_args)
    request = json.loads(cli(home, "--json", "ceremony", "issuing", *two, "--out", str(base / "request.json")))
    response = json.loads(cli(root, "--json", "ceremony", "sign-issuing", str(base / "request.json"), "--sha256",
                              request["sha256"], *two, "--out", str(base / "response.json")))
    cli(home, "ceremony", "import-issuing", str(base / "response.json"), "--sha256", response["sha256"], *two)
    cli(home, "operator", "add", "dave", "--role", "ra_officer", "--public-key", str(cred / "dave.pub.pem"),
        "--as", "carol", "--as", "alice")
    cli(home, "org", "register", ORG, "--eui64", EUI, "--role", "supplier", "--as", "carol")
    cli(home, "org", "sro", "add", ORG, "Sam", "--identity-evidence", "ID-1", "--authority-evidence", "BM-1",
        "--as", "dave")
    cli(home, "org", "aro", "add", ORG, ARO, "--nominated-by", "Sam", "--nomination-evidence", "N-1", "--as", "dave")
    for check in ("identity", "screening"):
        cli(home, "org", "aro", "verify", ORG, ARO, "--check", check, "--evidence", "E-1", "--as", "dave")
    return home
