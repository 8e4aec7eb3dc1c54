"""Issuance benchmarks on a real SoftHSM token and SQLite store (run through scripts/bench).

Prints, from one run:
  1. the raw HSM signature rate (sign a SHA-256 digest on the token);
  2. the HSM-bound ceiling: build one end-entity certificate from the profile and sign it in the HSM;
  3. full-pipeline issuance: `issue_request` with every gate on (intake again, registry checks, the
     approvals re-verified, the operator's signed statement, profile, GBCS + pkilint lint, serial
     reservation committed, HSM signature, TBS check and verification, certificate + audit record
     committed);
and the ratio of 3 to 2. Requests are made and submitted before the clock starts.

Then the audit trail's figures (s1spki.audit):
  4. issuance throughput with the audit trail on and off, alternating issuance by issuance in the same run,
     and the ratio (the trail off is this benchmark replacing the store's audit step; no command can reach it);
  5. verification speed over --verify-records real chained records written through the store (copies of
     the run's own issuance records, checkpointed every `[audit] checkpoint_every` as in production):
     the live trail read from SQLite, and a JSON Lines export read from its file.

Then EST (s1spki.est):
  6. first enrolments per second over TLS on 127.0.0.1 against `s1spki est serve` (4 worker processes), with 1 and
     4 concurrent clients, every gate on (the one-time secret's scrypt, intake, registry checks, approvals, lint,
     HSM signature, store and audit record, checkpoint), beside the `cert issue` figure of 3. The enrolment
     authorisations are made and approved before the clock starts.


Then the listings (s1spki/cli, s1spki/store/reader.py): --list-certificates (default 200,000) certificate rows
put in the store in bulk (untimed), then `s1spki cert list` as a table and with --json, each in a process of its
own: the time to the last row and the process's peak memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from s1spki.audit.record import GENESIS_HASH
from s1spki.command import Command, Operators
from s1spki.issuance.profile import CaFacts, end_entity_builder, end_entity_name, new_serial
from s1spki.ra.approvals import decide
from s1spki.ra.cas import issuing_ca
from s1spki.ra.issue import issue_request
from s1spki.ra.requests import submit_request
from s1spki.runtime import RecordKey, Runtime
from s1spki.store.writer import ChangeTx

ORG, EUI, ARO = "Bench Energy Ltd", "90B3D51F30019999", "Ann"


def cli(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "s1spki", "--home", str(home), *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"bench: s1spki {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build_home(base: Path) -> Path:
    """An online home whose issuing CA was certified by a root home of its own, through the ceremony's bundles."""
    home, root = base / "home", base / "root"
    secrets = base / "secrets"
    secrets.mkdir()
    for person in ("alice", "bob", "carol", "dave"):
        (secrets / person).write_text(os.urandom(16).hex())
        cli(home, "operator", "keygen", person, "--passphrase-file", str(secrets / person))
    cred = home / "credentials"
    (root / "credentials").mkdir(parents=True)
    for person in ("alice", "bob"):
        for made in cred.glob(f"{person}.*"):
            shutil.copy2(made, root / "credentials" / made.name)
    custodians = ("--custodian", f"alice={cred / 'alice.pub.pem'}", "--custodian", f"bob={cred / 'bob.pub.pem'}")
    two = ("--as", "alice", "--as", "bob")
    cli(root, "init", "--root", "--softhsm", *custodians)
    cli(root, "ceremony", "root", *two)
    root_cert = json.loads(cli(root, "--json", "cert", "list", "--kind", "root"))[0]
    cli(root, "cert", "export", str(root_cert["id"]), "--out", str(base / "root.pem"))
    cli(home, "init", "--softhsm", "--root-cert", str(base / "root.pem"), "--root-fingerprint",
        root_cert["sha256_fingerprint"], *custodians, "--ra-manager", f"carol={cred / 'carol.pub.pem'}")
    request = json.loads(cli(home, "--json", "ceremony", "issuing", *two, "--out", str(base / "request.json")))
    response = json.loads(cli(root, "--json", "ceremony", "sign-issuing", str(base / "request.json"), "--sha256",
                              request["sha256"], *two, "--out", str(base / "response.json")))
    cli(home, "ceremony", "import-issuing", str(base / "response.json"), "--sha256", response["sha256"], *two)
    cli(home, "operator", "add", "dave", "--role", "ra_officer", "--public-key", str(cred / "dave.pub.pem"),
        "--as", "carol", "--as", "alice")
    cli(home, "org", "register", ORG, "--eui64", EUI, "--role", "supplier", "--as", "carol")
    cli(home, "org", "sro", "add", ORG, "Sam", "--identity-evidence", "ID-1", "--authority-evidence", "BM-1",
        "--as", "dave")
    cli(home, "org", "aro", "add", ORG, ARO, "--nominated-by", "Sam", "--nomination-evidence", "N-1", "--as", "dave")
    for check in ("identity", "screening"):
        cli(home, "org", "aro", "verify", ORG, ARO, "--check", check, "--evidence", "E-1", "--as", "dave")
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
    parser.add_argument("--audit-rounds", type=int, default=2, help="rounds of --issue issuances, audit on and off "
                        "alternating")
    parser.add_argument("--verify-records", type=int, default=200_000)
    parser.add_argument("--est", type=int, default=40, help="enrolments over EST per concurrency level")


    parser.add_argument("--list-certificates", type=int, default=200_000, help="certificates in the store for "
                        "the listing figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="s1spki-bench-") as tmp:
        home = build_home(Path(tmp))
        app = Runtime(home)
        carol, dave = Command(app, Operators(("carol",))), Command(app, Operators(("dave",)))
        hsm = app.hsm()
        ca = issuing_ca(carol, None)
        ca_cert = ca.certificate.certificate()

        digest = hashlib.sha256(b"bench").digest()
        start = time.perf_counter()
        for _ in range(args.signatures):
            hsm.sign_digest(ca.key_label, digest)
        raw = time.perf_counter() - start

        profile = app.policy.profile_for("digitalSignature")
        issuer = CaFacts(ca_cert)
        signer = hsm.signing_key(ca.key_label)
        subject = end_entity_name(None, app.policy.role_hex("supplier"), EUI)
        public_keys = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(min(args.ceiling, 200))]
        start = time.perf_counter()
        for i in range(args.ceiling):
            builder = end_entity_builder(app.policy, profile, issuer, subject, public_keys[i % len(public_keys)],
                                         new_serial(app.policy.serial_octets), app.clock.now())
            builder.sign(signer, hashes.SHA256())
        ceiling = time.perf_counter() - start

        requests = [submit_request(carol, ORG, "supplier", "digitalSignature", EUI, None, csr_pem(), ARO).id
                    for _ in range(args.issue)]
        for request_id in requests:  # dual control: approved by another person, before the clock starts
            decide(dave, request_id, "approve")
        start = time.perf_counter()
        for request_id in requests:
            issue_request(carol, request_id)
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
        est_figures(app, carol, dave, home, args, args.issue / pipeline)
        audit_figures(app, carol, dave, home, args)
        listing_figures(app, home, args.list_certificates)
        app.close()


