"""The policy applied to one request: the services' ``Policy`` seam backed by :func:`policy.decide`.

:class:`RequestAccess` is what one request asks for (caller, emergency reason, the composition in the path)
and collects what was decided, so that the audit record written for the request can say on which basis it
was allowed or why it was refused. :class:`EnforcingPolicy` answers ``ctx.authorize`` for the use cases: it
loads the EHR's facts, asks :func:`cdr.security.policy.decide`, records an emergency grant when the caller
broke the glass, and raises :class:`PolicyDenied` (403, with the reason) instead of returning ``False``, so
that the caller learns what is missing (a care relation, consent ...) without learning anything about the
record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from cdr.security.errors import Forbidden
from cdr.security.policy import (
    EMERGENCY_GRANT_MINUTES,
    Access,
    Decision,
    EmergencyGrant,
    EmergencyRequest,
    composition_decisions,
    decide,
    restricts_parts,
)
from cdr.security.principal import AuthMethod, Principal
from cdr.services.context import Action, Refusal
from cdr.storage.access_control import AccessControlStore

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PolicyDenied(Forbidden):
    """The policy refused access to an EHR; ``decision`` says why (for the audit record)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


@dataclass(slots=True)
class RequestAccess:
    """One request's access to patient data: what it asked for and what was decided."""

    principal: Principal
    emergency: EmergencyRequest | None = None
    composition_id: uuid.UUID | None = None
    decisions: list[tuple[uuid.UUID, Decision]] = field(default_factory=list)
    touches_patient: bool = False
    audited: bool = False
    refused: bool = False  # refused without an EHR-level decision (e.g. a lookup by unknown subject id)

    def decision_for(self, ehr_id: uuid.UUID | None) -> Decision | None:
        """The last decision about ``ehr_id`` (any EHR when ``None``)."""
        for decided_for, decision in reversed(self.decisions):
            if ehr_id is None or decided_for == ehr_id:
                return decision
        return None


_ACCESS = {Action.READ_EHR: Access.READ, Action.WRITE_EHR: Access.WRITE}


class EnforcingPolicy:
    """The services' ``Policy`` for one request (see the module docstring)."""

    def __init__(
        self,
        store: AccessControlStore,
        access: RequestAccess,
        *,
        emergency_minutes: int = EMERGENCY_GRANT_MINUTES,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.access = access
        self.emergency_minutes = emergency_minutes
        self.clock = clock

    def allows(self, principal: Principal, action: Action, ehr_id: uuid.UUID | None) -> bool:
        """Whether ``principal`` may perform ``action``; raises :class:`PolicyDenied` for refused EHR access.

        Actions without an EHR are decided by the caller's areas (their scopes): creating an EHR needs
        ``write``, changing templates ``definition``, the admin API ``admin``; template reads are open to
        every authenticated caller the API let through. Reads and writes of one EHR go to :func:`decide`.
        """
        development = principal.auth_method is AuthMethod.NONE
        if action is Action.ADMIN:
            if ehr_id is not None:
                self.access.touches_patient = True
            return principal.is_admin
        if action is Action.READ_DEFINITION:
            return True
        if action is Action.WRITE_DEFINITION:
            return development or "definition" in principal.roles
        if action is Action.CREATE_EHR:
            self.access.touches_patient = True
            return development or "write" in principal.roles
        if ehr_id is None:  # finding an EHR by subject: the EHR-level check follows
            self.access.touches_patient = True
            return True
        return self._decide(principal, _ACCESS[action], ehr_id)

    def hidden(
        self,
        principal: Principal,
        ehr_id: uuid.UUID,
        object_ids: Collection[uuid.UUID],
        *,
        refuse: Refusal = "never",
    ) -> frozenset[uuid.UUID]:
        """The compositions among ``object_ids`` whose own read :func:`decide` would refuse (a composition or
        template restriction without consent or emergency access), so that a listing leaves them out; with
        ``refuse`` ("all": every one is hidden, "any": one is) raises :class:`PolicyDenied` instead. One
        shown only by consent or emergency access makes that the request's decision (flagged in its audit
        record; an emergency reason sent now is recorded as a grant, as for the composition's own read).

        Costs nothing beyond the request's facts unless such a restriction names the caller.
        """
        now = self.clock()
        facts, _ = self.store.facts(ehr_id, now)
        if not object_ids or not restricts_parts(principal, facts, now):
            return frozenset()
        templates = self.store.templates(ehr_id, object_ids)
        compositions = {i: templates.get(i, frozenset()) for i in object_ids}
        decisions = composition_decisions(
            principal, facts, now, compositions, emergency=self.access.emergency
        )
        refused = [d for d in decisions.values() if not d.allowed]
        if refused and (refuse == "any" or (refuse == "all" and len(refused) == len(decisions))):
            decision = refused[0]
            if refuse == "any":  # a change of the listing would drop what the caller cannot see
                reason = f"{decision.reason}; it holds compositions restricted from the caller"
                decision = decision.model_copy(update={"reason": reason})
            self.access.decisions.append((ehr_id, decision))
            raise PolicyDenied(decision)
        overriding = sorted(
            (d for d in decisions.values() if d.allowed and (d.emergency or d.consent_override)),
            key=lambda d: not d.emergency,
        )
        if overriding:
            self.access.decisions.append((ehr_id, overriding[0]))
            if overriding[0].new_grant:
                self._grant(principal, ehr_id, now)
        return frozenset(i for i, d in decisions.items() if not d.allowed)

    def ehr_exists(self, ehr_id: uuid.UUID) -> bool | None:
        """From the facts a decision of this request loaded (they are read in the request's transaction on
        PostgreSQL), without a statement; ``None`` when no decision read them."""
        facts = self.store.known(ehr_id)
        return None if facts is None else facts.exists

    def _decide(self, principal: Principal, access: Access, ehr_id: uuid.UUID) -> bool:
        now = self.clock()
        self.access.touches_patient = True
        facts, target = self.store.facts(ehr_id, now, self.access.composition_id)
        decision = decide(principal, access, facts, now, target=target, emergency=self.access.emergency)
        self.access.decisions.append((ehr_id, decision))
        if not decision.allowed:
            raise PolicyDenied(decision)
        if decision.new_grant:
            self._grant(principal, ehr_id, now)
        return True

    def _grant(self, principal: Principal, ehr_id: uuid.UUID, now: dt.datetime) -> None:
        """Record the emergency access the request's reason opened, for ``emergency_minutes``."""
        if self.access.emergency is not None:
            self.store.add_grant(
                EmergencyGrant(
                    ehr_id=ehr_id,
                    actor_subject=principal.subject,
                    actor_hpr=principal.hpr_number,
                    reason_code=self.access.emergency.code,
                    reason_text=self.access.emergency.text,
                    granted_at=now,
                    expires_at=now + dt.timedelta(minutes=self.emergency_minutes),
                )
            )
