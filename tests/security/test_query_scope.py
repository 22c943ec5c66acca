"""The AQL contract: sql_filter answers as decide does, and its condition selects exactly those rows,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.formats.canonical_json import parse_json
from cdr.security.policy import (
    CareRelation,
    ControlKind,
    EmergencyGrant,
    PartyKind,
    PatientControl,
    TargetKind,
)
from cdr.security.principal import AuthMethod, Principal
from cdr.security.query_scope import QueryScope, sql_filter
from cdr.services import RequestContext, Services, ehr
from cdr.services.composition import create_composition
from cdr.services.definition import upload_template
from cdr.storage import Storage
from cdr.storage import schema as t
from cdr.storage.access_control import AccessControlStore
from tests.api.conftest import COMPOSITIONS, NB_TEMPLATE
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

NOW = dt.datetime.now(dt.UTC)
HOUR = dt.timedelta(hours=1)
NURSE = Principal(
    subject="nurse",
    auth_method=AuthMethod.BEARER,
    hpr_number="9144900",
    orgnr_child="922734046",
    roles=frozenset({"read"}),
)


def _ehr_with_compositions(svc: Services, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    ctx = RequestContext()
    ehr_id = ehr.create_ehr(svc, ctx).ehr.ehr_id
    body = json.loads((COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8"))
    comps = [create_composition(svc, ctx, ehr_id, parse_json(body)).vo_id for _ in range(n)]
    return ehr_id, comps


def _visible(db: Engine, scope: QueryScope) -> set[tuple[uuid.UUID, uuid.UUID]]:
    ov = t.object_version
    query = sa.select(ov.c.ehr_id, ov.c.vo_id).where(
        ov.c.kind == "COMPOSITION", scope.where(ov.c.ehr_id, ov.c.vo_id, ov.c.template_id)
    )
    with db.connect() as conn:
        return {(r.ehr_id, r.vo_id) for r in conn.execute(query)}


def test_sql_filter_matches_the_policy(engine: Engine) -> None:  # noqa: F811
    svc = Services(Storage(engine, system_id="test.cdr"))
    upload_template(svc, RequestContext(), NB_TEMPLATE.read_bytes())
    related, (c1, c2) = _ehr_with_compositions(svc, 2)
    blocked, _ = _ehr_with_compositions(svc, 1)
    granted, (g1,) = _ehr_with_compositions(svc, 1)
    _unrelated, _ = _ehr_with_compositions(svc, 1)
    store = AccessControlStore(engine)
    for ehr_id in (related, blocked):
        store.add_relation(CareRelation(ehr_id=ehr_id, hpr_number="9144900", valid_from=NOW - HOUR), NOW)
    store.add_control(
        PatientControl(
            ehr_id=blocked,
            kind=ControlKind.BLOCK,
            party_kind=PartyKind.HPR,
            party="9144900",
            valid_from=NOW - HOUR,
        ),
        NOW,
    )
    store.add_control(
        PatientControl(
            ehr_id=related,
            kind=ControlKind.RESTRICTION,
            party_kind=PartyKind.EVERYONE,
            target_kind=TargetKind.COMPOSITION,
            target=str(c2),
            valid_from=NOW - HOUR,
        ),
        NOW,
    )
    store.add_grant(
        EmergencyGrant(
            ehr_id=granted,
            actor_subject="nurse",
            reason_code="AKUTT",
            reason_text="x",
            granted_at=NOW - HOUR,
            expires_at=NOW + HOUR,
        )
    )
    with engine.connect() as conn:
        scope = sql_filter(NURSE, conn, NOW)
    assert scope.ehr_ids == {related, granted}
    assert scope.emergency_ehr_ids == {granted}
    assert scope.hidden_compositions == {(related, c2)}
    assert _visible(engine, scope) == {(related, c1), (granted, g1)}
    researcher = Principal(subject="r", auth_method=AuthMethod.BEARER, roles=frozenset({"research", "query"}))
    with engine.connect() as conn:
        assert _visible(engine, sql_filter(researcher, conn, NOW)) == set()
    developer = Principal(subject="d", auth_method=AuthMethod.NONE)
    with engine.connect() as conn:
        assert len(_visible(engine, sql_filter(developer, conn, NOW))) == 5


def _overridden(db: Engine, scope: QueryScope) -> set[tuple[uuid.UUID, uuid.UUID]]:
    ov = t.object_version
    shown = scope.overridden(ov.c.ehr_id, ov.c.vo_id, ov.c.template_id)
    if shown is None:
        return set()
    query = sa.select(ov.c.ehr_id, ov.c.vo_id).where(ov.c.kind == "COMPOSITION", shown)
    with db.connect() as conn:
        return {(r.ehr_id, r.vo_id) for r in conn.execute(query)}


def test_the_scope_names_what_only_consent_or_emergency_access_shows(engine: Engine) -> None:  # noqa: F811
    svc = Services(Storage(engine, system_id="test.cdr"))
    upload_template(svc, RequestContext(), NB_TEMPLATE.read_bytes())
    related, (c1, c2, c3) = _ehr_with_compositions(svc, 3)
    granted, _ = _ehr_with_compositions(svc, 1)
    store = AccessControlStore(engine)
    store.add_relation(CareRelation(ehr_id=related, hpr_number="9144900", valid_from=NOW - HOUR), NOW)
    restrictions = [
        PatientControl(
            ehr_id=related,
            kind=ControlKind.RESTRICTION,
            party_kind=PartyKind.EVERYONE,
            target_kind=TargetKind.COMPOSITION,
            target=str(c),
            valid_from=NOW - HOUR,
        )
        for c in (c2, c3)
    ]
    for control in restrictions:
        store.add_control(control, NOW)
    store.add_control(  # the patient consents to the nurse seeing c2, not c3
        PatientControl(
            ehr_id=related,
            kind=ControlKind.CONSENT,
            party_kind=PartyKind.HPR,
            party="9144900",
            overrides=restrictions[0].control_id,
            valid_from=NOW - HOUR,
        ),
        NOW,
    )
    store.add_grant(
        EmergencyGrant(
            ehr_id=granted,
            actor_subject="nurse",
            reason_code="AKUTT",
            reason_text="x",
            granted_at=NOW - HOUR,
            expires_at=NOW + HOUR,
        )
    )
    with engine.connect() as conn:
        scope = sql_filter(NURSE, conn, NOW)
    assert scope.hidden_compositions == {(related, c3)}
    assert scope.override_compositions == {(related, c2)}
    assert _overridden(engine, scope) == {(related, c2)}  # the condition selects exactly that row
    assert dict(scope.overrides).keys() == {granted}  # the whole EHR: by the grant
    assert dict(scope.part_overrides)[related].consent_override
    assert _visible(engine, scope) >= {(related, c1), (related, c2)}
    # flags follow the result: the grant's EHR when it is in it; the related EHR when its c2 row is
    flags = scope.flags({related, granted}, {related})
    assert flags[granted].emergency and flags[granted].emergency_code == "AKUTT"
    assert flags[related].consent_override and not flags[related].emergency
    assert scope.flags({related}, set()) == {} and scope.flags(set(), {related}) == {}
    assert scope.flags({granted}, {granted}).keys() == {granted}
    # with the grant also on the related EHR, c3 is shown by emergency access and flags it first
    store.add_grant(
        EmergencyGrant(
            ehr_id=related,
            actor_subject="nurse",
            reason_code="NØD",
            reason_text="y",
            granted_at=NOW - HOUR,
            expires_at=NOW + HOUR,
        )
    )
    with engine.connect() as conn:
        scope = sql_filter(NURSE, conn, NOW)
    assert scope.hidden_compositions == set() and scope.override_compositions == {
        (related, c2),
        (related, c3),
    }
    assert scope.flags({related}, {related})[related].emergency_code == "NØD"
