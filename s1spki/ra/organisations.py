"""Subscriber organisations (spec 5, 6): `org register` and the end of a subscription (`org withdraw`)."""

from __future__ import annotations

from s1spki.command import Command
from s1spki.errors import PolicyRefused, UsageError
from s1spki.ra import crl
from s1spki.ra.revocation import record_revocation
from s1spki.ra.subscriber_officers import organisation
from s1spki.store import Duplicate, OrgRecord
from s1spki.values.eui64 import normalise_eui64
from s1spki.values.names import organisation_name


def register_organisation(cmd: Command, name: str, eui64s: list[str], roles: list[str]) -> OrgRecord:
    entity_ids = [normalise_eui64(e) for e in eui64s]
    event = cmd.event("org.register", "organisation", name, eui64s=entity_ids, roles=roles)
    with cmd.refusals_recorded(event):
        organisation_name(name, cmd.policy.names.organisation)
        if not entity_ids or not roles:
            raise UsageError("register an organisation with at least one --eui64 and one --role")
        if len(set(entity_ids)) != len(entity_ids):
            raise UsageError("an EUI-64 is listed twice")
        subscriber_roles = cmd.policy.subscriber_roles
        for role in roles:
            if role not in subscriber_roles:
                raise PolicyRefused(f"{role!r} is not a subscriber role in policy/roles.toml (roles: "
                                    f"{', '.join(subscriber_roles)})")
        for eui in entity_ids:
            owner = cmd.reader.owner_of(eui)
            if owner is not None:
                raise PolicyRefused(f"EUI-64 {eui} already belongs to organisation {owner!r}")
        auth = cmd.authorise("org.register", {"name": name, "eui64s": entity_ids, "roles": sorted(roles)})
        try:
            with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
                tx.add_organisation(name, entity_ids, sorted(set(roles)))
        except Duplicate as exc:
            raise PolicyRefused(exc.message) from None
    record = cmd.reader.organisation(name)
    assert record is not None
    return record


def withdraw_organisation(cmd: Command, org_name: str) -> tuple[OrgRecord, list[str]]:
    """End of subscription (spec 5): the organisation and all its officers are withdrawn at once, then all
    its valid certificates are revoked (policy.toml end_of_subscription_reason) and each issuing CA's CRL is
    re-issued.

    Returns the organisation and the certificates revoked (issuer CN/serial)."""
    event = cmd.event("org.withdraw", "organisation", org_name)
    with cmd.refusals_recorded(event):
        org = organisation(cmd, org_name, must_be_active=False)
        if org.status == "withdrawn":
            raise PolicyRefused(f"organisation {org_name!r} was already withdrawn")
        auth = cmd.authorise("org.withdraw", {"organisation": org_name})
        for operator in auth.operators:  # the revocations that follow must not be refused half-way
            if not cmd.rapp.may_any(operator.roles, "cert.revoke"):
                raise PolicyRefused(f"{operator.name} may not cert.revoke, which ending a subscription does: "
                                    "an operator who may do both withdraws the organisation")
        with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            tx.set_organisation_status(org.id, "withdrawn")
            tx.withdraw_officers_of(org.id)
    valid = [c for c in cmd.reader.certificates("end-entity", org_name) if c.status == "valid"]
    reason = cmd.policy.end_of_subscription_reason
    recorded = [record_revocation(cmd, c.serial, c.issuer_cn, reason) for c in valid]
    signers = {r.signer.name: r for r in recorded}
    for first in signers.values():  # one new CRL per issuing CA, listing all of them
        crl.issue(cmd, first.signer, first.issuer, first.crl_event)
    return organisation(cmd, org_name, must_be_active=False), [f"{c.issuer_cn}/{c.serial}" for c in valid]
