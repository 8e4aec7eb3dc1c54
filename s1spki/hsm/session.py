"""The PKCS#11 libraries, the one process-wide lock, and one logged-in session per token.

python-pkcs11 initialises modules without CKF_OS_LOCKING_OK, so SoftHSM turns its own locking off, and
it releases the GIL around every call: two threads inside the module at once crash the process. Hence:
one library object per module per process (re-initialised after fork), one long-lived logged-in
session per token, and every PKCS#11 call under `LOCK` (see notes/pkcs11.md).

Every (re)initialisation of a module bumps its `generation`; a token connection whose session belongs
to an older generation logs in again before its next call. That covers fork, a switch of
SOFTHSM2_CONF, and the re-initialisation that reclaims the session a failed login leaks.

A long-running process (the EST server) must also outlive a token that goes away and comes back. While its
folder is gone SoftHSM answers lookups with nothing, and keeps doing so after the folder is back, until the
module is initialised again. So a lookup that finds no object, like a device or session error, is retried
once after re-initialising the module and logging in again; a connection whose re-initialisation failed stays
marked stale and starts with one on its next call, so the first call after the token is back works. A login
is retried a few times after a general or device error or a token not found (several processes logging in at
once make SoftHSM miss its token now and then), never after a PIN error.
"""

from __future__ import annotations

import atexit
import contextlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from pkcs11 import exceptions as p11

from s1spki.errors import HsmError, NotFound
from s1spki.hsm.settings import HsmSettings
from s1spki.hsm.softhsm import check_softhsm_conf
from s1spki.hsm.translate import PIN_ERRORS, is_transient, pin_error, translate
from s1spki.oplog import fields

log = logging.getLogger("s1spki.hsm")

T = TypeVar("T")

_SOFTHSM_ENV = "SOFTHSM2_CONF"
# A login after a general or device error, or a token not found, is tried this often in all, with these pauses.
LOGIN_ATTEMPTS = 4
_LOGIN_PAUSES_S = (0.05, 0.1, 0.2)
_LOGIN_RETRYABLE: tuple[type[p11.PKCS11Error], ...] = (
    p11.GeneralError, p11.DeviceError, p11.DeviceRemoved, p11.TokenNotPresent, p11.FunctionFailed,
    p11.TokenNotRecognised,
)


class _NoToken(Exception):
    """No token with the label (yet): a login may try again."""


class _ProcessLock:
    """The one lock around every PKCS#11 call; held across fork so no child inherits a half-done call."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self, timeout: float) -> bool:
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def _before_fork(self) -> None:
        self._lock.acquire()

    def _after_fork_in_parent(self) -> None:
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        # Only the forking thread survives; a fresh lock is simpler than reasoning about the old owner.
        self._lock = threading.RLock()


LOCK = _ProcessLock()
os.register_at_fork(
    before=LOCK._before_fork,
    after_in_parent=LOCK._after_fork_in_parent,
    after_in_child=LOCK._after_fork_in_child,
)


def _conf_str(path: Path | None) -> str | None:
    return None if path is None else str(path.expanduser().absolute())


@dataclass
class Library:
    """One loaded PKCS#11 module in this process."""

    module: str
    lib: Any  # pkcs11.lib; typed Any because python-pkcs11 builds it in Cython
    pid: int
    conf: str | None  # SOFTHSM2_CONF at the last (re)initialisation
    generation: int = 0
    open_sessions: int = 0

    def reinitialize(self, conf: str | None = None, *, forked: bool = False) -> None:
        """C_Finalize then C_Initialize: every session and handle of this module dies."""
        if conf is not None:
            os.environ[_SOFTHSM_ENV] = conf
        self.generation += 1
        self.open_sessions = 0
        try:
            if self.lib.initialized:
                self.lib.finalize()
        except p11.PKCS11Error:
            # After fork the module may already consider itself reset (SoftHSM library.reset_on_fork); a module
            # whose token went away may refuse to finalise: either way it is initialised afresh below.
            pass
        self.lib.initialize()
        self.pid = os.getpid()
        self.conf = os.environ.get(_SOFTHSM_ENV)


_libraries: dict[str, Library] = {}


