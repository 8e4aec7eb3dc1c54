"""SoftHSM helpers, shipped hsm_config/ files, and HsmSettings."""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from pathlib import Path

import pytest

from s1spki.errors import ConfigError, HsmError, Refused
from s1spki.home.shipped import data_dir
from s1spki.hsm import HsmSettings, create_softhsm_token, find_softhsm_module, read_pin, softhsm_token_labels
from s1spki.hsm import softhsm as softhsm_module_

USER_PIN, SO_PIN = "user-7f3a9c", "so-d41e88"


@pytest.mark.hsm
def test_create_token_writes_a_private_store(tmp_path: Path, softhsm_module: str) -> None:
    conf, token_dir = tmp_path / "home" / "softhsm2.conf", tmp_path / "home" / "hsm" / "tokens"
    create_softhsm_token(conf, token_dir, "ca-token", USER_PIN, SO_PIN)
    text = conf.read_text()
    assert f"directories.tokendir = {token_dir}\n" in text
    assert "objectstore.backend = file" in text and "log.level = ERROR" in text
    assert "@TOKEN_DIR@" not in text and USER_PIN not in text
    assert stat.S_IMODE(token_dir.stat().st_mode) == 0o700
    assert softhsm_token_labels(conf) == ["ca-token"]


@pytest.mark.hsm
def test_create_token_refuses_an_existing_label(tmp_path: Path, softhsm_module: str) -> None:
    conf, token_dir = tmp_path / "softhsm2.conf", tmp_path / "tokens"
    create_softhsm_token(conf, token_dir, "ca-token", USER_PIN, SO_PIN)
    with pytest.raises(Refused, match="'ca-token' already exists") as info:
        create_softhsm_token(conf, token_dir, "ca-token", "other-pin-1", "other-pin-2")
    assert "other-pin" not in str(info.value)
    create_softhsm_token(conf, token_dir, "second", USER_PIN, SO_PIN)
    assert sorted(softhsm_token_labels(conf)) == ["ca-token", "second"]


@pytest.mark.parametrize(
    ("token_dir", "match"),
    [(Path("relative/tokens"), "absolute"), (Path("/var/lib/softhsm/tokens"), "system")],
)
def test_create_token_refuses_bad_token_dirs(tmp_path: Path, token_dir: Path, match: str) -> None:
    with pytest.raises(Refused, match=match):
        create_softhsm_token(tmp_path / "softhsm2.conf", token_dir, "ca", USER_PIN, SO_PIN)
    assert not (tmp_path / "softhsm2.conf").exists()


@pytest.mark.parametrize(("user_pin", "so_pin"), [("123", SO_PIN), (USER_PIN, "x" * 256), ("12\n34", SO_PIN)])
def test_create_token_refuses_pins_softhsm_would_prompt_for(
    tmp_path: Path, user_pin: str, so_pin: str
) -> None:
    with pytest.raises(Refused) as info:
        create_softhsm_token(tmp_path / "c.conf", tmp_path / "t", "ca", user_pin, so_pin)
    assert user_pin not in str(info.value) and so_pin not in str(info.value)


def test_util_failure_message_has_no_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in token initialiser that fails and echoes what it was given, PINs included, to stderr.
    fake = tmp_path / "fake_token_init.py"
    fake.write_text("import sys\nsys.stderr.write('ERROR: rejected ' + ' '.join(sys.argv[1:]) + ' '"
                    " + sys.stdin.read() + '\\n')\nsys.exit(1)\n")
    monkeypatch.setattr(softhsm_module_, "_token_init_argv", lambda: [sys.executable, str(fake)])
    with pytest.raises(HsmError) as info:
        create_softhsm_token(tmp_path / "c.conf", tmp_path / "tokens", "ca", USER_PIN, SO_PIN)
    message = str(info.value)
    assert "could not initialise token 'ca'" in message and "exit 1" in message and "rejected" in message
    assert USER_PIN not in message and SO_PIN not in message
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_unwritable_token_dir_is_an_hsm_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(HsmError, match="cannot prepare the SoftHSM token store"):
        create_softhsm_token(tmp_path / "c.conf", blocker / "tokens", "ca", USER_PIN, SO_PIN)


@pytest.mark.hsm
def test_find_softhsm_module(softhsm_module: str) -> None:
    assert os.path.isfile(softhsm_module) and softhsm_module.endswith("libsofthsm2.so")


def test_find_softhsm_module_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        softhsm_module_, "_MODULE_CANDIDATES", (str(tmp_path / "nothing" / "libsofthsm2.so"),)
    )
    with pytest.raises(HsmError, match="install the softhsm2 package"):
        find_softhsm_module()


def test_template_and_profiles_are_shipped() -> None:
    folder = data_dir("hsm_config")
    template = (folder / "softhsm2.conf.template").read_text()
    assert "directories.tokendir = @TOKEN_DIR@" in template
    assert "objectstore.backend = file" in template and "log.level = ERROR" in template
    assert (folder / "README.md").is_file()
    profiles = sorted((folder / "profiles").glob("*.toml"))
    names = {path.stem for path in profiles}
    assert {"thales-luna", "entrust-nshield", "utimaco", "aws-cloudhsm", "yubihsm2", "softhsm2"} <= names
    for path in profiles:
        table = tomllib.loads(path.read_text())["hsm"]
        assert set(table) <= {"module", "token_label", "pin_env", "pin_file"}, path.name
        assert table["module"].startswith("/") and table["module"].endswith(".so"), path.name
        assert table["token_label"], path.name
        assert ("pin_env" in table) != ("pin_file" in table), f"{path.name}: exactly one PIN source"


def test_settings_never_show_the_pin() -> None:
    settings = HsmSettings("/usr/lib/softhsm/libsofthsm2.so", "ca", "s3cret-pin", "/tmp/x.conf")  # type: ignore[arg-type]
    assert "s3cret-pin" not in repr(settings) and "s3cret-pin" not in str(settings)
    assert settings.softhsm_conf == Path("/tmp/x.conf")
    with pytest.raises(ValueError, match="at most 32 bytes"):
        HsmSettings("/m.so", "x" * 33, "pin")
    with pytest.raises(ValueError, match="pin"):
        HsmSettings("/m.so", "ca", "")


def test_read_pin_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S1SPKI_TEST_PIN", "env-pin-value")
    assert read_pin(pin_env="S1SPKI_TEST_PIN") == "env-pin-value"
    pin_file = tmp_path / "pin"
    pin_file.write_text("file-pin-value\n")
    assert read_pin(pin_file=pin_file) == "file-pin-value"
    settings = HsmSettings.from_pin_source("/m.so", "ca", pin_file=pin_file)
    assert settings.pin == "file-pin-value"
    monkeypatch.delenv("S1SPKI_TEST_PIN")
    with pytest.raises(ConfigError, match="S1SPKI_TEST_PIN is not set"):
        read_pin(pin_env="S1SPKI_TEST_PIN")
    with pytest.raises(ConfigError, match="exactly one"):
        read_pin(pin_env="A", pin_file=pin_file)
    with pytest.raises(ConfigError, match="cannot read"):
        read_pin(pin_file=tmp_path / "absent")
