"""The CAs of a home as the use cases find them, and opened as issuers (the certificate paired with its HSM
key, `s1spki.issuance.issuer`)."""

from __future__ import annotations

from s1spki.command import Command
from s1spki.errors import NotFound, PolicyRefused, UsageError
from s1spki.issuance.issuer import Issuer
from s1spki.store import CaRecord


def issuing_ca(cmd: Command, name: str | None) -> CaRecord:
    """The valid issuing CA named `name`, or the only one."""
    cas = cmd.reader.cas("issuing")
    if name is not None:
        cas = [c for c in cas if c.name == name]
        if not cas:
            raise NotFound(f"no issuing CA named {name!r}")
    if not cas:
        raise PolicyRefused("there is no issuing CA yet: run `s1spki ceremony issuing` first")
    if len(cas) > 1:
        raise UsageError(f"several issuing CAs exist ({', '.join(c.name for c in cas)}): choose one with --ca")
    if cas[0].certificate.status != "valid":  # spec 5: a revoked CA is on the root's ARL
        raise PolicyRefused(f"issuing CA {cas[0].name!r} is {cas[0].certificate.status}: it issues nothing more")
    return cas[0]


def root_ca(cmd: Command, name: str | None) -> CaRecord:
    """The root named `name`, or the root."""
    roots = [r for r in cmd.reader.cas("root") if name is None or r.name == name]
    if not roots:
        raise NotFound(f"no root CA named {name!r}" if name else "there is no root CA yet: run `s1spki ceremony root`")
    return roots[0]


def open_issuer(cmd: Command, ca: CaRecord) -> Issuer:
    """The CA's certificate paired with its HSM key; refused if the CA record is not as s1spki wrote it or the two
    do not belong together."""
    cmd.trust("cas", ca.id, f"CA {ca.name}")
    return Issuer.open(ca.name, ca.certificate.certificate(), cmd.runtime.hsm().signing_key(ca.key_label))
