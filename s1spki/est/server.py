"""`est serve`: the EST application under gunicorn, over Python's ssl, with several worker processes.

The master process checks the home once (policy/ and rapp/ adopted, an issuing CA, the TLS files), then lets go of
the HSM before it forks: every worker opens the PKCS#11 module afresh, holds its own logged-in session and serves
one request at a time (notes/pkcs11.md: one library object per process, every call under one lock). SIGTERM
stops gracefully: workers finish the request in hand. A worker whose token or database went away answers 503
until they are back, and recovers by itself (s1spki/hsm/session.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from s1spki.command.home_kind import refuse_elsewhere
from s1spki.errors import PolicyRefused, UsageError
from s1spki.est.app import EstApp
from s1spki.est.tls import server_context
from s1spki.oplog import bind_correlation, serving_default
from s1spki.runtime import Runtime
from s1spki.store.engine import close_shared_connections, forget_inherited_connections

# A request may wait this long for SQLite's write lock (store/engine.py) before it is answered 503; gunicorn must
# not kill the worker first.
WORKER_TIMEOUT_S = 90
GRACEFUL_TIMEOUT_S = 30


def _listen(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen takes HOST:PORT, e.g. 127.0.0.1:8443, not {address!r}")
    return address


def client_trust(runtime: Runtime) -> str:
    """The PEM of this home's CAs: client certificates must chain to one of its issuing CAs and the root."""
    cas = runtime.store.reader.cas()
    if not any(ca.kind == "issuing" for ca in cas):
        raise PolicyRefused("there is no issuing CA yet: run `s1spki ceremony issuing` before `est serve`")
    return "".join(ca.certificate.pem() for ca in cas)


def preflight(runtime: Runtime) -> str:
    """What must hold before serving: policy/ and rapp/ as adopted, an issuing CA; returns the client trust PEM."""
    runtime.policy  # noqa: B018 - refused unless adopted
    runtime.rapp  # noqa: B018
    return client_trust(runtime)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Callable[..., Iterable[bytes]], options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Iterable[bytes]]:
        return self._app


def serve(home: Path, runtime_for: Callable[[Path], Runtime], listen: str, tls_cert: Path, tls_key: Path,
          workers: int) -> None:
    """Serve EST on `listen` until SIGTERM or SIGINT."""
    address = _listen(listen)
    if workers < 1 or workers > 64:
        raise UsageError(f"--workers takes 1 to 64, not {workers}")
    runtime = runtime_for(home)
    try:
        refuse_elsewhere(runtime.kind, "est.serve")
        trust = preflight(runtime)
    finally:
        runtime.close()
    context = server_context(tls_cert, tls_key, trust)  # refuses unusable TLS files before anything starts
    from s1spki.hsm import Hsm
    from s1spki.lint.runner import load_pkilint

    load_pkilint()  # before the fork: no worker's first enrolment waits for pkilint to load

    Hsm.close_all(finalize=True)  # the workers log in for themselves after the fork

    def ssl_context(config: Any, default_factory: Any) -> ssl.SSLContext:
        return context  # made once, before the fork (gunicorn asks for one per connection)

    serving_default("info")  # one line per request (s1spki.est), in the format and place the CLI was given
    options = {
        "bind": [address],
        "workers": workers,
        "worker_class": "sync",
        "timeout": WORKER_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "certfile": str(tls_cert),
        "keyfile": str(tls_key),
        "ssl_context": ssl_context,
        "accesslog": None,  # s1spki.est logs one line per request
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "s1spki-est",
        "limit_request_line": 1024,
        "limit_request_fields": 50,
        "post_fork": lambda _server, _worker: forget_inherited_connections(),
        "worker_exit": lambda _server, _worker: close_shared_connections(),
        "on_exit": lambda _server: close_shared_connections(settle=True),
    }
    _Gunicorn(_fresh_correlation(EstApp(home, runtime_for)), options).run()


def _fresh_correlation(app: EstApp) -> Callable[..., Iterable[bytes]]:
    """Each request's log lines name its own audit record, never the previous request's (a worker serves many)."""

    def serve_one(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        bind_correlation(None)
        return app(environ, start_response)

    return serve_one
