"""Issuance benchmarks on a real SoftHSM token and SQLite store (run through scripts/bench).

Prints, from one run:
  1. the raw HSM signature rate (sign a SHA-256 digest on the token);
  2. the HSM-bound ceiling: build one end-entity certificate from the profile and sign it in the HSM;
  3. full-pipeline issuance: `issue_request` with every gate on (intake again, registry checks, the
     operator's signed statement, profile, GBCS + pkilint lint, serial reservation committed, HSM
     signature, TBS check and verification, certificate + audit record committed);
and the ratio of 3 to 2. Requests are made and submitted before the clock starts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from s1spki.app import App
from s1spki.end_entity import issue_request, issuing_ca, submit_request
from s1spki.profile import Issuer, end_entity_builder, end_entity_name, new_serial

ORG, EUI = "Bench Energy Ltd", "90B3D51F30019999"


def cli(home: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "s1spki", "--home", str(home), *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"bench: s1spki {' '.join(args)} failed: {done.stderr.strip()}")


def build_home(base: Path) -> Path:
    home = base / "home"
    secrets = base / "secrets"
    secrets.mkdir()
    for person in ("alice", "bob", "carol"):
        (secrets / person).write_text(os.urandom(16).hex())
        cli(home, "operator", "keygen", person, "--passphrase-file", str(secrets / person))
    cred = home / "credentials"
    cli(home, "init", "--softhsm", "--custodian", f"alice={cred / 'alice.pub.pem'}",
        "--custodian", f"bob={cred / 'bob.pub.pem'}", "--ra-manager", f"carol={cred / 'carol.pub.pem'}")
    cli(home, "ceremony", "root", "--as", "alice", "--as", "bob")
    cli(home, "ceremony", "issuing", "--as", "alice", "--as", "bob")
    cli(home, "org", "register", ORG, "--eui64", EUI, "--role", "supplier", "--as", "carol")
    return home


def csr_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10.1f}/s  ({count} in {seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signatures", type=int, default=5000)
    parser.add_argument("--ceiling", type=int, default=2000)
    parser.add_argument("--issue", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="s1spki-bench-") as tmp:
        home = build_home(Path(tmp))
        app = App(home)
        hsm = app.hsm()
        ca = issuing_ca(app, None)
        ca_cert = ca.certificate.certificate()

        digest = hashlib.sha256(b"bench").digest()
        start = time.perf_counter()
        for _ in range(args.signatures):
            hsm.sign_digest(ca.key_label, digest)
        raw = time.perf_counter() - start

        profile = app.policy.profile_for("digitalSignature")
        issuer = Issuer(ca_cert)
        signer = hsm.signing_key(ca.key_label)
        subject = end_entity_name(None, app.policy.role_hex("supplier"), EUI)
        public_keys = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(min(args.ceiling, 200))]
        start = time.perf_counter()
        for i in range(args.ceiling):
            builder = end_entity_builder(app.policy, profile, issuer, subject, public_keys[i % len(public_keys)],
                                         new_serial(app.policy.serial_octets), app.clock.now())
            builder.sign(signer, hashes.SHA256())
        ceiling = time.perf_counter() - start

        requests = [submit_request(app, ["carol"], ORG, "supplier", "digitalSignature", EUI, None, csr_pem()).id
                    for _ in range(args.issue)]
        start = time.perf_counter()
        for request_id in requests:
            issue_request(app, ["carol"], request_id)
        pipeline = time.perf_counter() - start

        issued = sum(1 for _ in app.store.reader.certificates("end-entity"))
        assert issued == args.issue, f"expected {args.issue} certificates, found {issued}"
        print("s1spki issuance benchmark (SoftHSM2 token, SQLite store, one process)")
        print(f"  raw HSM signatures (ECDSA P-256 on a digest):       {rate(args.signatures, raw)}")
        print(f"  HSM-bound ceiling (profile build + HSM sign):       {rate(args.ceiling, ceiling)}")
        print(f"  full pipeline (every gate, store and audit):        {rate(args.issue, pipeline)}")
        ratio = (args.issue / pipeline) / (args.ceiling / ceiling)
        print(f"  pipeline / ceiling:                                 {ratio:10.3f}")
        per_cert_ms = pipeline / args.issue * 1000
        print(f"  pipeline time per certificate:                      {per_cert_ms:10.2f} ms")
        app.close()


if __name__ == "__main__":
    main()
