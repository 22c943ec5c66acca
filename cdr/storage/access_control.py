"""Care relations, patient controls and emergency grants: the rows behind :mod:`cdr.security.policy`.

Nothing here decides anything; :meth:`AccessControlStore.facts` loads what :func:`cdr.security.policy.decide`
needs about one EHR in one read, and the writers record relations, controls and grants. Ending a relation or
lifting a control sets a timestamp instead of deleting the row, so that the history of who could see what,
and why, stays available to whoever investigates an access later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.errors import NotFound
from cdr.security.policy import CareRelation, EhrFacts, EmergencyGrant, PatientControl, Target
from cdr.security.principal import Principal
from cdr.storage import schema as t
from cdr.storage.direct import DirectStatement
from cdr.storage.engine import _WRITE, keep, read_transaction, version_key, write_transaction
from cdr.storage.records import VersionRecord, VersionUid
from cdr.storage.types import UtcDateTime, json_bytes
from cdr.storage.versioning import record_from


def _relation(row: Any) -> CareRelation:
    return CareRelation.model_validate(dict(row._mapping))


def _control(row: Any) -> PatientControl:
    return PatientControl.model_validate(dict(row._mapping))


# One statement for all of an EHR's facts: a UNION ALL whose branches share typed slots (a kind, two uuids,
# seven strings, three instants). The NULLs are cast so that PostgreSQL can match the branches' types and so
# that SQLAlchemy reads every slot back with its column type (UUIDs and aware instants on SQLite too).
_UUIDS = ("u1", "u2")
_TEXTS = tuple(f"s{i}" for i in range(1, 8))
_TIMES = ("t1", "t2", "t3")


def _branch(kind: str, source: Any, where: Any, **slots: Any) -> sa.Select[Any]:
    typed: list[tuple[str, sa.types.TypeEngine[Any]]] = [(name, sa.Uuid()) for name in _UUIDS]
    typed += [(name, sa.Text()) for name in _TEXTS]
    typed += [(name, UtcDateTime()) for name in _TIMES]
    columns: list[Any] = [sa.literal_column(f"'{kind}'").label("kind")]
    for name, type_ in typed:
        value = slots.get(name)
        columns.append((sa.cast(sa.null(), type_) if value is None else value).label(name))
    return sa.select(*columns).select_from(source).where(where)


@functools.cache
def facts_statement(with_target: bool) -> Any:
    """The one query behind :func:`load_facts`: the EHR and its subject, the open care relations, the
    controls not lifted, the grants not expired and (``with_target``) the templates of a composition.

    Built once per shape (its parameters: ``ehr_id``, ``now``, ``composition_id``), so that a request pays
    neither for building it nor, after the first, for compiling it.
    """
    ehr_id = sa.bindparam("ehr_id", type_=sa.Uuid())
    now = sa.bindparam("now", type_=UtcDateTime())
    e, es, cr, pc, eg, ov = (
        t.ehr,
        t.ehr_subject,
        t.care_relation,
        t.patient_control,
        t.emergency_grant,
        t.object_version,
    )
    branches = [
        _branch(
            "ehr",
            e.outerjoin(es, es.c.ehr_id == e.c.ehr_id),
            e.c.ehr_id == ehr_id,
            s1=es.c.subject_id,
            s2=es.c.subject_namespace,
        ),
        _branch(
            "relation",
            cr,
            sa.and_(cr.c.ehr_id == ehr_id, cr.c.ended_at.is_(None)),
            u1=cr.c.relation_id,
            s1=cr.c.hpr_number,
            s2=cr.c.organisation,
            s3=cr.c.created_by,
            s4=cr.c.reason,
            t1=cr.c.valid_from,
            t2=cr.c.valid_to,
            t3=cr.c.ended_at,
        ),
        _branch(
            "control",
            pc,
            sa.and_(pc.c.ehr_id == ehr_id, pc.c.lifted_at.is_(None)),
            u1=pc.c.control_id,
            u2=pc.c.overrides,
            s1=pc.c.kind,
            s2=pc.c.target_kind,
            s3=pc.c.target,
            s4=pc.c.party_kind,
            s5=pc.c.party,
            s6=pc.c.created_by,
            s7=pc.c.note,
            t1=pc.c.valid_from,
            t2=pc.c.valid_to,
            t3=pc.c.lifted_at,
        ),
        _branch(
            "grant",
            eg,
            sa.and_(eg.c.ehr_id == ehr_id, eg.c.expires_at > now),
            u1=eg.c.grant_id,
            s1=eg.c.actor_subject,
            s2=eg.c.actor_hpr,
            s3=eg.c.reason_code,
            s4=eg.c.reason_text,
            t1=eg.c.granted_at,
            t2=eg.c.expires_at,
        ),
    ]
    if with_target:
        composition_id = sa.bindparam("composition_id", type_=sa.Uuid())
        templates = (
            sa.select(ov.c.template_id)
            .where(ov.c.ehr_id == ehr_id, ov.c.vo_id == composition_id, ov.c.template_id.is_not(None))
            .distinct()
            .subquery("templates")
        )
        branches.append(_branch("target", templates, sa.true(), s1=templates.c.template_id))
    return sa.union_all(*branches)


@functools.cache
def _facts_and_version() -> DirectStatement:
    """:func:`facts_statement` with a composition's version joined to its ``ehr`` row, in ONE statement: a
    read by version uid would otherwise send a second statement for it right after the facts. The version's
    columns come as ``v_<column>`` (all NULL when there is no such version; ``v_data`` as the UTF-8 bytes of
    its JSON text); parameters ``version`` and ``system_id`` besides the facts'."""
    facts = facts_statement(True).subquery("facts")
    ov = t.object_version
    on = sa.and_(
        facts.c.kind == "ehr",
        ov.c.ehr_id == sa.bindparam("ehr_id", type_=sa.Uuid()),
        ov.c.vo_id == sa.bindparam("composition_id", type_=sa.Uuid()),
        ov.c.kind == "COMPOSITION",
        ov.c.version == sa.bindparam("version", type_=sa.Integer()),
        ov.c.system_id == sa.bindparam("system_id", type_=sa.String()),
    )
    # the data as the UTF-8 bytes of the text PostgreSQL writes (the answer of a canonical JSON read is that
    # text as it is), with binary results: the bytes arrive as they are, where text would be decoded here
    # and encoded again for the response (~10% of a read's client CPU for 19 kB of Corona_Anamnese)
    as_bytes = json_bytes(ov.c.data)
    version = [(as_bytes if c.name == "data" else c).label(f"v_{c.name}") for c in ov.c]
    statement = sa.select(*facts.c, *version).select_from(facts.outerjoin(ov, on))
    return DirectStatement(statement, binary=True)


