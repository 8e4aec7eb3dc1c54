"""Registration: the checks a request must pass against the subscriber registry (spec 5, 6), and the
rule that a public key is certified once.

These checks run when a request is submitted and again when it is issued, since the registry may have
changed in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from s1spki.errors import NotFound, PolicyRefused
from s1spki.policy import Policy
from s1spki.store import OfficerRecord, OrgRecord, StoreReader


@dataclass(frozen=True)
class RequestSubject:
    """What a certificate request asks for, on whose behalf."""

    organisation: str
    aro: str | None
    role: str
    key_usage: str
    eui64: str


def check_request(reader: StoreReader, policy: Policy, checks: tuple[str, ...], subject: RequestSubject,
                  trust: Callable[[str, int, str], None] | None = None) -> tuple[OrgRecord, OfficerRecord | None]:
    """Run the registry checks that rapp/ names for the operation (spec 5); the subscriber must exist. With
    `trust`, the organisation and ARO relied on must be as s1spki wrote them (their seals)."""
    org = reader.organisation(subject.organisation)
    if org is None:
        raise NotFound(f"unknown organisation {subject.organisation!r}: register it with `s1spki org register`")
    aro = reader.officer(subject.organisation, "aro", subject.aro) if subject.aro else None
    if trust is not None:
        trust("organisations", org.id, f"organisation {org.name}")
        if aro is not None:
            trust("officers", aro.id, f"ARO {aro.name} of {org.name}")
    for check in checks:
        _CHECKS[check](org, aro, subject, policy, reader)
    return org, aro


def _organisation_eligible(org: OrgRecord, aro: OfficerRecord | None, subject: RequestSubject, policy: Policy,
                           reader: StoreReader) -> None:
    if org.status != "active":
        raise PolicyRefused(f"organisation {org.name!r} is {org.status}: it may not request certificates")


def _aro_active(org: OrgRecord, aro: OfficerRecord | None, subject: RequestSubject, policy: Policy,
                reader: StoreReader) -> None:
    if not subject.aro:
        raise PolicyRefused("name the Authorised Responsible Officer on whose behalf the request is made (--aro)")
    if aro is None:
        elsewhere = [o.org_name for o in reader.officers(kind="aro") if o.name == subject.aro]
        where = f" (an ARO of {', '.join(map(repr, elsewhere))})" if elsewhere else ""
        raise PolicyRefused(f"{subject.aro!r} is not an ARO of {org.name!r}{where}")
    if aro.status != "active":
        pending = "" if aro.status != "nominated" else ": its identity check and BS 7858 screening must be recorded"
        raise PolicyRefused(f"ARO {aro.name!r} of {org.name!r} is {aro.status}{pending}")


def _eui64_owned(org: OrgRecord, aro: OfficerRecord | None, subject: RequestSubject, policy: Policy,
                 reader: StoreReader) -> None:
    if subject.eui64 not in org.eui64s:
        raise PolicyRefused(f"EUI-64 {subject.eui64} does not belong to organisation {org.name!r}")


def _role_permitted(org: OrgRecord, aro: OfficerRecord | None, subject: RequestSubject, policy: Policy,
                    reader: StoreReader) -> None:
    if subject.role not in policy.subscriber_roles:
        raise PolicyRefused(f"{subject.role!r} is not a subscriber role in policy/roles.toml")
    if subject.role not in org.roles:
        raise PolicyRefused(f"organisation {org.name!r} may not hold role {subject.role!r} (it may hold: "
                            f"{', '.join(org.roles)})")


def _key_usage_allowed(org: OrgRecord, aro: OfficerRecord | None, subject: RequestSubject, policy: Policy,
                       reader: StoreReader) -> None:
    if subject.key_usage not in policy.end_entity:
        raise PolicyRefused(f"no end-entity profile for key usage {subject.key_usage!r} (profiles: "
                            f"{', '.join(policy.end_entity)})")


# rapp/model.py CHECKS names these; a check named there and missing here fails the import test.
_CHECKS: dict[str, Callable[[OrgRecord, OfficerRecord | None, RequestSubject, Policy, StoreReader], None]] = {
    "organisation_eligible": _organisation_eligible,
    "aro_active": _aro_active,
    "eui64_owned": _eui64_owned,
    "role_permitted": _role_permitted,
    "key_usage_allowed": _key_usage_allowed,
}


def refuse_known_key(reader: StoreReader, key_sha256: str, pending_id: int | None = None) -> None:
    """spec 5: a public key already certified is refused; so is one already waiting in another request."""
    certified, waiting = reader.key_uses(key_sha256)
    if certified:
        raise PolicyRefused("this public key is already certified: a new certificate needs a new key pair",
                            conflict="public-key")
    for other in waiting:
        if other != pending_id:
            raise PolicyRefused(f"this public key is already in request {other}", conflict="public-key")
