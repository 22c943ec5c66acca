"""Who is asking, and on whose behalf: the request context every use case receives.

The REST layer builds one :class:`RequestContext` per request (the CLI can build one per command) and passes
it to every service function. It is the seam for the security layer: the :class:`Principal`
(:class:`cdr.security.Principal`) is whoever the identity provider says is calling, the
:class:`Policy` decides whether they may perform an :class:`Action`, and the :class:`AccessLog` receives one
:class:`AccessRecord` per use case, inside the write transaction when there is one, so that the record and the
change it describes commit or roll back together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Connection

from cdr.security.policy import Decision
from cdr.security.principal import AuthMethod, Principal
from cdr.services.errors import Forbidden
from cdr.storage import Audit

ADMIN_ROLE = "admin"


class Action(StrEnum):
    """What a use case does, as a policy sees it: a verb on a kind of resource."""

    READ_EHR = "ehr:read"
    CREATE_EHR = "ehr:create"
    WRITE_EHR = "ehr:write"  # EHR_STATUS, COMPOSITION, FOLDER, CONTRIBUTION commits
    READ_DEFINITION = "definition:read"
    WRITE_DEFINITION = "definition:write"
    ADMIN = "admin"


ANONYMOUS = Principal(subject="anonymous", auth_method=AuthMethod.NONE, name="anonymous")
"""The caller when nobody authenticated (the CLI, tests of the services)."""


Refusal = Literal["never", "all", "any"]
"""When :meth:`Policy.hidden` refuses instead of hiding: never, when all objects are hidden, or any is."""


class Policy(Protocol):
    """Decides whether a principal may perform an action (on an EHR, when one is concerned), and which of
    the compositions a listing names (a contribution's versions, the directory's items) it must hide."""

    def allows(self, principal: Principal, action: Action, ehr_id: uuid.UUID | None) -> bool: ...

    def hidden(
        self,
        principal: Principal,
        ehr_id: uuid.UUID,
        object_ids: Collection[uuid.UUID],
        *,
        refuse: Refusal = "never",
    ) -> frozenset[uuid.UUID]: ...

    def ehr_exists(self, ehr_id: uuid.UUID) -> bool | None:
        """Whether the EHR exists, as far as this request's decisions already read it (``None``: not read),
        so that a use case need not ask the database again."""
        ...


class RolePolicy:
    """The policy where the security layer is not installed (in-process callers, apps built without it):
    everybody may use the openEHR API, only principals with the ``admin`` role the admin API; nothing is
    hidden from listings. The need-to-know policy is :class:`cdr.security.enforcement.EnforcingPolicy`."""

    def allows(self, principal: Principal, action: Action, ehr_id: uuid.UUID | None) -> bool:
        return action != Action.ADMIN or principal.is_admin

    def hidden(
        self,
        principal: Principal,
        ehr_id: uuid.UUID,
        object_ids: Collection[uuid.UUID],
        *,
        refuse: Refusal = "never",
    ) -> frozenset[uuid.UUID]:
        return frozenset()

    def ehr_exists(self, ehr_id: uuid.UUID) -> bool | None:
        return None


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """What one use case did, for an append-only access log."""

    request_id: str
    principal: str
    action: Action
    ehr_id: uuid.UUID | None
    target: str | None
    outcome: str = "ok"
    touched: tuple[str, ...] = ()
    """the uids of every version (and the contribution) a write committed, for the audit record"""
    ehr_ids: tuple[uuid.UUID, ...] = ()
    """the EHRs in an AQL query's result, for the audit record (and so the patients' access logs)"""
    decision: Decision | None = None
    """the decision whose basis and flags the record carries, when the use case knows it (an AQL query's
    record of an EHR it read only by consent or emergency access); else the request's decision about
    ``ehr_id``"""


AccessLog = Callable[[Connection | None, AccessRecord], None]
"""Writes an access record; given the write transaction's connection when the use case wrote something."""


@dataclass(slots=True)
class RequestContext:
    """One request: the caller, the commit metadata they sent, and the security hooks.

    ``committer``/``description`` come from ``openEHR-AUDIT_DETAILS`` (ITS-REST: merged with the defaults at
    commit time); ``lifecycle_state`` from ``openEHR-VERSION``.
    """

    principal: Principal = ANONYMOUS
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    committer: dict[str, Any] | None = None
    description: str | None = None
    change_type: str | None = None
    lifecycle_state: str | None = None
    policy: Policy = field(default_factory=RolePolicy)
    access_log: AccessLog | None = None

    def audit(self) -> Audit:
        """The caller's part of the AUDIT_DETAILS of a commit."""
        return Audit(self.committer or self.principal.committer(), self.description)

    def authorize(self, action: Action, ehr_id: uuid.UUID | None = None) -> None:
        """:class:`~cdr.services.errors.Forbidden` unless the policy allows ``action``."""
        if not self.policy.allows(self.principal, action, ehr_id):
            raise Forbidden(f"{self.principal.display_name} may not perform {action.value}")

    def known_ehr(self, ehr_id: uuid.UUID) -> bool | None:
        """Whether the EHR exists as this request's policy decisions read it (``None``: they did not)."""
        return self.policy.ehr_exists(ehr_id)

    def hidden(
        self, ehr_id: uuid.UUID, object_ids: Collection[uuid.UUID], *, refuse: Refusal = "never"
    ) -> frozenset[uuid.UUID]:
        """Which of ``object_ids`` (compositions a listing names) the caller may not see (see Policy)."""
        return self.policy.hidden(self.principal, ehr_id, object_ids, refuse=refuse)

    def record(
        self,
        conn: Connection | None,
        action: Action,
        ehr_id: uuid.UUID | None,
        target: str | None,
        touched: tuple[str, ...] = (),
        ehr_ids: tuple[uuid.UUID, ...] = (),
        decision: Decision | None = None,
    ) -> None:
        """Hand one access record to the access log, if one is installed."""
        if self.access_log is not None:
            entry = AccessRecord(
                self.request_id,
                self.principal.display_name,
                action,
                ehr_id,
                target,
                touched=touched,
                ehr_ids=ehr_ids,
                decision=decision,
            )
            self.access_log(conn, entry)
