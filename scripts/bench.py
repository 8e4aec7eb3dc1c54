"""Issuance benchmarks on a real SoftHSM token and SQLite store (run through scripts/bench).

Prints, from one run:
  1. the raw HSM signature rate (sign a SHA-256 digest on the token);
  2. the HSM-bound ceiling: build one end-entity certificate from the profile and sign it in the HSM;
  3. full-pipeline issuance: `issue_request` with every gate on (intake again, registry checks, the
     approvals re-verified, the operator's signed statement, profile, GBCS + pkilint lint, serial
     reservation committed, HSM signature, TBS check and verification, certificate + audit record
     committed);
and the ratio of 3 to 2. Requests are made and submitted before the clock starts, and each process issues one
certificate before its clock starts: the first issuance in a process imports pkilint and builds its validators
(printed apart, as "first issuance in a process"), once per process as the irreducible work's pkilint
validators are built once.

Then the audit trail's figures (s1spki.audit):
  4. issuance throughput with the audit trail on and off, alternating issuance by issuance in the same run,
     and the ratio (the trail off is this benchmark replacing the store's audit step; no command can reach it);
  5. verification speed over --verify-records real chained records written through the store (copies of
     the run's own issuance records, checkpointed every `[audit] checkpoint_every` as in production):
     the live trail read from SQLite, and a JSON Lines export read from its file.

Then the yardsticks and the rest of issue 13's figures:
  irreducible work per certificate: the HSM-bound ceiling's build + sign (2.) plus pkilint's lint of the
     certificates issued in 3. (validators reused, as issuance reuses them); the pipeline over it;
  two worker processes issuing at once (each its own runtime and HSM session) over one worker process started
     the same way, in alternating rounds (one, two, one, two);
  `openssl ca` one process per CSR, with a CA made by the bench as close to the profile as openssl allows
     (scripts/bench_openssl.py); the CRL figures with `openssl ca -gencrl` over the same serials
     (scripts/bench_crl.py); command start-up (`s1spki --help`, `s1spki cert show`, best of five);
  several nodes (scripts/bench_nodes.py): issuance by one node on SQLite, one on PostgreSQL and two on one
     PostgreSQL database at once, in a private cluster the script starts (nodes_sqlite_1_per_s,
     nodes_pg_1_per_s, nodes_pg_2_per_s).

  --json prints one JSON document on stdout (the text goes to stderr); --quick runs the same figures at
  smaller sizes (a few minutes on two cores).

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
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

sys.path.insert(0, str(Path(__file__).parent))  # the other benchmark scripts beside this one
from bench_home import ARO, EUI, ORG, build_home, cli  # noqa: E402

SCRIPTS = Path(__file__).resolve().parent
FIGURES: dict[str, Any] = {}  # what --json prints
QUICK = {"signatures": 500, "ceiling": 300, "issue": 100, "two_processes": 100, "audit_rounds": 1,
         "verify_records": 30_000, "est": 8, "openssl": 40, "crl_revoked": 100_000,
         "list_certificates": 20_000}
FULL = {"signatures": 5000, "ceiling": 2000, "issue": 300, "two_processes": 300, "audit_rounds": 2,
        "verify_records": 200_000, "est": 40, "openssl": 200, "crl_revoked": 1_000_000,
        "list_certificates": 200_000}
TWO_PROCESS_ROUNDS = 2
_OUT = [sys.stdout]


def say(line: str) -> None:
    """A line of the text report (on stderr with --json, so that stdout is the one JSON document)."""
    print(line, file=_OUT[0], flush=True)


def csr_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM)


def approved(carol: Command, dave: Command, count: int) -> list[int]:
    """`count` requests submitted by carol and approved by dave (dual control), before any clock starts."""
    requests = [submit_request(carol, ORG, "supplier", "digitalSignature", EUI, None, csr_pem(), ARO).id
                for _ in range(count)]
    for request_id in requests:
        decide(dave, request_id, "approve")
    return requests


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10.1f}/s  ({count} in {seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures on stdout")
    parser.add_argument("--quick", action="store_true", help="the same figures at smaller sizes")
    parser.add_argument("--signatures", type=int)
    parser.add_argument("--ceiling", type=int)
    parser.add_argument("--issue", type=int)
    parser.add_argument("--two-processes", type=int,
                        help="certificates issued by two worker processes together (and as many by one), each round")
    parser.add_argument("--audit-rounds", type=int, help="rounds of --issue issuances, audit on and off "
                        "alternating")
    parser.add_argument("--verify-records", type=int)
    parser.add_argument("--est", type=int, help="enrolments over EST per concurrency level")
    parser.add_argument("--openssl", type=int, help="CSRs given to `openssl ca`, one process each")
    parser.add_argument("--crl-revoked", type=int, help="revoked certificates on the CRL (scripts/bench_crl.py)")
    parser.add_argument("--no-crl", action="store_true", help="leave out the CRL figures")
    parser.add_argument("--no-nodes", action="store_true", help="leave out the several-nodes figures "
                        "(scripts/bench_nodes.py: SQLite and PostgreSQL, one and two nodes)")
    parser.add_argument("--list-certificates", type=int, help="certificates in the store for the listing figures")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.json:
        _OUT[0] = sys.stderr
    FIGURES.update(quick=args.quick)

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

        first, *requests = approved(carol, dave, 1 + args.issue)
        start = time.perf_counter()
        issue_request(carol, first)
        first_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        for request_id in requests:
            issue_request(carol, request_id)
        pipeline = time.perf_counter() - start

        issued = [c.der for c in app.store.reader.certificates("end-entity")]
        assert len(issued) == 1 + args.issue, f"expected {1 + args.issue} certificates, found {len(issued)}"
        pkilint_s = pkilint_seconds(issued)
        say("s1spki issuance benchmark (SoftHSM2 token, SQLite store, one process)")
        say(f"  raw HSM signatures (ECDSA P-256 on a digest):       {rate(args.signatures, raw)}")
        say(f"  HSM-bound ceiling (profile build + HSM sign):       {rate(args.ceiling, ceiling)}")
        say(f"  first issuance in a process (pkilint imported):     {first_ms:10.1f} ms")
        say(f"  full pipeline (every gate, store and audit):        {rate(args.issue, pipeline)}")
        ratio = (args.issue / pipeline) / (args.ceiling / ceiling)
        say(f"  pipeline / ceiling:                                 {ratio:10.3f}")
        per_cert_ms = pipeline / args.issue * 1000
        say(f"  pipeline time per certificate:                      {per_cert_ms:10.2f} ms")
        ceiling_ms, pkilint_ms = ceiling / args.ceiling * 1000, pkilint_s / len(issued) * 1000
        irreducible_ms = ceiling_ms + pkilint_ms
        say(f"  irreducible work per certificate:                   {irreducible_ms:10.2f} ms  (build + HSM sign "
            f"{ceiling_ms:.2f}, pkilint {pkilint_ms:.2f})")
        say(f"  pipeline / irreducible work:                        {per_cert_ms / irreducible_ms:10.3f}   "
            "(target <= 1.5)")
        FIGURES.update(raw_signatures_per_s=args.signatures / raw, ceiling_per_s=args.ceiling / ceiling,
                       ceiling_ms=ceiling_ms, pkilint_ms=pkilint_ms, irreducible_ms=irreducible_ms, first_ms=first_ms,
                       pipeline_ms=per_cert_ms, pipeline_per_s=args.issue / pipeline, pipeline_over_ceiling=ratio,
                       pipeline_over_irreducible=per_cert_ms / irreducible_ms)
        two_process_figures(app, carol, dave, home, args)
        batch_figures(app, carol, dave, args)
        openssl_figures(home.parent, args)
        startup_figures(home)
        est_figures(app, carol, dave, home, args, args.issue / pipeline)
        audit_figures(app, carol, dave, home, args)
        listing_figures(app, home, args.list_certificates)
        app.close()
    if not args.no_crl:
        crl_figures(args)
    if not args.no_nodes:
        nodes_figures(args)
    if args.json:
        print(json.dumps(FIGURES, indent=2, sort_keys=True))


def pkilint_seconds(certificates: list[bytes]) -> float:
    """pkilint's lint of each certificate, its validators built before the clock starts (as issuance reuses them)."""
    from s1spki.lint import pkilint_adapter

    pkilint_adapter.lint_certificate(certificates[0])
    start = time.perf_counter()
    for der in certificates:
        pkilint_adapter.lint_certificate(der)
    return time.perf_counter() - start


