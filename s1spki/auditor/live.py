"""`audit verify` with no file: the live trail, its head row, and the checkpoints in the database and in
the file outside it, checked against the audit certificate. Reads only; never needs the HSM.

The audit certificate trusted is, in this order: the one(s) given with --cert (an auditor's pinned
copy), HOME/audit/audit-cert.pem (outside the database), or else the one the database names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from s1spki.audit.chain import Link, record_bytes
from s1spki.audit.checkpoint import checkpoint_rows, read_checkpoint_file
from s1spki.audit.fast import sqlite_stretches
from s1spki.audit.signer import certificate_path, fingerprint, load_certificates, public_keys
from s1spki.audit.verify import BAD_CHECKPOINT, Problem, Verdict, verify_chain, verify_stretches
from s1spki.command import Command


def trusted_certificates(cmd: Command, pinned: list[x509.Certificate] | None,
                         db_signers: list[dict[str, Any]]) -> tuple[list[x509.Certificate], list[str]]:
    """The audit certificates to trust, and warnings about where they came from."""
    notes: list[str] = []
    home_copy = certificate_path(cmd.runtime.config.audit.checkpoints_file)
    stored = [x509.load_der_x509_certificate(bytes(s["certificate_der"])) for s in db_signers]
    if pinned:
        trusted = pinned
    elif home_copy.is_file():
        try:
            trusted = load_certificates(home_copy)
        except ValueError:
            trusted = []
            notes.append(f"{home_copy} holds no readable certificate")
    else:
        trusted = stored
        if stored:
            notes.append("trusting the audit certificate the database names; pin it with --cert")
    known = {fingerprint(c.public_bytes(serialization.Encoding.DER)) for c in trusted}
    for certificate in stored:
        if fingerprint(certificate.public_bytes(serialization.Encoding.DER)) not in known:
            notes.append("the database names an audit certificate that is not the trusted one: "
                         "checkpoints signed with it do not count")
    return trusted, notes


def verify_live(cmd: Command, pinned: list[x509.Certificate] | None = None) -> Verdict:
    """Verify the whole live trail (see module docstring)."""
    path = cmd.runtime.config.audit.checkpoints_file
    # The file first: a checkpoint in it always names a record already committed, so a snapshot taken
    # after reading it holds every record the file names (commands may run meanwhile).
    from_file = read_checkpoint_file(path)
    extra = [Problem(None, BAD_CHECKPOINT, f"line {n} of {path} is not a signed checkpoint")
             for n in from_file.unreadable]
    home_id = cmd.home_id  # read before the snapshot: the snapshot's transaction holds SQLite's write lock
    with cmd.reader.audit_snapshot() as snapshot:
        trusted, notes = trusted_certificates(cmd, pinned, snapshot.signers())
        checkpoints = [*from_file.checkpoints, *checkpoint_rows(snapshot.checkpoints())]
        common: dict[str, Any] = {"trusted": public_keys(trusted), "home_id": home_id, "checkpoints": checkpoints,
                                  "end": snapshot.head(), "end_name": "the chain head row", "extra_problems": extra,
                                  "warnings": notes}
        database, span = snapshot.database, snapshot.seq_span()
        if database is not None:
            # The clean case, fast: stretches read by readers of their own (the snapshot holds the write
            # lock, so they see the same records); anything amiss and the records are gone over one by one.
            try:
                stretches = sqlite_stretches(database, *span, frozenset(c.seq for c in checkpoints)) if span else []
            except Exception:  # a worker that could not run: the exact route below still decides
                stretches = [None]
            verdict = verify_stretches(stretches, **common)
            if verdict is not None:
                return verdict
        return verify_chain(_links(snapshot.rows()), **common)


def _links(rows: Iterator[Any]) -> Iterator[Link]:
    for row in rows:
        yield row[0], row[1], row[2], record_bytes(row)
