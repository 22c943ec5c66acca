"""Care relations, patient controls and emergency grants: the rows behind :mod:`cdr.security.policy`.

Nothing here decides anything; :meth:`AccessControlStore.facts` loads what :func:`cdr.security.policy.decide`
needs about one EHR in one read, and the writers record relations, controls and grants. Ending a relation or
lifting a control sets a timestamp instead of deleting the row, so that the history of who could see what,
and why, stays available to whoever investigates an access later.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.errors import NotFound
from cdr.security.policy import CareRelation, EhrFacts, EmergencyGrant, PatientControl, Target
from cdr.security.principal import Principal
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, write_transaction


def _relation(row: Any) -> CareRelation:
    return CareRelation.model_validate(dict(row._mapping))


def _control(row: Any) -> PatientControl:
    return PatientControl.model_validate(dict(row._mapping))


def _grant(row: Any) -> EmergencyGrant:
    return EmergencyGrant.model_validate(dict(row._mapping))


def load_facts(conn: Connection, ehr_id: uuid.UUID, now: dt.datetime) -> EhrFacts:
    """The policy's facts about ``ehr_id``: subject, relations, controls in force or future, live grants."""
    exists = conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id)).first() is not None
    if not exists:
        return EhrFacts(ehr_id=ehr_id, exists=False)
    subject = conn.execute(
        sa.select(t.ehr_subject.c.subject_id, t.ehr_subject.c.subject_namespace).where(
            t.ehr_subject.c.ehr_id == ehr_id
        )
    ).first()
    cr, pc, eg = t.care_relation, t.patient_control, t.emergency_grant
    relations = conn.execute(sa.select(cr).where(cr.c.ehr_id == ehr_id, cr.c.ended_at.is_(None))).all()
    controls = conn.execute(sa.select(pc).where(pc.c.ehr_id == ehr_id, pc.c.lifted_at.is_(None))).all()
    grants = conn.execute(sa.select(eg).where(eg.c.ehr_id == ehr_id, eg.c.expires_at > now)).all()
    return EhrFacts(
        ehr_id=ehr_id,
        subject_id=None if subject is None else subject.subject_id,
        subject_namespace=None if subject is None else subject.subject_namespace,
        relations=tuple(_relation(r) for r in relations),
        controls=tuple(_control(r) for r in controls),
        grants=tuple(_grant(r) for r in grants),
    )


def load_target(conn: Connection, ehr_id: uuid.UUID, composition_id: uuid.UUID) -> Target:
    """The composition a request names, with the templates its versions use (for template restrictions)."""
    ov = t.object_version
    rows = conn.execute(
        sa.select(ov.c.template_id)
        .where(ov.c.ehr_id == ehr_id, ov.c.vo_id == composition_id, ov.c.template_id.is_not(None))
        .distinct()
    ).scalars()
    return Target(composition_id=composition_id, template_ids=frozenset(str(r) for r in rows))


