"""`s1spki hsm probe` and `hsm status` through the real CLI on the home's SoftHSM token."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CaHome


def test_probe_says_the_token_is_ready(ca: CaHome) -> None:
    result = ca.ok("--json", "hsm", "probe")
    report = result.json()
    assert report["ok"] is True and report["login"] == "ok", report
    assert report["mechanisms"] == {"CKM_EC_KEY_PAIR_GEN": True, "CKM_ECDSA": True,
                                    "CKM_GENERIC_SECRET_KEY_GEN": True, "CKM_SHA256_HMAC": True}, report
    assert any(slot["token_label"] == "s1spki" for slot in report["slots"]), report
    human = ca.ok("hsm", "probe")
    assert human.stdout.strip().splitlines()[-1].startswith("hsm probe: token 's1spki'") and "ready" in human.stdout


def test_probe_of_a_wrong_pin_is_one_line_verdict(ca: CaHome) -> None:
    pin = ca.home / "secrets" / "hsm-user.pin"
    real = pin.read_text()
    pin.write_text("not-the-pin\n")
    result = ca.run("hsm", "probe")
    assert result.code == 5, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not ready" in lines[0] and "wrong PIN" in lines[0], str(result)
    assert "not-the-pin" not in result.stdout + result.stderr and real.strip() not in result.stdout + result.stderr


def test_probe_of_a_profile_before_init(tmp_path: Path, ca: CaHome) -> None:
    profile = tmp_path / "vendor.toml"
    profile.write_text('[hsm]\nmodule = "/opt/no-such-vendor/libpkcs11.so"\ntoken_label = "ca"\n'
                       'pin_env = "S1SPKI_TEST_NO_PIN"\n')
    result = ca.run("hsm", "probe", "--profile", str(profile))
    assert result.code == 5 and "missing or not a file" in result.stderr, str(result)
    assert len(result.stderr.strip().splitlines()) == 1


def test_status_lists_the_keys_on_both_tokens_of_each_home(ca: CaHome) -> None:
    status = ca.ok("--json", "hsm", "status").json()
    assert [t["holds"] for t in status["tokens"]] == ["CA keys", "audit and record keys"], status
    assert [t["token"]["label"] for t in status["tokens"]] == ["s1spki", "s1spki-audit"], status
    on = {k["label"]: k["token"] for k in status["keys"]}
    uses = {k["use"]: k["token"] for k in status["keys"]}
    assert uses["audit key"] == "s1spki-audit" and uses["record key"] == "s1spki-audit", uses
    assert [token for use, token in uses.items() if use.startswith("issuing CA ")] == ["s1spki"], uses
    assert not any(use.startswith("root CA ") for use in uses), "the online home holds no root key"
    for key in status["keys"]:
        assert key["sensitive"] is True and key["extractable"] is False, key
    human = ca.ok("hsm", "status").stdout
    assert all(label in human for label in on) and "token 's1spki-audit'" in human, human
    root = ca.root.ok("--json", "hsm", "status").json()
    assert [t["token"]["label"] for t in root["tokens"]] == ["s1spki-root", "s1spki-root-audit"], root
    assert [k["token"] for k in root["keys"] if k["use"].startswith("root CA ")] == ["s1spki-root"], root
