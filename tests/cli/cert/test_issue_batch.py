"""`cert issue --all-approved` in batches: each batch's serials are reserved in one transaction and its certificates
stored in one, each request still through every gate. A check that fails inside the storing transaction refuses
only its own request; a batch transaction that fails as a whole (another command issued one of its requests
meanwhile) sends its requests through the one-at-a-time path, and nothing is left reserved without its record."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ACME, OTHER, OTHER_ARO, OTHER_EUI, CaHome
from tests.support.held import held_at

pytestmark = pytest.mark.both_engines


def _reserve_and_issue_order(ca: CaHome) -> str:
    """The trail's serial reservations (r) and issuances (i) of certificates, in order."""
    return "".join({"serial.reserve": "r", "cert.issue": "i"}[a["event"]] for a in ca.audit()
                   if a["event"] in ("serial.reserve", "cert.issue") and a["outcome"] == "ok")


def _unissued_reservations(ca: CaHome) -> list[dict[str, object]]:
    return [r for r in ca.ok("--json", "cert", "list", "--reserved").json() if not r["certificate_exists"]]


def test_a_batch_reserves_its_serials_together_then_stores_its_certificates_together(ca: CaHome) -> None:
    before = _reserve_and_issue_order(ca)
    requests = [ca.submit_approved() for _ in range(5)]

    body = ca.ok("--json", "cert", "issue", "--all-approved", "--batch-size", "2", "--as", "carol").json()

    assert sorted(c["request_id"] for c in body["issued"]) == requests and body["refused"] == []
    assert _reserve_and_issue_order(ca)[len(before):] == "rrii" + "rrii" + "ri"
    reservations = {json.loads(a["details"])["request_id"] for a in ca.audit() if a["event"] == "serial.reserve"}
    assert set(requests) <= reservations
    assert _unissued_reservations(ca) == []
    assert ca.ok("audit", "verify").code == 0


