"""EHR_STATUS use cases: read (current, at a time, by version), update with the preceding version uid, and
the VERSIONED_EHR_STATUS reads."""

from __future__ import annotations

import datetime as dt
import uuid

from cdr.rm.base import RMObject
from cdr.security.subjects import subject_id_problem
from cdr.services import versions
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.errors import InvalidContent, Issue
from cdr.services.item_tags import NO_TAGS, WriteTags, tags_writer
from cdr.services.rm_checks import rm_issues
from cdr.storage import StaleVersion, VersionChange, VersionRecord
from cdr.storage.records import COMPLETE, MODIFICATION


def check_status(status: RMObject, *, new_ehr: bool = False) -> None:
    """:class:`InvalidContent` (400) unless ``status`` is an EHR_STATUS the RM accepts.

    A status sent to create an EHR must also name the patient (``subject.external_ref`` with an id value and
    a namespace), as EHRbase requires; an update may keep the anonymous PARTY_SELF of a default status.
    """
    issues = (
        []
        if status.rm_type == "EHR_STATUS"
        else [Issue("/_type", "WRONG_TYPE", f"{status.rm_type} is not an EHR_STATUS")]
    )
    issues += rm_issues(status)
    subject = status.__dict__.get("subject")
    ref = subject.__dict__.get("external_ref") if subject is not None else None
    if new_ehr and subject is not None and ref is None:
        issues.append(Issue("/subject/external_ref", "REQUIRED", "subject.external_ref is required"))
    if ref is not None:
        ref_id = ref.__dict__.get("id")
        if ref_id is None or not ref_id.__dict__.get("value"):
            issues.append(
                Issue("/subject/external_ref/id/value", "REQUIRED", "the subject id must not be empty")
            )
        if not ref.__dict__.get("namespace"):
            issues.append(
                Issue(
                    "/subject/external_ref/namespace", "REQUIRED", "the subject namespace must not be empty"
                )
            )
        namespace, value = ref.__dict__.get("namespace"), ref_id.__dict__.get("value") if ref_id else None
        problem = subject_id_problem(namespace, value) if namespace and value else None
        if problem is not None:
            issues.append(Issue("/subject/external_ref/id/value", "INVALID_SUBJECT_ID", problem))
    if issues:
        unique = list({(i.path, i.code): i for i in issues}.values())
        raise InvalidContent(
            "invalid EHR_STATUS: " + "; ".join(f"{i.path}: {i.message}" for i in unique), unique
        )


def get_status(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, at: dt.datetime | None = None
) -> VersionRecord:
    """The current status, or the one current at ``at``."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    store = svc.storage.ehr_status
    return versions.at_time_or_latest(store, ehr_id, store.status_id(ehr_id), at)


def get_status_version(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, version_uid: str
) -> VersionRecord:
    ctx.authorize(Action.READ_EHR, ehr_id)
    store = svc.storage.ehr_status
    store.status_id(ehr_id)  # NotFound for an unknown EHR before the uid is judged
    return versions.version(store, ehr_id, version_uid)


def versioned_status(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID) -> versions.VersionedObjectView:
    ctx.authorize(Action.READ_EHR, ehr_id)
    store = svc.storage.ehr_status
    return versions.versioned_object(store, ehr_id, store.status_id(ehr_id))


def update_status(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    preceding_version_uid: str,
    status: RMObject,
    tags: WriteTags = NO_TAGS,
) -> VersionRecord:
    """Commit the next status version with ``tags``; :class:`StaleVersion` (412) unless
    ``preceding_version_uid`` is the latest version of this EHR's status."""
    check_status(status)
    tags.check()
    current = svc.storage.ehr_status.current(ehr_id)
    preceding = versions.parse_version_uid(preceding_version_uid)
    if str(preceding) != current.uid:
        raise StaleVersion(f"{preceding} is not the latest EHR_STATUS version of EHR {ehr_id}", current.uid)
    change = VersionChange(
        "EHR_STATUS",
        ctx.change_type or MODIFICATION,
        status,
        current.uid,
        lifecycle_state=ctx.lifecycle_state or COMPLETE,
    )
    _, committed = svc.commit(ctx, ehr_id, [change], target=current.uid, then=tags_writer(svc, tags))
    return committed[0]
