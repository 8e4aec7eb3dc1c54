"""`s1spki init`: create a CA home (config, policy and RAPP copies, database, optionally a SoftHSM token)
and register the people who bootstrap it. A home that already exists is refused, never overwritten;
if a step fails, what this run created is removed again."""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import KEY_LABEL_PREFIX, AuditSigner, certificate_path, fingerprint, self_signed_certificate
from s1spki.errors import HsmError, PolicyRefused, Refused, UsageError
from s1spki.home.adoption import ADOPT_EVENT, FOLDERS, adoption_details
from s1spki.home.config import CONFIG_NAME, render_config
from s1spki.home.secret_source import SecretSource, write_secret_file
from s1spki.home.shipped import data_dir
from s1spki.hsm import Hsm, HsmSettings, create_softhsm_token, find_softhsm_module
from s1spki.policy import load_policy
from s1spki.ra.staff import public_key_pem, register_operator
from s1spki.rapp import Rapp, load_rapp
from s1spki.runtime import Runtime, record_key_label
from s1spki.store import Store
from s1spki.values.clock import Clock, iso
from s1spki.values.keys import key_sha256
from s1spki.values.names import operator_name

DEFAULT_PIN_FILE = "secrets/hsm-user.pin"


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


def initialise(options: InitOptions, clock: Clock) -> dict[str, object]:
    home = options.home
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

    created: list[Path] = []
    home_existed = home.exists()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)  # also when `operator keygen` made it first: the home holds the PIN file and the token
        for name, source in (("policy", policy.directory), ("rapp", rapp.directory)):
            shutil.copytree(source, home / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            created.append(home / name)
        hsm_lines = _prepare_hsm(options, created)
        url = options.database_url or "sqlite:///s1spki.db"
        (home / CONFIG_NAME).write_text(render_config(database_url=url, **hsm_lines), encoding="utf-8")
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
    return {"home": str(home), "home_id": home_id, "operators": names, "token_label": options.token_label,
            **audit_key}


def _start(runtime: Runtime, options: InitOptions, url: str, home_id: str, rapp: Rapp, module: str | None,
           created: list[Path]) -> dict[str, str]:
    """The record key on the token, the store, the bootstrap operators, then the audit key and a first checkpoint."""
    home, clock = runtime.home, runtime.clock
    # The record key comes first: every audit record, the first one too, carries its authenticator.
    runtime.hsm().generate_mac_key(record_key_label(1, _stamp(clock)))
    store = Store.create(_absolute_url(home, url), clock, home_id, runtime.record_key)
    try:
        roles = {"custodian": rapp.custodian_role, "manager": rapp.manager_role}
        hashes = {"policy": load_policy(home / "policy").hash, "rapp": load_rapp(home / "rapp").hash}
        event = AuditEvent("init", "init", "bootstrap", object_type="ca-home", object_id=home_id,
                           details={"operators": [{"name": n, "roles": [roles[k]],
                                                   "public_key_pem": public_key_pem(key)}
                                                  for n, k, key in options.people],
                                    "hsm_module": module, "token_label": options.token_label},
                           policy_hash=hashes["policy"], rapp_hash=hashes["rapp"])
        with store.change(event) as tx:
            for name, kind, key in options.people:
                register_operator(tx, name, (roles[kind],), key)
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


def _prepare_hsm(options: InitOptions, created: list[Path]) -> dict[str, str | None]:
    """Make the SoftHSM token, or check that the named real HSM token accepts its PIN."""
    home = options.home
    if options.pin_file and options.pin_env:
        raise UsageError("give --pin-file or --pin-env, not both")
    if not options.softhsm:
        source = (SecretSource("file", str(options.pin_file.resolve())) if options.pin_file
                  else SecretSource("env", options.pin_env) if options.pin_env else SecretSource("prompt"))
        pin = source.read(f"the PIN of token {options.token_label!r}", error=HsmError)
        Hsm.connect(HsmSettings(options.module or "", options.token_label, pin)).token_info()
        return {"module": options.module, "token_label": options.token_label, "softhsm_conf": None,
                "pin_file": str(options.pin_file.resolve()) if options.pin_file else None,
                "pin_env": options.pin_env}
    find_softhsm_module()  # fail early, with the install hint, if SoftHSM is missing
    pin_file = options.pin_file
    if options.pin_env:
        pin = SecretSource("env", options.pin_env).read("the HSM user PIN", error=UsageError)
    elif pin_file is not None and pin_file.exists():
        pin = SecretSource("file", str(pin_file)).read("the HSM user PIN", error=UsageError)
    else:
        # No PIN given: make a random one and keep it in a 0600 file under the home, named in the config.
        pin_file = pin_file or home / DEFAULT_PIN_FILE
        pin = secrets.token_urlsafe(18)
        write_secret_file(pin_file, pin)
        created.append(pin_file)
    so_pin_file = home / "secrets" / "hsm-so.pin"
    so_pin = secrets.token_urlsafe(18)
    write_secret_file(so_pin_file, so_pin)
    created.append(so_pin_file)
    softhsm_dir = home / "softhsm"
    created.append(softhsm_dir)
    create_softhsm_token(softhsm_dir / "softhsm2.conf", softhsm_dir / "tokens", options.token_label, pin, so_pin)
    pin_ref = None
    if not options.pin_env and pin_file is not None:
        pin_ref = str(pin_file.relative_to(home)) if pin_file.is_relative_to(home) else str(pin_file.resolve())
    return {"module": "softhsm", "token_label": options.token_label, "softhsm_conf": "softhsm/softhsm2.conf",
            "pin_file": pin_ref, "pin_env": options.pin_env}


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
    """Generate the audit key on the token, certify it, record it in the trail and write audit-cert.pem."""
    hsm = runtime.hsm()
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
