"""`s1spki init`: create a CA home (config, policy and RAPP copies, database, optionally a SoftHSM token)
and register the people who bootstrap it. A home that already exists is refused, never overwritten;
if a step fails, what this run created is removed again."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import KEY_LABEL_PREFIX, AuditSigner, certificate_path, fingerprint, self_signed_certificate
from s1spki.errors import HsmError, PolicyRefused, Refused, UsageError
from s1spki.home.adoption import ADOPT_EVENT, FOLDERS, adoption_details
from s1spki.home.config import CONFIG_NAME, render_config
from s1spki.home.config_schema import NODE_ID_PATTERN, url_has_password
from s1spki.home.secret_source import SecretSource, write_secret_file
from s1spki.home.shipped import data_dir
from s1spki.hsm import Hsm, HsmSettings, create_softhsm_token, find_softhsm_module
from s1spki.issuance.lint_gate import lint_context
from s1spki.issuance.profile import CaFacts, serial_hex
from s1spki.lint import has_errors, lint_certificate
from s1spki.policy import Policy, load_policy
from s1spki.ra.staff import public_key_pem, register_operator
from s1spki.rapp import Rapp, load_rapp
from s1spki.runtime import Runtime, record_key_label
from s1spki.store import ChangeTx, Store
from s1spki.values.clock import Clock, iso
from s1spki.values.keys import key_sha256
from s1spki.values.names import operator_name

DEFAULT_PIN_FILE = "secrets/hsm-user.pin"
OFFLINE = "offline"  # the token label of a CA whose key is kept elsewhere (an online home's root)
DEFAULT_AUDIT_PIN_FILE = "secrets/audit-user.pin"
KINDS = ("online", "root")  # a root home holds the offline root; an online home its issuing CAs


@dataclass(frozen=True)
class TokenOptions:
    """Where one token is: its label and the source of its user PIN (a real HSM's module comes from InitOptions)."""

    label: str
    pin_file: Path | None = None
    pin_env: str | None = None


@dataclass(frozen=True)
class InitOptions:
    home: Path
    softhsm: bool
    module: str | None
    token_label: str
    pin_file: Path | None
    pin_env: str | None
    database_url: str | None
    policy_dir: Path | None
    rapp_dir: Path | None
    people: tuple[tuple[str, str, ec.EllipticCurvePublicKey], ...]  # (name, role kind, key)
    kind: str = "online"
    # the token of the audit and record keys, apart from the CA keys' (None: `<token_label>-audit`, PIN generated)
    audit_token: TokenOptions | None = None
    root_certificate: x509.Certificate | None = None  # an online home's root, pinned once its fingerprint matches
    root_fingerprint: str | None = None  # the root certificate's SHA-256, as its ceremony transcript gives it
    database: DatabaseChoice | None = None  # where the store is (None: database_url, else SQLite in the home)
    node_id: str | None = None  # this node's id (None: the original node, whose records carry none)
    est_listen: str | None = None  # HOST:PORT for `est serve`, kept in s1spki.toml [est]


@dataclass(frozen=True)
class DatabaseChoice:
    """The store's URL and how s1spki.toml names it: the URL itself (no password), or a file or an environment
    variable that holds it (with its password)."""

    url: str
    table: dict[str, str]

    @classmethod
    def from_flags(cls, url: str | None, url_file: Path | None, url_env: str | None) -> DatabaseChoice | None:
        """--database-url, --database-url-file or --database-url-env (at most one); None: SQLite in the home.
        A URL with a password is refused without repeating it: it would be in s1spki.toml and shell history."""
        given = [flag for flag, value in (("--database-url", url), ("--database-url-file", url_file),
                                          ("--database-url-env", url_env)) if value]
        if len(given) > 1:
            raise UsageError(f"give one of {', '.join(given)}")
        if url:
            if url_has_password(url):
                raise UsageError("--database-url holds a password, which would be kept in s1spki.toml: put the URL "
                                 "in a file (mode 0600) named by --database-url-file, or in an environment variable "
                                 "named by --database-url-env")
            return cls(url, {"url": url})
        if url_file is not None:
            path = url_file.expanduser().resolve()
            value = SecretSource("file", str(path)).read("the database URL", error=UsageError)
            return cls(value, {"url_file": str(path)})
        if url_env:
            return cls(SecretSource("env", url_env).read("the database URL", error=UsageError), {"url_env": url_env})
        return None


def check_node_id(node_id: str) -> None:
    """UsageError unless `node_id` is one s1spki.toml [node] id takes."""
    if not re.match(NODE_ID_PATTERN, node_id):
        raise UsageError("--node-id takes 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                         f"not {node_id!r}")


def initialise(options: InitOptions, clock: Clock) -> dict[str, object]:
    home = options.home
    if options.node_id is not None:
        check_node_id(options.node_id)
    if (home / CONFIG_NAME).exists():
        raise Refused(f"{home} is already an s1spki CA home ({CONFIG_NAME} exists): refusing to initialise it again")
    for leftover in ("s1spki.db", "softhsm", "policy", "rapp"):
        if (home / leftover).exists():
            raise Refused(f"{home / leftover} already exists: initialise into an empty folder")
    names = [p[0] for p in options.people]
    if len({n.casefold() for n in names}) != len(names):
        raise UsageError("each bootstrap operator needs a different name (ignoring case)")
    _refuse_shared_keys(options.people)
    # Read and validate what is shipped (or given) before anything is created.
    policy = load_policy(options.policy_dir or data_dir("policy"))
    for name in names:
        operator_name(name, policy.names.operator)
    rapp = load_rapp(options.rapp_dir or data_dir("rapp"))
    if not options.softhsm and not options.module:
        raise UsageError("give --softhsm for a private SoftHSM token, or --module for a real HSM")
    if options.kind not in KINDS:
        raise UsageError(f"a CA home is online or root, not {options.kind!r}")
    if options.kind == "root" and options.root_certificate is not None:
        raise UsageError("a root home makes its own root at `ceremony root`: --root-cert is for online homes")
    if options.kind == "online":
        _check_root(options, policy)

    created: list[Path] = []
    home_existed = home.exists()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)  # also when `operator keygen` made it first: the home holds the PIN file and the token
        for name, source in (("policy", policy.directory), ("rapp", rapp.directory)):
            shutil.copytree(source, home / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            created.append(home / name)
        ca_token = TokenOptions(options.token_label, options.pin_file, options.pin_env)
        audit_token = options.audit_token or TokenOptions(f"{options.token_label}-audit")
        if audit_token.label == ca_token.label:
            raise UsageError("the audit key's token must be another than the CA keys': give --audit-token-label")
        hsm_lines = _prepare_hsm(options, ca_token, DEFAULT_PIN_FILE, "hsm-so.pin", created)
        audit_lines = _prepare_hsm(options, audit_token, DEFAULT_AUDIT_PIN_FILE, "audit-so.pin", created)
        if hsm_lines["pin_file"] and hsm_lines["pin_file"] == audit_lines["pin_file"]:
            raise UsageError("the audit token's PIN source must be another than the CA token's")
        database = options.database or DatabaseChoice.from_flags(options.database_url, None, None) or \
            DatabaseChoice("sqlite:///s1spki.db", {"url": "sqlite:///s1spki.db"})
        url = database.url
        (home / CONFIG_NAME).write_text(render_config(database=database.table, hsm=hsm_lines, audit_hsm=audit_lines,
                                                      node_id=options.node_id, est_listen=options.est_listen),
                                        encoding="utf-8")
        created.append(home / CONFIG_NAME)
        if url == "sqlite:///s1spki.db":
            created += [home / "s1spki.db", home / "s1spki.db-wal", home / "s1spki.db-shm"]
            # made empty and 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(home / "s1spki.db", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        (home / "credentials").mkdir(exist_ok=True)
        home_id = str(uuid.uuid4())
        runtime = Runtime(home, clock)
        try:
            audit_key = _start(runtime, options, url, home_id, rapp, hsm_lines["module"], created)
        finally:
            runtime.close()
    except BaseException:
        for path in reversed(created):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if not home_existed:
            shutil.rmtree(home, ignore_errors=True)
        raise
    return {"home": str(home), "home_id": home_id, "kind": options.kind, "operators": names,
            "token_label": options.token_label, "audit_token_label": audit_token.label, **audit_key}


def _start(runtime: Runtime, options: InitOptions, url: str, home_id: str, rapp: Rapp, module: str | None,
           created: list[Path]) -> dict[str, str]:
    """The record key on the token, the store, the bootstrap operators, then the audit key and a first checkpoint."""
    home, clock = runtime.home, runtime.clock
    # The record key comes first: every audit record, the first one too, carries its authenticator. It lives on
    # the audit token, apart from the CA keys.
    runtime.audit_hsm().generate_mac_key(record_key_label(1, _stamp(clock)))
    store = Store.create(_absolute_url(home, url), clock, home_id, runtime.record_key, options.node_id)
    try:
        roles = {"custodian": rapp.custodian_role, "manager": rapp.manager_role}
        hashes = {"policy": load_policy(home / "policy").hash, "rapp": load_rapp(home / "rapp").hash}
        event = AuditEvent("init", "init", "bootstrap", object_type="ca-home", object_id=home_id,
                           details={"operators": [{"name": n, "roles": [roles[k]],
                                                   "public_key_pem": public_key_pem(key)}
                                                  for n, k, key in options.people],
                                    "hsm_module": module, "token_label": options.token_label, "kind": options.kind,
                                    "root_certificate_pem": _pem(options.root_certificate)},
                           policy_hash=hashes["policy"], rapp_hash=hashes["rapp"])
        with store.change(event) as tx:
            for name, kind, key in options.people:
                register_operator(tx, name, (roles[kind],), key)
            # the first node of the store, with the checkpoint file other nodes' `audit verify` reads
            tx.add_node(options.node_id or "", str(runtime.config.audit.checkpoints_file.resolve()))
            if options.root_certificate is not None:
                pin_root(tx, options.root_certificate, load_policy(home / "policy").hash)
        # the shipped (or given) policy/ and rapp/ are the first adopted: later changes need `policy adopt`
        adopt = AuditEvent(ADOPT_EVENT, "init", "bootstrap", object_type="policy", object_id=home_id,
                           details=adoption_details({f: home / f for f in FOLDERS}, hashes),
                           policy_hash=hashes["policy"], rapp_hash=hashes["rapp"])
        with store.change(adopt):
            pass
    finally:
        store.dispose()
    return start_audit_trail(runtime, created)


def _refuse_shared_keys(people: tuple[tuple[str, str, ec.EllipticCurvePublicKey], ...]) -> None:
    seen: dict[str, str] = {}
    for name, _kind, key in people:
        digest = key_sha256(key)
        if digest in seen:
            raise PolicyRefused(f"{name} and {seen[digest]} give the same public key: every operator has their own")
        seen[digest] = name


def _absolute_url(home: Path, url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        return prefix + str(home / url[len(prefix):])
    return url


def _prepare_hsm(options: InitOptions, token: TokenOptions, default_pin_file: str, so_pin_name: str,
                 created: list[Path]) -> dict[str, str | None]:
    """Make a SoftHSM token, or check that the named real HSM token accepts its PIN; its lines of s1spki.toml."""
    home = options.home
    if token.pin_file and token.pin_env:
        raise UsageError("give a token's PIN as a file or an environment variable, not both")
    if not options.softhsm:
        source = (SecretSource("file", str(token.pin_file.resolve())) if token.pin_file
                  else SecretSource("env", token.pin_env) if token.pin_env else SecretSource("prompt"))
        pin = source.read(f"the PIN of token {token.label!r}", error=HsmError)
        Hsm.connect(HsmSettings(options.module or "", token.label, pin)).token_info()
        return {"module": options.module, "token_label": token.label, "softhsm_conf": None,
                "pin_file": str(token.pin_file.resolve()) if token.pin_file else None, "pin_env": token.pin_env}
    find_softhsm_module()  # fail early, with the install hint, if SoftHSM is missing
    pin_file = token.pin_file
    if token.pin_env:
        pin = SecretSource("env", token.pin_env).read("the HSM user PIN", error=UsageError)
    elif pin_file is not None and pin_file.exists():
        pin = SecretSource("file", str(pin_file)).read("the HSM user PIN", error=UsageError)
    else:
        # No PIN given: make a random one and keep it in a 0600 file under the home, named in the config.
        pin_file = pin_file or home / default_pin_file
        pin = secrets.token_urlsafe(18)
        write_secret_file(pin_file, pin)
        created.append(pin_file)
    so_pin_file = home / "secrets" / so_pin_name
    so_pin = secrets.token_urlsafe(18)
    write_secret_file(so_pin_file, so_pin)
    created.append(so_pin_file)
    softhsm_dir = home / "softhsm"
    if softhsm_dir not in created:
        created.append(softhsm_dir)
    create_softhsm_token(softhsm_dir / "softhsm2.conf", softhsm_dir / "tokens", token.label, pin, so_pin)
    pin_ref = None
    if not token.pin_env and pin_file is not None:
        pin_ref = str(pin_file.relative_to(home)) if pin_file.is_relative_to(home) else str(pin_file.resolve())
    return {"module": "softhsm", "token_label": token.label, "softhsm_conf": "softhsm/softhsm2.conf",
            "pin_file": pin_ref, "pin_env": token.pin_env}


def _check_root(options: InitOptions, policy: Policy) -> None:
    """The root an online home pins: the one whose fingerprint the custodians read from its ceremony transcript,
    self-signed, and a root as policy/ makes it."""
    root = options.root_certificate
    if root is None or not options.root_fingerprint:
        raise UsageError("an online home trusts one root: give its certificate with --root-cert FILE and its "
                         "SHA-256 from the root ceremony's transcript with --root-fingerprint (or make a root home "
                         "with --root)")
    der = root.public_bytes(serialization.Encoding.DER)
    given = options.root_fingerprint.strip().lower().replace(":", "")
    actual = hashlib.sha256(der).hexdigest()
    if given != actual:
        raise Refused(f"--root-cert has SHA-256 {actual}, not the {given} given with --root-fingerprint: not pinned")
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise Refused("--root-cert is not a self-signed root certificate: not pinned") from None
    findings = lint_certificate(der, lint_context(policy, None))
    if has_errors(findings):
        raise Refused(f"--root-cert is not a root as policy/ makes one: {'; '.join(f.line() for f in findings)}")


def _pem(certificate: x509.Certificate | None) -> str | None:
    return None if certificate is None else certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def pin_root(tx: ChangeTx, certificate: x509.Certificate, policy_hash: str) -> None:
    """Record the offline root an online home trusts: its certificate, as a CA whose key is not here."""
    name = CaFacts(certificate).common_name
    serial = serial_hex(certificate.serial_number)
    certificate_id = tx.add_certificate(certificate, kind="root", issuer_cn=name, serial=serial,
                                        policy_hash=policy_hash, subject_cn=name, role="root").id
    tx.add_ca({"kind": "root", "name": name, "key_label": f"offline:{key_sha256(certificate.public_key())[:32]}",
               "certificate_id": certificate_id, "token_label": OFFLINE, "token_serial": ""})


def _stamp(clock: Clock) -> str:
    return iso(clock.now()).replace(":", "").replace("-", "").split(".")[0]


def start_audit_trail(runtime: Runtime, created: list[Path]) -> dict[str, str]:
    """Make the audit key and certificate, record them, and sign the first checkpoint.

    Paths this creates are added to `created`, so a failed `init` removes them again."""
    checkpoints = runtime.config.audit.checkpoints_file
    if checkpoints.exists():
        raise PolicyRefused(f"{checkpoints} already exists: initialise into an empty folder")
    if not checkpoints.parent.exists():
        created.append(checkpoints.parent)
    signer = _create_audit_signer(runtime)
    runtime.checkpointer.checkpoint()
    return {"audit_certificate": str(certificate_path(checkpoints)), "audit_certificate_sha256": signer.fingerprint}


def _create_audit_signer(runtime: Runtime) -> AuditSigner:
    """Generate the audit key on the audit token, certify it, record it in the trail and write audit-cert.pem."""
    hsm = runtime.audit_hsm()
    token = hsm.token_info()
    now = runtime.clock.now()
    label = f"{KEY_LABEL_PREFIX}-{_stamp(runtime.clock)}"
    if label in {ca.key_label for ca in runtime.store.reader.cas()}:
        raise PolicyRefused(f"key label {label!r} belongs to a CA: the audit key must be a key of its own")
    attributes = hsm.generate_ec_key(label)
    key = hsm.signing_key(label)
    certificate = self_signed_certificate(key, runtime.home_id, now)
    der = certificate.public_bytes(serialization.Encoding.DER)
    signer = AuditSigner(label, token.label, der, fingerprint(der), iso(now))
    policy_hash, rapp_hash = runtime.hashes_in_force()
    event = AuditEvent("audit.key", "init", "bootstrap", object_type="audit-key", object_id=label,
                       details={"token_label": token.label, "token_serial": token.serial,
                                "key_attributes": attributes.as_dict(), "certificate_pem": signer.pem(),
                                "certificate_sha256": signer.fingerprint},
                       policy_hash=policy_hash, rapp_hash=rapp_hash)
    with runtime.store.change(event) as tx:
        tx.add_audit_signer({"key_label": label, "token_label": token.label, "certificate_der": der,
                             "fingerprint": signer.fingerprint})
    path = certificate_path(runtime.config.audit.checkpoints_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(signer.pem(), encoding="ascii")
    return signer
