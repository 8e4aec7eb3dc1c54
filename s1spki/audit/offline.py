"""`audit verify FILE`: an export or an issuance report checked offline, with nothing but the files and the
audit certificate the auditor pinned: no database, no HSM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.audit.checkpoint import Checkpoint
from s1spki.audit.export_format import FORMATS, csv_links, jsonl_links
from s1spki.audit.fast import jsonl_stretches
from s1spki.audit.manifest import manifest_path, read_manifest
from s1spki.audit.record import GENESIS_HASH
from s1spki.audit.report_format import verify_report
from s1spki.audit.signer import fingerprint, public_keys
from s1spki.audit.verify import BAD_MANIFEST, Problem, Verdict, verify_chain, verify_stretches
from s1spki.errors import UsageError


def verify_export(path: Path, manifest_file: Path | None = None, pinned: list[x509.Certificate] | None = None,
                  fingerprints: Sequence[str] = ()) -> Verdict:
    """Check an export file against its signed manifest and the audit certificate: the one(s) `pinned`, or the
    one the export carries when its SHA-256 is among `fingerprints`, or (neither given) the one it carries."""
    manifest_file = manifest_file or manifest_path(path)
    if fingerprints and not pinned:
        carried = read_manifest(manifest_file, None).certificate
        wanted = {f.lower().replace(":", "") for f in fingerprints}
        if carried is None or fingerprint(carried.public_bytes(serialization.Encoding.DER)) not in wanted:
            problem = Problem(None, BAD_MANIFEST, "the export carries another audit certificate than the one whose "
                              "fingerprint was given")
            return Verdict(0, None, None, None, 0, None, (problem,))
        pinned = [carried]
    manifest = read_manifest(manifest_file, pinned)
    problems = [Problem(None, BAD_MANIFEST, manifest.problem)] if manifest.problem else []
    notes = [] if pinned else [f"trusted the audit certificate the manifest carries (sha256 "
                               f"{manifest.get('audit_certificate_sha256', '?')}); pin it with --cert"]
    if manifest.get("kind") == "issuance-report":
        return verify_report(path, manifest, problems, notes)
    fmt = manifest.get("format")
    if fmt not in FORMATS:
        fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    carried = [manifest.certificate] if manifest.certificate is not None else []
    trusted = public_keys(pinned or carried)
    checkpoints = []
    for index, data in enumerate([] if manifest.foreign else manifest.get("checkpoints") or []):
        try:
            checkpoints.append(Checkpoint.from_dict(data, "manifest"))
        except (ValueError, TypeError):
            problems.append(Problem(None, BAD_MANIFEST, f"checkpoint {index + 1} of the manifest is not a checkpoint"))
    first, last = manifest.get("first_seq"), manifest.get("last_seq")
    start_seq = first if isinstance(first, int) else 1
    end = (last, manifest.get("last_hash") or "") if isinstance(last, int) else (start_seq - 1, "")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    common: dict[str, Any] = {"trusted": trusted, "home_id": manifest.get("home_id"), "checkpoints": checkpoints,
                              "start_seq": start_seq, "start_hash": manifest.get("start_hash") or GENESIS_HASH,
                              "end": end, "end_name": "the signed manifest", "extra_problems": problems,
                              "warnings": notes}
    if fmt == "jsonl":
        # the clean case, fast; anything amiss and the lines are gone over one by one to say what
        count = manifest.get("count")
        try:
            stretches = jsonl_stretches(path, count if isinstance(count, int) else 0,
                                        frozenset(c.seq for c in checkpoints))
        except Exception:  # a worker that could not run: the exact route below still decides
            stretches = [None]
        verdict = verify_stretches(stretches, **common)
        if verdict is not None:
            return verdict
    return verify_chain(csv_links(path) if fmt == "csv" else jsonl_links(path), **common)
