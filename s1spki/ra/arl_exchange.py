"""The root's ARL carried to the online home as a bundle (design.md, Homes and keys).

    root    `crl arl`, `cert revoke` of an issuing CA   the ARL issued as always, then written as an ARL bundle
    online  `crl import-arl BUNDLE`                     checked (the pinned root's signature, cRLNumber strictly
                                                        above the last imported, nothing revoked before left off,
                                                        lint); stored as the root's current ARL, and the issuing
                                                        CAs it lists marked revoked here: they issue nothing more

The online home publishes the imported ARL with `repo publish` and keeps working from it; the root home says
when the next one is due (`crl arl --if-due`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.bundles import read_bundle, write_bundle
from s1spki.command import Command
from s1spki.errors import IntegrityRefused, LintRefused, NotFound, PolicyRefused
from s1spki.issuance.crl import entry_der, pem_bytes
from s1spki.issuance.lint_gate import lint_context
from s1spki.lint import has_errors, lint_crl
from s1spki.ra.ceremony import stamp
from s1spki.store import CaRecord, CertificateRecord
from s1spki.store.records import CrlRecord
from s1spki.values.clock import iso

OPERATION = "crl.import-arl"


@dataclass(frozen=True)
class ArlBundle:
    path: Path
    sha256: str
    number: int

    def as_dict(self) -> dict[str, Any]:
        return {"bundle": str(self.path), "sha256": self.sha256, "crl_number": self.number}


def write_arl_bundle(cmd: Command, arl: CrlRecord, out: Path | None) -> ArlBundle:
    """The root home's ARL `arl` (its current one) as a bundle for the online homes."""
    if arl.der is None:
        raise NotFound(f"ARL {arl.number} of {arl.ca} has been superseded: only the current ARL is carried")
    root = cmd.reader.ca(arl.ca)
    assert root is not None
    body = {"root_home_id": cmd.home_id, "arl_pem": pem_bytes(arl.der).decode("ascii"),
            "root_certificate_pem": root.certificate.certificate().public_bytes(serialization.Encoding.PEM)
            .decode("ascii"), "crl_number": arl.number, "this_update": arl.this_update,
            "next_update": arl.next_update, "entries": arl.entries}
    path = out or cmd.runtime.home / "bundles" / f"arl-{arl.number}-{stamp(arl.this_update)}.json"
    return ArlBundle(path, write_bundle(path, "arl", body), arl.number)


@dataclass(frozen=True)
class Imported:
    arl: CrlRecord
    revoked: tuple[str, ...]  # the issuing CAs this import marked revoked

    def as_dict(self) -> dict[str, Any]:
        return {**self.arl.as_dict(), "revoked_issuing_cas": list(self.revoked)}


def import_arl(cmd: Command, bundle_path: Path, expected: str | None) -> Imported:
    """Store the ARL of the bundle as the pinned root's current one, after every check; mark what it revokes."""
    event = cmd.event(OPERATION, "crl", None, bundle=str(bundle_path))
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(OPERATION)
        from s1spki.bundles.schema import ArlBundle as ArlBody

        bundle = read_bundle(bundle_path, "arl", expected)
        body = ArlBody.read(bundle.body, bundle_path)
        roots = cmd.reader.cas("root")
        if not roots:
            raise NotFound("this home has no pinned root: it is given at `s1spki init --root-cert`")
        root = roots[0]
        cmd.trust("cas", root.id, f"the pinned root {root.name}")
        arl = _checked_arl(cmd, root, body, bundle_path)
        number = _crl_number(arl, bundle_path)
        event = dataclasses.replace(event, object_id=f"{root.name}/{number}")
        last = cmd.reader.last_crl_number(root.name)
        if number <= last:
            raise PolicyRefused(f"{bundle_path} holds ARL {number} of {root.name}, not newer than ARL {last} imported "
                                "already: an older ARL is never put back; bring the root's current one")
        listed = {entry.serial_number: entry for entry in arl}
        _refuse_dropped(cmd, root, listed, number)
        to_revoke = [(certificate, listed[int(certificate.serial, 16)]) for certificate in
                     cmd.reader.certificates("issuing") if certificate.issuer_cn == root.name
                     and certificate.status == "valid" and int(certificate.serial, 16) in listed]
        der = arl.public_bytes(serialization.Encoding.DER)
        auth = cmd.authorise(OPERATION, {"ca": root.name, "crl_number": number, "sha256": bundle.sha256})
        revoked = tuple(c.subject_cn or c.serial for c, _ in to_revoke)
        values = {"this_update": iso(arl.last_update_utc), "next_update": iso(arl.next_update_utc),  # type: ignore[arg-type]
                  "entries": len(listed), "sha256": _sha256(der)}
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), kind="arl", crl_number=number,
                                bundle_sha256=bundle.sha256, revoked_issuing_cas=list(revoked), **values)
        revocations = [(c.id, _revocation(cmd, c, entry, number, auth.actor)) for c, entry in to_revoke]
        with cmd.store.change(done) as tx:
            tx.reserve_crl_number(root.name, "arl", number)
            tx.store_crl(root.name, number, {**values, "der": der})
            for certificate_id, revocation in revocations:
                tx.revoke_certificate(certificate_id, revocation)
    record = cmd.reader.crl(root.name, number)
    assert record is not None
    return Imported(record, revoked)


