"""`db upgrade`: the store's schema migrated to the revision this s1spki needs, and a store made before
authenticators brought under them.

A store from before revision 0002 has no authenticators. Once its trail verifies against its own checkpoints
and audit certificate, the upgrade makes the home's record key on the HSM (its label says from which record
on every record carries an authenticator), seals every row that grants power, records the policy/ and rapp/
in force as adopted, and signs a checkpoint: what was there before is vouched for by that checkpoint, what
comes after by its authenticators.
"""

from __future__ import annotations

from typing import Any

from s1spki.audit.chain import record_bytes
from s1spki.audit.checkpoint import checkpoint_rows, read_checkpoint_file
from s1spki.audit.record import AuditEvent
from s1spki.audit.signer import certificate_path, load_certificates, public_keys
from s1spki.audit.verify import AuditTampered, verify_chain
from s1spki.errors import UsageError
from s1spki.home.adoption import ADOPT_EVENT, FOLDERS, adoption_details
from s1spki.policy import load_policy
from s1spki.rapp import load_rapp
from s1spki.runtime import Runtime, record_key_label
from s1spki.store.engine import make_engine
from s1spki.store.writer import Store, upgrade_schema
from s1spki.values.clock import iso

AUTHENTICATORS = "0002"  # the first revision whose records and rows carry authenticators


def upgrade_store(runtime: Runtime) -> dict[str, Any]:
    """Migrate the store; seal a store made before authenticators. Returns what was done."""
    engine = make_engine(runtime.config.database_url)
    try:
        before, after = upgrade_schema(engine)
    finally:
        engine.dispose()
    sealed = _bring_under_authenticators(runtime) if before < AUTHENTICATORS <= after else None
    return {"from": before, "to": after, "upgraded": before != after, "sealed": sealed}


def _bring_under_authenticators(runtime: Runtime) -> dict[str, Any]:
    home_id, head = _verified_legacy_trail(runtime)
    stamp = iso(runtime.clock.now()).replace(":", "").replace("-", "").split(".")[0]
    runtime.audit_hsm().generate_mac_key(record_key_label(head + 1, stamp))
    store = runtime.store
    config = runtime.config
    hashes = {"policy": load_policy(config.policy_dir).hash, "rapp": load_rapp(config.rapp_dir).hash}
    event = AuditEvent("db.upgrade", "s1spki", "system", object_type="store", object_id=home_id,
                       details={"to": AUTHENTICATORS, "from_seq": head + 1}, policy_hash=hashes["policy"],
                       rapp_hash=hashes["rapp"])
    with store.change(event) as tx:
        rows = tx.reseal_all()
    directories = {"policy": config.policy_dir, "rapp": config.rapp_dir}
    adopt = AuditEvent(ADOPT_EVENT, "s1spki", "system", object_type="policy", object_id=home_id,
                       details=adoption_details({f: directories[f] for f in FOLDERS}, hashes),
                       policy_hash=hashes["policy"], rapp_hash=hashes["rapp"])
    with store.change(adopt):
        pass
    runtime.checkpointer.checkpoint()
    return {"rows": rows, "authenticated_from": head + 1}


def _verified_legacy_trail(runtime: Runtime) -> tuple[str, int]:
    """The trail as it stands must verify against its checkpoints and the home's audit certificate."""
    store = Store.open(runtime.config.database_url, runtime.clock)
    try:
        home_id = store.meta("home_id") or ""
        cert = certificate_path(runtime.config.audit.checkpoints_file)
        try:
            trusted = public_keys(load_certificates(cert))
        except (OSError, ValueError):
            raise UsageError(f"{cert} is missing: the trail cannot be verified before it is brought under "
                             "authenticators") from None
        from_file = read_checkpoint_file(runtime.config.audit.checkpoints_file)
        with store.reader.audit_snapshot() as snapshot:
            checkpoints = [*from_file.checkpoints, *checkpoint_rows(snapshot.checkpoints())]
            links = ((r[0], r[1], r[2], record_bytes(r)) for r in snapshot.rows())
            verdict = verify_chain(links, trusted=trusted, home_id=home_id, checkpoints=checkpoints,
                                   end=snapshot.head(), end_name="the chain head row")
            head = snapshot.head()[0]
    finally:
        store.dispose()
    if not verdict.ok:
        raise AuditTampered(verdict, "the audit trail (nothing was upgraded further; restore a backup)")
    return home_id, head
