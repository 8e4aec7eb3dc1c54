"""The EST service as a WSGI application (werkzeug), served by `s1spki.est.server` over mutual TLS.

    GET  /.well-known/est[/LABEL]/cacerts          certs-only CMS: the issuing CA and the root
    GET  /.well-known/est[/LABEL]/csrattrs         what a request must be (P-256, ecdsa-with-SHA256, binding)
    POST /.well-known/est[/LABEL]/simpleenroll     first enrolment: HTTP Basic = authorisation id : one-time secret
    POST /.well-known/est[/LABEL]/simplereenroll   re-enrolment: the current certificate as TLS client certificate
    GET  /health                                   200 when the database and the HSM answer, else 503

LABEL picks an issuing CA when a home has several (its name, or its name in lower case with '-' for spaces).
Each request runs in a runtime of its own (the policy and RAPP in force now, the store, the process's one HSM
session) and, like a command, ends by checkpointing the audit trail if it grew; one that changed the store also
issues the CRL a revocation cut short left undone, and each says in the log what is still left undone (a
revocation on no CRL yet). An answer that refuses is an HTTP status with a one-line text body; a state-changing
request that is refused leaves its audit record. One log line per request (logger `s1spki.est`), never a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from s1spki.command import Command, Component
from s1spki.errors import (
    AuthError,
    IntakeRefused,
    NotFound,
    Refused,
    S1spkiError,
    Unavailable,
    UsageError,
)
from s1spki.est import wire
from s1spki.ra.crl_completion import complete_unlisted_at_end
from s1spki.runtime import Runtime

log = logging.getLogger("s1spki.est")
RETRY_AFTER_S = 5  # what a 503 tells the client to wait
REALM = "s1spki EST"

_OPERATIONS = ("cacerts", "csrattrs", "simpleenroll", "simplereenroll")
_ROUTES = Map([
    Rule("/health", endpoint="health", methods=["GET"]),
    *(Rule(f"/.well-known/est/{op}", endpoint=op, methods=["POST" if "enroll" in op else "GET"])
      for op in _OPERATIONS),
    *(Rule(f"/.well-known/est/<label>/{op}", endpoint=op, methods=["POST" if "enroll" in op else "GET"])
      for op in _OPERATIONS),
], strict_slashes=False)


class HttpRefused(Refused):
    """Refused at the HTTP layer (content type, size, encoding, credentials), with the status to answer."""

    kind = "http"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)
        self.status = status


def status_of(exc: S1spkiError) -> int:
    """The HTTP status of a refusal or failure (RFC 7030 4.2.3 and the issue's list)."""
    if isinstance(exc, HttpRefused):
        return exc.status
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, AuthError):
        return 401 if exc.facts.get("challenge") else 403
    if isinstance(exc, IntakeRefused | UsageError):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Refused):
        return 409 if exc.facts.get("conflict") else 403
    return 500


@dataclass(frozen=True)
class Peer:
    """What the TLS layer knows about the client."""

    address: str
    certificate: bytes | None  # DER, verified against this home's CAs by the TLS layer (expiry: by the store)
    version: str
    tls_unique: bytes | None


def _peer(environ: dict[str, Any]) -> Peer:
    sock = environ.get("gunicorn.socket")
    address = f"{environ.get('REMOTE_ADDR', '?')}:{environ.get('REMOTE_PORT', '?')}"
    if sock is None or not hasattr(sock, "getpeercert"):
        return Peer(address, None, "none", None)
    version = sock.version() or "unknown"
    unique = sock.get_channel_binding("tls-unique") if version == "TLSv1.2" else None
    return Peer(address, sock.getpeercert(binary_form=True), version, unique)


def _text(status: int, message: str, **headers: str) -> Response:
    return Response(message.replace("\n", " ") + "\n", status=status, mimetype="text/plain", headers=headers)


def _certs_response(certificates: list[Any]) -> Response:
    return Response(wire.base64_body(wire.certs_only(certificates)), status=200,
                    content_type=wire.CERTS_ONLY, headers={"Content-Transfer-Encoding": "base64"})


def _command(runtime: Runtime, component: Component) -> Command:
    """A request's command context. A request that changes the store and succeeds (an enrolment) also issues the CRL
    that a revocation cut short left undone, as a command of the CLI does."""
    return complete_unlisted_at_end(Command(runtime, component))


