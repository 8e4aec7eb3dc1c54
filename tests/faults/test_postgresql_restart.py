"""PostgreSQL stopped under a home and a running EST server, then started again: meanwhile every command, reading
ones too, fails with exit 5 and one line saying the database is unavailable; afterwards commands work again and
the server (whose workers held connections from before) enrols again, with no repair and no restart."""

from __future__ import annotations

from tests.est.conftest import authorise, openssl_csr, start_server, stop_server
from tests.faults.conftest import Cluster, PgHome

PKCS10 = ["-H", "Content-Type: application/pkcs10"]


def _unavailable(result: object, code: int, stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 5, result
    assert len(lines) == 1 and "database unavailable" in lines[0] and "retry" in lines[0], result
    assert "Traceback" not in stderr


def test_postgresql_restarted_under_a_home_and_a_running_server(pg_ca: PgHome, pg_cluster: Cluster) -> None:
    request_id = str(pg_ca.submit_approved())
    authorisation, secret = authorise(pg_ca)
    _, csr = openssl_csr(pg_ca, "after-restart")
    est = start_server(pg_ca, workers=2)
    try:
        assert est.curl("/health")[0] == 200
        pg_cluster.stop()
        try:
            listed = pg_ca.run("cert", "list")
            issued = pg_ca.run("cert", "issue", request_id, "--as", "carol")
            health = est.curl("/health")
        finally:
            pg_cluster.start()
        _unavailable(listed, listed.code, listed.stderr)
        _unavailable(issued, issued.code, issued.stderr)
        assert health[0] == 503, health

        enrolled = est.curl("simpleenroll", "-u", f"{authorisation}:{secret.read_text().strip()}",
                            "--data-binary", f"@{csr}", *PKCS10)
    finally:
        stop_server(est)

    assert enrolled[0] == 200, enrolled
    certificate = pg_ca.ok("--json", "cert", "issue", request_id, "--as", "carol").json()
    assert certificate["request_id"] == int(request_id)
    listed_after = pg_ca.ok("--json", "cert", "list", "--kind", "end-entity").json()
    assert {c["serial"] for c in listed_after} >= {certificate["serial"]} and len(listed_after) == 2
    outcomes = [(r["event"], r["outcome"]) for r in pg_ca.audit()]
    assert ("est.enroll", "ok") in outcomes and ("cert.issue", "ok") in outcomes
    assert pg_ca.ok("audit", "verify").code == 0
