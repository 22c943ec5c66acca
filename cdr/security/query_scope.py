"""What a caller may see across EHRs, as data a query compiler turns into SQL (the AQL contract).

REST asks :func:`cdr.security.policy.decide` about one EHR at a time. A query spans EHRs, so
:func:`sql_filter` answers the same question for all of them at once, as a :class:`QueryScope`: the EHRs the
caller may read, and inside them the compositions and templates restricted from them. It is computed by
asking :func:`decide` about every EHR the caller could have a basis for (one decision function, so REST and
AQL cannot disagree), and :meth:`QueryScope.where` renders it as one SQLAlchemy condition over the ehr id,
versioned object id and template id columns of whatever the compiler selects from. The compiler must AND it
into every query's WHERE clause; docs/security.md states the contract.

The scope also says which rows the caller sees only because of a recorded consent or an emergency grant, so
that the query's audit trail can flag exactly the EHRs whose data in the result owes something to them: a
whole EHR (``overrides``, known per EHR) or a composition or template inside an otherwise readable EHR
(:meth:`QueryScope.overridden`, a condition the compiler turns into a hidden column of the same statement).
:meth:`QueryScope.flags` joins the two with the EHRs the statement returned.
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
    Decision,
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

    ``overrides`` holds, per EHR read only by consent or emergency access, the decision whose flags its audit
    record carries; ``override_compositions`` / ``override_templates`` the pairs readable only by consent or
    emergency access inside an EHR read on another basis, and ``part_overrides`` the decision (emergency
    first) that flags such an EHR when the result holds one of them.
    """

    model_config = ConfigDict(frozen=True)

    all_ehrs: bool = False
    ehr_ids: frozenset[uuid.UUID] = frozenset()
    emergency_ehr_ids: frozenset[uuid.UUID] = frozenset()
    consent_ehr_ids: frozenset[uuid.UUID] = frozenset()
    hidden_compositions: frozenset[tuple[uuid.UUID, uuid.UUID]] = frozenset()
    hidden_templates: frozenset[tuple[uuid.UUID, str]] = frozenset()
    overrides: tuple[tuple[uuid.UUID, Decision], ...] = ()
    override_compositions: frozenset[tuple[uuid.UUID, uuid.UUID]] = frozenset()
    override_templates: frozenset[tuple[uuid.UUID, str]] = frozenset()
    part_overrides: tuple[tuple[uuid.UUID, Decision], ...] = ()

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

    def overridden(
        self,
        ehr_id: ColumnElement[uuid.UUID],
        vo_id: ColumnElement[uuid.UUID],
        template_id: ColumnElement[str],
    ) -> ColumnElement[bool] | None:
        """True on a version row the caller reads only by consent or emergency access inside an EHR read on
        another basis (``None`` when there is none): the compiler selects the row's EHR when it holds, as a
        hidden column of the query's one statement, so that the audit record flags exactly those EHRs."""
        parts: list[ColumnElement[bool]] = []
        if self.override_compositions:
            parts.append(sa.tuple_(ehr_id, vo_id).in_(sorted(self.override_compositions)))
        if self.override_templates:
            parts.append(sa.tuple_(ehr_id, template_id).in_(sorted(self.override_templates)))
        return sa.or_(*parts) if parts else None

    def flags(
        self, ehr_ids: Iterable[uuid.UUID], part_ehr_ids: Iterable[uuid.UUID] = ()
    ) -> dict[uuid.UUID, Decision]:
        """The flagging decision of each EHR in a result (``ehr_ids``) that was read only by consent or
        emergency access: the whole EHR (``overrides``), or a composition or template of it, for those the
        statement's hidden column names (``part_ehr_ids``). EHRs read on another basis are not in it.

        An EHR flagged both ways carries both flags (its emergency reason first)."""
        whole, parts = dict(self.overrides), dict(self.part_overrides)
        result = set(ehr_ids)
        flagged: dict[uuid.UUID, Decision] = {e: whole[e] for e in result if e in whole}
        for ehr_id in result.intersection(part_ehr_ids):
            part = parts.get(ehr_id)
            if part is None:
                continue
            known = flagged.get(ehr_id)
            flagged[ehr_id] = part if known is None else _merged(known, part)
        return flagged