class EstApp:
    """The WSGI callable; `runtime_for(home)` opens one request's runtime."""

    def __init__(self, home: Path, runtime_for: Callable[[Path], Runtime]) -> None:
        self.home = home
        self.runtime_for = runtime_for

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        request = Request(environ)
        peer = _peer(environ)
        note: dict[str, str] = {}
        try:
            endpoint, args = _ROUTES.bind_to_environ(environ).match()
            response = self._run(endpoint, request, peer, args.get("label"), note)
        except HTTPException as exc:  # no such path, wrong method
            response = _text(exc.code or 400, exc.description or exc.name)
        log.info('%s "%s %s" %d %.1fms %s %s', peer.address, request.method, request.path, response.status_code,
                 (time.monotonic() - started) * 1000, peer.version, " ".join(f"{k}={v}" for k, v in note.items()))
        return response(environ, start_response)

    def _run(self, endpoint: str, request: Request, peer: Peer, label: str | None, note: dict[str, str]) -> Response:
        runtime: Runtime | None = None
        code = 0
        try:
            runtime = self.runtime_for(self.home)
            return getattr(self, f"_{endpoint}")(runtime, request, peer, label, note)
        except S1spkiError as exc:
            code = exc.exit_code
            status = status_of(exc)
            note["error"] = exc.kind
            headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {}
            if status == 401:
                headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
            return _text(status, exc.message, **headers)
        except Exception:
            code = 1
            log.exception("unexpected error in %s", endpoint)
            return _text(500, "internal error: see the server's log")
        finally:
            if runtime is not None:
                self._finish(runtime, code)

    @staticmethod
    def _finish(runtime: Runtime, code: int) -> None:
        try:
            for told in runtime.finish(code):  # each says what it is about (a CRL due, a checkpoint)
                if isinstance(told, S1spkiError):  # records the checkpoint could not vouch for
                    log.warning("audit checkpoint refused: %s", told.message)
                else:
                    log.warning("%s", told)
        except Exception as exc:  # the request's own answer stands
            log.warning("audit checkpoint failed: %s", type(exc).__name__)
        finally:
            runtime.close(keep_connections=True)  # the worker's next request goes on with them

    # --- endpoints ---

    def _health(self, runtime: Runtime, request: Request, peer: Peer, label: str | None,
                note: dict[str, str]) -> Response:
        runtime.store.audit_head()
        runtime.record_key.label  # noqa: B018 - reaches the HSM: the token is there and logged in
        return _text(200, "ok")

    def _cacerts(self, runtime: Runtime, request: Request, peer: Peer, label: str | None,
                 note: dict[str, str]) -> Response:
        cmd = _command(runtime, Component(peer.address))
        ca = _issuing_ca(cmd, label)
        chain = [ca.certificate.certificate()]
        chain += [c.certificate.certificate() for c in runtime.store.reader.cas("root")
                  if c.certificate.certificate().subject == chain[0].issuer]
        return _certs_response(chain)

    def _csrattrs(self, runtime: Runtime, request: Request, peer: Peer, label: str | None,
                  note: dict[str, str]) -> Response:
        der = wire.csr_attributes(runtime.policy.est.channel_binding == "required")
        return Response(wire.base64_body(der), status=200, content_type=wire.CSRATTRS,
                        headers={"Content-Transfer-Encoding": "base64"})

    def _simpleenroll(self, runtime: Runtime, request: Request, peer: Peer, label: str | None,
                      note: dict[str, str]) -> Response:
        from s1spki.ra.enrolment import Channel, enrol

        credentials = request.authorization
        authorisation = None
        if credentials is not None and credentials.type == "basic" and (credentials.username or "").isdigit():
            authorisation = int(credentials.username or "0")
        cmd = _command(runtime, Component(peer.address, authorisation=authorisation))
        note["actor"] = cmd.principal.label
        with cmd.refusals_recorded(cmd.event("est.enroll", "request", str(authorisation or "?"))):
            ca_name = _ca_name(cmd, label)
            csr = self._csr_body(runtime, request)
            if credentials is None or credentials.type != "basic":
                raise AuthError("first enrolment needs HTTP Basic credentials: the enrolment authorisation's id and "
                                "its one-time secret", challenge=True)
            if authorisation is None:
                raise AuthError("the Basic user name must be the enrolment authorisation's id", challenge=True)
        record = enrol(cmd, authorisation, credentials.password or "", csr, Channel(peer.version, peer.tls_unique),
                       ca_name)
        note["serial"] = record.serial
        return _certs_response([record.certificate()])

    def _simplereenroll(self, runtime: Runtime, request: Request, peer: Peer, label: str | None,
                        note: dict[str, str]) -> Response:
        from cryptography import x509

        from s1spki.issuance.profile import serial_hex
        from s1spki.ra.enrolment import Channel, reenrol

        issuer = serial = None
        if peer.certificate is not None:
            presented = x509.load_der_x509_certificate(peer.certificate)
            serial = serial_hex(presented.serial_number)
            names = presented.issuer.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
            issuer = str(names[0].value) if names else presented.issuer.rfc4514_string()
        cmd = _command(runtime, Component(peer.address, issuer=issuer, serial=serial))
        note["actor"] = cmd.principal.label
        with cmd.refusals_recorded(cmd.event("est.reenroll", "certificate", f"{issuer}/{serial}")):
            ca_name = _ca_name(cmd, label)
            csr = self._csr_body(runtime, request)
        done = reenrol(cmd, peer.certificate, csr, Channel(peer.version, peer.tls_unique), ca_name)
        note["serial"] = done.certificate.serial
        note["superseded"] = done.superseded.serial
        return _certs_response([done.certificate.certificate()])

    @staticmethod
    def _csr_body(runtime: Runtime, request: Request) -> bytes:
        """The DER CSR of an enrol request: content type, size and base64 checked (415, 413, 400)."""
        if request.mimetype != wire.PKCS10:
            raise HttpRefused(415, f"the body must be {wire.PKCS10} (base64 DER), not {request.mimetype or 'none'}")
        # base64 of the largest request policy/ accepts, with line breaks
        limit = runtime.policy.max_request_bytes * 2
        if request.content_length is not None and request.content_length > limit:
            raise HttpRefused(413, f"the body is over the {limit}-byte limit")
        body = request.stream.read(limit + 1)
        if len(body) > limit:
            raise HttpRefused(413, f"the body is over the {limit}-byte limit")
        try:
            return wire.decode_base64(body)
        except ValueError as exc:
            raise HttpRefused(400, str(exc)) from None


def _issuing_ca(cmd: Command, label: str | None) -> Any:
    from s1spki.ra.cas import issuing_ca

    return issuing_ca(cmd, _ca_name(cmd, label))


def _ca_name(cmd: Command, label: str | None) -> str | None:
    """The issuing CA a path label names: its name, or its slug (lower case, '-' for spaces)."""
    if label is None:
        return None
    for ca in cmd.reader.cas("issuing"):
        if label in (ca.name, _slug(ca.name)):
            return ca.name
    raise NotFound(f"no issuing CA labelled {label!r} here")


def _slug(name: str) -> str:
    return "-".join(name.lower().split())
