"""`db backup`: the store (registry, requests, certificates, CRLs and the audit trail; never a key, which stays
in the HSM) copied into one new file, with a manifest beside it signed by the audit key.

Who: a CA administrator (rapp/ `db.backup`), audited. The order is what lets a restored backup verify:

1. the target is checked (a new file in a writable folder; pg_dump there for PostgreSQL): nothing is written
   and nothing recorded when it is not;
2. the operator is authorised, and the audit key opened (the manifest is signed with it);
3. the backup's own record (`db.backup`: who, the file's name, the engine, the schema revision) is committed and
   a checkpoint signed over it, so that the copy holds the record of its making and the checkpoint covering it;
4. the store is copied (store/backup.py) and the manifest written: the file's SHA-256 and size, the engine, the
   schema revision, the audit head the copy holds (seq and hash) and the seq of the backup's record.

A file cannot hold its own digest, so the SHA-256 lives in the signed manifest, not in a record of the trail: a
record written after the copy would be covered by a checkpoint the copy lacks, and every restore would then
read as a rollback, hiding the real ones. A copy that fails after step 3 is recorded with outcome error.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.manifest import manifest_path, signed_manifest, write_new
from s1spki.audit.signer import AuditSigner, current_signer
from s1spki.command import Command
from s1spki.errors import PolicyRefused, S1spkiError, UsageError
from s1spki.store import migrations
from s1spki.store.backup import Copied, copy_store, engine_name, remove_left_behind, require_pg_dump, staged, unstage
from s1spki.values.clock import iso

OPERATION = "db.backup"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupResult:
    file: Path
    manifest_file: Path
    body: dict[str, Any]
    left_behind_removed: list[str]  # partial copies that killed backups had left in the folder

    def as_dict(self) -> dict[str, Any]:
        shown = {k: v for k, v in self.body.items() if k != "audit_certificate"}  # the PEM stays in the file
        return {"file": str(self.file), "manifest_file": str(self.manifest_file), **shown,
                "left_behind_removed": self.left_behind_removed}


def check_target(target: Path) -> tuple[Path, Path]:
    """The backup file and its manifest: both new, in an existing folder (UsageError otherwise)."""
    target = target.parent.absolute() / target.name
    manifest = manifest_path(target)
    for path in (target, manifest):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} exists: a backup never overwrites a file (backups are kept); choose a new name")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} is not a folder: create it or choose another place for the backup")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{target.parent} is not writable: choose another place for the backup")
    return target, manifest


def back_up(cmd: Command, target: Path) -> BackupResult:
    """Copy the store into `target` and sign its manifest (see the module docstring)."""
    target, manifest_file = check_target(target)
    engine = cmd.store.engine
    engine_kind = engine_name(engine)
    if engine_kind != "sqlite":
        require_pg_dump()
    partial = staged(target)  # a folder that cannot be written is refused before anything is recorded
    try:
        cmd.runtime.seams.reached("backup-staged")
        made = _record_and_copy(cmd, engine_kind, partial, target)
    finally:
        unstage(partial)
    try:
        sha256, size = _digest(target)
        copied = made.copied
        body = {"v": MANIFEST_VERSION, "kind": "db-backup", "home_id": cmd.home_id, "engine": copied.engine,
                "schema_revision": copied.revision, "file": target.name, "sha256": sha256, "size": size,
                "audit_head": {"seq": copied.head_seq, "hash": copied.head_hash}, "backup_id": made.backup_id,
                "backup_record": made.record, "taken_at": iso(cmd.clock.now()), "taken_by": made.actor,
                "audit_certificate": made.signer.pem(), "audit_certificate_sha256": made.signer.fingerprint}
        write_new(manifest_file, signed_manifest(made.key, body))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return BackupResult(target, manifest_file, body, made.left_behind_removed)


@dataclass(frozen=True)
class _Made:
    backup_id: str
    record: int  # seq of the backup's own record
    actor: str
    signer: AuditSigner
    key: ec.EllipticCurvePrivateKey
    copied: Copied
    left_behind_removed: list[str]


def _record_and_copy(cmd: Command, engine_kind: str, partial: Path, target: Path) -> _Made:
    """Steps 2 and 3 of the module docstring, then the copy. Once the backup is authorised, the partial copies that
    killed backups left in the folder are removed, and its record names them."""
    backup_id = secrets.token_hex(8)  # names the backup's record; the manifest names it too
    event = cmd.event(OPERATION, "backup", backup_id, file=target.name, engine=engine_kind,
                      schema_revision=migrations.HEAD)
    with cmd.refusals_recorded(event):
        auth = cmd.authorise(OPERATION, {"backup": backup_id, "file": target.name, "engine": engine_kind})
        signer = current_signer(cmd.reader.audit_signers())
        if signer is None:
            raise PolicyRefused("this CA home has no audit key, so a backup's manifest cannot be signed")
        key = cmd.runtime.open_audit_key(signer)
        left_behind = remove_left_behind(target.parent)
        event = event.attributed(auth.actor, auth.actor_role, auth.records(),
                                 **({"left_behind_removed": left_behind} if left_behind else {}))
    with cmd.store.change(event.with_outcome("ok")):
        pass
    # the backup's record: another node may write meanwhile, so the copy holds this record and maybe later ones
    seq = max(r[0] for r in cmd.reader.audit_rows_of_events((OPERATION,)) if r[2] == backup_id)
    try:
        cmd.runtime.checkpointer.checkpoint()
        copied = copy_store(cmd.store.engine, partial, target)
    except S1spkiError as exc:
        cmd.store.record_refusal(event.with_outcome("error", reason=exc.message, error=exc.kind, record=seq))
        raise
    return _Made(backup_id, seq, auth.actor, signer, key, copied, left_behind)


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