def _merged(whole: Decision, part: Decision) -> Decision:
    """``whole`` (the EHR's decision) with the flags of ``part`` (a composition's) added."""
    if whole.emergency or not part.emergency:
        return whole.model_copy(update={"consent_override": whole.consent_override or part.consent_override})
    return part.model_copy(update={"consent_override": whole.consent_override or part.consent_override})


def _adds_flag(whole: Decision, part: Decision) -> bool:
    """Whether a composition's decision flags something its EHR's decision does not."""
    if whole.emergency:
        return False
    return part.emergency or (part.consent_override and not whole.consent_override)


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
    overrides: dict[uuid.UUID, Decision] = {}
    override_compositions: set[tuple[uuid.UUID, uuid.UUID]] = set()
    override_templates: set[tuple[uuid.UUID, str]] = set()
    part_overrides: dict[uuid.UUID, Decision] = {}
    for ehr in facts:
        decision = decide(principal, Access.READ, ehr, now)
        if not decision.allowed:
            continue
        readable.add(ehr.ehr_id)
        if decision.emergency:
            emergency.add(ehr.ehr_id)
        elif decision.consent_override:
            consent.add(ehr.ehr_id)
        if decision.emergency or decision.consent_override:
            overrides[ehr.ehr_id] = decision
        for control in ehr.controls:
            if control.kind is not ControlKind.RESTRICTION or control.target is None:
                continue
            if control.target_kind is TargetKind.COMPOSITION:
                composition_id = uuid.UUID(control.target)
                part = decide(principal, Access.READ, ehr, now, target=Target(composition_id=composition_id))
                if not part.allowed:
                    hidden_compositions.add((ehr.ehr_id, composition_id))
                elif _adds_flag(decision, part):
                    override_compositions.add((ehr.ehr_id, composition_id))
            elif control.target_kind is TargetKind.TEMPLATE:
                template = Target(template_ids=frozenset({control.target}))
                part = decide(principal, Access.READ, ehr, now, target=template)
                if not part.allowed:
                    hidden_templates.add((ehr.ehr_id, control.target))
                elif _adds_flag(decision, part):
                    override_templates.add((ehr.ehr_id, control.target))
            else:
                continue
            known = part_overrides.get(ehr.ehr_id)
            stronger = known is None or (part.emergency and not known.emergency)
            if part.allowed and _adds_flag(decision, part) and stronger:
                part_overrides[ehr.ehr_id] = part
    return QueryScope(
        ehr_ids=frozenset(readable),
        emergency_ehr_ids=frozenset(emergency),
        consent_ehr_ids=frozenset(consent),
        hidden_compositions=frozenset(hidden_compositions),
        hidden_templates=frozenset(hidden_templates),
        overrides=tuple(sorted(overrides.items(), key=_first)),
        override_compositions=frozenset(override_compositions),
        override_templates=frozenset(override_templates),
        part_overrides=tuple(sorted(part_overrides.items(), key=_first)),
    )


def _first(item: tuple[uuid.UUID, Decision]) -> uuid.UUID:
    return item[0]


def sql_filter(principal: Principal, conn: Connection, now: dt.datetime) -> QueryScope:
    """:func:`query_scope` over the EHRs ``principal`` could have a basis for, loaded on ``conn``."""
    from cdr.storage.access_control import candidate_ehrs, load_facts

    if principal.auth_method is AuthMethod.NONE:
        return QueryScope(all_ehrs=True)
    candidates = sorted(candidate_ehrs(conn, principal, now))
    return query_scope(principal, (load_facts(conn, e, now) for e in candidates), now)
