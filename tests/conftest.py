"""Fixtures that drive the real `s1spki` command against a real SoftHSM token and SQLite database.

A session-wide template CA (credentials, init with a private SoftHSM token, both ceremonies, two
organisations) is built once through the CLI; each test gets its own copy of that home, with the
copy's SoftHSM config pointed at the copy's own token directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference" / "gbcs-test-certs"
if not REFERENCE.is_dir():  # CI lays shared/ beside the clone
    REFERENCE = Path(os.environ.get("S1SPKI_SHARED", "../shared")).resolve() / "reference" / "gbcs-test-certs"
# the structure tests compare with these: missing, they must fail, not skip
assert REFERENCE.is_dir(), f"DCC reference certificates not found at {REFERENCE} (set S1SPKI_SHARED)"

ACME = "Acme Energy Ltd"
ACME_EUI = "90B3D51F30010000"
ACME_EUI2 = "90B3D51F30010001"
OTHER = "Other Networks plc"
OTHER_EUI = "90B3D51F30020000"
ACME_SRO, ACME_ARO = "Sam Senior", "Ann Officer"
OTHER_SRO, OTHER_ARO = "Olga Senior", "Otto Officer"
PEOPLE = {"alice": "custodian", "bob": "custodian", "carol": "manager"}
# registered by carol after init: an RA officer, a CA administrator, an auditor
OTHER_STAFF = {"dave": "ra_officer", "erin": "ca_administrator", "fred": "auditor"}
# who grants each role (rapp/roles.toml [grants]): an RA manager with a key custodian for RA staff, two key
# custodians for the CA's trusted roles
GRANTED_BY = {"ra_officer": ["--as", "carol", "--as", "alice"], "ra_manager": ["--as", "carol", "--as", "alice"],
              "ca_administrator": ["--as", "alice", "--as", "bob"], "auditor": ["--as", "alice", "--as", "bob"],
              "key_custodian": ["--as", "alice", "--as", "bob"]}
# one operator holding each role of rapp/roles.toml
OPERATOR_FOR_ROLE = {"key_custodian": "alice", "ra_manager": "carol", "ra_officer": "dave",
                     "ca_administrator": "erin", "auditor": "fred"}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


# The test-only entry point: the same command with the runtime's seams and clock set from the environment.
TEST_ENTRY = REPO / "tests" / "support" / "entry.py"


def s1spki_argv(home: Path, *args: str, seams: bool = False) -> list[str]:
    entry = [str(TEST_ENTRY)] if seams else ["-m", "s1spki"]
    return [sys.executable, *entry, "--home", str(home), *args]


def run_s1spki(home: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 120,
               seams: bool = False) -> Result:
    proc = subprocess.run(s1spki_argv(home, *args, seams=seams), capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def make_csr(path: Path, curve: ec.EllipticCurve | None = None, key: Any = None) -> tuple[Path, Any]:
    """A PEM CSR for a new key (P-256 unless told), asking for an extension the CA must ignore."""
    key = key or ec.generate_private_key(curve or ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "requested name, ignored")]))
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(key, hashes.SHA256()))
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path, key


class CaHome:
    """One test's CA home, with helpers to run commands and look at the store."""

    def __init__(self, home: Path, work: Path) -> None:
        self.home = home
        self.work = work
        self._csrs = 0

    def run(self, *args: str, env: dict[str, str] | None = None, seams: bool = False) -> Result:
        """Run s1spki; with `seams`, through the test-only entry point that reads S1SPKI_TEST_* (tests/support)."""
        return run_s1spki(self.home, *args, env=env, seams=seams)

    def ok(self, *args: str, env: dict[str, str] | None = None, seams: bool = False) -> Result:
        result = self.run(*args, env=env, seams=seams)
        assert result.code == 0, str(result)
        return result

    def csr(self, curve: ec.EllipticCurve | None = None) -> Path:
        self._csrs += 1
        return make_csr(self.work / f"req{self._csrs}.csr", curve)[0]

    def submit(self, csr: Path, *, key_usage: str = "digitalSignature", org: str = ACME, role: str = "supplier",
               eui64: str = ACME_EUI, cn: str | None = None, as_: str = "carol", aro: str | None = ACME_ARO
               ) -> Result:
        args = ["--json", "request", "submit", "--csr", str(csr), "--org", org, "--role", role,
                "--key-usage", key_usage, "--eui64", eui64, "--as", as_]
        if cn:
            args += ["--cn", cn]
        if aro:
            args += ["--aro", aro]
        return self.run(*args)

    def submit_approved(self, csr: Path | None = None, **kwargs: Any) -> int:
        """Submit (as carol) and approve (as dave, an RA officer): a request ready for `cert issue`."""
        submitted = self.submit(csr or self.csr(), **kwargs)
        assert submitted.code == 0, str(submitted)
        request_id = submitted.json()["id"]
        self.ok("request", "approve", str(request_id), "--as", "dave")
        return int(request_id)

    def issue_new(self, key_usage: str = "digitalSignature", cn: str | None = None) -> dict[str, Any]:
        """Submit a fresh CSR, approve and issue it; returns the certificate's --json record."""
        request_id = self.submit_approved(key_usage=key_usage, cn=cn)
        return self.ok("--json", "cert", "issue", str(request_id), "--as", "carol").json()

    def export(self, ident: str | int, name: str) -> Path:
        out = self.work / name
        self.ok("cert", "export", str(ident), "--out", str(out))
        return out

    def ca_pems(self) -> tuple[Path, Path]:
        root = self.ok("--json", "cert", "list", "--kind", "root").json()[0]
        issuing = self.ok("--json", "cert", "list", "--kind", "issuing").json()[0]
        return self.export(root["id"], "root.pem"), self.export(issuing["id"], "issuing.pem")

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.home / "s1spki.db")

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table but the audit trail, for 'nothing changed' checks."""
        with self.db() as conn:
            tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
            return {t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr)
                    for t in tables if t not in ("audit", "audit_head", "audit_checkpoints")}

    def audit(self) -> list[dict[str, Any]]:
        with self.db() as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("select * from audit order by seq")]


def _build_template(base: Path) -> Path:
    home = base / "home"
    secrets = base / "secrets"
    secrets.mkdir()
    for person in [*PEOPLE, *OTHER_STAFF]:
        (secrets / f"{person}.pass").write_text(f"passphrase of {person} {os.urandom(8).hex()}\n")
        result = run_s1spki(home, "operator", "keygen", person, "--passphrase-file", str(secrets / f"{person}.pass"))
        assert result.code == 0, str(result)
    people = []
    for person, kind in PEOPLE.items():
        flag = "--custodian" if kind == "custodian" else "--ra-manager"
        people += [flag, f"{person}={home / 'credentials' / f'{person}.pub.pem'}"]
    steps = [
        ["init", "--softhsm", *people],
        *[["operator", "add", person, "--role", role, "--public-key", str(home / "credentials" / f"{person}.pub.pem"),
           *GRANTED_BY[role]] for person, role in OTHER_STAFF.items()],
        ["ceremony", "root", "--as", "alice", "--as", "bob"],
        ["ceremony", "issuing", "--as", "alice", "--as", "bob"],
        ["org", "register", ACME, "--eui64", ACME_EUI, "--eui64", ACME_EUI2, "--role", "supplier",
         "--role", "networkOperator", "--as", "carol"],
        ["org", "register", OTHER, "--eui64", OTHER_EUI, "--role", "wanProvider", "--as", "carol"],
    ]
    for org, sro, aro in ((ACME, ACME_SRO, ACME_ARO), (OTHER, OTHER_SRO, OTHER_ARO)):
        steps += [
            ["org", "sro", "add", org, sro, "--identity-evidence", f"passport of {sro} seen",
             "--authority-evidence", f"board minute naming {sro}", "--as", "dave"],
            ["org", "aro", "add", org, aro, "--nominated-by", sro, "--nomination-evidence", f"letter from {sro}",
             "--as", "dave"],
            ["org", "aro", "verify", org, aro, "--check", "identity", "--evidence", f"photo ID of {aro}",
             "--as", "dave"],
            ["org", "aro", "verify", org, aro, "--check", "screening", "--evidence", f"BS 7858 file of {aro}",
             "--as", "dave"],
        ]
    for step in steps:
        result = run_s1spki(home, *step)
        assert result.code == 0, f"{step}: {result}"
    return home


@pytest.fixture(scope="session")
def ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_template(tmp_path_factory.mktemp("template"))


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    conf = target / "softhsm" / "softhsm2.conf"
    text = conf.read_text()
    conf.write_text(re.sub(r"(?m)^directories\.tokendir\s*=.*$",
                           f"directories.tokendir = {target / 'softhsm' / 'tokens'}", text))
    return target


@pytest.fixture
def ca(ca_template: Path, tmp_path: Path) -> CaHome:
    work = tmp_path / "work"
    work.mkdir()
    return CaHome(copy_home(ca_template, tmp_path / "home"), work)


def assert_refused(ca: CaHome, result: Result, code: int, before: dict[str, Any], audit_before: int,
                   words: str) -> None:
    """Exit code, one line on stderr naming the problem, store unchanged but for one refusal record."""
    assert result.code == code, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert words.lower() in lines[0].lower(), str(result)
    assert "Traceback" not in result.stderr
    assert ca.snapshot() == before
    audit = ca.audit()
    assert len(audit) == audit_before + 1, [a["event"] for a in audit[audit_before:]]
    assert audit[-1]["outcome"] == "refused"
