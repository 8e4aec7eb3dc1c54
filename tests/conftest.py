"""Fixtures that drive the real `s1spki` command against real SoftHSM tokens and real databases.

A session-wide template is built once through the CLI: a root home (its own tokens, database and custodians,
the root ceremony) and an online home that pins its root (credentials, init with private SoftHSM tokens, the
issuing ceremony's bundles carried between the two, two organisations). Each test gets its own copy of both
homes, each copy's SoftHSM config pointed at the copy's own token directory; `ca` is the online home and
`ca.root` the root home.

The online home's store is SQLite unless the test module is marked `both_engines` (tests/support/engines.py):
then each test runs on SQLite and on PostgreSQL, the PostgreSQL copy a database made from the template's by
`CREATE DATABASE ... TEMPLATE` and named in the copied home's s1spki.toml.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import engines, launcher

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
# the root home's staff besides its custodians (no RA roles there: it registers no subscriber)
ROOT_STAFF = {"erin": "ca_administrator", "fred": "auditor"}
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
    """Run the command in a process of its own, forked from one that has imported s1spki already
    (tests/support/launcher.py): the interpreter's start-up, most of the suite's time, is paid once."""
    code, stdout, stderr = launcher.run(["--home", str(home), *args], {**os.environ, **(env or {})}, timeout, seams)
    return Result(code, stdout, stderr)


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
    """One test's CA home, with helpers to run commands and look at the store; `root` is the root home an
    online home pins (None for the root home itself)."""

    def __init__(self, home: Path, work: Path, root: CaHome | None = None, database_url: str | None = None) -> None:
        self.home = home
        self.work = work
        self.root = root
        self._csrs = 0
        # None: the home's SQLite file; else the PostgreSQL database its s1spki.toml names
        self.database_url = database_url

    @property
    def engine(self) -> str:
        return "sqlite" if self.database_url is None else "postgresql"

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

    def new_issuing(self, name: str | None = None, custodians: tuple[str, str] = ("alice", "bob")) -> dict[str, Any]:
        """The issuing ceremony's three steps, bundles carried as files (each home writes its own under
        HOME/bundles/): request here, signed at the root, installed here; returns the installed CA's --json
        record."""
        assert self.root is not None, "the root home has no root above it"
        people = [arg for person in custodians for arg in ("--as", person)]
        named = ["--name", name] if name else []
        asked = self.ok("--json", "ceremony", "issuing", *named, *people).json()
        signed = self.root.ok("--json", "ceremony", "sign-issuing", asked["bundle"], "--sha256", asked["sha256"],
                              *people).json()
        return self.ok("--json", "ceremony", "import-issuing", signed["bundle"], "--sha256", signed["sha256"],
                       *people).json()

    def import_arl(self, issued: dict[str, Any], as_: str = "alice") -> dict[str, Any]:
        """Carry the ARL bundle a root-home command wrote (its --json result) here and import it."""
        bundle = issued["arl_bundle"]
        return self.ok("--json", "crl", "import-arl", bundle["bundle"], "--sha256", bundle["sha256"],
                       "--as", as_).json()

    def arl_from_root(self) -> dict[str, Any]:
        """The root home issues its ARL (alice and bob); its bundle is carried here and imported (alice)."""
        assert self.root is not None, "the root home has no root above it"
        return self.import_arl(self.root.ok("--json", "crl", "arl", "--as", "alice", "--as", "bob").json())

    def export(self, ident: str | int, name: str) -> Path:
        out = self.work / name
        self.ok("cert", "export", str(ident), "--out", str(out))
        return out

    def ca_pems(self) -> tuple[Path, Path]:
        root = self.ok("--json", "cert", "list", "--kind", "root").json()[0]
        issuing = self.ok("--json", "cert", "list", "--kind", "issuing").json()[0]
        return self.export(root["id"], "root.pem"), self.export(issuing["id"], "issuing.pem")

    def db(self) -> Any:
        """A DB-API connection to the store as a database writer has it: sqlite3, or psycopg taking the same SQL
        (tests/support/engines.py PgConnection)."""
        if self.database_url is None:
            return sqlite3.connect(self.home / "s1spki.db")
        return engines.PgConnection(self.database_url)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table but the audit trail, for 'nothing changed' checks."""
        conn = self.db()
        try:
            return {t: sorted((tuple(r) for r in conn.execute(f"select * from {t}").fetchall()), key=repr)
                    for t in engines.tables(conn, self.engine)
                    if t not in ("audit", "audit_head", "audit_checkpoints")}
        finally:
            conn.close()

    def audit(self) -> list[dict[str, Any]]:
        conn = self.db()
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("select * from audit order by seq")]
        finally:
            conn.close()