def test_batch_size_goes_with_all_approved_only(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    result = ca.run("cert", "issue", str(request_id), "--batch-size", "5", "--as", "carol")
    assert result.code == 2 and "--batch-size goes with --all-approved" in result.stderr, str(result)
    assert ca.run("cert", "issue", "--all-approved", "--batch-size", "0", "--as", "carol").code == 2
    assert ca.ok("--json", "request", "show", str(request_id)).json()["status"] == "submitted"


def test_a_check_failing_where_the_batch_is_stored_refuses_only_its_own_request(ca: CaHome) -> None:
    first = ca.submit_approved()
    other = ca.submit_approved(org=OTHER, role="wanProvider", eui64=OTHER_EUI, aro=OTHER_ARO)
    last = ca.submit_approved()
    # held after the first signature: every serial is reserved and the requests judged fit
    issuing, release = held_at(ca, "signed", "--json", "cert", "issue", "--all-approved", "--as", "carol")
    ca.ok("org", "aro", "withdraw", OTHER, OTHER_ARO, "--as", "dave")
    release.touch()
    out, err = issuing.communicate(timeout=120)

    assert issuing.returncode == 3, err
    body = json.loads(out)
    assert sorted(c["request_id"] for c in body["issued"]) == [first, last]
    assert [r["request"] for r in body["refused"]] == [other] and "withdrawn" in body["refused"][0]["message"]
    statuses = {r["id"]: r["status"] for r in ca.ok("--json", "request", "list").json()}
    assert statuses[first] == statuses[last] == "issued" and statuses[other] == "submitted"  # claim given back
    # the refused one's serial was reserved and signed, then discarded: shown unissued, with its record
    assert [r["request_id"] for r in _unissued_reservations(ca)] == [other]
    refusal = [a for a in ca.audit() if a["event"] == "cert.issue" and a["object_id"] == str(other)]
    assert [a["outcome"] for a in refusal] == ["refused"] and "withdrawn" in json.loads(refusal[0]["details"])["reason"]
    assert ca.ok("audit", "verify").code == 0


def test_a_request_issued_by_another_command_meanwhile_leaves_the_rest_of_the_batch_issued(ca: CaHome) -> None:
    requests = [ca.submit_approved() for _ in range(3)]
    batch, release = held_at(ca, "batch-judged", "--json", "cert", "issue", "--all-approved", "--as", "carol")
    alone = ca.ok("--json", "cert", "issue", str(requests[1]), "--as", "carol").json()
    release.touch()
    out, err = batch.communicate(timeout=120)

    assert batch.returncode == 3, err
    body = json.loads(out)
    assert sorted(c["request_id"] for c in body["issued"]) == [requests[0], requests[2]]
    assert [r["request"] for r in body["refused"]] == [requests[1]]
    assert "already issued" in body["refused"][0]["message"]
    certificates = ca.ok("--json", "cert", "list", "--kind", "end-entity").json()
    assert sorted(c["request_id"] for c in certificates) == requests
    assert alone["id"] in {c["id"] for c in certificates}
    assert _unissued_reservations(ca) == []  # the failed batch transaction reserved nothing
    assert ca.ok("audit", "verify").code == 0


def test_an_organisation_edited_in_the_database_refuses_every_request_of_the_batch(ca: CaHome) -> None:
    """The batch judges its requests in one snapshot and checks each shared registry row's seal once: an edit made
    with the database's own tools refuses every request relying on the row, not only the first."""
    requests = [ca.submit_approved() for _ in range(3)]
    with ca.db() as conn:  # a database administrator, without the HSM
        conn.execute("update organisations set created_at = '2020-01-01T00:00:00Z' where name = ?", (ACME,))

    result = ca.run("--json", "cert", "issue", "--all-approved", "--as", "carol")

    assert result.code == 3, str(result)
    body = result.json()
    assert body["issued"] == [] and sorted(r["request"] for r in body["refused"]) == requests
    assert all(r["error"] == "integrity" and "integrity check" in r["message"] for r in body["refused"]), body
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []
    assert _unissued_reservations(ca) == []


def _token_folder(home: Path, label: str) -> Path:
    """The SoftHSM folder of the token labelled `label` (SoftHSM stores the label blank-padded to 32 bytes)."""
    tokens = home / "softhsm" / "tokens"
    [folder] = [d for d in tokens.iterdir() if label.encode().ljust(32) in (d / "token.object").read_bytes()]
    return folder


def test_the_hsm_failing_mid_batch_gives_back_every_request_not_stored(ca: CaHome) -> None:
    """The CA key vanishes from the token after the batch's first signature: the batch stops with the HSM's one
    line (exit 5), stores nothing, gives every request back with its reserved serial explained by its records, and
    issues them all once the key is back."""
    requests = [ca.submit_approved() for _ in range(3)]
    batch, release = held_at(ca, "signed", "--json", "cert", "issue", "--all-approved", "--as", "carol")
    label = tomllib.loads((ca.home / "s1spki.toml").read_text())["hsm"]["token_label"]
    token, away = _token_folder(ca.home, label), ca.work / "keys-away"
    away.mkdir()
    for key_file in token.glob("*.object"):
        if key_file.name != "token.object":
            key_file.rename(away / key_file.name)
    release.touch()
    out, err = batch.communicate(timeout=120)

    assert batch.returncode == 5, err
    assert len(err.strip().splitlines()) == 1 and "any more" in err and "check the token" in err, err
    assert json.loads(out)["error"] == "hsm"
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []
    reserved = _unissued_reservations(ca)
    assert sorted(r["request_id"] for r in reserved) == requests  # each explained by its request's records
    stopped = [a for a in ca.audit() if a["event"] == "cert.issue" and a["outcome"] != "ok"]
    assert sorted(int(a["object_id"]) for a in stopped) == requests
    reasons = [json.loads(a["details"]) for a in stopped]
    assert all(r["error"] == "hsm" and "any more" in r["reason"] for r in reasons), reasons
    # the request whose signature failed records that; the one signed before and the one after, the batch's stop
    assert sorted("the batch stopped" in r["reason"] for r in reasons) == [False, True, True], reasons
    assert {ca.ok("--json", "request", "show", str(r)).json()["status"] for r in requests} == {"submitted"}
    assert ca.ok("audit", "verify").code == 0

    for key_file in away.iterdir():
        key_file.rename(token / key_file.name)
    body = ca.ok("--json", "cert", "issue", "--all-approved", "--as", "carol").json()
    assert sorted(c["request_id"] for c in body["issued"]) == requests and body["refused"] == []
    assert ca.ok("audit", "verify").code == 0
