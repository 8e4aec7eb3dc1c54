"""`policy adopt`: the policy/ and rapp/ in the home's folders become the ones in force, under dual control.

The people who adopt are authorised by the RAPP adopted before (the rule for `policy.adopt` there), never by
the files being adopted, so an edit of rapp/ cannot lower what its own adoption needs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from s1spki.command import Command
from s1spki.errors import PolicyRefused
from s1spki.home.adoption import ADOPT_EVENT, FOLDERS, adoption_details
from s1spki.policy import load_policy
from s1spki.rapp import load_rapp
from s1spki.rapp.model import ParticipantRule


def _rule_adopted_before(cmd: Command) -> ParticipantRule:
    previous = cmd.runtime.adoption
    with tempfile.TemporaryDirectory(prefix="s1spki-adopted-") as tmp:
        rapp = load_rapp(previous.materialise("rapp", Path(tmp) / "rapp"))
    if ADOPT_EVENT in rapp.operations:
        return rapp.participant_rule(ADOPT_EVENT)
    # a RAPP adopted before `policy.adopt` existed: two of its key custodians
    return ParticipantRule(ADOPT_EVENT, 2, (rapp.custodian_role,), (rapp.custodian_role,))


def adopt(cmd: Command) -> dict[str, Any]:
    """Adopt the files in force; returns what was adopted (hashes, files that changed)."""
    config = cmd.runtime.config
    directories = {"policy": config.policy_dir, "rapp": config.rapp_dir}
    event = cmd.event(ADOPT_EVENT, "policy", None)
    with cmd.refusals_recorded(event):
        # the new files must load (all their problems at once) before anyone signs for them
        hashes = {"policy": load_policy(directories["policy"]).hash, "rapp": load_rapp(directories["rapp"]).hash}
        previous = cmd.runtime.adoption
        changed = [d for folder in FOLDERS for d in previous.differences(folder, directories[folder])]
        if not changed:
            raise PolicyRefused(f"policy/ and rapp/ are as adopted in audit record {previous.seq}: nothing to adopt")
        auth = cmd.authorise(ADOPT_EVENT, {**hashes, "previous": previous.seq, "changed": changed},
                             _rule_adopted_before(cmd))
        details = adoption_details(directories, hashes)
        done = event.attributed(auth.actor, auth.actor_role, auth.records(), previous=previous.seq, changed=changed,
                                **details)
        with cmd.store.change(done):
            pass
    return {**hashes, "previous": previous.seq, "changed": changed}
