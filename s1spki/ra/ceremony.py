"""Key ceremonies: generate a CA key in the HSM under multi-person control and certify it.

`ceremony root` makes the self-signed root (in a root home); in a home made before root and online homes
were apart, `ceremony issuing` also makes an issuing CA certified by the root there (an online home's goes
through bundles instead, `s1spki.ra.issuing_ceremony`).
Each needs as many distinct key custodians as rapp/operations.toml says, each signing the ceremony's
statement, and ends with a transcript that every custodian signs (its SHA-256) before it is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from s1spki.command import Command
from s1spki.errors import NotFound, PolicyRefused
from s1spki.issuance.issuer import RootIssuer
from s1spki.issuance.lint_gate import lint_context, throwaway_key
from s1spki.issuance.profile import ca_builder, ca_name, new_serial, serial_hex
from s1spki.oplog import fields
from s1spki.ra.cas import open_issuer
from s1spki.ra.issue import reserve_serial
from s1spki.store import CaRecord, Duplicate
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import iso
from s1spki.values.names import common_name

log = logging.getLogger("s1spki.ra")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def key_label_for(kind: str, name: str, started: str) -> str:
    """A fresh label per attempt: a key left by a failed ceremony never blocks the next one, even one retried
    within the same second (hence the random part)."""
    return f"s1spki-{kind}-{slug(name)}-{stamp(started)}-{secrets.token_hex(3)}"


def stamp(started: str) -> str:
    """A time as file names and key labels carry it: 20261201T093000."""
    return started.replace(":", "").replace("-", "").split(".")[0]


def run_ceremony(cmd: Command, kind: str, ca_name_text: str | None,
                 root_name: str | None = None) -> tuple[CaRecord, Path]:
    """Run the root or issuing ceremony; returns the new CA and the transcript's path."""
    profile = cmd.policy.ca_profile(kind)
    name = ca_name_text or profile.default_name
    operation = f"ceremony.{kind}"
    event = cmd.event(operation, "ca", name)
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(operation)
        common_name(name, cmd.policy.names.common_name, "--name")
        hsm = cmd.runtime.hsm()
        token = hsm.token_info()
        started = iso(cmd.clock.now())
        label = key_label_for(kind, name, started)
        # who may take part is settled first: the state checks below then speak only to authorised people
        auth = cmd.authorise(operation, {"ca_name": name, "key_label": label, "token_label": token.label,
                                         "token_serial": token.serial, "root": root_name})
        if cmd.reader.ca(name) is not None:
            raise PolicyRefused(f"a CA named {name!r} already exists: choose another --name")
        root = _root_for(cmd, kind, root_name)
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), key_label=label)
        role = cmd.policy.root_role if kind == "root" else cmd.policy.issuing_role
        subject = ca_name(cmd.policy.role_hex(role), name, profile.subject_string_type)
        # The certifying issuer is opened (and checked) before the new key is made or anything reserved.
        root_issuer = open_issuer(cmd, root) if root else None
        attributes = hsm.generate_ec_key(label)
        new_key = hsm.signing_key(label)
        public_key = new_key.public_key()
        serial, now = new_serial(cmd.policy.serial_octets), cmd.clock.now()
        issuer_cn = root.name if root else name
        reserve = reserve_serial(cmd, issuer_cn, kind, None, event)
        if root_issuer is not None:
            builder = ca_builder(cmd.policy, profile, subject, public_key, serial, now, root_issuer.facts)
            context = lint_context(cmd.policy, root_issuer.certificate)
            certificate = root_issuer.issue(root_issuer.prepare(builder, context, reserve))
        else:
            builder = ca_builder(cmd.policy, profile, subject, public_key, serial, now, None)
            twin = ca_builder(cmd.policy, profile, subject, throwaway_key().public_key(), serial, now, None)
            self_signer = RootIssuer(new_key)
            certificate = self_signer.issue(self_signer.prepare(builder, twin, lint_context(cmd.policy, None),
                                                                reserve))
        der = certificate.public_bytes(serialization.Encoding.DER)
        fingerprint = hashlib.sha256(der).hexdigest()
        serial_text = serial_hex(certificate.serial_number)
        not_before = certificate.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        not_after = certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        transcript = {
            "ceremony": kind,
            "ca_name": name,
            "started_at": started,
            "finished_at": iso(cmd.clock.now()),
            "participants": [{"name": o.name, "roles": list(o.roles)} for o in auth.operators],
            "token": {"label": token.label, "serial": token.serial, "manufacturer": token.manufacturer,
                      "model": token.model},
            "key": attributes.as_dict(),
            "certificate": {
                "pem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                "sha256_fingerprint": fingerprint,
                "serial": serial_text,
                "subject": certificate.subject.rfc4514_string(),
                "issuer": certificate.issuer.rfc4514_string(),
                "not_before": not_before,
                "not_after": not_after,
            },
            "policy_hash": cmd.policy.hash,
            "rapp_hash": cmd.rapp.hash,
            "statements": [s.as_record() for s in auth.statements],
        }
        digest = hashlib.sha256(canonical_json(transcript)).hexdigest()
        attestations = auth.attest(f"{operation}.attest", {"transcript_sha256": digest,
                                                           "certificate_sha256": fingerprint},
                                   cmd.clock, cmd.home_id)
        document = {"transcript": transcript, "transcript_sha256": digest,
                    "attestations": [a.as_record() for a in attestations]}
        path = _transcript_path(cmd.runtime.home, kind, name, started)
        staging = path.with_suffix(".partial")
        staging.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        done = event.attributed(auth.actor, auth.actor_role, tuple(a.as_record() for a in attestations),
                                serial=serial_text, sha256_fingerprint=fingerprint,
                                transcript_sha256=digest, key_attributes=attributes.as_dict(),
                                certificate_der_b64=base64.b64encode(der).decode("ascii"))
        try:
            with cmd.store.change(done) as tx:
                certificate_id = tx.add_certificate(
                    certificate, kind=kind, issuer_cn=issuer_cn, serial=serial_text, policy_hash=cmd.policy.hash,
                    issuer_certificate_id=root.certificate.id if root else None, subject_cn=name, role=role).id
                tx.add_ca({"kind": kind, "name": name, "key_label": label, "certificate_id": certificate_id,
                           "token_label": token.label, "token_serial": token.serial})
        except Duplicate as exc:
            staging.unlink(missing_ok=True)
            raise PolicyRefused(exc.message) from None
        os.replace(staging, path)
    log.info("certificate issued: %s CA %s, serial %s by %s", kind, name, serial_text, issuer_cn,
             extra=fields(serial=serial_text, ca=issuer_cn, subject=name, kind=kind))
    record = cmd.reader.ca(name)
    assert record is not None
    return record, path


def _root_for(cmd: Command, kind: str, root_name: str | None) -> CaRecord | None:
    roots = cmd.reader.cas("root")
    if kind == "root":
        if roots:
            raise PolicyRefused(f"a root CA already exists ({roots[0].name!r}): this home holds one hierarchy")
        return None
    if root_name is not None:
        roots = [r for r in roots if r.name == root_name]
    if not roots:
        raise NotFound("no root CA to certify the issuing CA: run `s1spki ceremony root` first")
    return roots[0]


def _transcript_path(home: Path, kind: str, name: str, started: str) -> Path:
    folder = home / "ceremonies"
    folder.mkdir(exist_ok=True)
    return folder / f"{kind}-{slug(name)}-{stamp(started)}.json"
