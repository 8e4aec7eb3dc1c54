"""`s1spki repo publish`: the CA certificates, current CRL and ARL and the index, each file replaced whole."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

from cryptography import x509

from s1spki.ra.repository import write_atomic
from tests.cli.crl.helpers import ISSUING, ROOT, revoke
from tests.conftest import ACME_EUI, CaHome


def _files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


def test_publish_writes_certificates_crls_and_index(ca: CaHome) -> None:
    kept, gone = ca.issue_new(), ca.issue_new("keyAgreement")
    assert revoke(ca, gone["serial"], "affiliationChanged").code == 0
    ca.arl_from_root()
    out = ca.work / "repo"

    published = ca.ok("--json", "repo", "publish", "--out", str(out)).json()
    expected = {"ca/s1spki-root-ca.crt", "ca/s1spki-root-ca.pem", "crl/s1spki-root-ca.crl",
                "ca/s1spki-issuing-ca-1.crt", "ca/s1spki-issuing-ca-1.pem", "crl/s1spki-issuing-ca-1.crl",
                "index.json"}
    assert set(published["files"]) == expected == _files(out)  # nothing else: no temporary file left behind

    root = x509.load_der_x509_certificate((out / "ca/s1spki-root-ca.crt").read_bytes())
    issuing = x509.load_pem_x509_certificate((out / "ca/s1spki-issuing-ca-1.pem").read_bytes())
    arl = x509.load_der_x509_crl((out / "crl/s1spki-root-ca.crl").read_bytes())
    crl = x509.load_der_x509_crl((out / "crl/s1spki-issuing-ca-1.crl").read_bytes())
    assert arl.is_signature_valid(root.public_key()) and len(arl) == 0  # type: ignore[arg-type]
    assert crl.is_signature_valid(issuing.public_key()) and len(crl) == 1  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(gone["serial"], 16)) is not None

    index = json.loads((out / "index.json").read_text())
    assert {c["name"] for c in index["cas"]} == {ROOT, ISSUING}
    by_serial = index["by_issuer_serial"][ISSUING]
    assert by_serial[kept["serial"]]["status"] == "valid" and by_serial[kept["serial"]]["revocation"] is None
    assert by_serial[gone["serial"]]["revocation"]["reason"] == "affiliationChanged"
    assert x509.load_der_x509_certificate(base64.b64decode(by_serial[kept["serial"]]["der_b64"]))
    by_entity = index["by_eui64_role_key_usage"][ACME_EUI]["supplier"]
    assert by_entity["digitalSignature"] == [{"issuer_cn": ISSUING, "serial": kept["serial"], "status": "valid"}]
    assert by_entity["keyAgreement"] == [{"issuer_cn": ISSUING, "serial": gone["serial"], "status": "revoked"}]

    # Publishing again replaces each file whole with the new state.
    assert revoke(ca, kept["serial"], "superseded").code == 0
    ca.ok("repo", "publish", "--out", str(out))
    assert len(x509.load_der_x509_crl((out / "crl/s1spki-issuing-ca-1.crl").read_bytes())) == 2
    assert _files(out) == expected


def test_a_reader_sees_the_old_file_or_the_new_one_never_part(tmp_path: Path) -> None:
    target = tmp_path / "crl" / "big.crl"
    old, new = b"o" * 4_000_000, b"n" * 6_000_000
    write_atomic(target, old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            seen.add(data[:1] + str(len(data)).encode())

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20):
        write_atomic(target, new)
        write_atomic(target, old)
    stop.set()
    reader.join()
    assert seen <= {b"o4000000", b"n6000000"}, seen
    assert os.listdir(target.parent) == ["big.crl"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"
