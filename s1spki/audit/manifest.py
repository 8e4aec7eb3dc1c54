"""The signed manifest beside every export: what the export holds, signed by the audit key.

A manifest is `{"manifest": BODY, "signature": BASE64}`, the signature being ECDSA P-256 / SHA-256 by the
audit key over the canonical JSON of BODY; BODY carries the audit certificate (PEM) it was signed with.
It is written to `FILE.manifest.json` beside the export FILE.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.signer import fingerprint
from s1spki.errors import NotFound
from s1spki.values.canonical import canonical_json

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_VERSION = 1


def manifest_path(export: Path) -> Path:
    return export.with_name(export.name + MANIFEST_SUFFIX)


def signed_manifest(key: ec.EllipticCurvePrivateKey, body: Mapping[str, Any]) -> bytes:
    """The manifest file's bytes: the body and the audit key's signature over its canonical JSON."""
    signature = key.sign(canonical_json(dict(body)), ec.ECDSA(hashes.SHA256()))
    document = {"manifest": dict(body), "signature": base64.b64encode(signature).decode("ascii")}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True)
class Manifest:
    """A manifest as read, with what is wrong with its signature (None when it verifies)."""

    body: dict[str, Any]
    certificate: x509.Certificate | None
    signer: str | None  # the fingerprint of the certificate it verified under
    problem: str | None
    foreign: bool = False  # made with another audit key than the pinned one: nothing in it can be judged

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


def read_manifest(path: Path, pinned: list[x509.Certificate] | None) -> Manifest:
    """Read and check a manifest against the pinned audit certificate(s), or else the one it carries."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no manifest {path}: an export is verified with the manifest written beside it "
                       "(or give --manifest)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Manifest({}, None, None, f"{path.name} is not a readable manifest ({type(exc).__name__})")
    if not isinstance(document, dict) or not isinstance(document.get("manifest"), dict):
        return Manifest({}, None, None, f"{path.name} is not a manifest")
    body = document["manifest"]
    try:
        carried = x509.load_pem_x509_certificate(str(body.get("audit_certificate", "")).encode("ascii"))
    except ValueError:
        return Manifest(body, None, None, "the manifest carries no readable audit certificate")
    candidates = pinned if pinned else [carried]
    if pinned and fingerprint(carried.public_bytes(serialization.Encoding.DER)) not in {
            fingerprint(c.public_bytes(serialization.Encoding.DER)) for c in pinned}:
        return Manifest(body, carried, None, "the manifest carries another audit certificate than the one given "
                        "with --cert", foreign=True)
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except ValueError:
        return Manifest(body, carried, None, "the manifest's signature is not base64")
    for certificate in candidates:
        key = certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            continue
        try:
            key.verify(signature, canonical_json(body), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            continue
        return Manifest(body, certificate, fingerprint(certificate.public_bytes(serialization.Encoding.DER)), None)
    return Manifest(body, carried, None, "the manifest's signature does not verify under the audit certificate: "
                    "the manifest was changed")
