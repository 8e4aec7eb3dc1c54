"""Issuance throughput with several CA nodes (run by scripts/bench.py; alone: python scripts/bench_nodes.py).

In one run, on one machine: full-pipeline issuance (every gate on, as `cert issue`) by
  - one node on SQLite (the embedded default),
  - one node on PostgreSQL,
  - two nodes on one PostgreSQL database and one SoftHSM token directory, a worker process per node, at once.
PostgreSQL is a private cluster this script starts in a temporary folder (initdb, a unix socket, no TCP port, no
system service; tests/support/pgcluster.py) and stops at the end. Requests are submitted and approved before the
clock starts; each worker opens its runtime, HSM session and credentials before it too.

  --json prints one JSON document on stdout (nodes_sqlite_1_per_s, nodes_pg_1_per_s, nodes_pg_2_per_s,
  nodes_pg_2_over_1); the text goes to stderr. --quick measures fewer certificates.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmark scripts beside this one
sys.path.insert(1, str(REPO))  # tests.support.pgcluster: the private cluster the test scripts start too
from bench_home import ARO, EUI, ORG, build_home, cli  # noqa: E402

from tests.support import pgcluster  # noqa: E402

QUICK, FULL = 40, 300  # certificates per measurement
_OUT = [sys.stdout]


def say(line: str) -> None:
    print(line, file=_OUT[0], flush=True)


def _csr() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")]))
            .sign(key, hashes.SHA256())).public_bytes(serialization.Encoding.PEM)


def approved(home: Path, count: int) -> list[int]:
    """`count` requests submitted by carol and approved by dave (untimed set-up)."""
    from s1spki.command import Command, Operators
    from s1spki.ra.approvals import decide
    from s1spki.ra.requests import submit_request
    from s1spki.runtime import Runtime

    app = Runtime(home)
    carol, dave = Command(app, Operators(("carol",))), Command(app, Operators(("dave",)))
    ids = [submit_request(carol, ORG, "supplier", "digitalSignature", EUI, None, _csr(), ARO).id for _ in range(count)]
    for request_id in ids:
        decide(dave, request_id, "approve")
    for told in app.finish():
        if not isinstance(told, str):
            sys.exit(f"bench: the trail could not be checkpointed: {told}")
    app.close()
    return ids


def _worker(home: str, request_ids: list[int], ready: Any, go: Any, done: Any) -> None:
    """One node's worker process: its own runtime, HSM session and database connection, opened before the clock."""
    from s1spki.command import Command, Operators
    from s1spki.ra.cas import issuing_ca
    from s1spki.ra.issue import issue_request
    from s1spki.runtime import Runtime

    app = Runtime(Path(home))
    carol = Command(app, Operators(("carol",)))
    app.operator_key("carol")
    issuing_ca(carol, None)
    app.hsm()
    ready.put(os.getpid())
    go.wait()
    start = time.perf_counter()
    for request_id in request_ids:
        issue_request(carol, request_id)
    took = time.perf_counter() - start
    for told in app.finish():
        print(f"bench: worker: {told}", file=sys.stderr)
    app.close()
    done.put(took)


def issue_at_once(homes: list[Path], request_ids: list[int]) -> float:
    """Issue the requests, split between one worker per home, all started together; the wall-clock seconds."""
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    workers = [context.Process(target=_worker, args=(str(home), request_ids[i::len(homes)], ready, go, done))
               for i, home in enumerate(homes)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    start = time.perf_counter()
    go.set()
    for _ in workers:
        done.get(timeout=3600)
    took = time.perf_counter() - start
    for worker in workers:
        worker.join(timeout=60)
        if worker.exitcode != 0:
            sys.exit(f"bench: a worker exited with {worker.exitcode}")
    return took


def _database(server: str, base: Path) -> Path:
    """A database of its own in the cluster, its URL kept in a 0600 file (as an operator would keep a password)."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    path = base / "database.url"
    path.write_text(sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False) + "\n")
    path.chmod(0o600)
    return path


def join(first: Path, second: Path, url_file: Path) -> None:
    cli(second, "init", "--join", "--database-url-file", str(url_file), "--softhsm-token-dir",
        str(first / "softhsm" / "tokens"), "--pin-file", str(first / "secrets" / "hsm-user.pin"), "--audit-pin-file",
        str(first / "secrets" / "audit-user.pin"), "--credentials", str(first / "credentials"),
        "--as", "alice", "--as", "bob")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures on stdout")
    parser.add_argument("--quick", action="store_true", help="fewer certificates")
    parser.add_argument("--issue", type=int, help="certificates per measurement")
    args = parser.parse_args()
    count = args.issue or (QUICK if args.quick else FULL)
    if args.json:
        _OUT[0] = sys.stderr
    figures: dict[str, Any] = {"nodes_issue": count}
    # the cluster's folder of its own, not under the homes' private folder: as root, the server runs as the
    # postgres account (tests/support/pgcluster.py), which must reach it
    cluster = Path(tempfile.mkdtemp(prefix="s1spki-bench-pg-"))
    with tempfile.TemporaryDirectory(prefix="s1spki-bench-nodes-") as tmp:
        base = Path(tmp)
        server = pgcluster.start(cluster)
        try:
            (base / "sqlite").mkdir()
            sqlite_home = build_home(base / "sqlite")
            took = issue_at_once([sqlite_home], approved(sqlite_home, count))
            figures["nodes_sqlite_1_per_s"] = count / took

            (base / "pg-home").mkdir()
            url_file = _database(server, base / "pg-home")
            first = build_home(base / "pg-home", ("--database-url-file", str(url_file)))
            second = base / "pg-home" / "node2"
            join(first, second, url_file)
            took = issue_at_once([first], approved(first, count))
            figures["nodes_pg_1_per_s"] = count / took
            took = issue_at_once([first, second], approved(first, count))
            figures["nodes_pg_2_per_s"] = count / took
        finally:
            pgcluster.stop(cluster)
            shutil.rmtree(cluster, ignore_errors=True)
    figures["nodes_pg_2_over_1"] = figures["nodes_pg_2_per_s"] / figures["nodes_pg_1_per_s"]
    say("several nodes (full pipeline, one SoftHSM token directory; PostgreSQL: a private cluster, fsync off)")
    say(f"  one node, SQLite:                                   {figures['nodes_sqlite_1_per_s']:10.1f}/s")
    say(f"  one node, PostgreSQL:                               {figures['nodes_pg_1_per_s']:10.1f}/s")
    say(f"  two nodes at once, one PostgreSQL database:         {figures['nodes_pg_2_per_s']:10.1f}/s")
    say(f"  two nodes / one (PostgreSQL):                       {figures['nodes_pg_2_over_1']:10.3f}")
    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
