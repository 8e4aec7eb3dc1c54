"""Threads and fork: every PKCS#11 call is serialised, and a forked child logs in afresh."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.hsm import Hsm, HsmEcPrivateKey

if TYPE_CHECKING:
    from conftest import SoftToken

pytestmark = pytest.mark.hsm

SIGNATURES_PER_THREAD = 200


def _verify(key: HsmEcPrivateKey, signature: bytes, message: bytes) -> bool:
    try:
        key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def test_two_threads_signing_at_once(hsm: Hsm, ca_key_label: str) -> None:
    key = hsm.signing_key(ca_key_label)
    start = threading.Barrier(2)
    results: dict[int, list[tuple[bytes, bytes]]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        out: list[tuple[bytes, bytes]] = []
        try:
            start.wait()
            for i in range(SIGNATURES_PER_THREAD):
                message = f"thread {n} message {i}".encode()
                out.append((message, key.sign(message, ec.ECDSA(hashes.SHA256()))))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread that raised it
            errors.append(exc)
        results[n] = out

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a signing thread hung"
    assert not errors, errors
    assert [len(results[n]) for n in (1, 2)] == [SIGNATURES_PER_THREAD, SIGNATURES_PER_THREAD]
    assert all(_verify(key, signature, message) for n in (1, 2) for message, signature in results[n])


def _run_in_child(body: Callable[[], bool]) -> None:
    """Run `body` in a forked child; a crash (SIGSEGV) or False fails the test instead of killing pytest."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its exit status is the result
        status = 2
        try:
            status = 0 if body() else 1
        except BaseException:  # noqa: BLE001 - any failure is a non-zero exit status
            status = 3
        os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        pytest.fail(f"child killed by signal {os.WTERMSIG(wait_status)}")
    assert os.WEXITSTATUS(wait_status) == 0, f"child exit status {os.WEXITSTATUS(wait_status)}"


def test_signing_and_reading_threads_mixed(hsm: Hsm, ca_key_label: str) -> None:
    # Without the process lock this mix crashes SoftHSM (SIGSEGV), unlike two signers on one session,
    # which python-pkcs11's own per-session operation lock happens to serialise.
    key = hsm.signing_key(ca_key_label)

    def body() -> bool:
        errors: list[BaseException] = []

        def sign() -> None:
            try:
                for i in range(SIGNATURES_PER_THREAD):
                    key.sign(b"%d" % i, ec.ECDSA(hashes.SHA256()))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        def read() -> None:
            try:
                for _ in range(SIGNATURES_PER_THREAD):
                    hsm.key_attributes(ca_key_label)
                    hsm.token_info()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=fn) for fn in (sign, read, sign, read)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return not errors and not any(thread.is_alive() for thread in threads)

    _run_in_child(body)


def test_forked_child_can_sign(soft_token: SoftToken, hsm: Hsm, ca_key_label: str) -> None:
    key = hsm.signing_key(ca_key_label)
    before = key.sign(b"parent before fork", ec.ECDSA(hashes.SHA256()))

    def body() -> bool:
        # The key inherited from the parent, then a fresh connection made in the child.
        child_signature = key.sign(b"child", ec.ECDSA(hashes.SHA256()))
        with Hsm.connect(soft_token.settings) as fresh:
            fresh_signature = fresh.signing_key(ca_key_label).sign(b"fresh", ec.ECDSA(hashes.SHA256()))
        return _verify(key, child_signature, b"child") and _verify(key, fresh_signature, b"fresh")

    _run_in_child(body)
    # The parent's session is untouched by the child.
    after = key.sign(b"parent after fork", ec.ECDSA(hashes.SHA256()))
    assert _verify(key, before, b"parent before fork") and _verify(key, after, b"parent after fork")