class AccessControlStore:
    """Reads and writes of care relations, patient controls and emergency grants over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def facts(
        self, ehr_id: uuid.UUID, now: dt.datetime, composition_id: uuid.UUID | None = None
    ) -> tuple[EhrFacts, Target | None]:
        with read_transaction(self.engine) as conn:
            facts = load_facts(conn, ehr_id, now)
            target = None if composition_id is None else load_target(conn, ehr_id, composition_id)
        return facts, target

    def add_relation(self, relation: CareRelation, now: dt.datetime) -> CareRelation:
        with write_transaction(self.engine) as conn:
            _require_ehr(conn, relation.ehr_id)
            conn.execute(sa.insert(t.care_relation).values(**relation.model_dump(), created_at=now))
        return relation

    def relations(self, ehr_id: uuid.UUID) -> list[CareRelation]:
        cr = t.care_relation
        with read_transaction(self.engine) as conn:
            rows = conn.execute(sa.select(cr).where(cr.c.ehr_id == ehr_id).order_by(cr.c.created_at)).all()
        return [_relation(r) for r in rows]

    def end_relation(self, ehr_id: uuid.UUID, relation_id: uuid.UUID, now: dt.datetime) -> CareRelation:
        cr = t.care_relation
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(cr).where(cr.c.ehr_id == ehr_id, cr.c.relation_id == relation_id)
            ).first()
            if row is None:
                raise NotFound(f"no care relation {relation_id} for EHR {ehr_id}")
            if row.ended_at is None:
                conn.execute(sa.update(cr).where(cr.c.relation_id == relation_id).values(ended_at=now))
            relation = _relation(conn.execute(sa.select(cr).where(cr.c.relation_id == relation_id)).one())
        return relation

    def add_control(self, control: PatientControl, now: dt.datetime) -> PatientControl:
        with write_transaction(self.engine) as conn:
            _require_ehr(conn, control.ehr_id)
            values = control.model_dump(mode="python")
            conn.execute(sa.insert(t.patient_control).values(**values, created_at=now))
        return control

    def controls(self, ehr_id: uuid.UUID) -> list[PatientControl]:
        pc = t.patient_control
        with read_transaction(self.engine) as conn:
            rows = conn.execute(sa.select(pc).where(pc.c.ehr_id == ehr_id).order_by(pc.c.created_at)).all()
        return [_control(r) for r in rows]

    def lift_control(self, ehr_id: uuid.UUID, control_id: uuid.UUID, now: dt.datetime) -> PatientControl:
        pc = t.patient_control
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(pc).where(pc.c.ehr_id == ehr_id, pc.c.control_id == control_id)
            ).first()
            if row is None:
                raise NotFound(f"no restriction, block or consent {control_id} for EHR {ehr_id}")
            if row.lifted_at is None:
                conn.execute(sa.update(pc).where(pc.c.control_id == control_id).values(lifted_at=now))
            control = _control(conn.execute(sa.select(pc).where(pc.c.control_id == control_id)).one())
        return control

    def add_grant(self, grant: EmergencyGrant) -> EmergencyGrant:
        with write_transaction(self.engine) as conn:
            conn.execute(sa.insert(t.emergency_grant).values(**grant.model_dump()))
        return grant

    def ehrs_of_subject(self, subject_id: str) -> list[uuid.UUID]:
        """The EHRs whose subject id is ``subject_id`` in any namespace (a patient's own records)."""
        es = t.ehr_subject
        with read_transaction(self.engine) as conn:
            return list(conn.execute(sa.select(es.c.ehr_id).where(es.c.subject_id == subject_id)).scalars())


def _require_ehr(conn: Connection, ehr_id: uuid.UUID) -> None:
    if conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id)).first() is None:
        raise NotFound(f"EHR {ehr_id} not found")


def candidate_ehrs(conn: Connection, principal: Principal, now: dt.datetime) -> set[uuid.UUID]:
    """The EHRs ``principal`` may have a basis for: care relations (by HPR number or organisation), attested
    purposes, live emergency grants, and, for a patient, their own. The policy then decides each one."""
    cr, eg, es = t.care_relation, t.emergency_grant, t.ehr_subject
    found: set[uuid.UUID] = set()
    parties = []
    if principal.hpr_number:
        parties.append(cr.c.hpr_number == principal.hpr_number)
    orgs = [o for o in (principal.orgnr_parent, principal.orgnr_child) if o]
    if orgs:
        parties.append(cr.c.organisation.in_(orgs))
    if parties:
        active = sa.and_(
            cr.c.ended_at.is_(None),
            cr.c.valid_from <= now,
            sa.or_(cr.c.valid_to.is_(None), cr.c.valid_to > now),
        )
        found |= set(conn.execute(sa.select(cr.c.ehr_id).where(active, sa.or_(*parties))).scalars())
    found |= set(
        conn.execute(
            sa.select(eg.c.ehr_id).where(eg.c.actor_subject == principal.subject, eg.c.expires_at > now)
        ).scalars()
    )
    subjects = {p.patient_id for p in principal.purposes}
    if principal.pid and "patient" in principal.roles:
        subjects.add(principal.pid)
    if subjects:
        found |= set(conn.execute(sa.select(es.c.ehr_id).where(es.c.subject_id.in_(subjects))).scalars())
    return found