def _checked_arl(cmd: Command, root: CaRecord, body: Any, path: Path) -> x509.CertificateRevocationList:
    pinned = root.certificate.certificate()
    try:
        sent_root = x509.load_pem_x509_certificate(body.root_certificate_pem.encode("ascii"))
        arl = x509.load_pem_x509_crl(body.arl_pem.encode("ascii"))
    except ValueError:
        raise IntegrityRefused(f"{path}: the bundle's ARL or root certificate cannot be read") from None
    if sent_root.public_bytes(serialization.Encoding.DER) != pinned.public_bytes(serialization.Encoding.DER):
        raise PolicyRefused(f"{path} comes from another root than the one this home pinned ({root.name}, sha256 "
                            f"{root.certificate.fingerprint[:16]}...): not imported")
    if arl.issuer != pinned.subject or not arl.is_signature_valid(pinned.public_key()):  # type: ignore[arg-type]
        raise PolicyRefused(f"{path}: the ARL is not signed by the pinned root {root.name!r}: not imported")
    der = arl.public_bytes(serialization.Encoding.DER)
    findings = lint_crl(der, lint_context(cmd.policy, pinned))
    if has_errors(findings):
        lines = [f.line() for f in findings]
        raise LintRefused(f"lint refused the ARL of {path}: {'; '.join(lines)}: not imported", findings=lines)
    next_update = arl.next_update_utc
    if next_update is not None and next_update <= cmd.clock.now():
        raise PolicyRefused(f"{path}: the ARL's nextUpdate {iso(next_update)} has passed: bring the root's current "
                            "ARL (`s1spki crl arl` in the root home)")
    if body.crl_number != _crl_number(arl, path):
        raise IntegrityRefused(f"{path}: the bundle says ARL {body.crl_number}, the ARL itself another number")
    return arl


def _crl_number(arl: x509.CertificateRevocationList, path: Path) -> int:
    try:
        return int(arl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        raise PolicyRefused(f"{path}: the ARL has no cRLNumber: not imported") from None


def _refuse_dropped(cmd: Command, root: CaRecord, listed: dict[int, Any], number: int) -> None:
    """A CA revoked stays revoked: an ARL that leaves off one an earlier ARL listed is refused."""
    for certificate in cmd.reader.certificates("issuing"):
        if certificate.issuer_cn == root.name and certificate.status == "revoked" \
                and int(certificate.serial, 16) not in listed:
            raise PolicyRefused(f"ARL {number} leaves off issuing CA {certificate.subject_cn!r} (serial "
                                f"{certificate.serial}), which an earlier ARL revoked: not imported")


def _revocation(cmd: Command, certificate: CertificateRecord, entry: x509.RevokedCertificate, number: int,
                actor: str) -> dict[str, Any]:
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
    except x509.ExtensionNotFound:
        reason = None
    if reason not in cmd.policy.revocation_reasons:
        raise PolicyRefused(f"ARL {number} revokes {certificate.subject_cn!r} for reason {reason!r}, which "
                            "policy/ does not allow: not imported")
    revoked_at = entry.revocation_date_utc.astimezone(UTC)
    return {"issuer_cn": certificate.issuer_cn, "serial": certificate.serial, "reason": reason,
            "revoked_at": iso(revoked_at), "requested_by": f"root ARL {number}", "revoked_by": actor,
            "entry_der": entry_der(int(certificate.serial, 16), revoked_at, cmd.policy.reason_code(reason))}


def _sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()
