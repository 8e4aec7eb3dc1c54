"""`s1spki crl issue`, `crl arl` and `crl show`: what openssl, `s1spki lint` and pkilint make of the CRL and the
ARL, their fields byte by byte, and cRLNumbers that strictly increase, also with two processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import core, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509

from s1spki.issuance.profile import serial_hex
from s1spki.lint import pkilint_adapter
from tests.cli.crl.helpers import ISSUING, ROOT, current, openssl, revoke
from tests.conftest import REPO, CaHome, assert_refused

pytestmark = pytest.mark.both_engines

ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # parameters absent (spec 2.3)


def _der(path: Path) -> bytes:
    return pem.unarmor(path.read_bytes())[2]


def _subject_der(certificate: Path) -> bytes:
    return asn1_x509.Certificate.load(_der(certificate))["tbs_certificate"]["subject"].dump()


def _ski(certificate: Path) -> bytes:
    return asn1_x509.Certificate.load(_der(certificate)).key_identifier


def _revoked_arl(ca: CaHome) -> Path:
    """The root's ARL after a second issuing CA was certified and revoked at the root, as imported here."""
    assert ca.root is not None
    serial = ca.new_issuing("S1SPKI Issuing CA 2")["certificate"]["serial"]
    revoked = revoke(ca.root, serial, "cessationOfOperation", "alice", "bob")
    assert revoked.code == 0, str(revoked)
    ca.import_arl(revoked.json())
    return current(ca, ROOT, "root.arl.pem")


def test_crl_and_arl_verify_lint_clean_and_have_the_profile(ca: CaHome) -> None:
    leaves = [ca.issue_new(), ca.issue_new("keyAgreement")]
    for leaf, reason in zip(leaves, ("keyCompromise", "privilegeWithdrawn"), strict=True):
        assert revoke(ca, leaf["serial"], reason).code == 0
    root, issuing = ca.ca_pems()
    crl, arl = current(ca, ISSUING, "issuing.crl.pem"), _revoked_arl(ca)

    for path, signer, entries, update in ((crl, issuing, {leaves[0]["serial"]: "key_compromise",
                                                          leaves[1]["serial"]: "privilege_withdrawn"},
                                           timedelta(hours=48)),
                                          (arl, root, None, timedelta(days=395))):
        checked = openssl("crl", "-in", str(path), "-CAfile", str(signer), "-noout")
        assert checked.returncode == 0 and "verify OK" in checked.stdout + checked.stderr, checked
        linted = ca.run("lint", "--issuer", str(signer), str(path))
        assert linted.code == 0, str(linted)
        assert pkilint_adapter.lint_crl(_der(path)) == ()

        der = _der(path)
        parsed = asn1_crl.CertificateList.load(der)
        tbs = parsed["tbs_cert_list"]
        assert tbs["version"].native == "v2"
        assert tbs["signature"].dump() == parsed["signature_algorithm"].dump() == ECDSA_SHA256
        assert tbs["issuer"].dump() == _subject_der(signer)  # byte-identical, string types included
        extensions = {e["extn_id"].native: e for e in tbs["crl_extensions"]}
        assert set(extensions) == {"authority_key_identifier", "crl_number"}
        assert not any(e["critical"].native for e in extensions.values())
        assert extensions["authority_key_identifier"]["extn_value"].parsed.dump() == (
            b"\x30\x0a\x80\x08" + _ski(signer))
        assert tbs["next_update"].native - tbs["this_update"].native == update
        assert tbs["this_update"].name == "utc_time"
        listed = {serial_hex(e["user_certificate"].native): e for e in tbs["revoked_certificates"]}
        for entry in listed.values():
            assert [x["extn_id"].native for x in entry["crl_entry_extensions"]] == ["crl_reason"]
        if entries is not None:
            assert {s: e["crl_entry_extensions"][0]["extn_value"].native for s, e in listed.items()} == entries
        else:
            assert len(listed) == 1 and next(iter(listed.values()))["crl_entry_extensions"][0][
                "extn_value"].native == "cessation_of_operation"


def test_crl_number_strictly_increases_over_reissues(ca: CaHome) -> None:
    numbers = [ca.ok("--json", "crl", "issue", "--as", "dave").json()["crl_number"] for _ in range(6)]
    leaf = ca.issue_new()
    numbers.append(revoke(ca, leaf["serial"]).json()["crl"]["crl_number"])
    numbers.append(ca.ok("--json", "crl", "issue", "--as", "carol").json()["crl_number"])
    assert numbers == sorted(set(numbers)), numbers
    shown = ca.ok("--json", "crl", "show", ISSUING).json()
    assert shown["crl_number"] == numbers[-1] and shown["entries"] == 1


