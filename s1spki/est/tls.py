"""TLS for EST (RFC 7030 3.3): TLS 1.2 and 1.3, client certificates verified against the issuing CAs.

The server asks every client for a certificate and accepts a connection without one (first enrolment
authenticates with HTTP Basic). A certificate that is presented must chain to this home's CAs, or the handshake
fails (a foreign certificate never reaches the application). Its validity period is not checked here but by the
re-enrolment against the store, so that an expired certificate is answered with a status and an audit record
like every other refusal. Renegotiation is off, so that tls-unique names the one handshake (RFC 5929).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from s1spki.errors import UsageError

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: Python's ssl passes verify_flags to OpenSSL as they are
_NO_CHECK_TIME = 0x200000


def server_context(cert_file: Path, key_file: Path, client_cas_pem: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.options |= ssl.OP_NO_RENEGOTIATION
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot use --tls-cert {cert_file} with --tls-key {key_file}: "
                         f"{getattr(exc, 'reason', None) or getattr(exc, 'strerror', None) or type(exc).__name__}"
                         ) from None
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=client_cas_pem)
    context.verify_flags = ssl.VerifyFlags(context.verify_flags | _NO_CHECK_TIME)
    return context


def client_context(ca_file: Path, certificate: Path | None = None, key: Path | None = None, *,
                   tls12_only: bool = False) -> ssl.SSLContext:
    """A component's context: the EST server verified against `ca_file` (RFC 7030 3.6: an explicit trust
    anchor), optionally its own certificate and key; TLS 1.2 only when the request is to be channel-bound."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=str(ca_file))
        if certificate is not None:
            context.load_cert_chain(str(certificate), str(key) if key else None)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot use the TLS files given ({ca_file}{', ' + str(certificate) if certificate else ''}):"
                         f" {getattr(exc, 'reason', None) or getattr(exc, 'strerror', None) or type(exc).__name__}"
                         ) from None
    return context