def _module_key(module: str) -> str:
    return os.path.realpath(module)


def _load_error(module: str, conf: str | None, exc: BaseException) -> HsmError:
    if isinstance(exc, p11.GeneralError):
        where = conf or os.environ.get(_SOFTHSM_ENV) or "the module's default configuration"
        hint = (
            f"check SOFTHSM2_CONF={where}: the file must exist, parse, and name an existing "
            "directories.tokendir"
            if "softhsm" in module.lower() or conf is not None
            else "check the vendor client configuration"
        )
        return HsmError(
            f"PKCS#11 module {module} failed to initialise: {hint}", module=module, softhsm2_conf=where
        )
    return HsmError(
        f"cannot load PKCS#11 module {module} ({type(exc).__name__}): install softhsm2 or fix `module` "
        "in s1spki.toml",
        module=module,
    )


def library(module: str, conf: str | None) -> Library:
    """Return the loaded, initialised module, switching SOFTHSM2_CONF to `conf` if set. Call under LOCK."""
    entry = _libraries.get(_module_key(module))
    if conf is not None and "softhsm" in module.lower():
        check_softhsm_conf(conf)
    try:
        if entry is None:
            if not os.path.isfile(module):
                raise HsmError(
                    f"PKCS#11 module {module} is missing or not a file: install softhsm2 or fix `module` in "
                    "s1spki.toml",
                    module=module,
                )
            if conf is not None:
                os.environ[_SOFTHSM_ENV] = conf
            entry = Library(
                module=module, lib=pkcs11.lib(module), pid=os.getpid(), conf=os.environ.get(_SOFTHSM_ENV)
            )
            _libraries[_module_key(module)] = entry
        elif entry.pid != os.getpid():
            # A forked child must not use the parent's sessions: initialise afresh.
            entry.reinitialize(conf, forked=True)
        elif conf is not None and conf != entry.conf:
            entry.reinitialize(conf)
        elif not entry.lib.initialized:
            # A previous (re)initialisation failed, or close_all(finalize=True) ran.
            if conf is not None:
                os.environ[_SOFTHSM_ENV] = conf
            entry.generation += 1
            entry.open_sessions = 0
            entry.lib.initialize()
            entry.conf = os.environ.get(_SOFTHSM_ENV)
    except p11.PKCS11Error as exc:
        raise _load_error(module, conf, exc) from exc
    return entry


def open_session_count() -> int:
    """Number of PKCS#11 sessions this process holds open through s1spki.hsm (for leak checks)."""
    with LOCK:
        return sum(lib.open_sessions for lib in _libraries.values() if lib.pid == os.getpid())


def finalize_all() -> None:
    """C_Finalize every module this process loaded (their sessions die with it). Call under LOCK."""
    for entry in _libraries.values():
        entry.generation += 1
        entry.open_sessions = 0
        if entry.pid == os.getpid() and entry.lib.initialized:
            with contextlib.suppress(p11.PKCS11Error):
                entry.lib.finalize()


