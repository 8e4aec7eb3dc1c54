"""Every refusal of EST, with curl as the client: its HTTP status, a one-line reason, and nothing stored but the
refusal's audit record."""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ACME_EUI2, CaHome
from tests.est.conftest import (
    EstServer,
    audit_tail,
    authorise,
    certs_of,
    make_tls_files,
    openssl_csr,
    set_policy,
    start_server,
    stop_server,
    write_pem,
)

PKCS10 = ["-H", "Content-Type: application/pkcs10"]


def _refused(ca: CaHome, est: EstServer, expected: int, event: str, path: str, *args: str) -> str:
    """Run one request; assert its status, one line of body, no change to the store and one refused record."""
    before, audit_before = ca.snapshot(), len(ca.audit())
    status, body, raw = est.curl(path, *args)
    assert status == expected, f"{path} {args}: {raw}\n{body}"
    assert len(body.strip().splitlines()) == 1, body
    assert ca.snapshot() == before, body
    records = audit_tail(ca, audit_before)
    assert [(r["event"], r["outcome"]) for r in records] == [(event, "refused")], records
    return body


def _bad_signature_csr(ca: CaHome) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    der = bytearray(x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
                    .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature's r or s
    path = ca.work / "bad-signature.b64"
    path.write_text(base64.b64encode(bytes(der)).decode())
    return path


def test_first_enrolment_refusals(ca: CaHome) -> None:
    est = start_server(ca)
    try:
        good, secret = authorise(ca)
        unapproved, unapproved_secret = authorise(ca, approve=False)
        expiring, expiring_secret = authorise(ca, valid_for="1s")
        expired_after = time.monotonic() + 1.5  # the secret's second of validity, and the server's clock tick
        _, csr = openssl_csr(ca, "good")
        _, p384 = openssl_csr(ca, "p384", curve="secp384r1")
        bad_signature = _bad_signature_csr(ca)
        huge = ca.work / "huge.b64"
        huge.write_text("A" * 40000)
        not_base64 = ca.work / "not-base64.b64"
        not_base64.write_text("this is *not* base64!\n")
        auth = ["-u", f"{good}:{secret.read_text().strip()}"]

        def enroll(expected: int, *args: str) -> str:
            return _refused(ca, est, expected, "est.enroll", "simpleenroll", *args)

        assert "Basic" in enroll(401, "--data-binary", f"@{csr}", *PKCS10)
        enroll(401, "-u", f"{good}:wrong-secret", "--data-binary", f"@{csr}", *PKCS10)
        enroll(401, "-u", f"{good + 1000}:{secret.read_text().strip()}", "--data-binary", f"@{csr}", *PKCS10)
        assert "approval" in enroll(403, "-u", f"{unapproved}:{unapproved_secret.read_text().strip()}",
                                    "--data-binary", f"@{csr}", *PKCS10)
        time.sleep(max(0.0, expired_after - time.monotonic()))  # commands may take less than that second now
        assert "expired" in enroll(403, "-u", f"{expiring}:{expiring_secret.read_text().strip()}", "--data-binary",
                                   f"@{csr}", *PKCS10)
        enroll(415, *auth, "--data-binary", f"@{csr}", "-H", "Content-Type: text/plain")
        enroll(413, *auth, "--data-binary", f"@{huge}", *PKCS10)
        enroll(400, *auth, "--data-binary", f"@{not_base64}", *PKCS10)
        assert "P-256" in enroll(400, *auth, "--data-binary", f"@{p384}", *PKCS10)
        assert "signature" in enroll(400, *auth, "--data-binary", f"@{bad_signature}", *PKCS10)

        status, body, raw = est.curl("simpleenroll", *auth, "--data-binary", f"@{csr}", *PKCS10)
        assert status == 200, raw
        assert "already used" in enroll(403, *auth, "--data-binary", f"@{csr}", *PKCS10)
        again, again_secret = authorise(ca)
        assert "already certified" in enroll(409, "-u", f"{again}:{again_secret.read_text().strip()}",
                                             "--data-binary", f"@{csr}", *PKCS10)
    finally:
        stop_server(est)
    log = est.log_text()
    for secret_file in (secret, unapproved_secret, expiring_secret):
        assert secret_file.read_text().strip() not in log


def _enrolled(ca: CaHome, est: EstServer, name: str, eui64: str | None = None) -> tuple[Path, Path]:
    authorisation, secret = authorise(ca, **({"eui64": eui64} if eui64 else {}))
    key, csr = openssl_csr(ca, name)
    status, body, raw = est.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}",
                                 "--data-binary", f"@{csr}", *PKCS10)
    assert status == 200, raw
    return key, write_pem(ca, certs_of(ca, body, name)[0], f"{name}.pem")


