"""An issuing CA is opened as its certificate paired with its HSM key: a CA whose key on the token is not the
one its certificate certifies is refused before a serial is reserved or anything is signed; a CA record
changed in the database is refused by its authenticator first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from s1spki.hsm import find_softhsm_module
from tests.conftest import CaHome

pytestmark = pytest.mark.both_engines

REPLACE_KEY = """
import sys, pkcs11
from pkcs11 import Attribute, KeyType, ObjectClass
module, pin, label = sys.argv[1], sys.stdin.read().strip(), sys.argv[2]
with pkcs11.lib(module).get_token(token_label="s1spki").open(rw=True, user_pin=pin) as session:
    for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
        for obj in list(session.get_objects({Attribute.CLASS: cls, Attribute.LABEL: label})):
            obj.destroy()
    params = session.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: bytes.fromhex("06082a8648ce3d030107")},
                                              local=True)
    params.generate_keypair(store=True, label=label)
"""


def _replace_token_key(ca: CaHome, label: str) -> None:
    """Someone with the token's PIN swaps the CA's key for another under the same label (in a process of its
    own: the test process keeps its own PKCS#11 state)."""
    pin = (ca.home / "secrets" / "hsm-user.pin").read_text()
    env = {**os.environ, "SOFTHSM2_CONF": str(ca.home / "softhsm" / "softhsm2.conf")}
    subprocess.run([sys.executable, "-c", REPLACE_KEY, find_softhsm_module(), label], input=pin, text=True,
                   env=env, check=True, capture_output=True)


def test_an_issuer_whose_hsm_key_is_not_its_certificates_is_refused_before_reserving(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    with ca.db() as conn:
        [label] = conn.execute("select key_label from cas where kind = 'issuing'").fetchone()
    _replace_token_key(ca, label)
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()

    refused = ca.run("cert", "issue", str(request_id), "--as", "carol")

    assert refused.code == 3, str(refused)
    assert "does not match its certificate" in refused.stderr and "nothing was reserved" in refused.stderr
    assert ca.ok("--json", "cert", "list", "--reserved").json() == reserved
    assert ca.ok("--json", "request", "show", str(request_id)).json()["status"] == "submitted"
    assert ca.audit()[-1]["event"] == "cert.issue" and ca.audit()[-1]["outcome"] == "refused"


def test_a_ca_record_changed_in_the_database_is_refused_before_reserving(ca: CaHome) -> None:
    request_id = ca.submit_approved()
    with ca.db() as conn:  # the insider's edit: the issuing CA now names the audit key, which is on the token
        [audit_label] = conn.execute("select key_label from audit_signers").fetchone()
        conn.execute("update cas set key_label = ? where kind = 'issuing'", (audit_label,))
    reserved = ca.ok("--json", "cert", "list", "--reserved").json()

    refused = ca.run("cert", "issue", str(request_id), "--as", "carol")

    assert refused.code == 3 and "integrity check" in refused.stderr, str(refused)
    assert ca.ok("--json", "cert", "list", "--reserved").json() == reserved
