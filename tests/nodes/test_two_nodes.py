"""Two online nodes on one PostgreSQL store and one HSM: joining under dual control, issuing, revoking, issuing
CRLs and enrolling over EST from both at once, and one audit trail that verifies on either node across both
nodes' checkpoint files."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.audit.manifest import manifest_path
from s1spki.command import Command, Operators
from s1spki.ra.approvals import decide
from s1spki.ra.requests import submit_request
from s1spki.runtime import Runtime
from tests.conftest import ACME, ACME_ARO, ACME_EUI, REPO, CaHome, Result, make_csr, s1spki_argv
from tests.est.conftest import EstServer, authorise, make_tls_files, stop_server, wait_healthy
from tests.nodes.conftest import PASSWORD, Nodes, join_args

CERTIFICATES = 200  # 100 through each node


def _one_line(result: Result, code: int, words: str) -> None:
    assert result.code == code, str(result)
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, str(result)
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr + result.stdout


def test_a_node_joins_under_two_custodians_with_its_own_settings(nodes: Nodes, tmp_path: Path) -> None:
    one, two = nodes.one, nodes.two
    config = (two.home / "s1spki.toml").read_text()
    settings = tomllib.loads(config)
    # per-node settings in its own s1spki.toml; no password in it, the URL's file named instead
    assert PASSWORD not in config and PASSWORD not in (one.home / "s1spki.toml").read_text()
    assert settings["node"] == {"id": "node-2"}
    assert settings["database"] == {"url_file": str(nodes.url_file)}
    assert settings["audit"]["checkpoints_file"] == "audit/checkpoints.jsonl"
    assert settings["est"]["listen"].startswith("127.0.0.1:")
    conf = (two.home / "softhsm" / "softhsm2.conf").read_text()
    assert f"directories.tokendir = {one.home / 'softhsm' / 'tokens'}" in conf
    # shared settings in the database: both nodes and their checkpoint files, the join audited with both custodians
    assert sorted(nodes.psql("select node_id, checkpoints_file from nodes")) == [
        ("", str(one.home / "audit" / "checkpoints.jsonl")), ("node-2", str(two.home / "audit" / "checkpoints.jsonl"))]
    joined = nodes.psql("select actor, node_id, outcome from audit where event = 'node.join'")
    assert joined == [("alice+bob", "node-2", "ok")]
    assert (two.home / "audit" / "checkpoints.jsonl").read_text().count("\n") >= 1
    assert (two.home / "audit" / "audit-cert.pem").read_bytes() == (one.home / "audit" / "audit-cert.pem").read_bytes()

    third = CaHome(tmp_path / "node3", tmp_path)
    url_with_password = third.run("init", "--join", "--database-url", nodes.url, "--as", "alice", "--as", "bob")
    _one_line(url_with_password, 2, "--database-url holds a password")
    alone = third.run(*join_args(nodes, "--node-id", "node-3", "--as", "alice"))
    _one_line(alone, 4, "")
    taken = third.run(*join_args(nodes, "--node-id", "node-2", "--as", "alice", "--as", "bob"))
    _one_line(taken, 3, "node id 'node-2' is taken")
    assert not third.home.exists()
    refused = nodes.psql("select node_id, outcome from audit where event = 'node.join' and outcome <> 'ok'")
    assert refused == [("node-3", "refused")]  # the refusal by RAPP is recorded; nothing else changed
    assert len(nodes.psql("select * from nodes")) == 2


def _approved_requests(home: Path, count: int) -> list[int]:
    """`count` requests submitted (carol) and approved (dave) on node 1, in this process: set-up, not under test."""
    app = Runtime(home)
    carol, dave = Command(app, Operators(("carol",))), Command(app, Operators(("dave",)))
    ids = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = make_csr(home.parent / "req.csr", key=key)[0].read_bytes()
        ids.append(submit_request(carol, ACME, "supplier", "digitalSignature", ACME_EUI, None, csr, ACME_ARO).id)
        decide(dave, ids[-1], "approve")
    for told in app.finish():
        assert isinstance(told, str), told
    app.close()
    return ids


def _both(*runs: tuple[CaHome, tuple[str, ...]]) -> list[Result]:
    """Commands started on both nodes at once; their results once all ended."""
    procs = [subprocess.Popen(s1spki_argv(node.home, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL) for node, args in runs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        results.append(Result(proc.returncode, out, err))
    return results


def _serve(node: CaHome) -> EstServer:
    """`est serve` on the node's own listen address ([est] listen in its s1spki.toml)."""
    listen = tomllib.loads((node.home / "s1spki.toml").read_text())["est"]["listen"]
    tls = node.work / f"tls-{node.home.name}"
    tls.mkdir()
    trust, cert, key = make_tls_files(tls)
    log = node.work / f"est-{node.home.name}.log"
    process = subprocess.Popen(s1spki_argv(node.home, "est", "serve", "--tls-cert", str(cert), "--tls-key", str(key),
                                           "--workers", "1"), stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
    server = EstServer(node, f"https://{listen}", trust, process, log)
    try:
        wait_healthy(server.url, trust, process=process)
    except AssertionError:
        stop_server(server)
        raise AssertionError(f"EST server of {node.home.name} did not start:\n{server.log_text()}") from None
    return server


def test_two_nodes_issue_revoke_crl_and_enrol_at_once_on_one_chain(nodes: Nodes) -> None:
    one, two = nodes.one, nodes.two
    ids = _approved_requests(one.home, CERTIFICATES)
    issued = _both((one, ("--json", "cert", "issue", *map(str, ids[0::2]), "--as", "carol")),
                   (two, ("--json", "cert", "issue", *map(str, ids[1::2]), "--as", "carol")))
    assert [r.code for r in issued] == [0, 0], issued
    certs = [c for r in issued for c in r.json()]
    assert len(certs) == CERTIFICATES

    # revocations (each with its CRL) and CRLs from both nodes at once
    serials = [c["serial"] for c in certs]
    for a, b in ((0, 1), (2, 3)):
        revoked = _both((one, ("cert", "revoke", str(certs[a]["id"]), "--reason", "keyCompromise", "--as", "carol")),
                        (two, ("cert", "revoke", str(certs[b]["id"]), "--reason", "superseded", "--as", "carol")))
        assert [r.code for r in revoked] == [0, 0], revoked
    for _ in range(2):
        crls = _both((one, ("crl", "issue", "--as", "carol")), (two, ("crl", "issue", "--as", "carol")))
        assert [r.code for r in crls] == [0, 0], crls

    # EST: one enrolment through each node's server
    servers = [_serve(one), _serve(two)]
    try:
        for number, server in enumerate(servers):
            authorisation, secret = authorise(one, eui64=ACME_EUI)
            key, cert = one.work / f"est{number}.key", one.work / f"est{number}.pem"
            enrolled = server.client("--json", "est", "enroll", "--server", server.url, "--ca-cert", str(server.trust),
                                     "--id", str(authorisation), "--secret-file", str(secret), "--key-out", str(key),
                                     "--cert-out", str(cert))
            assert enrolled.code == 0, f"{enrolled}\n{server.log_text()}"
    finally:
        for server in servers:
            stop_server(server)

    # no duplicate serial; every certificate issued, half by each node (its records say which)
    rows = nodes.psql("select issuer_cn, serial from certificates where kind = 'end-entity'")
    assert len(rows) == len(set(rows)) == CERTIFICATES + 2
    assert len(set(serials)) == CERTIFICATES
    by_node = nodes.psql("select event, coalesce(node_id, ''), count(*) from audit where event in ('cert.issue', "
                         "'est.enroll') and outcome = 'ok' group by 1, 2")
    assert sorted(by_node) == [("cert.issue", "", CERTIFICATES // 2), ("cert.issue", "node-2", CERTIFICATES // 2),
                               ("est.enroll", "", 1), ("est.enroll", "node-2", 1)], by_node
    # cRLNumbers strictly increasing per CA in the order the CRLs were issued, across both nodes
    for (ca,) in nodes.psql("select distinct ca from crls where kind = 'crl'"):
        numbers = [n for (n,) in nodes.psql(f"select crl_number from crls where ca = '{ca}' and status = 'issued' "
                                            "order by issued_at, id")]
        assert len(numbers) >= 6 and numbers == sorted(set(numbers)), numbers
    # one chain, no fork: every seq once, each record linked to the one before
    chain = nodes.psql("select seq, prev_hash, hash from audit order by seq")
    assert [s for s, _p, _h in chain] == list(range(1, len(chain) + 1))
    assert all(chain[i][1] == chain[i - 1][2] for i in range(1, len(chain)))
    # each node's checkpoints in its own file, and `audit verify` clean on both across both files
    files = {n: [json.loads(line) for line in (n.home / "audit" / "checkpoints.jsonl").read_text().splitlines()]
             for n in (one, two)}
    assert all("node_id" not in c for c in files[one]) and all(c["node_id"] == "node-2" for c in files[two])
    for node in (one, two):
        verified = node.ok("--json", "audit", "verify").json()
        assert verified["ok"] and verified["last_seq"] >= len(chain) and not verified["warnings"], verified

    # a peer's checkpoint file gone is reported, not passed over
    peer = two.home / "audit" / "checkpoints.jsonl"
    peer.rename(peer.with_suffix(".away"))
    try:
        missing = one.run("--json", "audit", "verify")
    finally:
        peer.with_suffix(".away").rename(peer)
    assert missing.code == 3, str(missing)
    assert str(peer) in missing.stderr and "node node-2" in missing.stderr, str(missing)

    # the export (on node 2) carries every node's checkpoints, and verifies offline
    out = one.work / "trail.jsonl"
    two.ok("audit", "export", "--out", str(out), "--as", "fred")
    manifest = json.loads(manifest_path(out).read_text())["manifest"]
    assert {c.get("node_id") for c in manifest["checkpoints"]} == {None, "node-2"}
    offline = two.ok("--json", "audit", "verify", str(out), "--cert", str(one.home / "audit" / "audit-cert.pem"))
    assert offline.json()["ok"] and offline.json()["checkpoints"] > 2, str(offline)


def test_a_join_that_fails_after_listing_the_node_takes_it_off_the_list(nodes: Nodes, small_disk) -> None:  # type: ignore[no-untyped-def]
    """The joining home's disk fills up right after the node is listed (its audit certificate is the first file
    written after): the home is removed and so is the node's entry, in the record of the failure; left listed, every
    node's `audit verify` would name its checkpoint file as unreadable and its id would stay taken."""
    pages = sum(-(-p.stat().st_size // 4096) for folder in ("policy", "rapp") for p in (REPO / folder).rglob("*.toml"))
    disk = small_disk("join-disk", 4 * (pages + 2))  # policy/, rapp/, s1spki.toml and softhsm2.conf: then full
    node = CaHome(disk / "node9", nodes.one.work)
    failed = node.run(*join_args(nodes, "--node-id", "node-9", "--as", "alice", "--as", "bob"))

    _one_line(failed, 1, "No space left on device")
    assert not node.home.exists()
    records = nodes.psql("select outcome, details from audit where event = 'node.join' and object_id = 'node-9'")
    assert [outcome for outcome, _ in records] == ["ok", "error"], records  # listed, then taken off the list
    assert "taken off the list of nodes again" in json.loads(str(records[1][1]))["reason"]
    assert [row[0] for row in nodes.psql("select node_id from nodes order by node_id")] == ["", "node-2"]
    verified = nodes.one.run("audit", "verify")
    assert verified.code == 0 and "node-9" not in verified.stdout + verified.stderr, str(verified)
