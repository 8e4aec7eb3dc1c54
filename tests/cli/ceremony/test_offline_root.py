"""The offline root: a root home and an online home, each with its own tokens, database and trail, meeting only
through bundles carried as files. Which keys live on which token (read through PKCS#11), the chain and the
ARL checked with openssl, every refusal of a bundle, and a kill -9 in each step of the issuing ceremony."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.hsm import find_softhsm_module
from tests.conftest import REPO, CaHome, Result

TOKEN_OBJECTS = REPO / "tests" / "support" / "token_objects.py"
CUSTODIANS = ["--as", "alice", "--as", "bob"]


def _objects(home: Path, label: str, pin_file: str) -> list[dict[str, Any]]:
    listed = subprocess.run([sys.executable, str(TOKEN_OBJECTS), find_softhsm_module(), label,
                             str(home / "softhsm" / "softhsm2.conf")],
                            input=(home / "secrets" / pin_file).read_text(), capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def _point(certificate: x509.Certificate) -> str:
    return certificate.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint).hex()


def _private_key_points(objects: list[dict[str, Any]]) -> set[str]:
    """The public point of each private key on a token (its key pair's public object, by CKA_ID)."""
    public = {o["id"]: o["ec_point"] for o in objects if o["class"] == "public"}
    return {public[o["id"]] for o in objects if o["class"] == "private"}


def _holds(points: set[str], certificate: x509.Certificate) -> bool:
    return any(point.endswith(_point(certificate)) for point in points)  # EC_POINT is the point as an OCTET STRING


def _pem(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def test_each_key_lives_on_its_own_token_and_everything_verifies_against_the_root(ca: CaHome) -> None:
    assert ca.root is not None
    ca.arl_from_root()
    leaves = [ca.issue_new(), ca.issue_new("keyAgreement")]
    root_pem, issuing_pem = ca.ca_pems()
    root, issuing = _pem(root_pem), _pem(issuing_pem)
    root_audit = _pem(ca.root.home / "audit" / "audit-cert.pem")
    online_audit = _pem(ca.home / "audit" / "audit-cert.pem")

    tokens = {("online", "ca"): _objects(ca.home, "s1spki", "hsm-user.pin"),
              ("online", "audit"): _objects(ca.home, "s1spki-audit", "audit-user.pin"),
              ("root", "ca"): _objects(ca.root.home, "s1spki-root", "hsm-user.pin"),
              ("root", "audit"): _objects(ca.root.home, "s1spki-root-audit", "audit-user.pin")}
    points = {where: _private_key_points(objects) for where, objects in tokens.items()}
    # the root key only on the root token, the issuing key only on the online token, each audit key on its
    # home's audit token: no private key anywhere else
    assert _holds(points[("root", "ca")], root) and len(points[("root", "ca")]) == 1
    assert _holds(points[("online", "ca")], issuing) and len(points[("online", "ca")]) == 1
    assert _holds(points[("root", "audit")], root_audit) and len(points[("root", "audit")]) == 1
    assert _holds(points[("online", "audit")], online_audit) and len(points[("online", "audit")]) == 1
    for where, found in points.items():
        if where != ("root", "ca"):
            assert not _holds(found, root), where
        if where != ("online", "ca"):
            assert not _holds(found, issuing), where
    # the record keys (HMAC) on the audit tokens only
    for where, objects in tokens.items():
        secrets = [o["label"] for o in objects if o["class"] == "secret"]
        assert (len(secrets) == 1 and secrets[0].startswith("s1spki-records-")) if where[1] == "audit" \
            else not secrets, (where, secrets)

    # both trails verify
    for home in (ca, ca.root):
        home.ok("audit", "verify")
    # every certificate verifies with openssl against the root, and passes s1spki lint (pkilint among its rules)
    exported = [ca.export(c["id"], f"leaf-{n}.pem") for n, c in enumerate(leaves)]
    verified = _openssl("verify", "-x509_strict", "-CAfile", str(root_pem), "-untrusted", str(issuing_pem),
                        *map(str, exported))
    assert verified.returncode == 0 and verified.stdout.count(": OK") == 2, verified.stdout + verified.stderr
    assert _openssl("verify", "-x509_strict", "-CAfile", str(root_pem), str(issuing_pem)).returncode == 0
    ca.ok("lint", "--issuer", str(issuing_pem), *map(str, exported))
    ca.ok("lint", "--issuer", str(root_pem), str(issuing_pem))
    ca.ok("lint", str(root_pem))
    # the published ARL is the root's, imported here, and verifies with openssl against the root
    out = ca.work / "repo"
    ca.ok("repo", "publish", "--out", str(out))
    arl = out / "crl" / "s1spki-root-ca.crl"
    checked = _openssl("crl", "-inform", "DER", "-in", str(arl), "-CAfile", str(root_pem), "-noout")
    assert checked.returncode == 0 and "verify OK" in checked.stderr + checked.stdout, checked.stderr
    ca.ok("lint", "--issuer", str(root_pem), str(arl))


def _request(ca: CaHome, name: str = "S1SPKI Issuing CA 2", **env: str) -> Result:
    return ca.run("--json", "ceremony", "issuing", "--name", name, *CUSTODIANS, env=env or None, seams=bool(env))


def _sign(ca: CaHome, bundle: str, sha256: str, **env: str) -> Result:
    assert ca.root is not None
    return ca.root.run("--json", "ceremony", "sign-issuing", bundle, "--sha256", sha256, *CUSTODIANS,
                       env=env or None, seams=bool(env))


def _install(ca: CaHome, bundle: str, sha256: str, **env: str) -> Result:
    return ca.run("--json", "ceremony", "import-issuing", bundle, "--sha256", sha256, *CUSTODIANS,
                  env=env or None, seams=bool(env))


def _one_line(result: Result, code: int, words: str) -> None:
    assert result.code == code, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], str(result)
    assert "Traceback" not in result.stderr


def _changed_byte(source: str, target: Path, old: str, new: str) -> str:
    text = Path(source).read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    return str(target)


def test_a_bundle_with_one_byte_changed_is_refused_on_either_side(ca: CaHome) -> None:
    assert ca.root is not None
    asked = _request(ca).json()
    document = json.loads(Path(asked["bundle"]).read_text())
    csr_line = document["body"]["csr_pem"].splitlines()[3]
    flipped = csr_line[:10] + ("A" if csr_line[10] != "A" else "B") + csr_line[11:]
    altered = _changed_byte(asked["bundle"], ca.work / "altered-request.json", csr_line, flipped)
    before = ca.root.snapshot()
    _one_line(_sign(ca, altered, asked["sha256"]), 3, "was altered")
    assert ca.root.snapshot() == before  # nothing signed or reserved
    # the digest read out catches a bundle swapped whole, its own digest made to match
    other = _request(ca, "S1SPKI Issuing CA 3").json()
    _one_line(_sign(ca, other["bundle"], asked["sha256"]), 3, "not the bundle the other home wrote")

    signed = _sign(ca, asked["bundle"], asked["sha256"]).json()
    answer = json.loads(Path(signed["bundle"]).read_text())
    name = answer["body"]["ca_name"]
    altered = _changed_byte(signed["bundle"], ca.work / "altered-response.json", f'"ca_name": "{name}"',
                            f'"ca_name": "{name[:-1]}9"')
    before = ca.snapshot()
    _one_line(_install(ca, altered, signed["sha256"]), 3, "was altered")
    assert ca.snapshot() == before
    _install(ca, signed["bundle"], signed["sha256"])
    assert ca.ok("--json", "cert", "list", "--kind", "issuing").json()[-1]["subject_cn"] == name


def test_a_replayed_request_is_not_signed_again(ca: CaHome) -> None:
    assert ca.root is not None
    asked = _request(ca).json()
    first = _sign(ca, asked["bundle"], asked["sha256"]).json()
    before = ca.root.snapshot()
    Path(first["bundle"]).unlink()

    replayed = _sign(ca, asked["bundle"], asked["sha256"])

    _one_line(replayed, 3, "was signed already")
    assert ca.root.snapshot()["certificates"] == before["certificates"]  # no second certificate for the key
    # the response is written again from the root's record, and installs
    assert json.loads(Path(first["bundle"]).read_text())["sha256"] == first["sha256"]
    _install(ca, first["bundle"], first["sha256"])


def test_a_response_for_another_key_is_refused(ca: CaHome, ca_template: Path, tmp_path: Path) -> None:
    """A response to another online home's request (its own key for a CA of the same name) is not installed here,
    nor a response to a request this home replaced with a new key since."""
    from tests.conftest import copy_home

    assert ca.root is not None
    other = CaHome(copy_home(ca_template / "home", tmp_path / "other-online"), ca.work, ca.root)
    theirs = _request(other).json()
    ours = _request(ca).json()
    assert theirs["sha256"] != ours["sha256"]
    signed = _sign(ca, theirs["bundle"], theirs["sha256"]).json()
    before = ca.snapshot()
    _one_line(_install(ca, signed["bundle"], signed["sha256"]), 3, "which this home did not make")
    assert ca.snapshot() == before

    replaced = ca.ok("--json", "ceremony", "issuing", "--name", "S1SPKI Issuing CA 2", "--replace",
                     *CUSTODIANS).json()
    assert replaced["supersedes"] == ours["sha256"] and replaced["key_label"] != ours["key_label"]
    # made within the same second, most often: the new request has a file of its own, the old one is kept whole
    assert replaced["bundle"] != ours["bundle"]
    assert json.loads(Path(ours["bundle"]).read_text())["sha256"] == ours["sha256"]
    stale_signed = _sign(ca, ours["bundle"], ours["sha256"])
    assert stale_signed.code == 0, str(stale_signed)
    stale = stale_signed.json()
    _one_line(_install(ca, stale["bundle"], stale["sha256"]), 3, "replaced since")
    fresh = _sign(ca, replaced["bundle"], replaced["sha256"]).json()
    installed = _install(ca, fresh["bundle"], fresh["sha256"])
    assert installed.code == 0, str(installed)
    assert installed.json()["key_label"] == replaced["key_label"]


def test_an_arl_older_than_the_one_imported_is_refused(ca: CaHome) -> None:
    assert ca.root is not None
    first = ca.root.ok("--json", "crl", "arl", *CUSTODIANS).json()
    second = ca.root.ok("--json", "crl", "arl", *CUSTODIANS).json()
    assert (first["crl_number"], second["crl_number"]) == (1, 2)
    ca.import_arl(second)
    before = ca.snapshot()

    older = ca.run("crl", "import-arl", first["arl_bundle"]["bundle"], "--sha256", first["arl_bundle"]["sha256"],
                   "--as", "alice")

    _one_line(older, 3, "not newer than ARL 2")
    assert ca.snapshot() == before
    assert ca.ok("--json", "crl", "show", "S1SPKI Root CA").json()["crl_number"] == 2


def test_a_ca_revoked_at_the_root_stops_issuing_here_once_its_arl_is_imported(ca: CaHome) -> None:
    assert ca.root is not None
    [issuing] = ca.root.ok("--json", "cert", "list", "--kind", "issuing").json()
    here = ca.run("cert", "revoke", issuing["serial"], "--reason", "cessationOfOperation", *CUSTODIANS)
    _one_line(here, 3, "is not done in an online home")

    revoked = ca.root.ok("--json", "cert", "revoke", issuing["serial"], "--reason", "cessationOfOperation",
                         *CUSTODIANS).json()
    assert revoked["arl"]["entries"] == 1
    request_id = ca.submit_approved()
    assert ca.run("cert", "issue", str(request_id), "--as", "carol").code == 0  # not imported yet
    imported = ca.import_arl(revoked)
    assert imported["revoked_issuing_cas"] == ["S1SPKI Issuing CA 1"]
    _one_line(ca.run("cert", "issue", str(ca.submit_approved()), "--as", "carol"), 3, "it issues nothing more")


@pytest.mark.parametrize(("command", "words"), [
    (["ceremony", "root", *CUSTODIANS], "is not done in an online home"),
    (["crl", "arl", *CUSTODIANS], "is not done in an online home"),
])
def test_root_operations_are_refused_in_the_online_home(ca: CaHome, command: list[str], words: str) -> None:
    _one_line(ca.run(*command), 3, words)


@pytest.mark.parametrize("command", [
    ["org", "register", "Rogue Ltd", "--eui64", "90B3D51F30090000", "--role", "supplier", "--as", "alice"],
    ["ceremony", "issuing", *CUSTODIANS],
    ["crl", "issue", "--as", "alice"],
])
def test_online_operations_are_refused_in_the_root_home(ca: CaHome, command: list[str]) -> None:
    assert ca.root is not None
    _one_line(ca.root.run(*command), 3, "is not done in a root home")


def test_the_root_home_never_starts_a_network_service(ca: CaHome, tmp_path: Path) -> None:
    assert ca.root is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = ca.root.run("est", "serve", "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tmp_path / "tls.pem"),
                         "--tls-key", str(tmp_path / "tls.key"), "--workers", "1")
    _one_line(result, 3, "a root home never starts a network service")
    with socket.socket() as client:  # nothing listens: the refusal came before any socket was bound
        assert client.connect_ex(("127.0.0.1", port)) != 0
    _one_line(ca.root.run("est", "authorise", "--org", "Acme", "--role", "supplier", "--key-usage",
                          "digitalSignature", "--eui64", "90B3D51F30010000", "--secret-out",
                          str(tmp_path / "s.secret"), "--as", "alice"), 3, "is not done in a root home")
    assert not (tmp_path / "s.secret").exists()


def test_the_root_says_when_its_next_arl_is_due(ca: CaHome) -> None:
    assert ca.root is not None
    issued = ca.root.ok("--json", "crl", "arl", "--if-due", *CUSTODIANS).json()
    assert issued["issued"] is True  # none yet: due now
    again = ca.root.ok("--json", "crl", "arl", "--if-due", *CUSTODIANS).json()
    assert again["issued"] is False and again["due_at"] > issued["this_update"]
    assert "not due until" in ca.root.ok("crl", "arl", "--if-due", *CUSTODIANS).stdout


def _killed(result: Result) -> None:
    assert result.code == -9, str(result)


def test_a_kill_during_the_request_leaves_a_retry_that_completes(ca: CaHome) -> None:
    _killed(_request(ca, S1SPKI_TEST_KILL_AT="issuing-key-generated"))
    assert not list((ca.home / "bundles").glob("issuing-request-s1spki-issuing-ca-2-*"))
    fresh = _request(ca).json()  # nothing was recorded: a new key and request
    assert fresh["written_again"] is False

    _killed(_request(ca, "S1SPKI Issuing CA 3", S1SPKI_TEST_KILL_AT="issuing-request-recorded"))
    again = _request(ca, "S1SPKI Issuing CA 3").json()  # recorded, bundle not written: written from the record
    assert again["written_again"] is True
    signed = _sign(ca, again["bundle"], again["sha256"]).json()
    assert _install(ca, signed["bundle"], signed["sha256"]).code == 0
    ca.ok("audit", "verify")


def test_a_kill_while_signing_at_the_root_leaves_a_retry_that_completes(ca: CaHome) -> None:
    assert ca.root is not None
    asked = _request(ca).json()
    _killed(_sign(ca, asked["bundle"], asked["sha256"], S1SPKI_TEST_KILL_AT="issuing-signed"))
    signed = _sign(ca, asked["bundle"], asked["sha256"])  # signed, not stored: signed again under a new serial
    assert signed.code == 0, str(signed)

    other = _request(ca, "S1SPKI Issuing CA 3").json()
    _killed(_sign(ca, other["bundle"], other["sha256"], S1SPKI_TEST_KILL_AT="issuing-response-recorded"))
    retry = _sign(ca, other["bundle"], other["sha256"])  # recorded: refused, the response written again
    _one_line(retry, 3, "its response is written again at")
    bundles = sorted((ca.root.home / "bundles").glob("issuing-response-s1spki-issuing-ca-3-*.json"))
    assert len(bundles) == 1
    written = json.loads(bundles[0].read_text())
    assert _install(ca, str(bundles[0]), written["sha256"]).code == 0
    assert _install(ca, signed.json()["bundle"], signed.json()["sha256"]).code == 0
    ca.root.ok("audit", "verify")


def test_a_kill_while_installing_leaves_a_retry_that_completes(ca: CaHome) -> None:
    asked = _request(ca).json()
    signed = _sign(ca, asked["bundle"], asked["sha256"]).json()
    _killed(_install(ca, signed["bundle"], signed["sha256"], S1SPKI_TEST_KILL_AT="issuing-import-checked"))
    assert ca.ok("--json", "cert", "list", "--kind", "issuing").json()[-1]["subject_cn"] == "S1SPKI Issuing CA 1"
    installed = _install(ca, signed["bundle"], signed["sha256"])
    assert installed.code == 0, str(installed)
    _one_line(_install(ca, signed["bundle"], signed["sha256"]), 3, "is installed already")
    ca.ok("audit", "verify")


def test_the_current_arl_is_written_again_as_a_bundle_and_a_folder_is_refused(ca: CaHome) -> None:
    assert ca.root is not None
    issued = ca.root.ok("--json", "crl", "arl", *CUSTODIANS).json()
    bundle = ca.work / "arl-again.json"
    shown = ca.root.ok("crl", "show", "S1SPKI Root CA", "--format", "bundle", "--out", str(bundle))
    sha256 = shown.stderr.rsplit("bundle sha256 ", 1)[1].split()[0]
    imported = ca.ok("--json", "crl", "import-arl", str(bundle), "--sha256", sha256, "--as", "alice").json()
    assert imported["crl_number"] == issued["crl_number"]
    _one_line(ca.root.run("crl", "show", "S1SPKI Root CA", "--format", "bundle", "--out", str(ca.work)), 2,
              "is a folder")
