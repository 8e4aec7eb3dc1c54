"""The issuing CA ceremony across the air gap, in three steps, each under the key custodians of its own home:

    online  `ceremony issuing`         the issuing key generated on the online token; a PKCS#10 request signed
                                       by it; the request bundle (request, transcript, custodians' statements)
                                       and its digest, recorded, then written
    root    `ceremony sign-issuing`    the bundle checked (digest as read out, statements, proof of possession,
                                       subject); the certificate made from policy/, linted, signed by the root,
                                       recorded; the response bundle written
    online  `ceremony import-issuing`  the response checked (it answers this home's latest request, certifies the
                                       key generated then, chains to the pinned root, passes lint); installed

Each step records what it did before it writes its bundle, so a step cut short is completed by running it
again: the bundle is written again from the record, never made or signed a second time. A replayed request
is refused at the root and its response written again; a response for any other key, or altered, is refused
at the online home.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.statements import SignedStatement, verify_statement
from s1spki.bundles import Bundle, bundle_digest, read_bundle, write_bundle
from s1spki.command import Authorisation, Command
from s1spki.errors import IntegrityRefused, NotFound, PolicyRefused
from s1spki.issuance.lint_gate import lint_context, refuse_findings
from s1spki.issuance.profile import ca_builder, ca_name, new_serial, serial_hex
from s1spki.oplog import fields
from s1spki.ra.cas import open_issuer, root_ca
from s1spki.ra.ceremony import key_label_for, slug, stamp
from s1spki.ra.issue import reserve_serial
from s1spki.ra.staff import public_key_pem
from s1spki.store import CaRecord, Duplicate
from s1spki.values.clock import iso
from s1spki.values.keys import key_sha256
from s1spki.values.names import common_name

REQUEST, RESPONSE = "ceremony.issuing", "ceremony.sign-issuing"
IMPORT = "ceremony.import-issuing"
log = logging.getLogger("s1spki.ra")


@dataclass(frozen=True)
class Written:
    """A bundle this step wrote, and what it is for."""

    path: Path
    sha256: str
    ca_name: str
    again: bool  # written again from the record of an earlier run, nothing new made or signed
    facts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"bundle": str(self.path), "sha256": self.sha256, "ca_name": self.ca_name, "written_again": self.again,
                **self.facts}


def _bundle_path(cmd: Command, out: Path | None, kind: str, name: str, moment: str, body: Mapping[str, Any]
                 ) -> Path:
    # the digest's start in the name: two bundles made within one second (a request and its --replace) never
    # share a file, and the same bundle written again lands on its own file
    return out or cmd.runtime.home / "bundles" / f"{kind}-{slug(name)}-{stamp(moment)}-{bundle_digest(body)[:12]}.json"


def _participants(auth: Authorisation) -> list[dict[str, Any]]:
    return [{"name": o.name, "roles": list(o.roles),
             "public_key_pem": public_key_pem(serialization.load_der_public_key(o.public_key_der))}  # type: ignore[arg-type]
            for o in auth.operators]


def _attest(cmd: Command, auth: Authorisation, operation: str, digest: str) -> list[dict[str, Any]]:
    return [a.as_record() for a in auth.attest(f"{operation}.attest", {"bundle_sha256": digest}, cmd.clock,
                                               cmd.home_id)]


def _check_attestations(bundle: Bundle, participants: list[Any], operation: str, needed: int) -> list[str]:
    """The names of those who attested the bundle's digest with the keys the bundle names; refused unless
    `needed` distinct participants did (the digest covers their keys, the custodians' reading covers the digest)."""
    keys = {p.name: p.public_key_pem for p in participants}
    attested: list[str] = []
    for record in bundle.attestations:
        try:
            statement = SignedStatement.from_record(record)
            key = serialization.load_pem_public_key(keys[statement.operator].encode("ascii"))
            body = statement.body
        except (KeyError, ValueError, TypeError):
            raise IntegrityRefused(f"{bundle.path}: an attestation names no participant of the bundle") from None
        key_der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        good = (body.get("operation") == f"{operation}.attest"
                and body.get("object") == {"bundle_sha256": bundle.sha256} and verify_statement(key_der, statement))
        if not good:
            raise IntegrityRefused(f"{bundle.path}: {statement.operator}'s attestation is not over this bundle: "
                                   "nothing was done")
        if statement.operator not in attested:
            attested.append(statement.operator)
    if len(attested) < needed:
        raise IntegrityRefused(f"{bundle.path} is attested by {len(attested)} participant(s), {needed} are needed "
                               f"for {operation} (rapp/): nothing was done")
    return attested


# --- step 1, online ---------------------------------------------------------------------------------------------

def requests_made(cmd: Command, name: str) -> list[dict[str, Any]]:
    """The requests this home made for issuing CA `name`, oldest first, from authenticated records."""
    return [details for _seq, object_id, details in cmd.runtime.authentic_records((REQUEST,))
            if object_id == name and "request" in details]


def request_issuing(cmd: Command, ca_name_text: str | None, out: Path | None, replace: bool = False) -> Written:
    """Step 1 (online home): the issuing key and its request bundle; a request already made for this CA is
    written again, unless `replace` asks for a new key and request in its place."""
    profile = cmd.policy.ca_profile("issuing")
    name = ca_name_text or profile.default_name
    event = cmd.event(REQUEST, "ca", name)
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(REQUEST)
        common_name(name, cmd.policy.names.common_name, "--name")
        if cmd.reader.ca(name) is not None:
            raise PolicyRefused(f"a CA named {name!r} already exists: choose another --name")
        made = requests_made(cmd, name)
        if made and not replace:
            latest = made[-1]
            path = _bundle_path(cmd, out, "issuing-request", name, latest["request"]["body"]["requested_at"],
                                latest["request"]["body"])
            write_bundle(path, "issuing-request", latest["request"]["body"], latest["request"]["attestations"])
            return Written(path, latest["request_sha256"], name, True, {"key_label": latest["key_label"]})
        roots = cmd.reader.cas("root")
        if not roots:
            raise NotFound("this home has no pinned root: it is given at `s1spki init --root-cert`")
        hsm = cmd.runtime.hsm()
        token = hsm.token_info()
        started = iso(cmd.clock.now())
        label = key_label_for("issuing", name, started)
        supersedes = made[-1]["request_sha256"] if made else None
        auth = cmd.authorise(REQUEST, {"ca_name": name, "key_label": label, "token_label": token.label,
                                       "token_serial": token.serial, "supersedes": supersedes})
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), key_label=label)
        subject = ca_name(cmd.policy.role_hex(cmd.policy.issuing_role), name, profile.subject_string_type)
        attributes = hsm.generate_ec_key(label)
        cmd.runtime.seams.reached("issuing-key-generated")
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(hsm.signing_key(label),
                                                                                 hashes.SHA256())
        body = {"home_id": cmd.home_id, "ca_name": name, "key_label": label,
                "csr_pem": csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), "requested_at": started,
                "token": token.as_dict(), "key_attributes": attributes.as_dict(), "participants": _participants(auth),
                "statements": list(auth.records()), "policy_hash": cmd.policy.hash, "rapp_hash": cmd.rapp.hash,
                "supersedes": supersedes}
        digest = bundle_digest(body)
        attestations = _attest(cmd, auth, REQUEST, digest)
        done = event.attributed(auth.actor, auth.actor_role, tuple(attestations), key_label=label,
                                request_sha256=digest, key_attributes=attributes.as_dict(),
                                request={"body": body, "attestations": attestations})
        with cmd.store.change(done):
            pass  # the record is the request: step 3 finds it there, authenticated
        cmd.runtime.seams.reached("issuing-request-recorded")
        path = _bundle_path(cmd, out, "issuing-request", name, started, body)
        write_bundle(path, "issuing-request", body, attestations)
    return Written(path, digest, name, False, {"key_label": label, "supersedes": supersedes})


