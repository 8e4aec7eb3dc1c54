"""EST over real TLS on 127.0.0.1: cacerts, csrattrs, first enrolment and re-enrolment with curl, openssl and
s1spki's own client; what comes out verifies, lints, has DCC's structure, and the renewed certificate goes on the
next CRL as superseded."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.est import wire
from s1spki.lint import pkilint_adapter
from tests.cli.cert.test_issue import structure
from tests.conftest import ACME_EUI, REFERENCE, CaHome
from tests.est.conftest import (
    EstServer,
    audit_tail,
    authorise,
    certs_of,
    client_env,
    openssl_csr,
    set_policy,
    start_server,
    stop_server,
    write_pem,
)


def _curl_enroll(est: EstServer, authorisation: int, secret: Path, csr_b64: Path) -> tuple[int, str, str]:
    return est.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}", "--data-binary",
                    f"@{csr_b64}", "-H", "Content-Type: application/pkcs10")


def _verify(ca: CaHome, pem: Path) -> subprocess.CompletedProcess[str]:
    root, issuing = ca.ca_pems()
    return subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), "-untrusted", str(issuing),
                           str(pem)], capture_output=True, text=True)


def test_cacerts_gives_the_issuing_ca_and_the_root_and_csrattrs_what_the_profile_needs(ca: CaHome,
                                                                                        est: EstServer) -> None:
    status, body, raw = est.curl("cacerts")
    attrs_status, attrs, _ = est.curl("csrattrs")
    labelled, _, _ = est.curl("s1spki-issuing-ca-1/cacerts")
    unknown, _, _ = est.curl("no-such-ca/cacerts")

    assert status == 200 and "application/pkcs7-mime" in raw, raw
    pems = certs_of(ca, body, "cacerts")
    root, issuing = ca.ca_pems()
    assert {x509.load_pem_x509_certificate(p.encode()) for p in pems} == {
        x509.load_pem_x509_certificate(root.read_bytes()), x509.load_pem_x509_certificate(issuing.read_bytes())}
    assert attrs_status == 200
    assert wire.read_csr_attributes(base64.b64decode(attrs)) == (wire.ECDSA_WITH_SHA256, wire.ID_EC_PUBLIC_KEY)
    assert labelled == 200 and unknown == 404


def test_enrolment_with_curl_gives_a_certificate_that_verifies_lints_and_has_the_gbcs_structure(
        ca: CaHome, est: EstServer) -> None:
    authorisation, secret = authorise(ca, cn="GITTESTSUPPLIER")
    key, csr = openssl_csr(ca, "meter-ds")
    audit_before = len(ca.audit())

    status, body, raw = _curl_enroll(est, authorisation, secret, csr)

    assert status == 200, raw
    (pem,) = certs_of(ca, body, "enrolled")
    path = write_pem(ca, pem, "enrolled.pem")
    assert _verify(ca, path).returncode == 0, _verify(ca, path).stdout
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    theirs = x509.load_pem_x509_certificate((REFERENCE / "Z1-supplier-ds.pem").read_bytes())
    assert structure(der) == structure(theirs.public_bytes(serialization.Encoding.DER))
    own_key = serialization.load_pem_private_key(key.read_bytes(), None)
    assert cert.public_key() == own_key.public_key()  # only the key came from the CSR: its CN=component is not used
    assert cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.45"))[0].value == \
        b"\x00" + bytes.fromhex(ACME_EUI)
    _, issuing = ca.ca_pems()
    linted = ca.run("lint", "--issuer", str(issuing), "--verify-signature", str(path))
    assert linted.code == 0, str(linted)
    assert pkilint_adapter.lint_certificate(der) == ()
    shown = ca.ok("--json", "request", "show", str(authorisation)).json()
    assert shown["status"] == "issued" and shown["kind"] == "enrolment"
    records = audit_tail(ca, audit_before)
    enrolled = [r for r in records if r["event"] == "est.enroll"]
    assert len(enrolled) == 1 and enrolled[0]["outcome"] == "ok"
    assert enrolled[0]["actor"] == f"component:enrolment/{authorisation}" and enrolled[0]["actor_role"] == "component"
    assert enrolled[0]["details"]["component"]["peer"].startswith("127.0.0.1:")
    assert ca.ok("audit", "verify").code == 0
    assert secret.read_text().strip() not in (ca.home / "s1spki.db").read_bytes().decode("latin-1")


def test_reenrolment_with_curl_certifies_a_new_key_and_the_old_certificate_is_superseded_on_the_crl(
        ca: CaHome) -> None:
    set_policy(ca, renewal_window_days=3700)  # every certificate of this home is inside its renewal window
    est = start_server(ca)
    try:
        authorisation, secret = authorise(ca)
        old_key, csr = openssl_csr(ca, "first")
        status, body, raw = _curl_enroll(est, authorisation, secret, csr)
        assert status == 200, raw
        old = write_pem(ca, certs_of(ca, body, "first")[0], "first.pem")
        new_key, new_csr = openssl_csr(ca, "second")

        status, body, raw = est.curl("simplereenroll", "--cert", str(old), "--key", str(old_key), "--data-binary",
                                     f"@{new_csr}", "-H", "Content-Type: application/pkcs10")
        same, _, _ = est.curl("simplereenroll", "--cert", str(old), "--key", str(old_key), "--data-binary",
                              f"@{new_csr}", "-H", "Content-Type: application/pkcs10")
    finally:
        stop_server(est)

    assert status == 200, raw
    new = write_pem(ca, certs_of(ca, body, "second")[0], "second.pem")
    assert _verify(ca, new).returncode == 0
    old_cert, new_cert = (x509.load_pem_x509_certificate(p.read_bytes()) for p in (old, new))
    assert new_cert.public_key() == serialization.load_pem_private_key(new_key.read_bytes(), None).public_key()
    assert new_cert.subject == old_cert.subject and new_cert.serial_number != old_cert.serial_number
    assert same == 403  # the old certificate is revoked now
    crl = ca.work / "crl.pem"
    ca.ok("crl", "show", "S1SPKI Issuing CA 1", "--out", str(crl))
    text = subprocess.run(["openssl", "crl", "-in", str(crl), "-noout", "-text"], capture_output=True, text=True,
                          check=True).stdout
    serial = f"{old_cert.serial_number:032X}"
    assert serial in text.replace(":", "").upper() and "Superseded" in text, text
    listed = {c["serial"]: c["status"] for c in ca.ok("--json", "cert", "list").json()}
    assert listed[f"{old_cert.serial_number:X}".rjust(32, "0")] == "revoked"
    assert ca.ok("audit", "verify").code == 0


def test_the_component_client_enrols_and_its_daemon_renews_by_itself_with_the_hook(ca: CaHome) -> None:
    set_policy(ca, renewal_window_days=3700)
    est = start_server(ca)
    key, cert, hook_out = ca.work / "c.key", ca.work / "c.pem", ca.work / "hook.txt"
    try:
        authorisation, secret = authorise(ca)
        enrolled = est.client("--json", "est", "enroll", "--server", est.url, "--ca-cert", str(est.trust), "--id",
                              str(authorisation), "--secret-file", str(secret), "--key-out", str(key), "--cert-out",
                              str(cert))
        assert enrolled.code == 0, str(enrolled)
        assert key.stat().st_mode & 0o777 == 0o600
        first = x509.load_pem_x509_certificate(cert.read_bytes())
        not_due = est.client("--json", "est", "renew", "--server", est.url, "--ca-cert", str(est.trust), "--cert",
                             str(cert), "--key", str(key))
        assert not_due.code == 0 and not_due.json()["renewed"] is False, str(not_due)

        daemon = subprocess.Popen(
            [sys.executable, "-m", "s1spki", "est", "renew", "--daemon", "--server", est.url,
             "--ca-cert", str(est.trust), "--cert", str(cert), "--key", str(key), "--before", "3660d",
             "--check-every", "1h", "--exec", f"sh -c 'echo renewed >> {hook_out}'"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=client_env(), cwd=ca.work)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not hook_out.exists():
            time.sleep(0.2)
        daemon.terminate()
        output, _ = daemon.communicate(timeout=30)
    finally:
        stop_server(est)

    assert hook_out.exists(), output
    renewed = x509.load_pem_x509_certificate(cert.read_bytes())
    assert renewed.serial_number != first.serial_number
    assert renewed.public_key() == serialization.load_pem_private_key(key.read_bytes(), None).public_key()
    assert key.stat().st_mode & 0o777 == 0o600
    assert daemon.returncode == 0, output
    statuses = {c["serial"]: c["status"] for c in ca.ok("--json", "cert", "list").json()}
    assert statuses[f"{first.serial_number:X}".rjust(32, "0")] == "revoked"


def test_a_key_agreement_certificate_is_renewed_on_the_same_components_digital_signature_certificate(
        ca: CaHome) -> None:
    set_policy(ca, renewal_window_days=3700)
    est = start_server(ca)
    try:
        files = {}
        for usage in ("digitalSignature", "keyAgreement"):
            authorisation, secret = authorise(ca, key_usage=usage)
            key, cert = ca.work / f"{usage}.key", ca.work / f"{usage}.pem"
            done = est.client("est", "enroll", "--server", est.url, "--ca-cert", str(est.trust), "--id",
                              str(authorisation), "--secret-file", str(secret), "--key-out", str(key), "--cert-out",
                              str(cert))
            assert done.code == 0, str(done)
            files[usage] = (key, cert)
        ka_key, ka_cert = files["keyAgreement"]
        ds_key, ds_cert = files["digitalSignature"]
        before = {u: x509.load_pem_x509_certificate(c.read_bytes()) for u, (_, c) in files.items()}
        renewed = est.client("--json", "est", "renew", "--server", est.url, "--ca-cert", str(est.trust), "--cert",
                             str(ka_cert), "--key", str(ka_key), "--auth-cert", str(ds_cert), "--auth-key",
                             str(ds_key), "--before", "3660d")
    finally:
        stop_server(est)

    assert renewed.code == 0, str(renewed)
    after = x509.load_pem_x509_certificate(ka_cert.read_bytes())
    usage = after.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and not usage.digital_signature
    assert after.serial_number != before["keyAgreement"].serial_number
    statuses = {c["serial"]: c["status"] for c in ca.ok("--json", "cert", "list").json()}
    assert statuses[f"{before['keyAgreement'].serial_number:X}".rjust(32, "0")] == "revoked"
    assert statuses[f"{before['digitalSignature'].serial_number:X}".rjust(32, "0")] == "valid"


def test_a_required_channel_binding_refuses_curl_over_tls13_and_takes_the_clients_tls_unique(ca: CaHome) -> None:
    set_policy(ca, channel_binding="required")
    est = start_server(ca)
    try:
        attrs_status, attrs, _ = est.curl("csrattrs")
        authorisation, secret = authorise(ca)
        _, csr = openssl_csr(ca, "unbound")
        unbound, body, _ = _curl_enroll(est, authorisation, secret, csr)
        key, cert = ca.work / "bound.key", ca.work / "bound.pem"
        bound = est.client("est", "enroll", "--server", est.url, "--ca-cert", str(est.trust), "--id",
                           str(authorisation), "--secret-file", str(secret), "--key-out", str(key), "--cert-out",
                           str(cert))
    finally:
        stop_server(est)

    assert attrs_status == 200 and wire.CHALLENGE_PASSWORD in wire.read_csr_attributes(base64.b64decode(attrs))
    assert unbound == 403 and "bound to the TLS channel" in body, body
    assert bound.code == 0, str(bound)
    enrolled = [r for r in audit_tail(ca, 0) if r["event"] == "est.enroll" and r["outcome"] == "ok"]
    assert enrolled[-1]["details"]["channel_bound"] is True and enrolled[-1]["details"]["tls"] == "TLSv1.2"


def test_two_components_enrol_at_once(ca: CaHome, est: EstServer) -> None:
    work = [authorise(ca) for _ in range(2)]
    csrs = [openssl_csr(ca, f"at-once-{i}")[1] for i in range(2)]
    results: list[tuple[int, str, str]] = [(0, "", "")] * 2

    def run(i: int) -> None:
        results[i] = _curl_enroll(est, work[i][0], work[i][1], csrs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [r[0] for r in results] == [200, 200], results
    serials = {x509.load_pem_x509_certificate(certs_of(ca, r[1], f"once{i}")[0].encode()).serial_number
               for i, r in enumerate(results)}
    assert len(serials) == 2
    assert ca.ok("audit", "verify").code == 0


def test_a_stopped_server_leaves_the_database_as_a_command_does(ca: CaHome) -> None:
    """Workers keep their database connections from one request to the next; when the server stops they close
    them and the master connects once more, so that SQLite folds its write-ahead log back into the database: no
    -wal or -shm file is left beside it."""
    est = start_server(ca, workers=2)
    try:
        authorisation, secret = authorise(ca)
        _, csr = openssl_csr(ca, "before-stop")
        status, _, raw = _curl_enroll(est, authorisation, secret, csr)
    finally:
        assert stop_server(est) == 0
    assert status == 200, raw
    assert sorted(p.name for p in ca.home.glob("s1spki.db-*")) == []


def test_workers_start_with_pkilint_loaded_before_their_first_enrolment(ca: CaHome, est: EstServer) -> None:
    """The master loads pkilint and builds its validators before it forks: every worker holds pkilint's compiled
    decoder (pyasn1_fasder) before it has linted anything, so no component's enrolment waits for it to load."""
    children = Path(f"/proc/{est.process.pid}/task/{est.process.pid}/children").read_text().split()
    assert len(children) == 2, children  # the two workers, none of which has served an enrolment yet
    for pid in children:
        assert "pyasn1_fasder" in Path(f"/proc/{pid}/maps").read_text(), f"worker {pid} has not loaded pkilint"
