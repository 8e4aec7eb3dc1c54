"""`repo publish`: the CA certificates, the current CRLs and ARL, and an index of issued certificates, as files
ready to serve.

    OUT/ca/<ca>.crt, OUT/ca/<ca>.pem   each CA certificate, DER and PEM
    OUT/crl/<ca>.crl                    the current CRL of each issuing CA and the root's ARL, DER
    OUT/index.json                      the issued certificates by (issuer CN, serial) and by (EUI-64, role,
                                        key usage), with the CAs and their current CRL or ARL

Every file is written to a temporary file beside it, flushed to disk and renamed over the old one (an atomic
replace on POSIX), so a reader sees the previous file or the new one, never part of one. The index is written
last, so what it names is already in place.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1spki.command import Command
from s1spki.errors import UsageError
from s1spki.ra.ceremony import slug
from s1spki.store import CaRecord, CertificateRecord
from s1spki.store.records import RevocationRecord
from s1spki.values.clock import iso

INDEX = "index.json"


@dataclass(frozen=True)
class Published:
    out: Path
    files: tuple[str, ...]  # relative to `out`
    certificates: int

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "files": list(self.files), "certificates": self.certificates}


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that no reader ever sees a partly written file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write to {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staging, 0o644)  # published: readable by the web server
        os.replace(staging, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(staging)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def publish(cmd: Command, out: Path) -> Published:
    """Write the repository to `out` (created if missing); returns what was written."""
    reader = cmd.reader
    files: list[str] = []

    def put(relative: str, data: bytes) -> None:
        write_atomic(out / relative, data)
        files.append(relative)

    cas = []
    for ca in reader.cas():
        stem = slug(ca.name)
        put(f"ca/{stem}.crt", ca.certificate.der)
        put(f"ca/{stem}.pem", ca.certificate.pem().encode("ascii"))
        current = reader.crl(ca.name)
        if current is not None and current.der is not None:
            put(f"crl/{stem}.crl", current.der)
        cas.append(_ca_entry(ca, stem, current.as_dict() if current else None))
    revocations = {r.certificate_id: r for r in reader.revocations()}
    certificates = list(reader.certificates())
    index = {"generated_at": iso(cmd.clock.now()), "cas": cas, **_certificate_index(certificates, revocations)}
    put(INDEX, json.dumps(index, indent=1, sort_keys=True).encode("utf-8") + b"\n")
    return Published(out, tuple(files), len(certificates))


def _ca_entry(ca: CaRecord, stem: str, current: dict[str, Any] | None) -> dict[str, Any]:
    crl = {**current, "file": f"crl/{stem}.crl"} if current else None
    return {"name": ca.name, "kind": ca.kind, "serial": ca.certificate.serial, "status": ca.certificate.status,
            "certificate": f"ca/{stem}.crt", "pem": f"ca/{stem}.pem", "crl" if ca.kind != "root" else "arl": crl}


def _certificate_index(certificates: list[CertificateRecord],
                       revocations: dict[int, RevocationRecord]) -> dict[str, Any]:
    by_issuer_serial: dict[str, dict[str, Any]] = {}
    by_entity: dict[str, dict[str, dict[str, list[dict[str, str]]]]] = {}
    for record in certificates:
        revocation = revocations.get(record.id)
        by_issuer_serial.setdefault(record.issuer_cn, {})[record.serial] = {
            "kind": record.kind, "subject_cn": record.subject_cn, "eui64": record.eui64, "role": record.role,
            "key_usage": record.key_usage, "not_before": record.not_before, "not_after": record.not_after,
            "status": record.status, "sha256_fingerprint": record.fingerprint,
            "revocation": {"reason": revocation.reason, "revoked_at": revocation.revoked_at} if revocation else None,
            "der_b64": base64.b64encode(record.der).decode("ascii"),
        }
        if record.eui64 and record.role and record.key_usage:
            (by_entity.setdefault(record.eui64, {}).setdefault(record.role, {}).setdefault(record.key_usage, [])
             .append({"issuer_cn": record.issuer_cn, "serial": record.serial, "status": record.status}))
    return {"by_issuer_serial": by_issuer_serial, "by_eui64_role_key_usage": by_entity}