# --- step 2, root -----------------------------------------------------------------------------------------------

def sign_issuing(cmd: Command, bundle_path: Path, expected: str | None, out: Path | None) -> Written:
    """Step 2 (root home): check the request bundle, certify its key as an issuing CA, write the response."""
    event = cmd.event(RESPONSE, "ca", None, bundle=str(bundle_path))
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(RESPONSE)
        from s1spki.bundles.schema import IssuingRequest

        bundle = read_bundle(bundle_path, "issuing-request", expected)
        request = IssuingRequest.read(bundle.body, bundle_path)
        event = dataclasses.replace(event, object_id=request.ca_name,
                                    details={**event.details, "request_sha256": bundle.sha256})
        _refuse_replay(cmd, bundle, out)
        _check_attestations(bundle, request.participants, REQUEST, cmd.rapp.participants(REQUEST))
        csr, subject = _checked_csr(cmd, request, bundle_path)
        root = root_ca(cmd, None)
        issuer = open_issuer(cmd, root)
        public_key = csr.public_key()
        fingerprint_of_key = key_sha256(public_key)  # type: ignore[arg-type]
        if cmd.reader.key_certified(fingerprint_of_key):
            raise PolicyRefused(f"the key of request {bundle.sha256[:16]}... is certified already: a key is certified "
                                "once; make a new request at the online home")
        auth = cmd.authorise(RESPONSE, {"request_sha256": bundle.sha256, "ca_name": request.ca_name,
                                        "key_sha256": fingerprint_of_key, "requested_by": request.home_id})
        event = event.attributed(auth.actor, auth.actor_role, auth.records(), request_sha256=bundle.sha256)
        profile = cmd.policy.ca_profile("issuing")
        builder = ca_builder(cmd.policy, profile, subject, public_key,  # type: ignore[arg-type]
                             new_serial(cmd.policy.serial_octets), cmd.clock.now(), issuer.facts)
        reserve = reserve_serial(cmd, root.name, "issuing", None, event)
        certificate = issuer.issue(issuer.prepare(builder, lint_context(cmd.policy, issuer.certificate), reserve))
        cmd.runtime.seams.reached("issuing-signed")
        signed_at = iso(cmd.clock.now())
        body = {"request_sha256": bundle.sha256, "root_home_id": cmd.home_id, "ca_name": request.ca_name,
                "certificate_pem": _pem(certificate), "root_certificate_pem": _pem(issuer.certificate),
                "signed_at": signed_at, "participants": _participants(auth), "statements": list(auth.records()),
                "policy_hash": cmd.policy.hash, "rapp_hash": cmd.rapp.hash}
        digest = bundle_digest(body)
        attestations = _attest(cmd, auth, RESPONSE, digest)
        serial = serial_hex(certificate.serial_number)
        der = certificate.public_bytes(serialization.Encoding.DER)
        done = event.attributed(auth.actor, auth.actor_role, tuple(attestations), request_sha256=bundle.sha256,
                                response_sha256=digest, serial=serial, requested_by=request.home_id,
                                issuer=root.name, sha256_fingerprint=_fingerprint(der),
                                request_transcript=dict(bundle.body),
                                certificate_der_b64=base64.b64encode(der).decode("ascii"),
                                response={"body": body, "attestations": attestations})
        try:
            with cmd.store.change(done) as tx:
                tx.add_certificate(certificate, kind="issuing", issuer_cn=root.name, serial=serial,
                                   policy_hash=cmd.policy.hash, issuer_certificate_id=root.certificate.id,
                                   subject_cn=request.ca_name, role=cmd.policy.issuing_role)
        except Duplicate as exc:
            raise PolicyRefused(f"{exc.message}: nothing was stored") from None
        log.info("certificate issued: issuing CA %s, serial %s by %s", request.ca_name, serial, root.name,
                 extra=fields(serial=serial, ca=root.name, subject=request.ca_name, kind="issuing"))
        cmd.runtime.seams.reached("issuing-response-recorded")
        path = _bundle_path(cmd, out, "issuing-response", request.ca_name, signed_at, body)
        write_bundle(path, "issuing-response", body, attestations)
    return Written(path, digest, request.ca_name, False, {"serial": serial, "request_sha256": bundle.sha256,
                                                          "sha256_fingerprint": _fingerprint(der)})


