"""Subscriber officers (spec 6): Senior Responsible Officers and Authorised Responsible Officers.

An SRO is registered by an RA officer who records the identity check and the evidence of the SRO's
authority. An ARO is nominated by an active SRO of the same organisation and becomes active only when
an RA officer has recorded both the identity check and the BS 7858 screening. Every check keeps who
checked it, when, and the evidence reference. Withdrawal takes effect at once.
"""

from __future__ import annotations

from s1spki.command import Command
from s1spki.errors import NotFound, PolicyRefused, UsageError
from s1spki.store import Duplicate, OfficerRecord, OrgRecord
from s1spki.values.names import evidence_reference, officer_name

# What an RA officer records to make a nominated ARO active (spec 6: identity and BS 7858 screening).
ARO_CHECKS = ("identity", "screening")


def organisation(cmd: Command, name: str, must_be_active: bool = True) -> OrgRecord:
    org = cmd.reader.organisation(name)
    if org is None:
        raise NotFound(f"unknown organisation {name!r}")
    cmd.trust("organisations", org.id, f"organisation {name}")
    if must_be_active and org.status != "active":
        raise PolicyRefused(f"organisation {name!r} is {org.status}")
    return org


def _evidence(cmd: Command, reference: str, what: str) -> str:
    return evidence_reference(reference, cmd.policy.names.evidence, what)


def _officer(cmd: Command, org: str, kind: str, name: str) -> OfficerRecord:
    officer = cmd.reader.officer(org, kind, name)
    if officer is None:
        raise NotFound(f"{org!r} has no {kind.upper()} named {name!r}")
    cmd.trust("officers", officer.id, f"{kind.upper()} {name} of {org}")
    return officer


def add_sro(cmd: Command, org_name: str, name: str, identity_evidence: str,
            authority_evidence: str) -> OfficerRecord:
    event = cmd.event("org.sro.add", "officer", f"{org_name}/sro/{name}")
    with cmd.refusals_recorded(event):
        officer_name(name, cmd.policy.names.officer, "SRO")
        identity = _evidence(cmd, identity_evidence, "identity")
        authority = _evidence(cmd, authority_evidence, "authority")
        org = organisation(cmd, org_name)
        auth = cmd.authorise("org.sro.add", {"organisation": org_name, "sro": name, "identity_evidence": identity,
                                             "authority_evidence": authority})
        try:
            with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records(),
                                                   identity_evidence=identity, authority_evidence=authority)) as tx:
                officer_id = tx.add_officer(org.id, "sro", name, "active", None)
                tx.add_officer_check(officer_id, "identity", identity, auth.actor)
                tx.add_officer_check(officer_id, "authority", authority, auth.actor)
        except Duplicate as exc:
            raise PolicyRefused(exc.message) from None
    return _officer(cmd, org_name, "sro", name)


def add_aro(cmd: Command, org_name: str, name: str, nominated_by: str,
            nomination_evidence: str) -> OfficerRecord:
    """Record an SRO's nomination of an ARO; the ARO is not active until verified."""
    event = cmd.event("org.aro.add", "officer", f"{org_name}/aro/{name}",
                      nominated_by=nominated_by)
    with cmd.refusals_recorded(event):
        officer_name(name, cmd.policy.names.officer, "ARO")
        evidence = _evidence(cmd, nomination_evidence, "nomination")
        org = organisation(cmd, org_name)
        sro = cmd.reader.officer(org_name, "sro", nominated_by)
        if sro is not None:
            cmd.trust("officers", sro.id, f"SRO {nominated_by} of {org_name}")
        if sro is None or sro.status != "active":
            raise PolicyRefused(f"{nominated_by!r} is not an active SRO of {org_name!r}: an ARO is nominated by "
                                "the organisation's SRO")
        auth = cmd.authorise("org.aro.add", {"organisation": org_name, "aro": name, "nominated_by": nominated_by,
                                             "nomination_evidence": evidence})
        try:
            with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records(),
                                                   nomination_evidence=evidence)) as tx:
                officer_id = tx.add_officer(org.id, "aro", name, "nominated", sro.id)
                tx.add_officer_check(officer_id, "nomination", evidence, auth.actor)
        except Duplicate as exc:
            raise PolicyRefused(exc.message) from None
    return _officer(cmd, org_name, "aro", name)


def verify_aro(cmd: Command, org_name: str, name: str, check: str, evidence_ref: str) -> OfficerRecord:
    """Record the identity check or the BS 7858 screening; with both, the ARO becomes active."""
    event = cmd.event("org.aro.verify", "officer", f"{org_name}/aro/{name}", check=check)
    with cmd.refusals_recorded(event):
        if check not in ARO_CHECKS:
            raise UsageError(f"--check must be one of {', '.join(ARO_CHECKS)}, not {check!r}")
        evidence = _evidence(cmd, evidence_ref, check)
        organisation(cmd, org_name)
        aro = _officer(cmd, org_name, "aro", name)
        if aro.status == "withdrawn":
            raise PolicyRefused(f"ARO {name!r} of {org_name!r} was withdrawn on {aro.withdrawn_at}")
        auth = cmd.authorise("org.aro.verify", {"organisation": org_name, "aro": name, "check": check,
                                                "evidence": evidence})
        done = {c.check for c in aro.checks} | {check}
        activate = aro.status == "nominated" and all(c in done for c in ARO_CHECKS)
        try:
            with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records(), evidence=evidence,
                                                   activated=activate)) as tx:
                tx.add_officer_check(aro.id, check, evidence, auth.actor)
                if activate:
                    tx.set_officer_status(aro.id, "active")
        except Duplicate as exc:
            raise PolicyRefused(exc.message) from None
    return _officer(cmd, org_name, "aro", name)


def withdraw_officer(cmd: Command, org_name: str, kind: str, name: str) -> OfficerRecord:
    operation = f"org.{kind}.withdraw"
    event = cmd.event(operation, "officer", f"{org_name}/{kind}/{name}")
    with cmd.refusals_recorded(event):
        organisation(cmd, org_name, must_be_active=False)
        officer = _officer(cmd, org_name, kind, name)
        if officer.status == "withdrawn":
            raise PolicyRefused(f"{kind.upper()} {name!r} of {org_name!r} was already withdrawn on "
                                f"{officer.withdrawn_at}")
        auth = cmd.authorise(operation, {"organisation": org_name, kind: name})
        with cmd.store.change(event.attributed(auth.actor, auth.actor_role, auth.records())) as tx:
            tx.set_officer_status(officer.id, "withdrawn")
    return _officer(cmd, org_name, kind, name)
