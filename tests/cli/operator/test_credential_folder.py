"""Credential files stay inside the configured credential folders: no descriptor is read from outside
(`--as ../x`), a descriptor's key_file or softhsm_conf that resolves outside its folder is refused (a symlink
pointing out counts as outside), and `operator keygen` never writes through a symlink planted in the folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import CaHome, assert_refused

PASSPHRASE = "the attacker's own passphrase"


def _edit(descriptor: Path, key: str, value: str) -> None:
    lines = [line for line in descriptor.read_text().splitlines() if not line.startswith(f"{key} =")]
    descriptor.write_text("\n".join([*lines, f'{key} = "{value}"']) + "\n")


def descriptor_symlinked_out(ca: CaHome) -> None:
    """dave's descriptor is a symlink to a copy outside the folder (its relative key_file still finds his key)."""
    descriptor = ca.home / "credentials" / "dave.credential.toml"
    outside = ca.work / "dave.credential.toml"
    shutil.move(descriptor, outside)
    descriptor.symlink_to(outside)


def key_file_absolute_outside(ca: CaHome) -> None:
    key = ca.home / "credentials" / "dave.key.pem"
    shutil.move(key, ca.work / "dave.key.pem")
    _edit(ca.home / "credentials" / "dave.credential.toml", "key_file", str(ca.work / "dave.key.pem"))


def key_file_relative_outside(ca: CaHome) -> None:
    key = ca.home / "credentials" / "dave.key.pem"
    shutil.move(key, ca.home / "dave.key.pem")
    _edit(ca.home / "credentials" / "dave.credential.toml", "key_file", "../dave.key.pem")


def key_file_symlinked_out(ca: CaHome) -> None:
    key = ca.home / "credentials" / "dave.key.pem"
    shutil.move(key, ca.work / "dave.key.pem")
    key.symlink_to(ca.work / "dave.key.pem")


@pytest.mark.parametrize(("prepare", "words"), [
    (descriptor_symlinked_out, "outside the credential folder"),
    (key_file_absolute_outside, "key_file: "),
    (key_file_relative_outside, "key_file: '../dave.key.pem' resolves outside the credential folder"),
    (key_file_symlinked_out, "key_file: 'dave.key.pem' resolves outside the credential folder"),
], ids=["descriptor-symlink", "key-file-absolute", "key-file-dot-dot", "key-file-symlink"])
def test_a_credential_reaching_outside_its_folder_is_refused(ca: CaHome, prepare: Callable[[CaHome], None],
                                                            words: str) -> None:
    request = ca.submit(ca.csr()).json()["id"]
    prepare(ca)
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("request", "approve", str(request), "--as", "dave")

    assert_refused(ca, result, 4, before, audit_before, words)


def test_sign_only_never_reads_a_descriptor_from_outside_the_folder(ca: CaHome) -> None:
    # the attacker plants a descriptor, a key and its passphrase one level above credentials/
    key = ec.generate_private_key(ec.SECP256R1())
    (ca.home / "x.key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    (ca.work / "x.pass").write_text(PASSPHRASE + "\n")
    (ca.home / "x.credential.toml").write_text(
        f'operator = "../x"\ntype = "file"\nkey_file = "x.key.pem"\nsecret_file = "{ca.work / "x.pass"}"\n')
    request = ca.submit(ca.csr()).json()["id"]
    out = ca.work / "statement.json"

    result = ca.run("request", "approve", str(request), "--sign-only", "--as", "../x", "--out", str(out))

    assert result.code == 4, str(result)
    assert len(result.stderr.strip().splitlines()) == 1 and "never a path" in result.stderr, str(result)
    assert not out.exists()


def test_a_token_credential_keeps_its_softhsm_config_in_the_folder(ca: CaHome) -> None:
    conf, pin_file = ca.home / "softhsm" / "softhsm2.conf", ca.home / "secrets" / "hsm-user.pin"
    credentials = ca.home / "credentials"
    wrong_pin = ca.work / "wrong.pin"
    wrong_pin.write_text("not the PIN\n")
    keygen = ["operator", "keygen", "gina", "--pkcs11-module", "softhsm", "--pkcs11-token", "s1spki",
              "--softhsm-conf", str(conf)]

    failed = ca.run(*keygen, "--passphrase-file", str(wrong_pin))
    assert failed.code == 5, str(failed)  # a wrong PIN is an HSM refusal
    assert not list(credentials.glob("gina.*")), "a failed keygen leaves nothing behind"

    made = ca.ok("--json", *keygen, "--passphrase-file", str(pin_file)).json()
    descriptor = credentials / "gina.credential.toml"
    assert 'softhsm_conf = "gina.softhsm2.conf"' in descriptor.read_text()
    assert (credentials / "gina.softhsm2.conf").read_text() == conf.read_text()
    ca.ok("operator", "add", "gina", "--role", "ra_officer", "--public-key", made["public_key_file"], "--as", "carol",
          "--as", "alice")
    request = ca.submit(ca.csr()).json()["id"]
    _edit(descriptor, "softhsm_conf", str(conf))  # the same config, but outside the folder
    before, audit_before = ca.snapshot(), len(ca.audit())

    result = ca.run("request", "approve", str(request), "--as", "gina")

    assert_refused(ca, result, 4, before, audit_before, "softhsm_conf: ")


def pub_symlinked_to_victim(ca: CaHome) -> Path:
    victim = ca.work / "victim.txt"
    victim.write_text("a file the attacker wants overwritten\n")
    (ca.home / "credentials" / "mallory.pub.pem").symlink_to(victim)
    return victim


def descriptor_dangling_symlink(ca: CaHome) -> Path:
    planted = ca.work / "planted.toml"
    (ca.home / "credentials" / "mallory.credential.toml").symlink_to(planted)
    return planted


@pytest.mark.parametrize("plant", [pub_symlinked_to_victim, descriptor_dangling_symlink],
                         ids=["public-key-symlink", "dangling-descriptor-symlink"])
def test_keygen_never_writes_through_a_planted_symlink(ca: CaHome, plant: Callable[[CaHome], Path]) -> None:
    target = plant(ca)
    before = target.read_bytes() if target.exists() else None
    passphrase = ca.work / "m.pass"
    passphrase.write_text("mallory's passphrase\n")

    result = ca.run("operator", "keygen", "mallory", "--passphrase-file", str(passphrase))

    assert result.code == 3 and "already exists" in result.stderr, str(result)
    assert (target.read_bytes() if target.exists() else None) == before
    left = sorted(p.name for p in (ca.home / "credentials").iterdir() if p.name.startswith("mallory"))
    assert all(os.path.islink(ca.home / "credentials" / name) for name in left), left