class TokenConnection:
    """One token's long-lived logged-in session, shared by every `Hsm` handle on that token."""

    def __init__(self, settings: HsmSettings) -> None:
        self.module = settings.module
        self.token_label = settings.token_label
        self.conf = _conf_str(settings.softhsm_conf)  # absolute SOFTHSM2_CONF, or None to leave it alone
        self._pin = settings.pin
        self._session: Any = None
        self._generation = -1
        self._pid = os.getpid()
        self._library: Library | None = None
        self.cache: dict[tuple[str, str], Any] = {}  # per-generation object handles, by (kind, label)
        self.refcount = 0
        self.closed = False
        self._stale = False  # a re-initialisation is owed before the next login (the last one failed)

    def same_pin(self, pin: str) -> bool:
        return hmac.compare_digest(self._pin.encode("utf-8"), pin.encode("utf-8"))

    # --- session lifecycle (all under LOCK) ---

    def session(self) -> Any:
        """Return a live logged-in session, logging in again if the module was re-initialised."""
        if self.closed:
            raise HsmError(f"the connection to token '{self.token_label}' is closed", token=self.token_label)
        lib = self._library
        # Fast path for the signing loop: nothing changed since the last call.
        if (
            lib is not None
            and self._session is not None
            and not self._stale
            and self._generation == lib.generation
            and lib.pid == self._pid == os.getpid()
            and lib.lib.initialized
            and (self.conf is None or self.conf == lib.conf)
        ):
            return self._session
        if self._stale:
            self._reinitialize_and_login()
            return self._session
        lib = library(self.module, self.conf)
        self._library = lib
        if self._session is None or self._generation != lib.generation or self._pid != os.getpid():
            self._session = None
            self.cache.clear()
            self._login(lib)
        return self._session

    def _find_token(self, lib: Library) -> Any:
        tokens = list(lib.lib.get_tokens(token_label=self.token_label))
        if not tokens:
            # A token initialised by another process after we loaded the module shows after C_Initialize.
            lib.reinitialize(self.conf)
            tokens = list(lib.lib.get_tokens(token_label=self.token_label))
        if len(tokens) == 1:
            return tokens[0]
        if not tokens:
            raise _NoToken()
        raise HsmError(
            f"{len(tokens)} tokens are labelled '{self.token_label}' in module {self.module}: "
            "token labels must be unique",
            token=self.token_label,
            module=self.module,
        )

    @staticmethod
    def _labels_present(lib: Library) -> list[str]:
        labels: list[str] = []
        for slot in lib.lib.get_slots(token_present=True):
            try:
                token = slot.get_token()
            except p11.PKCS11Error:
                continue
            if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:
                labels.append(token.label)
        return labels

    def _no_token_error(self, lib: Library) -> HsmError:
        present = self._labels_present(lib) if lib.lib.initialized else []
        listing = ", ".join(f"'{label}'" for label in present) if present else "none"
        return HsmError(
            f"no token labelled '{self.token_label}' in module {self.module} (tokens present: {listing}): the "
            "token is away, or fix `token_label` in s1spki.toml or initialise the token",
            token=self.token_label,
            module=self.module,
            tokens_present=present,
        )

    def _login(self, lib: Library) -> None:
        """Open the session and log in (logged: the outcome, never the PIN)."""
        where = fields(token=self.token_label, module=self.module)
        try:
            self._open_and_log_in(lib)
        except HsmError as exc:  # the command reports it; a long-running server's log keeps it
            log.info("HSM login to token %r failed: %s", self.token_label, exc.message, extra=where)
            raise
        log.info("HSM session opened on token %r", self.token_label, extra=where)

    def _open_and_log_in(self, lib: Library) -> None:
        """Open the session and log in; after a general or device error, or no token found, the module is
        initialised again and the login tried again (LOGIN_ATTEMPTS in all), never after a PIN error."""
        for attempt in range(LOGIN_ATTEMPTS):
            last = attempt == LOGIN_ATTEMPTS - 1
            try:
                token = self._find_token(lib)
                session = token.open(rw=True, user_pin=self._pin)
                break
            except PIN_ERRORS as exc:
                # The failed C_Login leaked its session; only C_Finalize reclaims it, and the other
                # connections on this module log in again on their next call.
                with contextlib.suppress(p11.PKCS11Error):
                    lib.reinitialize(self.conf)
                raise pin_error(exc, self.token_label) from exc
            except (_NoToken, *_LOGIN_RETRYABLE) as exc:
                if last:
                    self._stale = True
                    if isinstance(exc, _NoToken):
                        raise self._no_token_error(lib) from None
                    raise translate(exc, token_label=self.token_label, module=self.module,
                                    action="logging in") from exc
            except p11.PKCS11Error as exc:
                raise translate(
                    exc, token_label=self.token_label, module=self.module, action="logging in"
                ) from exc
            time.sleep(_LOGIN_PAUSES_S[min(attempt, len(_LOGIN_PAUSES_S) - 1)])
            try:
                lib.reinitialize(self.conf)
            except p11.PKCS11Error as exc:
                if last:
                    raise _load_error(self.module, self.conf, exc) from exc
        self._stale = False
        lib.open_sessions += 1
        self._session = session
        self._generation = lib.generation
        self._pid = os.getpid()

    def relogin(self) -> None:
        """Re-initialise the module and log in again (the one retry after a device or session error, or a lookup
        that found nothing). Until it succeeds the connection stays stale: its next call starts with another."""
        self._stale = True
        self._session = None
        self.cache.clear()
        self._reinitialize_and_login()

    def _reinitialize_and_login(self) -> None:
        lib = library(self.module, self.conf)  # a SoftHSM config whose token folder is gone fails here
        self._library = lib
        try:
            lib.reinitialize(self.conf)
        except p11.PKCS11Error as exc:
            raise _load_error(self.module, self.conf, exc) from exc
        self._session = None
        self.cache.clear()
        self._login(lib)

    def relogin_with(self, pin: str) -> None:
        """Log out and log in with another PIN; on failure keep the old one (it logs in again on next use)."""
        self.logout()
        old, self._pin = self._pin, pin
        try:
            self.session()
        except HsmError:
            self._pin = old
            raise

    def logout(self) -> None:
        """Log out and close the session if it is still ours; safe to call twice."""
        session, self._session = self._session, None
        self.cache.clear()
        lib = self._library
        if session is None or lib is None:
            return
        if self._pid != os.getpid() or lib.pid != os.getpid() or self._generation != lib.generation:
            return  # the session died with a re-initialisation, or belongs to the parent process
        lib.open_sessions -= 1
        # A session that is already gone is as closed as we need.
        with contextlib.suppress(p11.PKCS11Error):
            session.close()

    def run(self, op: Callable[[Any], T], *, action: str, retry: bool,
            refresh_if: Callable[[T], bool] | None = None) -> T:
        """Run `op(session)` under LOCK, translating errors; retry once after a device or session error, or
        when `op` found no object (NotFound) or its result is one `refresh_if` doubts (an empty listing): a token
        that went away and came back shows its objects again only after the module is initialised afresh."""
        with LOCK:
            try:
                result = op(self.session())
                if not (retry and refresh_if is not None and refresh_if(result)):
                    return result
            except NotFound:
                if not retry:
                    raise
            except p11.PKCS11Error as exc:
                if not (retry and is_transient(exc)):
                    raise translate(
                        exc, token_label=self.token_label, module=self.module, action=action
                    ) from exc
            # Outside the except block, so the failed call's objects are freed before the module is reset.
            self.relogin()
            try:
                return op(self.session())
            except p11.PKCS11Error as exc:
                raise translate(exc, token_label=self.token_label, module=self.module, action=action) from exc