def _build_template(base: Path, database_url: str | None = None) -> Path:
    """The template homes; the online home's store at `database_url` (PostgreSQL) if given. The root home stays
    on SQLite on both engines: the offline root is one machine with a store of its own, never shared."""
    home, root = base / "home", base / "root"
    secrets = base / "secrets"
    secrets.mkdir()
    for person in [*PEOPLE, *OTHER_STAFF]:
        (secrets / f"{person}.pass").write_text(f"passphrase of {person} {os.urandom(8).hex()}\n")
        result = run_s1spki(home, "operator", "keygen", person, "--passphrase-file", str(secrets / f"{person}.pass"))
        assert result.code == 0, str(result)
    # the key custodians take their credentials to the root home too, and its CA administrator and auditor
    (root / "credentials").mkdir(parents=True)
    custodians = [p for p, kind in PEOPLE.items() if kind == "custodian"]
    for person in [*custodians, *ROOT_STAFF]:
        for file in (home / "credentials").glob(f"{person}.*"):
            shutil.copy2(file, root / "credentials" / file.name)
    for step in (["init", "--root", "--softhsm",
                  *[a for p in custodians for a in ("--custodian", f"{p}={root / 'credentials' / f'{p}.pub.pem'}")]],
                 *[["operator", "add", person, "--role", role, "--public-key",
                    str(root / "credentials" / f"{person}.pub.pem"), *GRANTED_BY[role]]
                   for person, role in ROOT_STAFF.items()],
                 ["ceremony", "root", "--as", "alice", "--as", "bob"]):
        result = run_s1spki(root, *step)
        assert result.code == 0, f"{step}: {result}"
    root_record = json.loads(run_s1spki(root, "--json", "cert", "list", "--kind", "root").stdout)[0]
    root_pem = base / "root.pem"
    assert run_s1spki(root, "cert", "export", str(root_record["id"]), "--out", str(root_pem)).code == 0
    (base / "root.sha256").write_text(root_record["sha256_fingerprint"])
    return _build_online(base, database_url)


def _build_online(base: Path, database_url: str | None) -> Path:
    """The online home's part of the template, under a root home and operators' credentials already in `base`."""
    home, root, root_pem = base / "home", base / "root", base / "root.pem"
    people = []
    for person, kind in PEOPLE.items():
        flag = "--custodian" if kind == "custodian" else "--ra-manager"
        people += [flag, f"{person}={home / 'credentials' / f'{person}.pub.pem'}"]
    steps = [
        ["init", "--softhsm", "--root-cert", str(root_pem), "--root-fingerprint", (base / "root.sha256").read_text(),
         *people, *(["--database-url", database_url] if database_url else [])],
        *[["operator", "add", person, "--role", role, "--public-key", str(home / "credentials" / f"{person}.pub.pem"),
           *GRANTED_BY[role]] for person, role in OTHER_STAFF.items()],
    ]
    for step in steps:
        result = run_s1spki(home, *step)
        assert result.code == 0, f"{step}: {result}"
    CaHome(home, base, CaHome(root, base)).new_issuing()
    steps = [
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
    return base


@pytest.fixture(scope="session")
def ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_template(tmp_path_factory.mktemp("template"))


@dataclass(frozen=True)
class PgTemplate:
    """The template homes with the online home's store in a PostgreSQL database of their own."""

    base: Path
    server: str  # the server's URL (its superuser's database)
    database: str
    url: str


@pytest.fixture(scope="session")
def ca_template_pg(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgTemplate]:
    server = engines.server_url()
    name = engines.unique_name("s1spki_template")
    url = engines.create_database(server, name)
    try:
        yield PgTemplate(_build_online(_beside_root(ca_template, tmp_path_factory.mktemp("template_pg")), url),
                         server, name, url)
    finally:
        engines.drop_database(server, name)


def _beside_root(template: Path, base: Path) -> Path:
    """The SQLite template's root home, operators' credentials and secrets in `base`, for another online home: the
    root signs its issuing CA too (saving a second root, its tokens and ceremony)."""
    copy_home(template / "root", base / "root")
    shutil.copytree(template / "secrets", base / "secrets")
    shutil.copytree(template / "home" / "credentials", base / "home" / "credentials")
    for name in ("root.pem", "root.sha256"):
        shutil.copy2(template / name, base / name)
    return base


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker(engines.MARKER):
        metafunc.parametrize("engine", engines.ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine of the test's store: "sqlite" unless the test is marked `both_engines`. On PostgreSQL a missing
    server skips the test (fails it under CI=true)."""
    chosen = str(getattr(request, "param", "sqlite"))
    if chosen == "postgresql":
        engines.server_url()
    return chosen


@pytest.fixture
def store_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """An empty store's URL on the test's engine (a new database on PostgreSQL, dropped afterwards)."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server, name = engines.server_url(), engines.unique_name("t")
    yield engines.create_database(server, name)
    engines.drop_database(server, name)


def pinned_root(template: Path) -> list[str]:
    """The `init` arguments of an online home that pins the template's root."""
    return ["--root-cert", str(template / "root.pem"), "--root-fingerprint", (template / "root.sha256").read_text()]


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    conf = target / "softhsm" / "softhsm2.conf"
    text = conf.read_text()
    conf.write_text(re.sub(r"(?m)^directories\.tokendir\s*=.*$",
                           f"directories.tokendir = {target / 'softhsm' / 'tokens'}", text))
    return target


@pytest.fixture
def ca(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaHome]:
    work = tmp_path / "work"
    work.mkdir()
    if engine == "sqlite":
        template: Path = request.getfixturevalue("ca_template")
        root = CaHome(copy_home(template / "root", tmp_path / "root"), work)
        yield CaHome(copy_home(template / "home", tmp_path / "home"), work, root)
        return
    pg: PgTemplate = request.getfixturevalue("ca_template_pg")
    name = engines.unique_name("t")
    url = engines.create_database(pg.server, name, template=pg.database)
    try:
        root = CaHome(copy_home(pg.base / "root", tmp_path / "root"), work)
        home = copy_home(pg.base / "home", tmp_path / "home")
        config = home / "s1spki.toml"
        config.write_text(config.read_text().replace(pg.url, url))
        yield CaHome(home, work, root, url)
    finally:
        engines.drop_database(pg.server, name)


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
