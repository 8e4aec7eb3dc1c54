"""Errors at the HSM boundary: translated, useful, PIN-free, and recoverable in the same process."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import HsmError
from s1spki.hsm import Hsm, HsmSettings, create_softhsm_token, open_session_count, session

if TYPE_CHECKING:
    from conftest import SoftToken

pytestmark = pytest.mark.hsm


def _assert_clean(error: HsmError, *pins: str) -> str:
    """The error is ours, one line, carries no PIN, and no pkcs11 exception type leaks as the error."""
    message = str(error)
    assert isinstance(error, HsmError) and error.exit_code == 5
    assert "\n" not in message
    for pin in pins:
        assert pin not in message
        assert pin not in repr(error.as_dict())
    return message


def _works(settings: HsmSettings) -> None:
    with Hsm.connect(settings) as hsm:
        assert hsm.token_info().label == settings.token_label


def test_wrong_pin(soft_token: SoftToken) -> None:
    wrong = "wrong-" + secrets.token_hex(6)
    with pytest.raises(HsmError) as info:
        Hsm.connect(soft_token.with_pin(wrong))
    message = _assert_clean(info.value, wrong, soft_token.settings.pin)
    assert message == "wrong PIN for token 's1spki-test': check the PIN source named in s1spki.toml"
    assert type(info.value.__cause__).__name__ == "PinIncorrect"
    assert wrong not in repr(soft_token.with_pin(wrong))
    _works(soft_token.settings)
    assert open_session_count() == 0


def test_wrong_pin_while_connected_keeps_the_good_connection_working(soft_token: SoftToken) -> None:
    with Hsm.connect(soft_token.settings) as good:
        good.generate_ec_key("k")
        key = good.signing_key("k")
        with pytest.raises(HsmError, match="wrong PIN"):
            Hsm.connect(soft_token.with_pin("not-the-pin"))
        # The failed login re-initialised the module; the good connection logs in again by itself.
        signature = key.sign(b"data", ec.ECDSA(hashes.SHA256()))
        key.public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA256()))
        assert open_session_count() == 1
    assert open_session_count() == 0


def test_unknown_token_lists_the_labels_present(soft_token: SoftToken) -> None:
    settings = HsmSettings(
        soft_token.settings.module, "no-such-token", soft_token.settings.pin, soft_token.conf
    )
    with pytest.raises(HsmError) as info:
        Hsm.connect(settings)
    message = _assert_clean(info.value, soft_token.settings.pin)
    assert "'no-such-token'" in message and "'s1spki-test'" in message
    assert info.value.facts["tokens_present"] == ["s1spki-test"]
    _works(soft_token.settings)


def test_missing_module(soft_token: SoftToken, tmp_path: Path) -> None:
    missing = str(tmp_path / "lib" / "libnothere.so")
    with pytest.raises(HsmError) as info:
        Hsm.connect(HsmSettings(missing, "s1spki-test", soft_token.settings.pin))
    message = _assert_clean(info.value, soft_token.settings.pin)
    assert missing in message and "install softhsm2" in message and "`module`" in message
    _works(soft_token.settings)


def test_module_that_is_not_a_library(soft_token: SoftToken, tmp_path: Path) -> None:
    fake = tmp_path / "libfake.so"
    fake.write_bytes(b"not an ELF file")
    with pytest.raises(HsmError) as info:
        Hsm.connect(HsmSettings(str(fake), "s1spki-test", soft_token.settings.pin))
    message = _assert_clean(info.value, soft_token.settings.pin)
    assert str(fake) in message and "s1spki.toml" in message
    _works(soft_token.settings)


@pytest.mark.parametrize("kind", ["missing-file", "missing-tokendir", "garbage"])
def test_broken_softhsm_conf(soft_token: SoftToken, tmp_path: Path, kind: str) -> None:
    conf = tmp_path / f"broken-{kind}.conf"
    if kind == "missing-tokendir":
        conf.write_text(f"directories.tokendir = {tmp_path / 'absent'}\nobjectstore.backend = file\n")
    elif kind == "garbage":
        conf.write_text("objectstore.backend = nosuchbackend\n")
    # Connect first so the broken configuration forces a re-initialisation of a loaded module.
    with Hsm.connect(soft_token.settings) as good:
        with pytest.raises(HsmError) as info:
            Hsm.connect(HsmSettings(soft_token.settings.module, "s1spki-test", soft_token.settings.pin, conf))
        message = _assert_clean(info.value, soft_token.settings.pin)
        assert str(conf) in message and "SOFTHSM2_CONF" in message
        # The handle made before switches the module back to its own configuration.
        assert good.token_info().label == "s1spki-test"
    _works(soft_token.settings)


def test_session_error_during_sign_is_retried_once(soft_token: SoftToken) -> None:
    with Hsm.connect(soft_token.settings) as hsm:
        hsm.generate_ec_key("k")
        key = hsm.signing_key("k")
        key.sign(b"before reset", ec.ECDSA(hashes.SHA256()))  # caches the key handle, as a busy CA would
        # Pull the session from under the connection, as a device reset would: C_Finalize/C_Initialize
        # without telling the connection, so its next call gets CKR_SESSION_HANDLE_INVALID.
        with session.LOCK:
            libraries = list(session._libraries.values())
            generations = [library.generation for library in libraries]
            for library in libraries:
                library.lib.reinitialize()
        signature = key.sign(b"after reset", ec.ECDSA(hashes.SHA256()))
        key.public_key().verify(signature, b"after reset", ec.ECDSA(hashes.SHA256()))
        # Exactly one re-initialisation: the retry's.
        assert [library.generation for library in libraries] == [g + 1 for g in generations]
        assert open_session_count() == 1


def test_two_tokens_in_two_configurations_interleave(
    soft_token: SoftToken, make_soft_token: Callable[[str], SoftToken]
) -> None:
    other = make_soft_token("other-token")
    with Hsm.connect(soft_token.settings) as first, Hsm.connect(other.settings) as second:
        first.generate_ec_key("k1")
        second.generate_ec_key("k2")
        for _ in range(3):
            assert first.key_labels() == ("k1",)
            assert second.key_labels() == ("k2",)
            assert len(first.sign_digest("k1", b"\x01" * 32)) == 64
            assert len(second.sign_digest("k2", b"\x02" * 32)) == 64


def test_token_created_after_the_module_was_loaded_is_found(soft_token: SoftToken) -> None:
    with Hsm.connect(soft_token.settings) as first:
        first.generate_ec_key("k1")
        pin = secrets.token_hex(8)
        # Same configuration and token directory: the loaded module does not see the new token yet.
        create_softhsm_token(soft_token.conf, soft_token.token_dir, "late-token", pin, secrets.token_hex(8))
        late = HsmSettings(soft_token.settings.module, "late-token", pin, soft_token.conf)
        with Hsm.connect(late) as second:
            assert second.token_info().label == "late-token"
            assert second.key_labels() == ()
        assert first.key_labels() == ("k1",)


_FRESH_PROCESS_SCRIPT = """
import sys
from pathlib import Path
from s1spki.errors import HsmError
from s1spki.hsm import Hsm, HsmSettings
module, label, conf, broken = sys.argv[1:5]
pin = sys.stdin.readline().strip()
try:
    Hsm.connect(HsmSettings(module, label, pin, Path(broken)))
except HsmError as exc:
    print("FIRST", exc.message)
with Hsm.connect(HsmSettings(module, label, pin, Path(conf))) as hsm:
    print("SECOND", hsm.token_info().label)
"""


def test_broken_conf_at_first_load_then_good_conf(soft_token: SoftToken, tmp_path: Path) -> None:
    # In a fresh process, so the broken configuration is the one the module is first loaded with.
    broken = tmp_path / "absent.conf"
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS_SCRIPT, soft_token.settings.module, "s1spki-test"]
        + [str(soft_token.conf), str(broken)],
        input=soft_token.settings.pin + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("FIRST SoftHSM config") and f"SOFTHSM2_CONF={broken}" in first
    assert soft_token.settings.pin not in result.stdout + result.stderr
    assert second == "SECOND s1spki-test"
