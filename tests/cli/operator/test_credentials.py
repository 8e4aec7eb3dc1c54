"""Operators' credentials: a key on a PKCS#11 token works like a PEM key; a broken policy is refused."""

from __future__ import annotations

from tests.conftest import CaHome


def test_an_operator_key_on_a_pkcs11_token_signs_their_statements(ca: CaHome) -> None:
    # the operator's own token is simulated by the CA's SoftHSM token: a separate, sign-only key on it
    conf = ca.home / "softhsm" / "softhsm2.conf"
    pin_file = ca.home / "secrets" / "hsm-user.pin"
    made = ca.ok("--json", "operator", "keygen", "gina", "--pkcs11-module", "softhsm", "--pkcs11-token", "s1spki",
                 "--softhsm-conf", str(conf), "--passphrase-file", str(pin_file)).json()
    descriptor = (ca.home / "credentials" / "gina.credential.toml").read_text()
    assert 'type = "pkcs11"' in descriptor and "s1spki-operator-gina" in descriptor
    assert pin_file.read_text().strip() not in descriptor  # the descriptor names the PIN file, never the PIN
    ca.ok("operator", "add", "gina", "--role", "ra_officer", "--public-key", made["public_key_file"], "--as", "carol",
          "--as", "alice")
    request = ca.submit(ca.csr()).json()["id"]
    ca.ok("request", "approve", str(request), "--as", "gina")
    assert ca.ok("--json", "request", "show", str(request)).json()["approved_by"] == ["gina"]
    again = ca.run("operator", "keygen", "gina", "--passphrase-file", str(pin_file))
    assert again.code == 3 and "already exists" in again.stderr, str(again)


def test_a_wrong_passphrase_is_an_authentication_refusal(ca: CaHome) -> None:
    descriptor = ca.home / "credentials" / "dave.credential.toml"
    wrong = ca.work / "wrong.pass"
    wrong.write_text("not dave's passphrase\n")
    text = descriptor.read_text()
    descriptor.write_text("\n".join(line for line in text.splitlines() if not line.startswith("secret_"))
                          + f'\nsecret_file = "{wrong}"\n')
    result = ca.run("request", "approve", str(ca.submit(ca.csr()).json()["id"]), "--as", "dave")
    assert result.code == 4 and "wrong passphrase" in result.stderr, str(result)
    assert "not dave's passphrase" not in result.stderr


def test_a_malformed_policy_in_the_home_is_refused_with_file_key_and_reason(ca: CaHome) -> None:
    policy = ca.home / "policy" / "policy.toml"
    policy.write_text(policy.read_text().replace("octets = 16", "octets = 4"))
    before = ca.snapshot()
    result = ca.submit(ca.csr())
    assert result.code == 3, str(result)
    line = result.stderr.strip()
    assert "\n" not in line and "policy/policy.toml: serial.octets: must be >= 9, not 4" in line, line
    assert ca.snapshot() == before