def _expired_certificate(ca: CaHome) -> tuple[Path, Path]:
    """A certificate of this CA that expired: issued by `cert issue` with the clock 11 years back."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = ca.work / "expired.csr"
    csr.write_bytes(x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
                    .public_bytes(serialization.Encoding.PEM))
    request = ca.submit_approved(csr)
    shift = {"S1SPKI_TEST_CLOCK_SHIFT": str(-11 * 366 * 86400)}
    issued = ca.run("--json", "cert", "issue", str(request), "--as", "carol", env=shift, seams=True)
    assert issued.code == 0, str(issued)
    cert = ca.export(issued.json()["id"], "expired.pem")
    key_path = ca.work / "expired.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return key_path, cert


def test_re_enrolment_refusals(ca: CaHome) -> None:
    set_policy(ca, renewal_window_days=3700)
    expired_key, expired = _expired_certificate(ca)
    est = start_server(ca)
    try:
        key, cert = _enrolled(ca, est, "current")
        revoked_key, revoked = _enrolled(ca, est, "revoked")
        serial = f"{x509.load_pem_x509_certificate(revoked.read_bytes()).serial_number:X}".rjust(32, "0")
        ca.ok("cert", "revoke", serial, "--reason", "keyCompromise", "--as", "dave")
        _, fresh_csr = openssl_csr(ca, "fresh")
        _, other_eui_csr = openssl_csr(ca, "other-eui", subj="/CN=component")
        other = ca.work / "other-eui.b64"
        other.write_text(base64.b64encode(_csr_for_eui(ACME_EUI2)).decode())

        def reenroll(expected: int, *args: str) -> str:
            return _refused(ca, est, expected, "est.reenroll", "simplereenroll", *args)

        tls = ["--cert", str(cert), "--key", str(key)]
        reenroll(401, "--data-binary", f"@{fresh_csr}", *PKCS10)
        assert "revoked" in reenroll(403, "--cert", str(revoked), "--key", str(revoked_key), "--data-binary",
                                     f"@{fresh_csr}", *PKCS10)
        with ca.db() as conn:  # a database writer puts the revoked certificate's status back: the trail still says
            conn.execute("update certificates set status = 'valid' where serial = ?", (serial,))
        assert "is revoked (audit record" in reenroll(403, "--cert", str(revoked), "--key", str(revoked_key),
                                                      "--data-binary", f"@{fresh_csr}", *PKCS10)
        assert "not valid now" in reenroll(403, "--cert", str(expired), "--key", str(expired_key), "--data-binary",
                                           f"@{fresh_csr}", *PKCS10)
        assert "EUI-64" in reenroll(403, *tls, "--data-binary", f"@{other}", *PKCS10)
        reenroll(409, *tls, "--data-binary", f"@{_same_key_csr(ca, key)}", *PKCS10)
        reenroll(415, *tls, "--data-binary", f"@{fresh_csr}", "-H", "Content-Type: application/octet-stream")

        # a certificate of another CA never gets past the TLS handshake: no HTTP answer, nothing recorded
        foreign_key, foreign = _foreign_certificate(ca)
        before, audit_before = ca.snapshot(), len(ca.audit())
        status, _, raw = est.curl("simplereenroll", "--cert", str(foreign), "--key", str(foreign_key),
                                  "--data-binary", f"@{fresh_csr}", *PKCS10)
        assert status == 0 and "alert" in raw.lower(), raw
        assert ca.snapshot() == before and len(ca.audit()) == audit_before
    finally:
        stop_server(est)


def test_re_enrolment_outside_the_renewal_window_is_refused(ca: CaHome, est: EstServer) -> None:
    key, cert = _enrolled(ca, est, "young")
    _, csr = openssl_csr(ca, "too-early")

    body = _refused(ca, est, 403, "est.reenroll", "simplereenroll", "--cert", str(cert), "--key", str(key),
                    "--data-binary", f"@{csr}", *PKCS10)

    assert "not due for renewal" in body and "60 days" in body


def _csr_for_eui(eui64: str) -> bytes:
    from s1spki.issuance.profile import end_entity_name

    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateSigningRequestBuilder().subject_name(end_entity_name(None, "02", eui64))
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def _same_key_csr(ca: CaHome, key: Path) -> Path:
    der, b64 = ca.work / "same.der", ca.work / "same.b64"
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", "/CN=again", "-outform", "DER", "-out",
                    str(der)], check=True, capture_output=True)
    b64.write_text(base64.b64encode(der.read_bytes()).decode())
    return b64


def _foreign_certificate(ca: CaHome) -> tuple[Path, Path]:
    foreign = ca.work / "foreign"
    foreign.mkdir()
    _, cert, key = make_tls_files(foreign)  # a certificate of a CA this home does not know
    return key, cert
