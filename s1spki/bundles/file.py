"""A bundle file: what one home hands the other, as JSON, with the digest the custodians read out.

    {"s1spki_bundle": "issuing-request" | "issuing-response" | "arl", "version": 1,
     "body": {...}, "sha256": "<SHA-256 of the body's canonical JSON>",
     "attestations": [the participants' signed statements over {"bundle_sha256": ...}]}

The digest covers everything that matters (the participants' public keys are in the body), so one byte
changed in transit is found before anything else is read; the attestations tie the digest to the people who
made the bundle; and the custodians at the other side type the digest they were read out (`--sha256`), so a
bundle swapped whole by whoever carries it is refused too. Written atomically: a bundle is there whole or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s1spki.errors import IntegrityRefused, UsageError
from s1spki.values.canonical import canonical_json

KINDS = ("issuing-request", "issuing-response", "arl")
VERSION = 1
MAX_BYTES = 1 << 20  # a bundle is a few kilobytes; anything this large is not one
MIN_DIGEST_PREFIX = 16  # hex digits a custodian may read out instead of all 64
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Bundle:
    kind: str
    body: Mapping[str, Any]
    sha256: str
    attestations: tuple[Mapping[str, Any], ...]
    path: Path


def bundle_digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(body))).hexdigest()


def write_bundle(path: Path, kind: str, body: Mapping[str, Any], attestations: Sequence[Mapping[str, Any]] = ()
                 ) -> str:
    """Write the bundle at `path` whole (a partial file, flushed, then renamed); returns its digest."""
    digest = bundle_digest(body)
    document = {"s1spki_bundle": kind, "version": VERSION, "body": dict(body), "sha256": digest,
                "attestations": [dict(a) for a in attestations]}
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".partial")
    with staging.open("w", encoding="utf-8") as out:
        out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(staging, path)
    return digest


def read_bundle(path: Path, kind: str, expected: str | None) -> Bundle:
    """The bundle at `path`, of `kind`, whose body still has the digest it was written with and, given
    `expected` (the digest read out by the other side, or its first 16 or more hex digits), that digest."""
    from s1spki.bundles.schema import BundleFile  # pydantic only when a bundle is read

    if expected is not None:
        expected = expected.strip().lower().replace(":", "")
        if not _HEX.match(expected) or not MIN_DIGEST_PREFIX <= len(expected) <= 64:
            raise UsageError(f"--sha256 takes the bundle's SHA-256 as read out: {MIN_DIGEST_PREFIX} to 64 hex digits")
    try:
        with path.open("rb") as source:
            raw = source.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read bundle {path}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"{path} is larger than any bundle ({MAX_BYTES} bytes): not read")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityRefused(f"{path} is not a bundle: not valid JSON ({exc})") from None
    parsed = BundleFile.read(document, path)
    if parsed.s1spki_bundle != kind:
        raise UsageError(f"{path} is an {parsed.s1spki_bundle} bundle, not an {kind} bundle")
    actual = bundle_digest(parsed.body)
    if actual != parsed.sha256:
        raise IntegrityRefused(f"bundle {path} was altered: its contents have SHA-256 {actual[:16]}..., it was "
                               f"written with {parsed.sha256[:16]}...; nothing was done")
    if expected is not None and not actual.startswith(expected):
        raise IntegrityRefused(f"bundle {path} has SHA-256 {actual[:16]}..., not the {expected[:16]}... read out: "
                               "it is not the bundle the other home wrote; nothing was done")
    return Bundle(kind, parsed.body, actual, tuple(parsed.attestations), path)