def audit_figures(app: Runtime, carol: Command, dave: Command, home: Path, args: argparse.Namespace) -> None:
    """Issuance with the audit trail on vs off (same run), and verification speed (s1spki.audit)."""
    from s1spki.audit.offline import verify_export
    from s1spki.audit.record import AuditEvent
    from s1spki.audit.signer import pinned_certificates
    from s1spki.auditor.export import export_trail
    from s1spki.auditor.live import verify_live

    # The trail off is this benchmark's own switch: the store's audit and sealing steps replaced for the issuances
    # measured without them (no command can reach it). The chain stays whole: only those records are not written.
    append_audit, seal_written = ChangeTx.append_audit, ChangeTx.seal_written
    # What record authentication costs inside the issuances with the trail on: time in the HSM's HMACs (records
    # and rows), in sealing rows and in checking seals, measured around those calls in the same run.
    spent = {"authenticators": 0.0, "depth": 0}

    def timed(function):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            begin = time.perf_counter()
            spent["depth"] += 1
            try:
                return function(*args, **kwargs)
            finally:
                spent["depth"] -= 1
                if not spent["depth"]:  # a seal check's own HMAC is counted once, with the check
                    spent["authenticators"] += time.perf_counter() - begin
        return wrapper

    record_key_mac, seal_check = RecordKey.mac, Command.trust
    timing = {True: 0.0, False: 0.0}
    count = {True: 0, False: 0}
    for _ in range(args.audit_rounds):
        requests = [submit_request(carol, ORG, "supplier", "digitalSignature", EUI, None, csr_pem(), ARO).id
                    for _ in range(args.issue)]
        for request_id in requests:
            decide(dave, request_id, "approve")
        for index, request_id in enumerate(requests):  # on and off alternate, so load changes hit both alike
            audited = index % 2 == 0
            if audited:
                RecordKey.mac, Command.trust = timed(record_key_mac), timed(seal_check)  # type: ignore[method-assign]
            else:
                ChangeTx.append_audit = lambda tx, event: (0, GENESIS_HASH)  # type: ignore[method-assign]
                ChangeTx.seal_written = lambda tx, seq: None  # type: ignore[method-assign]
            start = time.perf_counter()
            issue_request(carol, request_id)
            timing[audited] += time.perf_counter() - start
            count[audited] += 1
            ChangeTx.append_audit, ChangeTx.seal_written = append_audit, seal_written  # type: ignore[method-assign]
            RecordKey.mac, Command.trust = record_key_mac, seal_check  # type: ignore[method-assign]
    on, off = count[True] / timing[True], count[False] / timing[False]
    print("audit trail (s1spki.audit)")
    print(f"  issuance, audit trail on:                           {rate(count[True], timing[True])}")
    print(f"  issuance, audit trail off (bench only):             {rate(count[False], timing[False])}")
    print(f"  on / off:                                           {on / off:10.3f}   (target >= 0.90)")
    share, each_ms = spent["authenticators"] / timing[True], spent["authenticators"] / count[True] * 1000
    print(f"  record authentication (HSM HMACs, seals, checks):   {each_ms:10.2f} ms per issuance = {share:.3f} of it"
          "   (target <= 0.10)")

    # Real records to verify: copies of this run's own issuance-path records, appended through the store in
    # transactions of `batch` (the audit-off rounds above skipped their records; the chain itself is whole).
    latest = {r["event"]: r for r in app.store.reader.audit_records() if r["outcome"] == "ok"}
    samples = [AuditEvent(r["event"], r["actor"], r["actor_role"], r["outcome"], r["object_type"], r["object_id"],
                          json.loads(r["details"]), tuple(json.loads(r["statements"])), r["correlation_id"],
                          r["policy_hash"], r["rapp_hash"])
               for r in (latest[e] for e in ("request.submit", "request.approve", "serial.reserve", "cert.issue"))]
    size = sum(len(latest[e.event]["details"]) + len(latest[e.event]["statements"]) + 350 for e in samples) / 4
    opener = AuditEvent("bench.records", "bench", "bench")
    batch = 1000
    start = time.perf_counter()
    for first in range(0, args.verify_records, batch):
        with app.store.change(opener) as tx:
            for i in range(first + 1, min(first + batch, args.verify_records)):
                tx.append_audit(samples[i % len(samples)])
    made = time.perf_counter() - start
    for told in app.finish():
        sys.exit(f"bench: the trail could not be checkpointed: {told}")
    records = app.store.reader.audit_count()
    print(f"  records written through the store:                  {rate(args.verify_records, made)}  "
          f"(~{size:.0f} B each)")

    start = time.perf_counter()
    verdict = verify_live(carol)
    live = time.perf_counter() - start
    assert verdict.ok and verdict.records == records, verdict.problems
    print(f"  verify, live trail (SQLite read + check):           {rate(verdict.records, live)}  (target >= 200000)")

    cli(home, "operator", "keygen", "audrey", "--passphrase-file", str(home.parent / "secrets" / "carol"))
    cli(home, "operator", "add", "audrey", "--role", "auditor", "--public-key",
        str(home / "credentials" / "audrey.pub.pem"), "--as", "alice", "--as", "bob")
    exported = export_trail(Command(app, Operators(("audrey",))), None, None, "jsonl", home.parent / "trail.jsonl")
    cert = pinned_certificates([home / "audit" / "audit-cert.pem"])
    start = time.perf_counter()
    verdict = verify_export(exported.records_file, None, cert)
    offline = time.perf_counter() - start
    assert verdict.ok and verdict.records == exported.body["count"] >= records, verdict.problems
    print(f"  verify, JSON Lines export (file read + check):      {rate(verdict.records, offline)}  (target >= 200000)")