def _refuse_replay(cmd: Command, bundle: Bundle, out: Path | None) -> None:
    """A request signed before is not signed again: its response is written again and the replay refused."""
    for _seq, _object, details in cmd.runtime.authentic_records((RESPONSE,)):
        if details.get("request_sha256") != bundle.sha256 or "response" not in details:
            continue
        response = details["response"]
        path = _bundle_path(cmd, out, "issuing-response", response["body"]["ca_name"], response["body"]["signed_at"],
                                response["body"])
        write_bundle(path, "issuing-response", response["body"], response["attestations"])
        raise PolicyRefused(f"request {bundle.sha256[:16]}... was signed already on {response['body']['signed_at']} "
                            f"(serial {details['serial']}): not signed again; its response is written again at "
                            f"{path}: carry that to the online home", response=str(path))


def _checked_csr(cmd: Command, request: Any, path: Path) -> tuple[x509.CertificateSigningRequest, x509.Name]:
    """The request's PKCS#10 and the subject to certify: proof of possession, a P-256 key, and the subject
    policy/ gives the CA's name."""
    try:
        csr = x509.load_pem_x509_csr(request.csr_pem.encode("ascii"))
    except ValueError:
        raise IntegrityRefused(f"{path}: the request's CSR is not a PKCS#10 request") from None
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise PolicyRefused(f"{path}: the requested key is not an EC P-256 key (spec 3): not signed")
    if not csr.is_signature_valid:
        raise PolicyRefused(f"{path}: the request is not signed by the key it asks to certify (no proof of "
                            "possession): not signed")
    common_name(request.ca_name, cmd.policy.names.common_name, "the bundle's CA name")
    profile = cmd.policy.ca_profile("issuing")
    expected = ca_name(cmd.policy.role_hex(cmd.policy.issuing_role), request.ca_name, profile.subject_string_type)
    if csr.subject != expected:
        raise PolicyRefused(f"{path}: the request's subject {csr.subject.rfc4514_string()!r} is not the issuing CA "
                            f"name policy/ gives {request.ca_name!r} ({expected.rfc4514_string()}): not signed")
    return csr, expected


