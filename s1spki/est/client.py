"""The component's side of EST: first enrolment with a one-time secret, and renewal with its own certificate.

Needs no CA home. The key pair is made here (P-256) and never leaves: the key file is written mode 0600, and
a new key and certificate replace the old ones each atomically (a file beside it, then a rename), the key first;
a renewal cut off between the two renames is finished by the next run. HTTP is Python's http.client over ssl: a
channel-bound request (RFC 7030 3.5, asked for by the server's csrattrs) is made on the connection it is sent
on, over TLS 1.2, with that connection's tls-unique in its challengePassword.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import os
import random
import signal
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AttributeOID

from s1spki.errors import AuthError, IntakeRefused, PolicyRefused, Refused, S1spkiError, Unavailable, UsageError
from s1spki.est import wire
from s1spki.est.tls import client_context

log = logging.getLogger("s1spki.est.client")
TIMEOUT_S = 60
NEXT = ".next"  # the suffix of a file about to replace another


class EstUnavailable(Unavailable):
    """The EST server could not be reached, or answered 503."""

    kind = "est-unavailable"


@dataclass(frozen=True)
class Server:
    """An EST server: its URL (https://HOST:PORT, optionally with /.well-known/est/LABEL) and trust anchor."""

    url: str
    ca_file: Path

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise UsageError(f"--server takes https://HOST:PORT, not {self.url!r}")

    @property
    def base(self) -> str:
        path = urlsplit(self.url).path.rstrip("/")
        return path if path.startswith("/.well-known/est") else f"{path}/.well-known/est"

    def connect(self, context: ssl.SSLContext) -> http.client.HTTPSConnection:
        parts = urlsplit(self.url)
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, context=context,
                                                 timeout=TIMEOUT_S)
        try:
            connection.connect()
        except ssl.SSLError as exc:
            raise AuthError(f"TLS with {self.url} failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise EstUnavailable(f"cannot reach {self.url}: {exc.strerror or type(exc).__name__}") from None
        return connection


def _answer(connection: http.client.HTTPSConnection, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> bytes:
    """Send one request; the body of a 200, else the error its status means (the server's one-line reason)."""
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    except ssl.SSLError as exc:
        raise AuthError(f"the server refused the TLS connection: {exc.reason or exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise EstUnavailable(f"the EST server did not answer: {type(exc).__name__}") from None
    finally:
        connection.close()
    if response.status == 200:
        return data
    reason = data.decode("utf-8", "replace").strip().splitlines()[0] if data.strip() else response.reason
    message = f"EST {path.rsplit('/', 1)[-1]}: {response.status} {reason}"
    if response.status == 503:
        raise EstUnavailable(message, retry_after=response.getheader("Retry-After"))
    if response.status in (401, 403):
        raise AuthError(message, status=response.status)
    if response.status in (400, 413, 415):
        raise IntakeRefused(message, status=response.status)
    if response.status == 409:
        raise PolicyRefused(message, status=response.status)
    raise Refused(message, status=response.status)


def wants_binding(server: Server) -> bool:
    """Whether the server's csrattrs asks for a challengePassword (a channel-bound request)."""
    data = _answer(server.connect(client_context(server.ca_file)), "GET", f"{server.base}/csrattrs")
    try:
        return wire.CHALLENGE_PASSWORD in wire.read_csr_attributes(wire.decode_base64(data))
    except ValueError:
        raise Refused("the server's csrattrs answer is not base64 DER CsrAttrs") from None


def _csr(key: ec.EllipticCurvePrivateKey, subject: x509.Name, key_usage: str | None, binding: bytes | None) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if key_usage is not None:  # says which certificate is renewed; the CA decides the contents
        agreement = key_usage == "keyAgreement"
        builder = builder.add_extension(x509.KeyUsage(digital_signature=not agreement, content_commitment=False,
                                                      key_encipherment=False, data_encipherment=False,
                                                      key_agreement=agreement, key_cert_sign=False, crl_sign=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    if binding is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, base64.b64encode(binding))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _post_csr(server: Server, operation: str, context_for: Callable[[bool], ssl.SSLContext],
              make_csr: Callable[[bytes | None], bytes], headers: dict[str, str]) -> x509.Certificate:
    bind = wants_binding(server)
    connection = server.connect(context_for(bind))
    binding = None
    if bind:
        assert connection.sock is not None
        binding = connection.sock.get_channel_binding("tls-unique")  # type: ignore[attr-defined]
    body = wire.base64_body(make_csr(binding))
    data = _answer(connection, "POST", f"{server.base}/{operation}", body,
                   {"Content-Type": wire.PKCS10, "Content-Transfer-Encoding": "base64", **headers})
    try:
        certificates = wire.read_certs_only(wire.decode_base64(data))
    except ValueError:
        raise Refused(f"the server's {operation} answer is not base64 certs-only CMS") from None
    if len(certificates) != 1:
        raise Refused(f"the server's {operation} answer holds {len(certificates)} certificates, not 1")
    return certificates[0]


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_next(path: Path, data: bytes, mode: int) -> Path:
    """Write `data` beside `path` (PATH.next, created with `mode`, synced) for an atomic rename later."""
    temporary = path.with_name(path.name + NEXT)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _install(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, key_out: Path, cert_out: Path) -> None:
    """The key (0600) and its certificate in place, each by an atomic rename, the key first."""
    key_next = _write_next(key_out, _key_pem(key), 0o600)
    cert_next = _write_next(cert_out, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    os.replace(key_next, key_out)
    os.replace(cert_next, cert_out)


def _finish_interrupted(cert: Path, key: Path) -> None:
    """A renewal cut off between its two renames left CERT.next: put it in place if it matches the key."""
    cert_next, key_next = cert.with_name(cert.name + NEXT), key.with_name(key.name + NEXT)
    if key_next.exists() and cert_next.exists():
        return  # cut off before the key's rename: the old pair stands; the next renewal starts again
    if cert_next.exists() and key.exists():
        try:
            pending = x509.load_pem_x509_certificate(cert_next.read_bytes())
            current_key = serialization.load_pem_private_key(key.read_bytes(), None)
        except (ValueError, TypeError):
            return
        if pending.public_key() == current_key.public_key():
            os.replace(cert_next, cert)
            log.warning("finished an interrupted renewal: %s now holds the certificate of the new key", cert)


def enroll(server: Server, authorisation_id: str, secret_file: Path, key_out: Path, cert_out: Path) -> x509.Certificate:
    """First enrolment: a new P-256 key, its CSR sent with the authorisation's id and one-time secret."""
    if not authorisation_id.isdigit():
        raise UsageError(f"--id takes the enrolment authorisation's number, not {authorisation_id!r}")
    try:
        secret = secret_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read --secret-file {secret_file}: {exc.strerror}") from None
    for out in (key_out, cert_out):
        if out.exists():
            raise UsageError(f"{out} exists: a first enrolment writes new files (use `est renew` to renew)")
    key = ec.generate_private_key(ec.SECP256R1())
    credentials = base64.b64encode(f"{authorisation_id}:{secret}".encode()).decode("ascii")
    certificate = _post_csr(server, "simpleenroll",
                            lambda bind: client_context(server.ca_file, tls12_only=bind),
                            lambda binding: _csr(key, x509.Name([]), None, binding),
                            {"Authorization": f"Basic {credentials}"})
    _check_ours(certificate, key)
    _install(key, certificate, key_out, cert_out)
    return certificate


def _check_ours(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    if certificate.public_key() != key.public_key():
        raise Refused("the server's certificate is not for the key this client made: not installed")


def _load(cert: Path, key: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        private = serialization.load_pem_private_key(key.read_bytes(), None)
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise UsageError(f"{cert} and {key} must be a PEM certificate and an unencrypted PEM key") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or certificate.public_key() != private.public_key():
        raise UsageError(f"{key} is not the key of {cert}")
    return certificate, private


def _key_usage(certificate: x509.Certificate) -> str:
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    return "keyAgreement" if usage.key_agreement else "digitalSignature"


@dataclass(frozen=True)
class Renewal:
    server: Server
    cert: Path
    key: Path
    before: timedelta  # renew when the certificate has less than this left
    auth_cert: Path | None = None  # the digitalSignature certificate that authenticates a key-agreement renewal
    auth_key: Path | None = None
    hook: list[str] | None = None  # run after each renewal (no shell)

    def due_at(self, certificate: x509.Certificate) -> datetime:
        return certificate.not_valid_after_utc - self.before

    def once(self, now: datetime | None = None) -> x509.Certificate | None:
        """Renew if due; the new certificate, or None when not due yet."""
        _finish_interrupted(self.cert, self.key)
        certificate, _ = _load(self.cert, self.key)
        if (now or datetime.now(UTC)) < self.due_at(certificate):
            return None
        auth_cert, auth_key = self.auth_cert or self.cert, self.auth_key or self.key
        _load(auth_cert, auth_key)
        key = ec.generate_private_key(ec.SECP256R1())
        usage = _key_usage(certificate)
        renewed = _post_csr(self.server, "simplereenroll",
                            lambda bind: client_context(self.server.ca_file, auth_cert, auth_key, tls12_only=bind),
                            lambda binding: _csr(key, certificate.subject, usage, binding), {})
        _check_ours(renewed, key)
        _install(key, renewed, self.key, self.cert)
        if self.hook:
            done = subprocess.run(self.hook, check=False, stdin=subprocess.DEVNULL, timeout=300)
            if done.returncode != 0:
                log.warning("the --exec hook exited %d after the renewal", done.returncode)
        return renewed

    def daemon(self, check_every: float = 3600.0, backoff_max: float = 3600.0,
               sleep: Callable[[float], None] = time.sleep) -> None:
        """Renew whenever due, until SIGTERM or SIGINT; after an error wait, doubling up to `backoff_max`."""
        stop = {"now": False}

        def _stop(signum: int, frame: object) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        failures = 0
        while not stop["now"]:
            try:
                renewed = self.once()
                failures = 0
                if renewed is not None:
                    log.warning("renewed %s: serial %X, valid to %s", self.cert, renewed.serial_number,
                                renewed.not_valid_after_utc.isoformat())
                current, _ = _load(self.cert, self.key)
                wait = max(min((self.due_at(current) - datetime.now(UTC)).total_seconds(), check_every), 1.0)
            except S1spkiError as exc:
                failures += 1
                wait = min(backoff_max, 30.0 * 2 ** min(failures - 1, 10)) * random.uniform(0.8, 1.2)
                log.warning("renewal failed (%s); next try in %.0f s", exc.message, wait)
            deadline = time.monotonic() + wait
            while not stop["now"] and time.monotonic() < deadline:
                sleep(min(1.0, deadline - time.monotonic()))
