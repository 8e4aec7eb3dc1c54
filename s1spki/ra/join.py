"""`s1spki init --join`: make the home of a further online node of an existing store.

Several online nodes share one database (PostgreSQL) and one HSM (the CA keys, the audit key and the record key
stay where the first node's ceremonies made them). A joining node makes no key and no schema: it writes its own
s1spki.toml (its node id, its HSM and PIN settings, its database URL source, its own checkpoint file, its EST
listen address), copies of policy/ and rapp/ that must be the adopted ones, and the audit certificate. Who may add
a node is the RAPP's `node.join` (two key custodians, as for a key ceremony); the join is an audited change that
lists the node and its checkpoint file in the store, where every node's `audit verify` finds it. A home that
already exists is refused; if a step fails, what this run created is removed again, the node's entry in the
store included (taken off the list in the record of the failure).
"""

from __future__ import annotations

import shutil
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import certificate_path, current_signer
from s1spki.command import Command, Operators
from s1spki.errors import HsmError, PolicyRefused, Refused, S1spkiError, StoreError, UsageError
from s1spki.home.config import CONFIG_NAME, render_config
from s1spki.home.shipped import data_dir
from s1spki.ra.initialise import DatabaseChoice, check_node_id
from s1spki.runtime import Runtime
from s1spki.store import Store
from s1spki.values.clock import Clock

OPERATION = "node.join"


@dataclass(frozen=True)
class JoinOptions:
    home: Path
    database: DatabaseChoice
    operators: tuple[str, ...]  # --as: the key custodians who add the node
    credential_dirs: tuple[Path, ...]  # where their credentials are
    node_id: str | None = None  # None: node-N, the first N not taken
    module: str | None = None  # a real HSM's PKCS#11 module; None: SoftHSM with `token_dir`
    token_dir: Path | None = None  # the first node's SoftHSM token directory (a network HSM's stand-in)
    token_label: str = "s1spki"
    pin_file: Path | None = None
    pin_env: str | None = None
    audit_token_label: str = "s1spki-audit"
    audit_pin_file: Path | None = None
    audit_pin_env: str | None = None
    policy_dir: Path | None = None  # default: the shipped policy/ (it must be the adopted one)
    rapp_dir: Path | None = None
    est_listen: str | None = None


