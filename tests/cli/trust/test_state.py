"""The state that grants power, changed with sqlite3 or psycopg by a database writer who cannot use the HSM: operators
inserted or given roles, an approved request's content swapped, a withdrawn operator or rejected request put
back as it was. Each is refused when relied on, with an audit record naming it, and found by `audit verify`."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from tests.cli.audit.tamper import open_db
from tests.cli.crl.helpers import ISSUING, revoke
from tests.conftest import CaHome, make_csr

pytestmark = pytest.mark.both_engines


def _refused_for_integrity(ca: CaHome, *args: str) -> None:
    result = ca.run(*args)
    assert result.code == 3 and "integrity check" in result.stderr, str(result)
    assert len(result.stderr.strip().splitlines()) == 1, str(result)
    last = ca.audit()[-1]
    assert last["outcome"] == "refused" and "integrity" in last["details"], last


def test_operators_inserted_with_sqlite3_cannot_act(ca: CaHome) -> None:
    """Two rows copied from dave's under new names, with his key: they would submit and approve."""
    conn = open_db(ca)
    row = dict(conn.execute("select * from operators where name = 'dave'").fetchone())
    for name in ("ghost1", "ghost2"):
        values = {k: v for k, v in row.items() if k != "id"} | {"name": name, "key_sha256": name * 8}
        conn.execute(f"insert into operators ({', '.join(values)}) values ({', '.join('?' * len(values))})",
                     list(values.values()))
    conn.close()
    for name in ("ghost1", "ghost2"):  # each given dave's credential, as the insider would
        text = (ca.home / "credentials" / "dave.credential.toml").read_text()
        (ca.home / "credentials" / f"{name}.credential.toml").write_text(
            text.replace('operator = "dave"', f'operator = "{name}"'))
    _refused_for_integrity(ca, "--json", "request", "submit", "--csr", str(ca.csr()), "--org", "Acme Energy Ltd",
                           "--aro", "Ann Officer", "--role", "supplier", "--key-usage", "digitalSignature",
                           "--eui64", "90B3D51F30010000", "--as", "ghost1")
    verify = ca.run("audit", "verify")
    assert verify.code == 3 and "operators row" in verify.stderr, str(verify)


def test_a_role_given_with_sqlite3_is_refused(ca: CaHome) -> None:
    with ca.db() as conn:
        conn.execute("update operators set roles = 'key_custodian ra_manager' where name = 'carol'")
    _refused_for_integrity(ca, "ceremony", "issuing", "--name", "Rogue CA", "--as", "carol", "--as", "alice")


def test_an_approved_request_whose_content_was_swapped_is_not_issued(ca: CaHome) -> None:
    """The key of an approved request replaced by another: the approval covered the old one."""
    request_id = ca.submit_approved()
    path, key = make_csr(ca.work / "swap.csr")
    from cryptography import x509

    der = x509.load_pem_x509_csr(path.read_bytes()).public_bytes(serialization.Encoding.DER)
    with ca.db() as conn:
        conn.execute("update requests set csr_der = ? where id = ?", (der, request_id))
    _refused_for_integrity(ca, "cert", "issue", str(request_id), "--as", "carol")
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []


def test_a_request_that_needs_no_approval_in_the_database_still_needs_one(ca: CaHome) -> None:
    submitted = ca.submit(ca.csr()).json()["id"]
    with ca.db() as conn:
        conn.execute("""update requests set rule = replace(rule, '"approvals":1', '"approvals":0') where id = ?""",
                     (submitted,))
    _refused_for_integrity(ca, "cert", "issue", str(submitted), "--as", "carol")


def test_a_withdrawn_operator_put_back_is_refused(ca: CaHome) -> None:
    """An older version of dave's row, with its older (valid) authenticator, restored after his withdrawal."""
    with ca.db() as conn:
        old = conn.execute("select status, withdrawn_at, mac, sealed_seq from operators where name = 'dave'").fetchone()
    ca.ok("operator", "withdraw", "dave", "--as", "carol", "--as", "alice")
    with ca.db() as conn:
        conn.execute("update operators set status = ?, withdrawn_at = ?, mac = ?, sealed_seq = ? where name = 'dave'",
                     old)
    request = ca.submit(ca.csr()).json()["id"]
    result = ca.run("request", "approve", str(request), "--as", "dave")
    assert result.code == 3 and "older version" in result.stderr, str(result)


