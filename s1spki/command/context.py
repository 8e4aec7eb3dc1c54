"""What every use case runs in: the runtime, the principal acting, and the duties all state changes share.

A principal is who a command acts for: `Operators`, the people named with `--as`, each of whom signs the
command's statement with their own credential; or a `Component`, an S1SP system reaching the CA over EST,
authenticated by its TLS client certificate (or, at its first enrolment, by the one-time secret of an
enrolment authorisation), which may do only what rapp/roles.toml [components] lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from s1spki.audit.record import AuditEvent
from s1spki.command.authorise import Authorisation, authorise_component, authorise_operators
from s1spki.command.home_kind import refuse_elsewhere
from s1spki.errors import AuthError, HsmError, IntegrityRefused, Refused, StoreError
from s1spki.oplog import bind_correlation
from s1spki.policy import Policy
from s1spki.rapp import Rapp
from s1spki.rapp.model import ParticipantRule
from s1spki.runtime import Runtime
from s1spki.store import ChangeTx, Store, StoreReader
from s1spki.values.clock import Clock


@dataclass(frozen=True)
class Operators:
    """People named with `--as`, in order: the first performs the operation, the others take part in it."""

    names: tuple[str, ...]

    @property
    def label(self) -> str:
        """How the audit record names them before they are authorised: `alice+bob`. What was typed is recorded
        escaped and cut short (a refused `--as` may hold anything), to the audit record's actor column."""
        label = "+".join(_recordable(name) for name in self.names)
        return label if len(label) <= MAX_NAME else label[:MAX_NAME - 3] + "..."


MAX_NAME = 64  # store/schema.py audit.actor


def _recordable(name: str) -> str:
    """A name as the audit record keeps it: printable ASCII as typed, anything else escaped."""
    if name.isascii() and name.isprintable() and "+" not in name:
        return name
    escaped = name.encode("unicode_escape").decode("ascii").replace("+", "\\x2b")
    return escaped


@dataclass(frozen=True)
class Component:
    """An S1SP component over EST: the certificate it authenticated with (issuer CN and serial), or the enrolment
    authorisation whose one-time secret it presented, and the TLS peer address it came from."""

    peer: str
    issuer: str | None = None
    serial: str | None = None
    authorisation: int | None = None

    @property
    def label(self) -> str:
        """How the audit record's actor names it (the issuer and peer are in the record's details)."""
        if self.serial is not None:
            return f"component:{self.serial}"
        if self.authorisation is not None:
            return f"component:enrolment/{self.authorisation}"
        return "component:unauthenticated"

    def as_details(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "serial": self.serial, "authorisation": self.authorisation, "peer": self.peer}


Principal = Operators | Component


class Command:
    """One run of a use case for one principal."""

    def __init__(self, runtime: Runtime, principal: Principal) -> None:
        self.runtime = runtime
        self.principal = principal

    # --- the parts a use case works with, opened by the runtime ---

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def reader(self) -> StoreReader:
        return self.runtime.store.reader

    @property
    def policy(self) -> Policy:
        return self.runtime.policy

    @property
    def rapp(self) -> Rapp:
        return self.runtime.rapp

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def home_id(self) -> str:
        return self.runtime.home_id

    # --- the duties every state change shares ---

    def event(self, event: str, object_type: str | None = None, object_id: str | None = None, *,
              actor: str | None = None, actor_role: str = "", **details: Any) -> AuditEvent:
        """An audit event naming the principal (or `actor`), stamped with the hashes of policy/ and rapp/ in force."""
        policy_hash, rapp_hash = self.runtime.hashes_in_force()
        if isinstance(self.principal, Component):
            details = {"component": self.principal.as_details(), **details}
            actor_role = actor_role or "component"
        made = AuditEvent(event=event, actor=self.principal.label if actor is None else actor, actor_role=actor_role,
                          object_type=object_type, object_id=object_id, details=details, policy_hash=policy_hash,
                          rapp_hash=rapp_hash)
        bind_correlation(made.correlation_id)  # the operational log's lines from here on name this record
        return made

    def authorise(self, operation: str, obj: Mapping[str, Any], rule: ParticipantRule | None = None) -> Authorisation:
        """Each named operator signs the statement of `operation` on `obj`; checked against rapp/ (or `rule`, e.g.
        a role grant's) with AuthError, and each operator's record must be as s1spki wrote it. A component, which
        signs nothing, may do only what rapp/roles.toml [components] lists; its authentication is the front door's
        (the TLS client certificate) or the use case's (an authorisation's one-time secret). An operation this kind
        of home does not perform is refused first (command/home_kind.py)."""
        self.refuse_elsewhere(operation)
        if isinstance(self.principal, Component):
            return authorise_component(self.rapp, operation, self.principal.label)
        return authorise_operators(self.reader, rule or self.rapp.participant_rule(operation), self.clock,
                                   self.home_id, self.runtime.operator_key, obj, self.principal.names, self.trust)

    def refuse_elsewhere(self, operation: str) -> None:
        """PolicyRefused if this home (root, online, combined: its `init` record says) does not do `operation`."""
        refuse_elsewhere(self.runtime.kind, operation)

    def trust(self, table: str, row_id: int, what: str) -> None:
        """Refuse to rely on a protected row that is not as s1spki last wrote it (store/sealing.py): a database
        edit, an inserted row or an older version put back."""
        problem = self.store.seal_problem(table, row_id)
        if problem is not None:
            raise IntegrityRefused(f"{what} fails its integrity check ({problem.line()}): refused; run `s1spki audit "
                                   "verify` and restore the store from a backup", table=table, row_id=row_id)

    @contextmanager
    def refusals_recorded(self, event: AuditEvent, undo: Callable[[ChangeTx], None] | None = None) -> Iterator[None]:
        """Record a refusal (policy, RAPP, lint, authentication, integrity) or an HSM failure, then re-raise.

        The refused change itself has been rolled back; only this record remains of it. `undo` runs in the
        refusal's own transaction, for a step that had committed before the refusal (a claim to release).
        """
        try:
            yield
        except (Refused, AuthError, HsmError) as exc:
            self.record_refusal(event, exc, undo)
            raise

    def record_refusal(self, event: AuditEvent, exc: Refused | AuthError | HsmError | StoreError,
                       undo: Callable[[ChangeTx], None] | None = None, reason: str | None = None) -> None:
        """The record of `event` refused by `exc` (an error outcome for a failure of the HSM), with `undo` in its
        transaction; a store or HSM failure while recording is left for the original error to report."""
        outcome = "error" if isinstance(exc, HsmError) else "refused"
        with suppress(StoreError, HsmError):
            self.store.record_refusal(event.with_outcome(outcome, reason=reason or exc.message, error=exc.kind), undo)
