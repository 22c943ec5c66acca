"""The service container: storage, the template registry, and the one way versioned data gets written.

Every versioned write (EHR_STATUS, COMPOSITION, FOLDER, CONTRIBUTION) goes through :meth:`Services.commit`,
which runs in one write transaction: it checks that the EHR exists and (except for EHR_STATUS changes, which
are how an EHR becomes modifiable again) that its status allows modification, commits the versions as one
CONTRIBUTION, and hands the access record to the request's access log on the same connection. Checking
``is_modifiable`` inside the transaction means a concurrent status change cannot slip between check and write;
a shared lock on each template the data names means a concurrent admin delete or replace of that template
either waits for the commit (and then sees the template in use) or wins (and the commit answers 422).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cdr.errors import NotFound
from cdr.services.context import Action, RequestContext
from cdr.services.errors import EhrNotModifiable, UnknownTemplate
from cdr.services.templates import StaleTemplate, TemplateRegistry
from cdr.services.value_sets import ExternalTerminology
from cdr.storage import ContributionRecord, Storage, VersionChange, VersionRecord, VersionUid
from cdr.storage import schema as t
from cdr.storage.contributions import commit_contribution
from cdr.storage.direct import DirectStatement
from cdr.storage.engine import read_transaction, write_transaction
from cdr.storage.templates import SHARED_UPLOAD
from cdr.template.validation.profile import DEFAULT, ValidationProfile
from cdr.terminology.fhir import FhirTerminologyServer


class Services:
    """What every use case needs: the storage, the parsed-template cache over it, the validation profile
    committed data is held to (the app's ``VALIDATION_PROFILE``; else
    :data:`~cdr.template.validation.profile.DEFAULT`), how long an AQL query may run (``AQL_TIMEOUT_MS``)
    and the terminology server codes of external value sets are checked against (``FHIR_TERMINOLOGY_*``)."""

    def __init__(
        self,
        storage: Storage,
        validation_profile: ValidationProfile = DEFAULT,
        aql_timeout: float | None = None,
        external_terminology: ExternalTerminology | None = None,
    ) -> None:
        self.storage = storage
        self.templates = TemplateRegistry(storage.templates)
        self.validation_profile = validation_profile
        self.aql_timeout = aql_timeout  # seconds an AQL statement may run (None: no limit)
        self.external_terminology = external_terminology  # None: external value sets are not checked

    @property
    def terminology_server(self) -> FhirTerminologyServer | None:
        """The configured FHIR terminology server (AQL's TERMINOLOGY() of other terminologies), or None."""
        return self.external_terminology.server if self.external_terminology is not None else None

    @property
    def system_id(self) -> str:
        return self.storage.system_id

    def commit(
        self,
        ctx: RequestContext,
        ehr_id: uuid.UUID,
        changes: Sequence[VersionChange],
        *,
        target: str | None = None,
        validated: Mapping[str, dt.datetime] | None = None,
        then: Callable[[Connection, list[VersionRecord]], None] | None = None,
    ) -> tuple[ContributionRecord, list[VersionRecord]]:
        """Commit ``changes`` as one contribution in one transaction (all or nothing); ``then`` writes
        what belongs with the new versions (the item tags a write's headers set) in the same transaction.

        :class:`NotFound` if the EHR does not exist; :class:`EhrNotModifiable` if its status forbids changes
        and any change is not to the EHR_STATUS itself; :class:`StaleTemplate` if a template of
        ``validated`` (template id -> the upload time the data was validated against) was replaced since.
        """
        ctx.authorize(Action.WRITE_EHR, ehr_id)
        with write_transaction(self.storage.engine) as conn:
            templates = sorted({tid for tid in map(_template_of, changes) if tid})
            uploads: dict[str, dt.datetime | None] = {}
            if any(change.kind != "EHR_STATUS" for change in changes):
                if len(templates) == 1:  # the usual commit: the template's share lock in the same statement
                    uploads[templates[0]] = require_modifiable(conn, ehr_id, templates[0])
                else:
                    require_modifiable(conn, ehr_id)
            for template_id in templates:
                if template_id not in uploads:
                    uploads[template_id] = self.storage.templates.share(conn, template_id)
                uploaded = uploads[template_id]
                if uploaded is None:  # deleted since validation
                    raise UnknownTemplate(f"template {template_id!r} has not been uploaded")
                if validated is not None and validated.get(template_id, uploaded) != uploaded:
                    raise StaleTemplate(f"template {template_id!r} was replaced during the commit")
            record, versions = commit_contribution(
                conn, ehr_id=ehr_id, changes=changes, audit=ctx.audit(), system_id=self.system_id
            )
            if then is not None:
                then(conn, versions)
            touched = (*(v.uid for v in versions), str(record.contribution_id))
            ctx.record(conn, Action.WRITE_EHR, ehr_id, target, touched)
        return record, versions

    def require_ehr(self, ehr_id: uuid.UUID, ctx: RequestContext) -> None:
        """:class:`NotFound` unless the EHR exists (checked before expensive work such as validation). When
        ``ctx``'s policy already read the EHR for its decision in this request, that answer stands (a
        statement less; a write reads the EHR again in its own transaction)."""
        known = ctx.known_ehr(ehr_id)
        if known is None:
            known = self.storage.ehrs.exists(ehr_id)
        if not known:
            raise NotFound(f"EHR {ehr_id} not found")

    def kind_of(self, ehr_id: uuid.UUID, version_uid: str) -> str:
        """The kind (COMPOSITION, EHR_STATUS, FOLDER) of the object a version uid names; NotFound if none."""
        vo = t.versioned_object
        object_id = VersionUid.parse(version_uid).object_id
        with read_transaction(self.storage.engine) as conn:
            kind = conn.execute(
                sa.select(vo.c.kind).where(vo.c.ehr_id == ehr_id, vo.c.vo_id == object_id)
            ).scalar()
        if kind is None:
            raise NotFound(f"no versioned object {object_id} in EHR {ehr_id}")
        return str(kind)

    def is_modifiable(self, ehr_id: uuid.UUID) -> bool:
        with read_transaction(self.storage.engine) as conn:
            return _modifiable(conn, ehr_id)


def _template_of(change: VersionChange) -> str | None:
    """The template id the change's data names (archetype_details.template_id), if any."""
    data = change.data
    if isinstance(data, dict):
        details = data.get("archetype_details") or {}
        value = (details.get("template_id") or {}).get("value")
    else:
        value = getattr(getattr(getattr(data, "archetype_details", None), "template_id", None), "value", None)
    return value if isinstance(value, str) else None


def _modifiable_query() -> sa.Select[Any]:
    """The EHR and its latest EHR_STATUS's ``is_modifiable``, in one statement (the status's JSON stays in
    the database)."""
    ov = t.object_version
    status = sa.and_(
        ov.c.ehr_id == t.ehr.c.ehr_id,
        ov.c.vo_id == t.ehr.c.ehr_status_id,
        ov.c.kind == "EHR_STATUS",
        ov.c.latest == sa.true(),
    )
    flag = ov.c.data["is_modifiable"].as_json()
    return (
        sa.select(t.ehr.c.ehr_id, flag.label("is_modifiable"))
        .select_from(t.ehr.outerjoin(ov, status))
        .where(t.ehr.c.ehr_id == sa.bindparam("ehr_id", type_=t.ehr.c.ehr_id.type))
    )


# built once with a bind parameter (building it per commit cost ~0.1 ms) and run directly (cdr.storage.direct)
_MODIFIABLE = DirectStatement(_modifiable_query())
_MODIFIABLE_SHARING = DirectStatement(_modifiable_query().add_columns(SHARED_UPLOAD.label("uploaded")))


def _status_row(conn: Connection, ehr_id: uuid.UUID, template_id: str | None = None) -> Any:
    if template_id is None:
        row = _MODIFIABLE.first(conn, {"ehr_id": ehr_id})
    else:
        row = _MODIFIABLE_SHARING.first(conn, {"ehr_id": ehr_id, "template_id": template_id})
    if row is None:
        raise NotFound(f"EHR {ehr_id} not found")
    return row


def _allows(row: Any) -> bool:
    # JSON false arrives as False (PostgreSQL) or 0 (SQLite's json_extract); no status or no flag as None
    return row.is_modifiable is None or bool(row.is_modifiable)


def _modifiable(conn: Connection, ehr_id: uuid.UUID) -> bool:
    return _allows(_status_row(conn, ehr_id))


def require_modifiable(
    conn: Connection, ehr_id: uuid.UUID, template_id: str | None = None
) -> dt.datetime | None:
    """:class:`NotFound` for an unknown EHR, :class:`EhrNotModifiable` when its status forbids changes.

    With ``template_id``, the same statement takes the template row's shared lock
    (:meth:`~cdr.storage.templates.TemplateStore.share`) and this returns its upload time (``None``: no such
    template): one statement less per commit."""
    row = _status_row(conn, ehr_id, template_id)
    if not _allows(row):
        raise EhrNotModifiable(
            f"EHR {ehr_id} does not allow modification (ehr_status.is_modifiable is false)"
        )
    return row.uploaded if template_id is not None else None
