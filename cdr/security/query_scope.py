"""What a caller may see across EHRs, as data a query compiler turns into SQL (the AQL contract).

REST asks :func:`cdr.security.policy.decide` about one EHR at a time. A query spans EHRs, so
:func:`sql_filter` answers the same question for all of them at once, as a :class:`QueryScope`: the EHRs the
caller may read, and inside them the compositions and templates restricted from them. It is computed by
asking :func:`decide` about every EHR the caller could have a basis for (one decision function, so REST and
AQL cannot disagree), and :meth:`QueryScope.where` renders it as one SQLAlchemy condition over the ehr id,
versioned object id and template id columns of whatever the compiler selects from. The compiler must AND it
into every query's WHERE clause; docs/security.md states the contract.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from cdr.security.policy import (
    Access,
    ControlKind,
    EhrFacts,
    Target,
    TargetKind,
    decide,
)
from cdr.security.principal import AuthMethod, Principal


class QueryScope(BaseModel):
    """The rows a query may return for one caller (see the module docstring).

    ``all_ehrs`` is only true with authentication off (loopback development); otherwise ``ehr_ids`` lists the
    readable EHRs, ``emergency_ehr_ids`` those readable only by emergency access and ``consent_ehr_ids``
    those readable only because a consent overrides a restriction of the whole EHR (the query's audit record
    must flag both), and ``hidden_compositions`` / ``hidden_templates`` the (EHR, composition object id) and
    (EHR, template id) pairs restricted from the caller inside readable EHRs.
    """

    model_config = ConfigDict(frozen=True)

    all_ehrs: bool = False
    ehr_ids: frozenset[uuid.UUID] = frozenset()
    emergency_ehr_ids: frozenset[uuid.UUID] = frozenset()
    consent_ehr_ids: frozenset[uuid.UUID] = frozenset()
    hidden_compositions: frozenset[tuple[uuid.UUID, uuid.UUID]] = frozenset()
    hidden_templates: frozenset[tuple[uuid.UUID, str]] = frozenset()

    def where(
        self,
        ehr_id: ColumnElement[uuid.UUID],
        vo_id: ColumnElement[uuid.UUID] | None = None,
        template_id: ColumnElement[str] | None = None,
    ) -> ColumnElement[bool]:
        """The condition a row (of a version or node) must meet; pass the columns the query has."""
        parts: list[ColumnElement[bool]] = []
        if not self.all_ehrs:
            parts.append(ehr_id.in_(sorted(self.ehr_ids)) if self.ehr_ids else sa.false())
        if vo_id is not None and self.hidden_compositions:
            parts.append(sa.not_(sa.tuple_(ehr_id, vo_id).in_(sorted(self.hidden_compositions))))
        if template_id is not None and self.hidden_templates:
            hidden = sa.tuple_(ehr_id, template_id).in_(sorted(self.hidden_templates))
            parts.append(sa.or_(template_id.is_(None), sa.not_(hidden)))
        return sa.and_(sa.true(), *parts)


def query_scope(principal: Principal, facts: Iterable[EhrFacts], now: dt.datetime) -> QueryScope:
    """The scope of ``principal`` over the EHRs described by ``facts`` (pure; :func:`sql_filter` loads).

    Researchers get nothing (no identified rows); with authentication off everything is visible.
    """
    if principal.auth_method is AuthMethod.NONE:
        return QueryScope(all_ehrs=True)
    readable: set[uuid.UUID] = set()
    emergency: set[uuid.UUID] = set()
    consent: set[uuid.UUID] = set()
    hidden_compositions: set[tuple[uuid.UUID, uuid.UUID]] = set()
    hidden_templates: set[tuple[uuid.UUID, str]] = set()
    for ehr in facts:
        decision = decide(principal, Access.READ, ehr, now)
        if not decision.allowed:
            continue
        readable.add(ehr.ehr_id)
        if decision.emergency:
            emergency.add(ehr.ehr_id)
        elif decision.consent_override:
            consent.add(ehr.ehr_id)
        for control in ehr.controls:
            if control.kind is not ControlKind.RESTRICTION or control.target is None:
                continue
            if control.target_kind is TargetKind.COMPOSITION:
                target = Target(composition_id=uuid.UUID(control.target))
                if not decide(principal, Access.READ, ehr, now, target=target).allowed:
                    hidden_compositions.add((ehr.ehr_id, uuid.UUID(control.target)))
            elif control.target_kind is TargetKind.TEMPLATE:
                target = Target(template_ids=frozenset({control.target}))
                if not decide(principal, Access.READ, ehr, now, target=target).allowed:
                    hidden_templates.add((ehr.ehr_id, control.target))
    return QueryScope(
        ehr_ids=frozenset(readable),
        emergency_ehr_ids=frozenset(emergency),
        consent_ehr_ids=frozenset(consent),
        hidden_compositions=frozenset(hidden_compositions),
        hidden_templates=frozenset(hidden_templates),
    )


def sql_filter(principal: Principal, conn: Connection, now: dt.datetime) -> QueryScope:
    """:func:`query_scope` over the EHRs ``principal`` could have a basis for, loaded on ``conn``."""
    from cdr.storage.access_control import candidate_ehrs, load_facts

    if principal.auth_method is AuthMethod.NONE:
        return QueryScope(all_ehrs=True)
    candidates = sorted(candidate_ehrs(conn, principal, now))
    return query_scope(principal, (load_facts(conn, e, now) for e in candidates), now)
