"""What the revocation, CRL and repository tests share: running openssl, fetching the current CRL or ARL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import CaHome

ROOT = "S1SPKI Root CA"
ISSUING = "S1SPKI Issuing CA 1"


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def current(ca: CaHome, name: str, file: str) -> Path:
    """The CA's current CRL or ARL as a PEM file."""
    out = ca.work / file
    ca.ok("crl", "show", name, "--out", str(out))
    return out


def revoke(ca: CaHome, serial: str, reason: str = "keyCompromise", *names: str, extra: tuple[str, ...] = ()):
    args = ["--json", "cert", "revoke", serial, "--reason", reason, *extra]
    for name in names or ("dave",):
        args += ["--as", name]
    return ca.run(*args)


def verify(root: Path, issuing: Path, leaf: Path, *crls: Path, all_levels: bool = False
           ) -> subprocess.CompletedProcess[str]:
    """openssl verify with CRL checking of the leaf (or, with all_levels, of the whole chain)."""
    args = ["verify", "-crl_check_all" if all_levels else "-crl_check", "-CAfile", str(root), "-untrusted",
            str(issuing)]
    for crl in crls:
        args += ["-CRLfile", str(crl)]
    return openssl(*args, str(leaf))