_connections: dict[tuple[str, str, str | None], TokenConnection] = {}


def acquire(settings: HsmSettings) -> TokenConnection:
    """Return the process's connection to this token, logged in, with one more reference."""
    key = (_module_key(settings.module), settings.token_label, _conf_str(settings.softhsm_conf))
    with LOCK:
        conn = _connections.get(key)
        if conn is not None and conn.closed:
            conn = None
        if conn is None:
            conn = TokenConnection(settings)
            conn.session()  # log in now, so a wrong PIN or label fails at connect
            _connections[key] = conn
        elif not conn.same_pin(settings.pin):
            conn.relogin_with(settings.pin)
        else:
            conn.session()
        conn.refcount += 1
        return conn


def release(conn: TokenConnection) -> None:
    """Drop one reference; the last one logs out and closes the session."""
    with LOCK:
        conn.refcount -= 1
        if conn.refcount > 0 or conn.closed:
            return
        conn.closed = True
        conn.logout()
        for key, value in list(_connections.items()):
            if value is conn:
                del _connections[key]


def release_all(*, finalize: bool = False) -> None:
    """Close every token connection of this process; optionally C_Finalize the modules too."""
    with LOCK:
        for conn in list(_connections.values()):
            conn.closed = True
            conn.logout()
        _connections.clear()
        if finalize:
            finalize_all()


def _close_at_exit() -> None:
    # Log out cleanly (a network HSM frees the server-side session), but never hang the exit behind a
    # thread stuck in a PKCS#11 call.
    if not LOCK.acquire(timeout=2.0):
        return
    try:
        release_all()
    finally:
        LOCK.release()


atexit.register(_close_at_exit)
