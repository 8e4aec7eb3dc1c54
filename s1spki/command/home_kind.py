"""What each kind of CA home does (design.md, Homes and keys), so that a command run in the wrong home is
refused before anything is looked up, with where to run it instead.

A **root** home holds the offline root: its key ceremony, the issuing CA certificates it signs from request
bundles, CA revocations and the ARL. An **online** home holds the issuing CAs: their keys, the registry,
requests, certificates, CRLs, EST, and the root's certificate and ARL as imported bundles. A **combined**
home is one made before the two were kept apart: it does everything, as it always did.
"""

from __future__ import annotations

from s1spki.errors import PolicyRefused

ROOT, ONLINE, COMBINED = "root", "online", "combined"

# The operations only the root home performs (rapp/operations.toml names).
AT_ROOT = frozenset({"ceremony.root", "ceremony.sign-issuing", "ca.revoke", "crl.arl"})
# Network services: never in a root home, which stays off every network.
SERVICES = frozenset({"est.serve"})
# What either home does: adopting its own policy/ and rapp/, granting roles, exporting its own trail, backing up
# its own store.
EITHER = frozenset({"policy.adopt", "audit.export", "db.backup"})

_WHERE = {
    "ceremony.root": "the root is made in the root home (`s1spki init --root`, then `s1spki ceremony root`)",
    "ceremony.sign-issuing": "request bundles are signed in the root home",
    "ca.revoke": "an issuing CA is revoked in the root home, whose ARL bundle is then imported here with "
                 "`s1spki crl import-arl`",
    "crl.arl": "the ARL is signed in the root home and imported here with `s1spki crl import-arl`",
}


def performs(kind: str, operation: str) -> bool:
    """Whether a home of `kind` performs `operation`."""
    if kind == COMBINED or operation in EITHER or operation.startswith("operator."):
        return True
    return (operation in AT_ROOT) == (kind == ROOT)


def refuse_elsewhere(kind: str, operation: str) -> None:
    """PolicyRefused, saying where `operation` is done, unless a home of `kind` performs it."""
    if performs(kind, operation):
        return
    if kind == ROOT and operation in SERVICES:
        raise PolicyRefused(f"{operation}: a root home never starts a network service (the offline root is reached "
                            "only by bundles carried under ceremony); serve EST from the online home",
                            operation=operation)
    if kind == ROOT:
        raise PolicyRefused(f"{operation} is not done in a root home: the offline root only makes and signs CA "
                            "certificates and the ARL; run it in the online home", operation=operation)
    where = _WHERE.get(operation, "run it in the root home")
    raise PolicyRefused(f"{operation} is not done in an online home: {where}", operation=operation)


def operations_of(kind: str, operations: frozenset[str] | set[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Those of `operations` a home of `kind` performs (what its rapp/ must make possible)."""
    return tuple(name for name in operations if performs(kind, name))