# --- step 3, online ---------------------------------------------------------------------------------------------

def import_issuing(cmd: Command, bundle_path: Path, expected: str | None) -> CaRecord:
    """Step 3 (online home): install the issuing CA certificate of the response bundle, after every check."""
    event = cmd.event(IMPORT, "ca", None, bundle=str(bundle_path))
    with cmd.refusals_recorded(event):
        cmd.refuse_elsewhere(IMPORT)
        from s1spki.bundles.schema import IssuingResponse

        bundle = read_bundle(bundle_path, "issuing-response", expected)
        response = IssuingResponse.read(bundle.body, bundle_path)
        name = response.ca_name
        event = dataclasses.replace(event, object_id=name)
        installed = cmd.reader.ca(name)
        if installed is not None:
            raise PolicyRefused(f"issuing CA {name!r} is installed already (serial {installed.certificate.serial}): "
                                "nothing to do")
        made = requests_made(cmd, name)
        mine = [r for r in made if r["request_sha256"] == response.request_sha256]
        if not mine:
            raise PolicyRefused(f"{bundle_path} answers request {response.request_sha256[:16]}..., which this home did "
                                f"not make for {name!r}: not installed")
        if mine[-1] is not made[-1]:
            raise PolicyRefused(f"{bundle_path} answers request {response.request_sha256[:16]}..., replaced since by "
                                f"request {made[-1]['request_sha256'][:16]}...: not installed")
        request = mine[-1]
        _check_attestations(bundle, response.participants, RESPONSE, 1)
        root = _pinned_root(cmd)
        certificate = _checked_certificate(cmd, response, root, request, bundle_path)
        auth = cmd.authorise(IMPORT, {"ca_name": name, "request_sha256": response.request_sha256,
                                      "response_sha256": bundle.sha256,
                                      "sha256_fingerprint": _fingerprint(_der(certificate))})
        serial = serial_hex(certificate.serial_number)
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), request_sha256=response.request_sha256,
                                response_sha256=bundle.sha256, serial=serial, key_label=request["key_label"],
                                issuer=root.name,
                                sha256_fingerprint=_fingerprint(_der(certificate)),
                                certificate_der_b64=base64.b64encode(_der(certificate)).decode("ascii"))
        cmd.runtime.seams.reached("issuing-import-checked")
        token = request["request"]["body"]["token"]
        try:
            with cmd.store.change(done) as tx:
                certificate_id = tx.add_certificate(
                    certificate, kind="issuing", issuer_cn=root.name, serial=serial, policy_hash=cmd.policy.hash,
                    issuer_certificate_id=root.certificate.id, subject_cn=name, role=cmd.policy.issuing_role).id
                tx.add_ca({"kind": "issuing", "name": name, "key_label": request["key_label"],
                           "certificate_id": certificate_id, "token_label": token["label"],
                           "token_serial": token["serial"]})
        except Duplicate as exc:
            raise PolicyRefused(f"{exc.message}: not installed") from None
    record = cmd.reader.ca(name)
    assert record is not None
    return record