# Each process opens the CA, unlocks its operator's key, says it is ready and waits for the start signal, so
# that both issue at the same time.
ISSUER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from s1spki.command import Command, Operators
    from s1spki.ra.crl import issue_scheduled
    from s1spki.runtime import Runtime
    home, name, rounds, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    runtime = Runtime(home)
    runtime.operator_key(name), runtime.hsm(), runtime.store.reader.cas()
    cmd = Command(runtime, Operators((name,)))
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    start = time.monotonic()
    numbers = [issue_scheduled(cmd, "crl").number for _ in range(rounds)]
    print(json.dumps({"numbers": numbers, "start": start, "end": time.monotonic()}))
""")


def test_two_processes_issuing_at_once_get_distinct_increasing_numbers(ca: CaHome) -> None:
    rounds, go = 20, ca.work / "go"
    processes = [subprocess.Popen([sys.executable, "-c", ISSUER, str(ca.home), name, str(rounds), str(go)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name in ("dave", "carol")]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    go.touch()
    results = [p.communicate(timeout=600) for p in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    runs = [json.loads(out) for out, _ in results]
    per_process = [run["numbers"] for run in runs]
    for numbers in per_process:
        assert numbers == sorted(set(numbers)), numbers
    # both were issuing at the same time (the system-wide monotonic clock): which one wins each race is the
    # store's to decide, and one may win every race while the other backs off
    first, second = runs
    assert first["start"] < second["end"] and second["start"] < first["end"], "the two processes did not overlap"
    every = sorted(n for numbers in per_process for n in numbers)
    assert len(every) == len(set(every)) == 2 * rounds, every

    with ca.db() as conn:
        stored = [r[0] for r in conn.execute("select crl_number from crls where status = 'issued' order by crl_number")]
    assert stored == every
    issued = [json.loads(a["details"])["crl_number"] for a in ca.audit()
              if a["event"] == "crl.issue" and a["outcome"] == "ok"]
    assert issued == sorted(set(issued)) == every  # in the order they were committed


def test_if_due_issues_only_when_the_period_has_passed(ca: CaHome) -> None:
    first = ca.ok("--json", "crl", "issue", "--if-due", "--as", "dave").json()
    assert first["issued"] and first["crl_number"] == 1 and first["entries"] == 0
    _, issuing = ca.ca_pems()
    empty = current(ca, ISSUING, "empty.crl.pem")  # no revokedCertificates at all (RFC 5280 5.1.2.6)
    assert ca.run("lint", "--issuer", str(issuing), str(empty)).code == 0
    assert pkilint_adapter.lint_crl(_der(empty)) == ()
    assert isinstance(asn1_crl.CertificateList.load(_der(empty))["tbs_cert_list"]["revoked_certificates"], core.Void)
    audit_before = len(ca.audit())
    again = ca.ok("--json", "crl", "issue", "--if-due", "--as", "dave").json()
    assert again["issued"] is False and again["ca"] == ISSUING and again["due_at"] > again.get("this_update", "")
    assert len(ca.audit()) == audit_before


def test_arl_needs_two_participants(ca: CaHome) -> None:
    root = ca.root
    assert root is not None
    before, audit_before = root.snapshot(), len(root.audit())
    assert_refused(root, root.run("crl", "arl", "--as", "alice"), 4, before, audit_before, "needs 2")
    before, audit_before = ca.snapshot(), len(ca.audit())
    assert_refused(ca, ca.run("crl", "issue", "--as", "fred"), 4, before, audit_before, "may not take part")
    arl = root.ok("--json", "crl", "arl", "--as", "alice", "--as", "bob").json()
    assert arl["kind"] == "arl" and arl["ca"] == ROOT and arl["entries"] == 0


def test_the_lint_gate_stops_a_crl_the_policy_no_longer_allows(ca: CaHome) -> None:
    leaf = ca.issue_new()
    issued = revoke(ca, leaf["serial"], "superseded").json()["crl"]
    policy = ca.home / "policy" / "policy.toml"
    policy.write_text(policy.read_text().replace('"superseded", ', "")  # EST's renewals then say why otherwise
                      .replace('superseded_reason = "superseded"', 'superseded_reason = "cessationOfOperation"'))
    ca.ok("policy", "adopt", "--as", "alice", "--as", "bob")  # a reviewed change of policy, adopted
    refused = ca.run("crl", "issue", "--as", "dave")
    assert refused.code == 3 and "lint refused" in refused.stderr and "superseded" in refused.stderr, str(refused)
    assert ca.ok("--json", "crl", "show", ISSUING).json()["crl_number"] == issued["crl_number"]
    assert ca.audit()[-1]["outcome"] == "refused" and ca.audit()[-1]["event"] == "crl.issue"
