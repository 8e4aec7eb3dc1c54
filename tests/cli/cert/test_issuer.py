"""An issuing CA is opened as its certificate paired with its HSM key: a CA record that names another key
(a database edit) is refused before a serial is reserved or anything is signed."""

from __future__ import annotations

from tests.conftest import CaHome


def test_an_issuer_whose_hsm_key_does_not_match_its_certificate_is_refused_before_reserving(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    with ca.db() as conn:  # the insider's edit: the issuing CA now names the audit key, which is on the token
        [audit_label] = conn.execute("select key_label from audit_signers").fetchone()
        conn.execute("update cas set key_label = ? where kind = 'issuing'", (audit_label,))
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()

    refused = ca.run("cert", "issue", str(request_id), "--as", "carol")

    assert refused.code == 3, str(refused)
    assert "does not match its certificate" in refused.stderr and "nothing was reserved" in refused.stderr
    assert ca.ok("--json", "cert", "list", "--reserved").json() == reserved
    assert ca.ok("--json", "request", "show", str(request_id)).json()["status"] == "submitted"
    assert ca.audit()[-1]["event"] == "cert.issue" and ca.audit()[-1]["outcome"] == "refused"