def _pinned_root(cmd: Command) -> CaRecord:
    roots = cmd.reader.cas("root")
    if not roots:
        raise NotFound("this home has no pinned root: it is given at `s1spki init --root-cert`")
    cmd.trust("cas", roots[0].id, f"the pinned root {roots[0].name}")
    return roots[0]


def _checked_certificate(cmd: Command, response: Any, root: CaRecord, request: dict[str, Any],
                         path: Path) -> x509.Certificate:
    """The response's certificate: from the pinned root, for the key generated at step 1, as policy/ says."""
    try:
        certificate = x509.load_pem_x509_certificate(response.certificate_pem.encode("ascii"))
        sent_root = x509.load_pem_x509_certificate(response.root_certificate_pem.encode("ascii"))
    except ValueError:
        raise IntegrityRefused(f"{path}: the response's certificates are not X.509 certificates") from None
    pinned = root.certificate.certificate()
    if _der(sent_root) != _der(pinned):
        raise PolicyRefused(f"{path} comes from root {_fingerprint(_der(sent_root))[:16]}..., not the root this home "
                            f"pinned ({root.certificate.fingerprint[:16]}...): not installed")
    try:
        certificate.verify_directly_issued_by(pinned)
    except (ValueError, TypeError, InvalidSignature):
        raise PolicyRefused(f"{path}: the certificate is not signed by the pinned root {root.name!r}: "
                            "not installed") from None
    generated = cmd.runtime.hsm().public_key(request["key_label"])
    if certificate.public_key() != generated:
        raise PolicyRefused(f"{path}: the certificate certifies another key than the one this home generated for "
                            f"{response.ca_name!r} (HSM key {request['key_label']}): not installed")
    csr = x509.load_pem_x509_csr(request["request"]["body"]["csr_pem"].encode("ascii"))
    if certificate.subject != csr.subject:
        raise PolicyRefused(f"{path}: the certificate's subject {certificate.subject.rfc4514_string()!r} is not the "
                            f"one requested ({csr.subject.rfc4514_string()}): not installed")
    if certificate.not_valid_after_utc <= cmd.clock.now():
        raise PolicyRefused(f"{path}: the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}: "
                            "not installed")
    refuse_findings(certificate, lint_context(cmd.policy, pinned), "not installed")
    return certificate


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()