@functools.cache
def _direct_facts(with_target: bool) -> DirectStatement:
    """:func:`facts_statement`, run directly (:mod:`cdr.storage.direct`): once per request."""
    return DirectStatement(facts_statement(with_target))


def load_facts_and_target(
    conn: Connection,
    ehr_id: uuid.UUID,
    now: dt.datetime,
    composition_id: uuid.UUID | None = None,
    version: VersionUid | None = None,
) -> tuple[EhrFacts, Target | None]:
    """The policy's facts about ``ehr_id`` (subject, relations, controls in force or future, live grants)
    and, with ``composition_id``, the :class:`Target` it names: one statement. With ``version`` (a version
    of that composition) the same statement reads the version too, and it is kept for the request (see
    :func:`cdr.storage.engine.keep`), where the version's reader finds it."""
    exists, subject_id, namespace = False, None, None
    found: VersionRecord | None = None
    relations: list[CareRelation] = []
    controls: list[PatientControl] = []
    grants: list[EmergencyGrant] = []
    templates: set[str] = set()
    params: dict[str, Any] = {"ehr_id": ehr_id, "now": now}
    if composition_id is not None:
        params["composition_id"] = composition_id
    statement = _direct_facts(composition_id is not None)
    if version is not None and version.object_id == composition_id:
        statement = _facts_and_version()
        params.update(version=version.version, system_id=version.system_id)
    for row in statement.rows(conn, params):
        match row.kind:
            case "ehr":
                if not exists:
                    exists, subject_id, namespace = True, row.s1, row.s2
                if version is not None and found is None and getattr(row, "v_ehr_id", None) is not None:
                    found = _version_of(row)
            case "relation":
                relations.append(
                    CareRelation(
                        relation_id=row.u1,
                        ehr_id=ehr_id,
                        hpr_number=row.s1,
                        organisation=row.s2,
                        created_by=row.s3,
                        reason=row.s4,
                        valid_from=row.t1,
                        valid_to=row.t2,
                        ended_at=row.t3,
                    )
                )
            case "control":
                controls.append(
                    PatientControl.model_validate(
                        {
                            "control_id": row.u1,
                            "ehr_id": ehr_id,
                            "overrides": row.u2,
                            "kind": row.s1,
                            "target_kind": row.s2,
                            "target": row.s3,
                            "party_kind": row.s4,
                            "party": row.s5,
                            "created_by": row.s6,
                            "note": row.s7,
                            "valid_from": row.t1,
                            "valid_to": row.t2,
                            "lifted_at": row.t3,
                        }
                    )
                )
            case "grant":
                grants.append(
                    EmergencyGrant(
                        grant_id=row.u1,
                        ehr_id=ehr_id,
                        actor_subject=row.s1,
                        actor_hpr=row.s2,
                        reason_code=row.s3,
                        reason_text=row.s4,
                        granted_at=row.t1,
                        expires_at=row.t2,
                    )
                )
            case "target":
                templates.add(str(row.s1))
    target = (
        None
        if composition_id is None
        else Target(composition_id=composition_id, template_ids=frozenset(templates))
    )
    if found is not None and version is not None:
        keep(conn.engine, version_key(ehr_id, "COMPOSITION", version), found)
    if not exists:
        return EhrFacts(ehr_id=ehr_id, exists=False), target
    facts = EhrFacts(
        ehr_id=ehr_id,
        subject_id=subject_id,
        subject_namespace=namespace,
        relations=tuple(relations),
        controls=tuple(controls),
        grants=tuple(grants),
    )
    return facts, target