def join(options: JoinOptions, clock: Clock) -> dict[str, Any]:
    home = options.home
    if (home / CONFIG_NAME).exists():
        raise Refused(f"{home} is already an s1spki CA home ({CONFIG_NAME} exists): join from an empty folder")
    for leftover in ("softhsm", "policy", "rapp", "audit"):
        if (home / leftover).exists():
            raise Refused(f"{home / leftover} already exists: join from an empty folder")
    if len(options.operators) < 1:
        raise UsageError("name the key custodians who add this node with --as NAME --as NAME")
    if options.module is None and options.token_dir is None:
        raise UsageError("give --softhsm-token-dir (the first node's SoftHSM token directory) or --module (the "
                         "shared HSM's PKCS#11 module)")
    if options.token_dir is not None and not options.token_dir.is_dir():
        raise UsageError(f"--softhsm-token-dir {options.token_dir} is not a folder")
    node_id = _node_id(options, clock)
    created: list[Path] = []
    home_existed = home.exists()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)
        for name, given in (("policy", options.policy_dir), ("rapp", options.rapp_dir)):
            shutil.copytree(given or data_dir(name), home / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            created.append(home / name)
        hsm_lines, audit_lines = _hsm_lines(options, created)
        config = render_config(database=options.database.table, hsm=hsm_lines, audit_hsm=audit_lines, node_id=node_id,
                               credential_dirs=[str(d.resolve()) for d in options.credential_dirs] or ["credentials"],
                               est_listen=options.est_listen)
        (home / CONFIG_NAME).write_text(config, encoding="utf-8")
        created.append(home / CONFIG_NAME)
        runtime = Runtime(home, clock)
        try:
            result = _join(runtime, options, node_id, created)
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
    return result


def _node_id(options: JoinOptions, clock: Clock) -> str:
    """The id given (refused if malformed or taken), else node-N with the first N no node of the store has."""
    store = Store.open(options.database.url, clock)
    try:
        taken = {row["node_id"] for row in store.nodes()}
    finally:
        store.dispose()
    if options.node_id is not None:
        check_node_id(options.node_id)
        if options.node_id in taken:
            raise Refused(f"node id {options.node_id!r} is taken by a node of this store: give another --node-id")
        return options.node_id
    number = len(taken) + 1
    while f"node-{number}" in taken:
        number += 1
    return f"node-{number}"


def _hsm_lines(options: JoinOptions, created: list[Path]) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """This node's [hsm] and [audit_hsm]: the shared HSM, reached through a SoftHSM config of this home that
    names the first node's token directory, or through the real HSM's module."""
    conf: str | None = None
    if options.module is None:
        from s1spki.hsm import write_softhsm_conf

        assert options.token_dir is not None
        conf_path = options.home / "softhsm" / "softhsm2.conf"
        created.append(conf_path.parent)
        write_softhsm_conf(conf_path, options.token_dir.resolve())
        conf = "softhsm/softhsm2.conf"
    module = options.module or "softhsm"

    def lines(label: str, pin_file: Path | None, pin_env: str | None) -> dict[str, str | None]:
        if pin_file and pin_env:
            raise UsageError("give a token's PIN as a file or an environment variable, not both")
        return {"module": module, "token_label": label, "softhsm_conf": conf,
                "pin_file": str(pin_file.resolve()) if pin_file else None, "pin_env": pin_env}

    return (lines(options.token_label, options.pin_file, options.pin_env),
            lines(options.audit_token_label, options.audit_pin_file, options.audit_pin_env))


def _join(runtime: Runtime, options: JoinOptions, node_id: str, created: list[Path]) -> dict[str, Any]:
    """Authorise the join, check the HSM is the store's, list the node, write the audit certificate."""
    cmd = Command(runtime, Operators(options.operators))
    checkpoints = runtime.config.audit.checkpoints_file.resolve()
    event = cmd.event(OPERATION, "node", node_id, checkpoints_file=str(checkpoints))
    with cmd.refusals_recorded(event):
        if runtime.kind == "root":
            raise PolicyRefused("this store is a root home's: the offline root has no further nodes")
        hsm = runtime.hsm()
        token = hsm.token_info()
        auth = cmd.authorise(OPERATION, {"node_id": node_id, "home_id": runtime.home_id,
                                         "token_label": token.label, "token_serial": token.serial,
                                         "checkpoints_file": str(checkpoints)})
        for ca in runtime.store.reader.cas("issuing"):
            if ca.token_label == token.label and ca.token_serial != token.serial:
                raise PolicyRefused(f"token {token.label!r} has serial {token.serial}, not the {ca.token_serial} that "
                                    f"holds the key of CA {ca.name}: point this node at the store's HSM")
            hsm.signing_key(ca.key_label)  # HsmError if the shared token does not hold it
        signer = current_signer(runtime.store.audit_signers())
        if signer is None:
            raise PolicyRefused("the store names no audit key: a node joins a store whose home finished `init`")
        runtime.open_audit_key(signer)
        _ = runtime.record_key.label  # the record key is on the shared audit token
        _ = runtime.rapp, runtime.policy  # this node's policy/ and rapp/ are the adopted ones
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), token_label=token.label,
                                token_serial=token.serial)
        with runtime.store.change(done) as tx:
            tx.add_node(node_id, str(checkpoints))
    try:  # listed: a step that fails from here takes the node off the list again, as its home is removed
        path = certificate_path(runtime.config.audit.checkpoints_file)
        if not path.parent.exists():
            created.append(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(signer.pem(), encoding="ascii")
        for told in runtime.finish(0):
            if not isinstance(told, str):
                raise told
    except BaseException as exc:
        _unlist(runtime, done, node_id, exc)
        raise
    return {"home": str(runtime.home), "home_id": runtime.home_id, "node_id": node_id,
            "checkpoints_file": str(checkpoints), "token_label": token.label,
            "nodes": [row["node_id"] or "(original)" for row in runtime.store.nodes()]}


def _unlist(runtime: Runtime, done: AuditEvent, node_id: str, exc: BaseException) -> None:
    """The node listed by `done` taken off the list again, in the record of why its join failed: left listed, every
    node's `audit verify` would name its checkpoint file, removed with its home, as unreadable, and its id taken."""
    why = exc.message if isinstance(exc, S1spkiError) else getattr(exc, "strerror", None) or type(exc).__name__
    failed = done.with_outcome("error", reason=f"the node's home could not be completed ({why}): it was taken off "
                               "the list of nodes again")
    with suppress(StoreError, HsmError):  # the failure itself is what the user is told
        runtime.store.record_refusal(failed, lambda tx: tx.remove_node(node_id))