def _issue_worker(home: str, request_ids: list[int], ready: Any, go: Any, done: Any) -> None:
    """One worker process: its own runtime, HSM session and store connection; its first request is issued before
    it says it is ready (pkilint imported, as in the in-process figure)."""
    app = Runtime(Path(home))
    carol = Command(app, Operators(("carol",)))
    app.operator_key("carol")
    issuing_ca(carol, None)
    app.hsm()
    first, *request_ids = request_ids
    issue_request(carol, first)
    ready.put(os.getpid())
    go.wait()
    start = time.perf_counter()
    for request_id in request_ids:
        issue_request(carol, request_id)
    done.put(time.perf_counter() - start)
    for told in app.finish():
        print(f"bench: worker: {told}", file=sys.stderr)
    app.close()


def two_process_figures(app: Runtime, carol: Command, dave: Command, home: Path, args: argparse.Namespace) -> None:
    """Two worker processes issuing approved requests at once, over one worker process started the same way (its
    own runtime, HSM session and store connection) issuing as many on its own, in the same run: one, two, one, two,
    each figure from its rounds' totals, so that a machine whose speed drifts during the run weighs on both alike."""
    count, rounds = args.two_processes, TWO_PROCESS_ROUNDS
    requests = approved(carol, dave, rounds * (2 * count + 3))  # and each worker's first, issued before the clock
    for told in app.finish():
        sys.exit(f"bench: the trail could not be checkpointed: {told}")
    took = {1: 0.0, 2: 0.0}
    for round_ in range(rounds):
        mine = requests[round_ * (2 * count + 3):(round_ + 1) * (2 * count + 3)]
        took[1] += _workers_took(home, mine[:count + 1], 1)
        took[2] += _workers_took(home, mine[count + 1:], 2)
    one, two = rounds * count / took[1], rounds * count / took[2]  # as many certificates each way
    FIGURES.update(pipeline_1proc_per_s=one, pipeline_2proc_per_s=two, two_over_one=two / one)
    say(f"  full pipeline, one worker process:                  {one:10.1f}/s  ({rounds} rounds)")
    say(f"  full pipeline, two worker processes:                {two:10.1f}/s  ({rounds} rounds)")
    say(f"  two processes / one:                                {FIGURES['two_over_one']:10.3f}   (target >= 1.7)")