def _version_of(row: Any) -> VersionRecord:
    """The version in the ``v_`` columns of a :func:`_facts_and_version` row."""
    return record_from({name[2:]: value for name, value in row._asdict().items() if name.startswith("v_")})


def load_facts(conn: Connection, ehr_id: uuid.UUID, now: dt.datetime) -> EhrFacts:
    """The policy's facts about ``ehr_id``: subject, relations, controls in force or future, live grants."""
    return load_facts_and_target(conn, ehr_id, now)[0]


def load_target(conn: Connection, ehr_id: uuid.UUID, composition_id: uuid.UUID) -> Target:
    """The composition a request names, with the templates its versions use (for template restrictions)."""
    ov = t.object_version
    rows = conn.execute(
        sa.select(ov.c.template_id)
        .where(ov.c.ehr_id == ehr_id, ov.c.vo_id == composition_id, ov.c.template_id.is_not(None))
        .distinct()
    ).scalars()
    return Target(composition_id=composition_id, template_ids=frozenset(str(r) for r in rows))


def load_templates(
    conn: Connection, ehr_id: uuid.UUID, object_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, frozenset[str]]:
    """The template ids each of ``object_ids`` (versioned objects of ``ehr_id``) was committed with; objects
    without a template (folders, EHR_STATUS, unknown ids) map to the empty set."""
    wanted = sorted(set(object_ids))
    found: dict[uuid.UUID, set[str]] = {vo_id: set() for vo_id in wanted}
    if not wanted:
        return {}
    ov = t.object_version
    rows = conn.execute(
        sa.select(ov.c.vo_id, ov.c.template_id)
        .where(ov.c.ehr_id == ehr_id, ov.c.vo_id.in_(wanted), ov.c.template_id.is_not(None))
        .distinct()
    )
    for vo_id, template_id in rows:
        found[vo_id].add(str(template_id))
    return {vo_id: frozenset(templates) for vo_id, templates in found.items()}


