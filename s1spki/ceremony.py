"""Key ceremonies: generate a CA key in the HSM under multi-person control and certify it.

`ceremony root` makes the self-signed root; `ceremony issuing` an issuing CA certified by the root.
Each needs as many distinct key custodians as rapp/operations.toml says, each signing the ceremony's
statement, and ends with a transcript that every custodian signs (its SHA-256) before it is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from .app import App
from .canonical import canonical_json
from .clock import iso
from .errors import NotFound, PolicyRefused
from .issuance import certificate_values, lint_context, prepare, sign, throwaway_key
from .profile import Issuer, ca_builder, ca_name, new_serial
from .store import CaRecord, Duplicate


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def key_label_for(kind: str, name: str, started: str) -> str:
    """A fresh label per attempt: a key left by a failed ceremony never blocks the next one."""
    return f"s1spki-{kind}-{slug(name)}-{_stamp(started)}"


def _stamp(started: str) -> str:
    return started.replace(":", "").replace("-", "").split(".")[0]


def run_ceremony(app: App, kind: str, names: list[str], ca_name_text: str | None,
                 root_name: str | None = None) -> tuple[CaRecord, Path]:
    """Run the root or issuing ceremony; returns the new CA and the transcript's path."""
    profile = app.policy.ca_profile(kind)
    name = ca_name_text or profile.default_name
    operation = f"ceremony.{kind}"
    event = app.event(operation, "+".join(names), "", "ca", name)
    with app.refusals_recorded(event):
        hsm = app.hsm()
        token = hsm.token_info()
        started = iso(app.clock.now())
        label = key_label_for(kind, name, started)
        # who may take part is settled first: the state checks below then speak only to authorised people
        auth = app.authorise(operation, {"ca_name": name, "key_label": label, "token_label": token.label,
                                         "token_serial": token.serial, "root": root_name}, names)
        if app.store.reader.ca(name) is not None:
            raise PolicyRefused(f"a CA named {name!r} already exists: choose another --name")
        root = _root_for(app, kind, root_name)
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), key_label=label)
        role = app.policy.root_role if kind == "root" else app.policy.issuing_role
        subject = ca_name(app.policy.role_hex(role), name, profile.subject_string_type)
        attributes = hsm.generate_ec_key(label)
        public_key = hsm.public_key(label)
        issuer = Issuer(root.certificate.certificate()) if root else None
        serial, now = new_serial(app.policy.serial_octets), app.clock.now()
        builder = ca_builder(app.policy, profile, subject, public_key, serial, now, issuer)
        twin = None if root else ca_builder(app.policy, profile, subject, throwaway_key().public_key(), serial, now,
                                            None)
        issuer_cn = root.name if root else name
        context = lint_context(app.policy, issuer.certificate if issuer else None)
        prepared = prepare(app.store, builder, context, issuer_cn, kind, None, event, self_signed_twin=twin)
        signing_label = root.key_label if root else label
        verify_key = issuer.certificate.public_key() if issuer else public_key
        certificate = sign(prepared, hsm.signing_key(signing_label), verify_key)  # type: ignore[arg-type]
        values = certificate_values(certificate, kind, issuer_cn, prepared.serial, app.policy.hash,
                                    issuer_certificate_id=root.certificate.id if root else None, subject_cn=name,
                                    role=role)
        transcript = {
            "ceremony": kind,
            "ca_name": name,
            "started_at": started,
            "finished_at": iso(app.clock.now()),
            "participants": [{"name": o.name, "roles": list(o.roles)} for o in auth.operators],
            "token": {"label": token.label, "serial": token.serial, "manufacturer": token.manufacturer,
                      "model": token.model},
            "key": attributes.as_dict(),
            "certificate": {
                "pem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                "sha256_fingerprint": values["fingerprint"],
                "serial": prepared.serial,
                "subject": certificate.subject.rfc4514_string(),
                "issuer": certificate.issuer.rfc4514_string(),
                "not_before": values["not_before"],
                "not_after": values["not_after"],
            },
            "policy_hash": app.policy.hash,
            "rapp_hash": app.rapp.hash,
            "statements": [s.as_record() for s in auth.statements],
        }
        digest = hashlib.sha256(canonical_json(transcript)).hexdigest()
        attestations = auth.attest(f"{operation}.attest", {"transcript_sha256": digest,
                                                           "certificate_sha256": values["fingerprint"]},
                                   app.clock, app.ca_id)
        document = {"transcript": transcript, "transcript_sha256": digest,
                    "attestations": [a.as_record() for a in attestations]}
        path = _transcript_path(app.home, kind, name, started)
        staging = path.with_suffix(".partial")
        staging.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        done = event.attributed(auth.actor, auth.actor_role, tuple(a.as_record() for a in attestations),
                                serial=prepared.serial, sha256_fingerprint=values["fingerprint"],
                                transcript_sha256=digest, key_attributes=attributes.as_dict(),
                                certificate_der_b64=base64.b64encode(values["der"]).decode("ascii"))  # type: ignore[arg-type]
        try:
            with app.store.change(done) as tx:
                certificate_id = tx.add_certificate(values)
                tx.add_ca({"kind": kind, "name": name, "key_label": label, "certificate_id": certificate_id,
                           "token_label": token.label, "token_serial": token.serial})
        except Duplicate as exc:
            staging.unlink(missing_ok=True)
            raise PolicyRefused(exc.message) from None
        os.replace(staging, path)
    record = app.store.reader.ca(name)
    assert record is not None
    return record, path


def _root_for(app: App, kind: str, root_name: str | None) -> CaRecord | None:
    roots = app.store.reader.cas("root")
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
    return folder / f"{kind}-{slug(name)}-{_stamp(started)}.json"