def _workers_took(home: Path, requests: list[int], count: int) -> float:
    """Seconds `count` worker processes sharing `requests` take to issue them, from the moment all are ready (each
    has issued its first request by then, untimed)."""
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    workers = [context.Process(target=_issue_worker, args=(str(home), requests[i::count], ready, go, done))
               for i in range(count)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    start = time.perf_counter()
    go.set()
    for _ in workers:
        done.get(timeout=1800)
    took = time.perf_counter() - start
    for worker in workers:
        worker.join(timeout=60)
    return took


def batch_figures(app: Runtime, carol: Command, dave: Command, args: argparse.Namespace) -> None:
    """`cert issue --all-approved` (ra.issue.issue_all_approved) over --issue approved requests, one process."""
    from s1spki.cli.cert import BATCH_SIZE
    from s1spki.ra.batch import issue_all_approved

    requests = approved(carol, dave, args.issue)
    start = time.perf_counter()
    outcome = issue_all_approved(carol, None, BATCH_SIZE)
    took = time.perf_counter() - start
    assert len(outcome.issued) == len(requests) and not outcome.refused, outcome.refused
    batch_ms = took / len(requests) * 1000
    FIGURES.update(batch_per_s=len(requests) / took, batch_ms=batch_ms,
                   batch_over_irreducible=batch_ms / FIGURES["irreducible_ms"])
    say(f"{f'  `cert issue --all-approved` (batches of {BATCH_SIZE}):':54}{rate(len(requests), took)}")
    say(f"  batch / irreducible work:                           {FIGURES['batch_over_irreducible']:10.3f}")


def openssl_figures(base: Path, args: argparse.Namespace) -> None:
    sys.path.insert(0, str(SCRIPTS))
    from bench_openssl import ca_per_s

    per_s = ca_per_s(base / "openssl-ca", args.openssl)
    FIGURES.update(openssl_ca_per_s=per_s, pipeline_over_openssl_ca=FIGURES["pipeline_per_s"] / per_s)
    say(f"  `openssl ca`, one process per CSR:                  {per_s:10.1f}/s  ({args.openssl} CSRs)")
    say(f"  pipeline / `openssl ca`:                            {FIGURES['pipeline_over_openssl_ca']:10.3f}   "
        "(target >= 3.5)")


def startup_figures(home: Path) -> None:
    """Wall time of a command's start on a warm cache: the best of five runs of each."""
    def best(*command: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "s1spki", *command], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        return min(times)

    first = next(iter(Runtime(home).store.reader.certificates("end-entity")))
    help_s, show_s = best("--help"), best("--home", str(home), "cert", "show", str(first.id))
    FIGURES.update(startup_help_s=help_s, startup_show_s=show_s, startup_s=max(help_s, show_s))
    say(f"  start-up, `s1spki --help`:                          {help_s:10.3f} s  (target <= 0.5)")
    say(f"  start-up, `s1spki cert show`:                       {show_s:10.3f} s  (target <= 0.5)")


def nodes_figures(args: argparse.Namespace) -> None:
    """scripts/bench_nodes.py in a process of its own: one node on SQLite, one and two on PostgreSQL (a private
    cluster it starts), the same run."""
    child = subprocess.run([sys.executable, str(SCRIPTS / "bench_nodes.py"), "--json",
                            *(["--quick"] if args.quick else [])], capture_output=True, text=True)
    if child.returncode != 0:
        sys.exit(f"bench: scripts/bench_nodes.py failed: {child.stderr.strip()[-2000:]}")
    _OUT[0].write(child.stderr)
    FIGURES.update(json.loads(child.stdout))


def crl_figures(args: argparse.Namespace) -> None:
    """scripts/bench_crl.py in a process of its own (its peak memory is the CRL's), with `openssl ca -gencrl`."""
    child = subprocess.run([sys.executable, str(SCRIPTS / "bench_crl.py"), "--revoked", str(args.crl_revoked),
                            "--json"], capture_output=True, text=True)
    if child.returncode != 0:
        sys.exit(f"bench: scripts/bench_crl.py failed: {child.stderr.strip()[-2000:]}")
    _OUT[0].write(child.stderr)
    figures = json.loads(child.stdout)
    scale = 1_000_000 / figures["entries"]  # --quick measures fewer entries: scaled, and says so
    FIGURES.update(crl_entries=figures["entries"], crl_s=figures["crl_s"], openssl_crl_s=figures["openssl_crl_s"],
                   crl_1m_s=figures["crl_s"] * scale, openssl_crl_1m_s=figures["openssl_crl_s"] * scale,
                   crl_over_openssl=figures["crl_s"] / figures["openssl_crl_s"], crl_peak_mib=figures["peak_mib"],
                   crl_entries_linted=figures["entries_linted"], crl_scaled=scale != 1)


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
        requests = approved(carol, dave, args.issue)
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
    say("audit trail (s1spki.audit)")
    say(f"  issuance, audit trail on:                           {rate(count[True], timing[True])}")
    say(f"  issuance, audit trail off (bench only):             {rate(count[False], timing[False])}")
    say(f"  on / off:                                           {on / off:10.3f}   (target >= 0.90)")
    FIGURES.update(audit_on_per_s=on, audit_off_per_s=off, audit_on_over_off=on / off)
    share, each_ms = spent["authenticators"] / timing[True], spent["authenticators"] / count[True] * 1000
    say(f"  record authentication (HSM HMACs, seals, checks):   {each_ms:10.2f} ms per issuance = {share:.3f} of it"
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
    say(f"  records written through the store:                  {rate(args.verify_records, made)}  "
          f"(~{size:.0f} B each)")

    start = time.perf_counter()
    verdict = verify_live(carol)
    live = time.perf_counter() - start
    assert verdict.ok and verdict.records == records, verdict.problems
    say(f"  verify, live trail (SQLite read + check):           {rate(verdict.records, live)}  (target >= 200000)")
    FIGURES.update(audit_verify_live_per_s=verdict.records / live, audit_records=verdict.records)

    cli(home, "operator", "keygen", "audrey", "--passphrase-file", str(home.parent / "secrets" / "carol"))
    cli(home, "operator", "add", "audrey", "--role", "auditor", "--public-key",
        str(home / "credentials" / "audrey.pub.pem"), "--as", "alice", "--as", "bob")
    exported = export_trail(Command(app, Operators(("audrey",))), None, None, "jsonl", home.parent / "trail.jsonl")
    cert = pinned_certificates([home / "audit" / "audit-cert.pem"])
    start = time.perf_counter()
    verdict = verify_export(exported.records_file, None, cert)
    offline = time.perf_counter() - start
    assert verdict.ok and verdict.records == exported.body["count"] >= records, verdict.problems
    say(f"  verify, JSON Lines export (file read + check):      {rate(verdict.records, offline)}  (target >= 200000)")
    FIGURES.update(audit_verify_export_per_s=verdict.records / offline)



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
                              stdout=subprocess.DEVNULL, stderr=(tls / "server.log").open("wb"))
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
            sys.exit("bench: the EST server did not start: " + (tls / "server.log").read_text()[-2000:])
        say("EST over TLS (s1spki est serve, 4 worker processes, 127.0.0.1)")
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
            say(f"  first enrolments, {level} concurrent client(s):      {rate(len(statuses), took)}")
            FIGURES[f"est_{level}_clients_per_s"] = len(statuses) / took
        say(f"  beside `cert issue` (one process, 3. above):        {issue_rate:10.1f}/s")
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
    # the server's own subject: one equal to its issuer's reads as self-issued, and no client chains it
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    server = (x509.CertificateBuilder().subject_name(server_name).issuer_name(name).public_key(key.public_key())
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
    from bench_crl import ISSUING, insert_certificates

    insert_certificates(app, ISSUING, count, revoked=False)
    total = sum(1 for _ in app.store.reader.iter_certificates())
    say(f"listings (cert list over {total} certificates, one process each, output to a file)")
    for key, label, args in (("table", "table", ("cert", "list")), ("json", "--json", ("--json", "cert", "list")),
                             ("limited", "--limit 20 --status valid",
                              ("cert", "list", "--limit", "20", "--status", "valid"))):
        seconds, peak, size = timed_listing(home, *args)
        say(f"  cert list, {label + ':':<36}{seconds:8.2f} s, peak {peak} MiB, {size / 2**20:.1f} MiB written")
        FIGURES.update({f"list_{key}_s": seconds, f"list_{key}_peak_mib": peak})
    FIGURES.update(list_certificates=total)


if __name__ == "__main__":
    main()