class AccessControlStore:
    """Reads and writes of care relations, patient controls and emergency grants over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def facts(
        self, ehr_id: uuid.UUID, now: dt.datetime, composition_id: uuid.UUID | None = None
    ) -> tuple[EhrFacts, Target | None]:
        with read_transaction(self.engine) as conn:
            return load_facts_and_target(conn, ehr_id, now, composition_id)

    def known(self, ehr_id: uuid.UUID) -> EhrFacts | None:
        """Facts already in hand about ``ehr_id`` without a statement: none here (see RequestFacts)."""
        return None

    def templates(
        self, ehr_id: uuid.UUID, object_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, frozenset[str]]:
        """See :func:`load_templates`."""
        with read_transaction(self.engine) as conn:
            return load_templates(conn, ehr_id, object_ids)

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
            row = _close_once(conn, cr, cr.c.relation_id, relation_id, ehr_id, cr.c.ended_at, now)
            if row is None:
                raise NotFound(f"no care relation {relation_id} for EHR {ehr_id}")
        return _relation(row)

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
            row = _close_once(conn, pc, pc.c.control_id, control_id, ehr_id, pc.c.lifted_at, now)
            if row is None:
                raise NotFound(f"no restriction, block or consent {control_id} for EHR {ehr_id}")
        return _control(row)

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


class RequestConnection:
    """One pooled connection for the security work of one request, checked out on first use and given back
    by :meth:`close` (the API calls it when the request is torn down).

    The policy's facts and the audit record of a read share it, so that a request checks out (and, with
    ``pool_pre_ping``, pings) one connection for them instead of one per transaction. On PostgreSQL the
    facts' read stays in the transaction the audit record then commits (READ COMMITTED: every statement
    sees what is committed when it runs, and no row is locked until the audit's head), which saves a COMMIT
    and a BEGIN per read; a request that writes no audit record here rolls it back in :meth:`close`. On
    SQLite each use is its own short transaction: a read transaction held open could not later become the
    audit's write transaction once another connection has committed.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._hold = engine.dialect.name == "postgresql"
        self.kept: dict[Any, Any] = {}  # what one statement of the request read for a later one (see keep)

    @property
    def shared(self) -> bool:
        """Whether the storage's transactions join this connection (PostgreSQL only: on SQLite a read
        transaction held open could not become a write transaction later)."""
        return self._hold

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A transaction on the request's connection; ``write`` commits it (on SQLite with ``BEGIN
        IMMEDIATE``), a read leaves it to the next use on PostgreSQL."""
        if self._conn is None:
            self._conn = self.engine.connect()
        conn = self._conn
        if not self._hold:
            if write:
                conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
            return
        try:
            yield conn  # SQLAlchemy begins the transaction with the first statement
        except BaseException:
            conn.rollback()
            raise
        if write:
            conn.commit()

    def close(self) -> None:
        self.kept.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()  # rolls back what is still open


class RequestFacts(AccessControlStore):
    """The access-control store as one request sees it: each EHR's facts loaded once, in one statement, on
    the request's connection, and kept for the rest of the request (the policy is asked up to three times
    per commit: by the handler, the use case and the commit). A grant the request records is added to the
    kept facts, so that a later decision in the same request sees it as it would have seen the stored row.
    """

    def __init__(self, engine: Engine, db: RequestConnection, version: VersionUid | None = None) -> None:
        super().__init__(engine)
        self.db = db
        self.version = version  # the composition version the request reads, read with the facts if it can
        self._facts: dict[uuid.UUID, EhrFacts] = {}
        self._targets: dict[tuple[uuid.UUID, uuid.UUID], Target] = {}

    def facts(
        self, ehr_id: uuid.UUID, now: dt.datetime, composition_id: uuid.UUID | None = None
    ) -> tuple[EhrFacts, Target | None]:
        facts = self._facts.get(ehr_id)
        key = None if composition_id is None else (ehr_id, composition_id)
        target = None if key is None else self._targets.get(key)
        if facts is None:
            with self.db.transaction() as conn:
                version = self.version if self.db.shared else None  # kept only on a shared connection
                facts, target = load_facts_and_target(conn, ehr_id, now, composition_id, version)
            self._facts[ehr_id] = facts
        elif key is not None and target is None:
            with self.db.transaction() as conn:
                target = load_target(conn, ehr_id, key[1])
        if key is not None and target is not None:
            self._targets[key] = target
        return facts, target

    def templates(
        self, ehr_id: uuid.UUID, object_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, frozenset[str]]:
        with self.db.transaction() as conn:
            return load_templates(conn, ehr_id, object_ids)

    def known(self, ehr_id: uuid.UUID) -> EhrFacts | None:
        """The facts this request already loaded about ``ehr_id`` (no statement), if any."""
        return self._facts.get(ehr_id)

    def add_grant(self, grant: EmergencyGrant) -> EmergencyGrant:
        super().add_grant(grant)
        kept = self._facts.get(grant.ehr_id)
        if kept is not None:
            self._facts[grant.ehr_id] = kept.model_copy(update={"grants": (*kept.grants, grant)})
        return grant


def _close_once(
    conn: Connection,
    table: sa.Table,
    key: sa.Column[Any],
    key_value: uuid.UUID,
    ehr_id: uuid.UUID,
    closed_at: sa.Column[Any],
    now: dt.datetime,
) -> sa.Row[Any] | None:
    """Set ``closed_at`` of the row ``key_value`` of ``ehr_id`` unless already set; the row as it now is.

    Ending a care relation and lifting a patient control are the same act: idempotent, and the first time is
    the one recorded. ``None`` when the EHR has no such row.
    """
    where = (key == key_value, table.c.ehr_id == ehr_id)
    if conn.execute(sa.select(key).where(*where)).first() is None:
        return None
    conn.execute(sa.update(table).where(*where, closed_at.is_(None)).values({closed_at.name: now}))
    return conn.execute(sa.select(table).where(*where)).one()
