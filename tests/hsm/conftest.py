"""Fixtures for the HSM tests: a private SoftHSM token per test, with random PINs, and a leak check."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from s1spki.errors import HsmError
from s1spki.hsm import Hsm, HsmSettings, create_softhsm_token, find_softhsm_module, open_session_count


@dataclass(frozen=True)
class SoftToken:
    """A SoftHSM token under tmp_path and how to reach it."""

    settings: HsmSettings
    conf: Path
    token_dir: Path
    so_pin: str = field(repr=False)

    def with_pin(self, pin: str) -> HsmSettings:
        return HsmSettings(self.settings.module, self.settings.token_label, pin, self.conf)


def make_token(base: Path, module: str, label: str = "s1spki-test") -> SoftToken:
    conf, token_dir = base / "softhsm2.conf", base / "tokens"
    user_pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)
    create_softhsm_token(conf, token_dir, label, user_pin, so_pin)
    return SoftToken(HsmSettings(module, label, user_pin, conf), conf, token_dir, so_pin)


@pytest.fixture(scope="session")
def softhsm_module() -> str:
    try:
        return find_softhsm_module()
    except HsmError as exc:
        pytest.skip(f"SoftHSM2 is not installed: {exc.message}")


@pytest.fixture
def make_soft_token(tmp_path: Path, softhsm_module: str) -> Callable[[str], SoftToken]:
    """Make more tokens, each in its own SoftHSM configuration under tmp_path."""

    def make(label: str) -> SoftToken:
        return make_token(tmp_path / f"hsm-{label}", softhsm_module, label)

    return make


@pytest.fixture
def soft_token(tmp_path: Path, softhsm_module: str) -> Iterator[SoftToken]:
    """A fresh token; afterwards every connection is closed and leaked sessions fail the test."""
    token = make_token(tmp_path / "hsm", softhsm_module)
    yield token
    Hsm.close_all()
    leaked = open_session_count()
    # A logged-in session we lost track of would make this fresh login fail (UserAlreadyLoggedIn).
    try:
        Hsm.connect(token.settings).close()
    except HsmError as exc:
        pytest.fail(f"token left in a bad state after the test: {exc.message}")
    finally:
        Hsm.close_all()
    if leaked:
        pytest.fail(f"{leaked} PKCS#11 session(s) still open after Hsm.close_all()")


@pytest.fixture
def hsm(soft_token: SoftToken) -> Iterator[Hsm]:
    handle = Hsm.connect(soft_token.settings)
    yield handle
    handle.close()


@pytest.fixture
def ca_key_label(hsm: Hsm) -> str:
    hsm.generate_ec_key("test-ca")
    return "test-ca"
