"""Registration: the subscriber registry and the checks a request must pass (spec 5, 6).

These checks run when a request is submitted and again when it is issued, since the registry may have
changed in between.
"""

from __future__ import annotations

from .app import App
from .errors import NotFound, PolicyRefused, UsageError
from .eui64 import normalise_eui64
from .policy import Policy
from .store import Duplicate, OrgRecord, StoreReader


def register_organisation(app: App, names: list[str], name: str, eui64s: list[str], roles: list[str]) -> OrgRecord:
    entity_ids = [normalise_eui64(e) for e in eui64s]
    event = app.event("org.register", "+".join(names), "", "organisation", name, eui64s=entity_ids, roles=roles)
    with app.refusals_recorded(event):
        if not name.strip() or len(name) > 128:
            raise UsageError("an organisation name must have 1 to 128 characters")
        if not entity_ids or not roles:
            raise UsageError("register an organisation with at least one --eui64 and one --role")
        if len(set(entity_ids)) != len(entity_ids):
            raise UsageError("an EUI-64 is listed twice")
        subscriber_roles = app.policy.subscriber_roles
        for role in roles:
            if role not in subscriber_roles:
                raise PolicyRefused(f"{role!r} is not a subscriber role in policy/roles.toml (roles: "
                                    f"{', '.join(subscriber_roles)})")
        for eui in entity_ids:
            owner = app.store.reader.owner_of(eui)
            if owner is not None:
                raise PolicyRefused(f"EUI-64 {eui} already belongs to organisation {owner!r}")
        auth = app.authorise("org.register", {"name": name, "eui64s": entity_ids, "roles": sorted(roles)}, names)
        try:
            with app.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
                tx.add_organisation(name, entity_ids, sorted(set(roles)))
        except Duplicate as exc:
            raise PolicyRefused(exc.message) from None
    record = app.store.reader.organisation(name)
    assert record is not None
    return record


def check_request(reader: StoreReader, policy: Policy, org_name: str, role: str, key_usage: str,
                  eui64: str) -> OrgRecord:
    """The subscriber exists and is active, holds the role, owns the EUI-64; the key usage has a profile."""
    org = reader.organisation(org_name)
    if org is None:
        raise NotFound(f"unknown organisation {org_name!r}: register it with `s1spki org register`")
    if org.status != "active":
        raise PolicyRefused(f"organisation {org_name!r} is {org.status}: it may not request certificates")
    if role not in policy.subscriber_roles:
        raise PolicyRefused(f"{role!r} is not a subscriber role in policy/roles.toml")
    if role not in org.roles:
        raise PolicyRefused(f"organisation {org_name!r} may not hold role {role!r} (it may hold: "
                            f"{', '.join(org.roles)})")
    if eui64 not in org.eui64s:
        raise PolicyRefused(f"EUI-64 {eui64} does not belong to organisation {org_name!r}")
    if key_usage not in policy.end_entity:
        raise PolicyRefused(f"no end-entity profile for key usage {key_usage!r} (profiles: "
                            f"{', '.join(policy.end_entity)})")
    return org