def test_a_rejected_request_put_back_is_not_issued(ca: CaHome) -> None:
    request_id = ca.submit(ca.csr()).json()["id"]
    with ca.db() as conn:
        old = conn.execute("select status, mac, sealed_seq from requests where id = ?", (request_id,)).fetchone()
    ca.ok("request", "reject", str(request_id), "--reason", "wrong EUI-64", "--as", "dave")
    with ca.db() as conn:
        conn.execute("update requests set status = ?, mac = ?, sealed_seq = ? where id = ?", (*old, request_id))
    result = ca.run("cert", "issue", str(request_id), "--as", "carol")
    assert result.code == 3 and "older version" in result.stderr, str(result)


def test_a_refused_as_is_recorded_escaped_and_cut_short(ca: CaHome) -> None:
    hostile = "mallory\x1b[2J\u202e" + "x" * 500
    result = ca.run("org", "register", "Hostile Ltd", "--eui64", "90B3D51F300AAAAA", "--role", "supplier",
                    "--as", hostile)
    assert result.code == 4, str(result)
    actor = ca.audit()[-1]["actor"]
    assert actor.startswith("mallory\\x1b[2J\\u202e") and len(actor) <= 64 and actor.isprintable(), actor


def test_an_eui64_given_to_an_organisation_with_sqlite3_is_refused(ca: CaHome) -> None:
    """The registry rows sealed with an organisation: an EUI-64 added to its devices by a database writer."""
    with ca.db() as conn:
        org_id = conn.execute("select id from organisations where name = 'Acme Energy Ltd'").fetchone()[0]
        conn.execute("insert into org_entities (eui64, org_id) values ('90B3D51F300BBBBB', ?)", (org_id,))
    result = ca.submit(ca.csr(), eui64="90B3D51F300BBBBB")
    assert result.code == 3 and "organisation Acme Energy Ltd fails its integrity check" in result.stderr, str(result)
    assert ca.audit()[-1]["outcome"] == "refused"


def test_an_aros_verification_changed_with_sqlite3_is_refused(ca: CaHome) -> None:
    """An officer's recorded verifications are sealed with the officer: the evidence of one replaced."""
    request_id = ca.submit_approved()
    with ca.db() as conn:
        conn.execute("update officer_checks set evidence = 'forged reference' where officer_id = "
                     "(select id from officers where name = 'Ann Officer') and \"check\" = 'screening'")
        forged = conn.execute("select count(*) from officer_checks where evidence = 'forged reference'").fetchone()
        assert forged[0] == 1
    _refused_for_integrity(ca, "cert", "issue", str(request_id), "--as", "carol")
    assert ca.ok("--json", "cert", "list", "--kind", "end-entity").json() == []


def test_a_revocation_deleted_with_sqlite3_stops_the_next_crl(ca: CaHome) -> None:
    """Deleting a revocation row would take its certificate off the next CRL: valid again to every relying party.
    The revocations counted themselves, so the next CRL is refused before it is signed, with a record of why, and
    the current CRL (which lists the certificate) stays."""
    revoked = ca.issue_new()
    assert revoke(ca, revoked["serial"]).code == 0
    current_before = ca.ok("--json", "crl", "show").json()
    conn = open_db(ca)
    conn.execute("delete from revocations where serial = ?", (revoked["serial"],))
    conn.execute("update certificates set status = 'valid' where serial = ?", (revoked["serial"],))
    conn.close()

    result = ca.run("crl", "issue", "--as", "dave")

    assert result.code == 3 and "holds 0 revocations" in result.stderr and "1 were made" in result.stderr, str(result)
    assert len(result.stderr.strip().splitlines()) == 1, str(result)
    last = ca.audit()[-1]
    assert (last["event"], last["outcome"]) == ("crl.issue", "refused") and ISSUING in last["details"], last
    assert ca.ok("--json", "crl", "show").json() == current_before  # no CRL without it was signed

    with ca.db() as conn:  # and the CRLs that listed it gone too: the counted revocation is told as on none
        conn.execute("delete from crls")
    listing = ca.run("cert", "list")
    assert listing.code == 0 and f"1 revocation of {ISSUING} on no CRL yet" in listing.stderr, str(listing)
    assert "could not be checkpointed" not in listing.stderr, str(listing)