def est_figures(app: Runtime, carol: Command, dave: Command, home: Path, args: argparse.Namespace,
                issue_rate: float) -> None:
    """Enrolments per second over TLS with 1 and 4 concurrent clients (bounded: --est each, 120 s per level)."""
    import base64
    import concurrent.futures
    import http.client
    import signal
    import socket

    from s1spki.est import wire
    from s1spki.est.tls import client_context
    from s1spki.ra.enrolment import authorise_enrolment

    tls = home / "bench-tls"
    tls.mkdir()
    trust, cert, key = _tls_files(tls)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    levels = (1, 4)
    made = {level: [] for level in levels}
    for level in levels:
        for _ in range(args.est):
            record, secret = authorise_enrolment(carol, ORG, ARO, "supplier", "digitalSignature", EUI, None, None)
            decide(dave, record.id, "approve")
            made[level].append((record.id, secret))
    server = subprocess.Popen([sys.executable, "-m", "s1spki", "--home", str(home), "est", "serve", "--listen",
                               f"127.0.0.1:{port}", "--tls-cert", str(cert), "--tls-key", str(key), "--workers", "4"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = client_context(trust)

    def post(path: str, body: bytes | None = None, auth: str | None = None) -> int:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=120)
        headers = {"Content-Type": wire.PKCS10} if body else {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        connection.request("POST" if body else "GET", path, body=body, headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if post("/health") == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            sys.exit("bench: the EST server did not start")
        print("EST over TLS (s1spki est serve, 4 worker processes, 127.0.0.1)")
        for level in levels:
            bodies = [wire.base64_body(x509.load_pem_x509_csr(csr_pem()).public_bytes(serialization.Encoding.DER))
                      for _ in made[level]]
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(level) as pool:
                statuses = list(pool.map(lambda item: post("/.well-known/est/simpleenroll", item[1],
                                                           f"{item[0][0]}:{item[0][1]}"),
                                         zip(made[level], bodies, strict=True), timeout=120))
            took = time.perf_counter() - start
            assert statuses == [200] * len(statuses), statuses
            print(f"  first enrolments, {level} concurrent client(s):      {rate(len(statuses), took)}")
        print(f"  beside `cert issue` (one process, 3. above):        {issue_rate:10.1f}/s")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway TLS CA and server certificate for 127.0.0.1: (trust anchor, certificate, key)."""
    import datetime
    import ipaddress

    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench TLS")])
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    period = {"not_valid_before": now - datetime.timedelta(minutes=5), "not_valid_after": now + datetime.timedelta(1)}
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(period["not_valid_before"])
          .not_valid_after(period["not_valid_after"])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(period["not_valid_before"])
              .not_valid_after(period["not_valid_after"])
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False).sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def timed_listing(home: Path, *args: str) -> tuple[float, int, int]:
    """Run `s1spki --home HOME ARGS` with its output to a file; (seconds, peak memory in MiB, bytes written)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "s1spki", "--home", str(home), *args], stdout=out,
                                 stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"bench: s1spki {' '.join(args)} failed: {child.stderr.read().decode().strip()}")  # type: ignore[union-attr]
        return seconds, usage.ru_maxrss // 1024, out.seek(0, os.SEEK_END)  # ru_maxrss is in KiB on Linux


def listing_figures(app: Runtime, home: Path, count: int) -> None:
    """`cert list` over `count` more certificates (rows inserted in bulk, untimed), table and --json."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_crl import ISSUING, insert_certificates

    insert_certificates(app, ISSUING, count, revoked=False)
    total = sum(1 for _ in app.store.reader.iter_certificates())
    print(f"listings (cert list over {total} certificates, one process each, output to a file)")
    for label, args in (("table", ("cert", "list")), ("--json", ("--json", "cert", "list")),
                        ("--limit 20 --status valid", ("cert", "list", "--limit", "20", "--status", "valid"))):
        seconds, peak, size = timed_listing(home, *args)
        print(f"  cert list, {label + ':':<36}{seconds:8.2f} s, peak {peak} MiB, {size / 2**20:.1f} MiB written")


if __name__ == "__main__":
    main()
