"""CRL benchmark at scale on a real SoftHSM token and SQLite store (run through scripts/bench).

Untimed set-up: a CA home as scripts/bench.py makes one, then --revoked (default 1,000,000) revoked end-entity
certificates of the issuing CA inserted into the store in bulk: real rows in `certificates` and `revocations`,
each with its CRL entry made by s1spki.issuance.crl.entry_der, the certificate bytes a short placeholder (the CRL
never reads them). Then, in a fresh process so that its peak memory is the CRL's alone, prints:
  1. build + lint + HSM-sign of the issuing CA's CRL from the store (the lint sees a lint form: s1spki/crl.py);
  2. the whole issuance as `crl issue` runs it (number reserved, built, linted, signed, stored with its audit
     record), and the size of the CRL;
  3. one more revocation apart from the CRL build (checks, operator's signed statement, status + revocation +
     audit record committed), the median of --revocations;
  4. the process's peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from s1spki.command import Command, Operators
from s1spki.issuance.crl import entry_der, sign
from s1spki.issuance.profile import new_serial, serial_hex
from s1spki.ra.cas import open_issuer
from s1spki.ra.crl import build_crl, issue
from s1spki.ra.revocation import record_revocation
from s1spki.runtime import Runtime
from s1spki.store import schema as t
from s1spki.values.clock import iso

ISSUING = "S1SPKI Issuing CA 1"
PLACEHOLDER_DER = b"bench: a revoked certificate's row; the CRL never reads its bytes"
CHUNK = 20_000


def insert_certificates(app: Runtime, issuer_cn: str, count: int, revoked: bool) -> list[str]:
    """Insert `count` end-entity certificate rows of `issuer_cn` directly (SQLite: ids assigned here), revoked
    with their CRL entries when `revoked`; returns their serials. Revocation times rise one second per row."""
    policy = app.policy
    reasons = policy.revocation_reasons
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=count + 60)
    serials: list[str] = []
    with app.store.engine.begin() as conn:
        next_id = int(conn.execute(sa.select(sa.func.max(t.certificates.c.id))).scalar() or 0) + 1
        next_revocation = int(conn.execute(sa.select(sa.func.max(t.revocations.c.id))).scalar() or 0) + 1
        for offset in range(0, count, CHUNK):
            certificates, revocations = [], []
            for i in range(offset, min(count, offset + CHUNK)):
                serial = serial_hex(new_serial(policy.serial_octets))
                digest = hashlib.sha256(f"{issuer_cn}/{serial}".encode()).hexdigest()
                certificates.append({
                    "id": next_id, "kind": "end-entity", "issuer_cn": issuer_cn, "serial": serial,
                    "key_sha256": digest, "fingerprint": hashlib.sha256(digest.encode()).hexdigest(),
                    "not_before": "2026-01-01T00:00:00Z", "not_after": "2035-12-31T23:59:59Z",
                    "der": PLACEHOLDER_DER, "policy_hash": policy.hash, "issued_at": iso(start),
                    "status": "revoked" if revoked else "valid"})
                if revoked:
                    reason = reasons[i % len(reasons)]
                    at = start + timedelta(seconds=i)
                    revocations.append({
                        "id": next_revocation, "certificate_id": next_id, "issuer_cn": issuer_cn, "serial": serial,
                        "reason": reason, "revoked_at": iso(at), "requested_by": "ra", "revoked_by": "bench",
                        "entry_der": entry_der(int(serial, 16), at, policy.reason_code(reason))})
                    next_revocation += 1
                serials.append(serial)
                next_id += 1
            conn.execute(t.certificates.insert(), certificates)
            if revocations:
                conn.execute(t.revocations.insert(), revocations)
                conn.execute(t.revocation_counts.update().where(t.revocation_counts.c.ca == issuer_cn)
                             .values(revoked=t.revocation_counts.c.revoked + len(revocations)))  # as a revocation does
    return serials


def measure(home: Path, valid: list[str]) -> dict[str, float]:
    """The timed part, in its own process; `valid` are serials to revoke one by one."""
    app = Runtime(home)
    cmd = Command(app, Operators(("carol",)))
    ca = app.store.reader.ca(ISSUING)
    assert ca is not None
    issuer = open_issuer(cmd, ca)
    app.operator_key("carol")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    built = build_crl(cmd, ca, issuer, app.store.reader.last_crl_number(ISSUING) + 1)
    built_at = time.perf_counter()
    sign(built)
    signed_at = time.perf_counter()
    entries, linted = built.entries, built.entries_linted
    del built

    start_issue = time.perf_counter()
    record = issue(cmd, ca, issuer, cmd.event("crl.issue", "crl", ISSUING, actor="carol", actor_role="ra_manager",
                                              cause="bench"))
    issued_at = time.perf_counter()

    timings = []
    for serial in valid:
        begin = time.perf_counter()
        record_revocation(cmd, serial, ISSUING, "keyCompromise")
        timings.append(time.perf_counter() - begin)
    return {"entries": entries, "entries_linted": linted, "build_lint_s": built_at - start,
            "sign_s": signed_at - built_at, "issue_s": issued_at - start_issue,
            "crl_mib": len(app.store.reader.crl(ISSUING).der or b"") / 2**20, "crl_number": record.number,
            "revoke_first_ms": timings[0] * 1000, "revoke_median_ms": statistics.median(timings[1:]) * 1000,
            "revocations": len(timings), "baseline_mib": baseline,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revoked", type=int, default=1_000_000)
    parser.add_argument("--revocations", type=int, default=21)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document on stdout "
                        "(the text on stderr), with `openssl ca -gencrl` over the same serials")
    parser.add_argument("--measure", type=Path, nargs=2, help=argparse.SUPPRESS)  # the child's side: HOME SERIALS
    args = parser.parse_args()
    if args.measure:
        home, serials = args.measure
        print(json.dumps(measure(home, json.loads(serials.read_text()))))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_home import build_home

    with tempfile.TemporaryDirectory(prefix="s1spki-bench-crl-") as tmp:
        home = build_home(Path(tmp))
        app = Runtime(home)
        begin = time.perf_counter()
        revoked = insert_certificates(app, ISSUING, args.revoked, revoked=True)
        valid = Path(tmp) / "valid.json"
        valid.write_text(json.dumps(insert_certificates(app, ISSUING, args.revocations, revoked=False)))
        app.close()
        setup = time.perf_counter() - begin
        child = subprocess.run([sys.executable, __file__, "--measure", str(home), str(valid)], capture_output=True,
                               text=True)
        if child.returncode != 0:
            sys.exit(f"bench_crl: the measuring process failed: {child.stderr.strip()[-2000:]}")
        m = json.loads(child.stdout)
        out = sys.stderr if args.json else sys.stdout
        if args.json:
            from bench_openssl import gencrl_seconds

            m["openssl_crl_s"] = gencrl_seconds(Path(tmp) / "openssl-crl", revoked, datetime.now(UTC))
        del revoked
        m["crl_s"] = m["build_lint_s"] + m["sign_s"]
        print(f"s1spki CRL benchmark (SoftHSM2 token, SQLite store; {m['entries']:,} revoked certificates inserted "
              f"in {setup:.0f} s, untimed)", file=out)
        print(f"  build + lint + HSM-sign the CRL:                    {m['build_lint_s'] + m['sign_s']:8.2f} s "
              f"(build and lint {m['build_lint_s']:.2f} s, sign {m['sign_s']:.2f} s; lint form: "
              f"{m['entries_linted']:,} of {m['entries']:,} entries)", file=out)
        print(f"  whole issuance (reserve, build, lint, sign, store): {m['issue_s']:8.2f} s "
              f"(CRL {m['crl_number']}, {m['crl_mib']:.1f} MiB)", file=out)
        print(f"  one more revocation, apart from the CRL build:      {m['revoke_median_ms']:8.2f} ms "
              f"(median of {m['revocations'] - 1}; the first {m['revoke_first_ms']:.1f} ms)", file=out)
        if args.json:
            print(f"  `openssl ca -gencrl` over the same serials:         {m['openssl_crl_s']:8.2f} s", file=out)
        print(f"  peak memory of the measuring process:               {m['peak_mib']:8.0f} MiB "
              f"({m['baseline_mib']:.0f} MiB before the CRL)", file=out)
        if args.json:
            print(json.dumps(m))


if __name__ == "__main__":
    main()
