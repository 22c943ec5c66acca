"""CONTRIBUTION use cases: commit several versions (COMPOSITION, EHR_STATUS, FOLDER) all or nothing, and read
a contribution back.

ITS-REST 1.0.3 answers a contribution that cannot be committed with 400 (it has no 422), so template problems
of a composition inside one are reported as 400, with every issue's path under ``/versions/{i}/data``.

A creation's versioned object id comes from its data's own ``uid`` when it has one (as
``POST .../composition`` takes it), else a new one. The ``uid`` a version itself may carry is not an input:
ITS-REST's UPDATE_VERSION has none, the server numbers the versions it commits, and EHRbase's suites commit
one file with a version ``uid`` into EHR after EHR, each time a new composition.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from cdr.errors import InvalidInput, NotFound
from cdr.formats.canonical_json import to_json
from cdr.formats.contribution_json import parse_contribution_json
from cdr.rm.base import RMObject
from cdr.services.composition import check_composition
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.ehr_status import check_status
from cdr.services.errors import InvalidContent, Issue, Unprocessable
from cdr.services.rm_checks import require_valid
from cdr.storage import Audit, ContributionRecord, VersionChange, VersionRecord, VersionUid
from cdr.storage.records import CHANGE_TYPE, COMPLETE, DELETED, LIFECYCLE_STATE, code_of

KINDS = ("COMPOSITION", "EHR_STATUS", "FOLDER")


def _code(coded: Any, group: str, default: str, where: str) -> str:
    """The openEHR code of a DV_CODED_TEXT (its code_string, else its value as a rubric)."""
    if coded is None:
        return default
    doc = to_json(coded)
    value = (doc.get("defining_code") or {}).get("code_string") or doc.get("value")
    try:
        return code_of(group, str(value))
    except InvalidInput:
        raise InvalidInput(f"{where}: {value!r} is not an openEHR {group!r} code") from None


def _audit(details: RMObject | None, fallback: Audit) -> Audit:
    if details is None:
        return fallback
    doc = to_json(details)
    committer = doc.get("committer") or fallback.committer
    description = (doc.get("description") or {}).get("value", fallback.description)
    return Audit(committer, description)


def _check_data(svc: Services, data: RMObject, where: str) -> None:
    """The content rules of each kind; template problems become 400 with paths under ``where``."""
    try:
        if data.rm_type == "COMPOSITION":
            check_composition(svc, data)
        elif data.rm_type == "EHR_STATUS":
            check_status(data)
        else:
            require_valid(data, data.rm_type)
    except (Unprocessable, InvalidContent) as exc:
        issues = [Issue(where + i.path, i.code, i.message, i.constraint_path) for i in exc.issues]
        raise InvalidContent(f"{where}: {exc.message}", issues) from None


def _change(svc: Services, ehr_id: uuid.UUID, index: int, version: RMObject, audit: Audit) -> VersionChange:
    where = f"/versions/{index}"
    d = version.__dict__
    commit_audit = d.get("commit_audit")
    change_type = _code(
        commit_audit.__dict__.get("change_type") if commit_audit else None, CHANGE_TYPE, "", where
    )
    if not change_type:
        raise InvalidInput(f"{where}/commit_audit/change_type is required")
    data = d.get("data")
    preceding = d.get("preceding_version_uid")
    preceding_uid = preceding.__dict__.get("value") if preceding is not None else None
    if change_type != DELETED:
        if data is None:
            raise InvalidInput(f"{where}/data is required for a {change_type} version")
        if data.rm_type not in KINDS:
            raise InvalidInput(f"{where}/data: a {data.rm_type} cannot be committed ({', '.join(KINDS)})")
        _check_data(svc, data, f"{where}/data")
        kind = data.rm_type
    else:
        if not preceding_uid:
            raise InvalidInput(f"{where}/preceding_version_uid is required to delete")
        kind = data.rm_type if data is not None else svc.kind_of(ehr_id, preceding_uid)
    lifecycle = _code(d.get("lifecycle_state"), LIFECYCLE_STATE, COMPLETE, f"{where}/lifecycle_state")
    return VersionChange(
        kind,
        change_type,
        None if change_type == DELETED else data,
        preceding_uid,
        lifecycle_state=COMPLETE if lifecycle == DELETED else lifecycle,
        audit=_audit(commit_audit, audit),
    )


def commit_contribution(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, body: bytes | str
) -> tuple[ContributionRecord, list[VersionRecord]]:
    """Commit the contribution of a REST body; every version or none. 400 for an empty or invalid one."""
    svc.require_ehr(ehr_id, ctx)
    payload = parse_contribution_json(body, strict=False)
    if not payload.versions:
        raise InvalidInput("Versions must not be empty")
    audit = _audit(payload.audit, ctx.audit())
    changes = [_change(svc, ehr_id, i, v, audit) for i, v in enumerate(payload.versions)]
    scoped = RequestContext(
        principal=ctx.principal,
        request_id=ctx.request_id,
        committer=audit.committer,
        description=audit.description,
        policy=ctx.policy,
        access_log=ctx.access_log,
    )
    return svc.commit(scoped, ehr_id, changes)


def get_contribution(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, uid: str) -> ContributionRecord:
    """A contribution of the EHR; :class:`NotFound` for unknown EHRs and ids (also ids that are no uuid).

    Versions of compositions the patient restricted from the caller are left out of ``versions``, as they
    are left out of query results, so that the contribution does not reveal uids whose own read would be
    refused; a contribution of nothing but such versions is refused like them (403).
    """
    ctx.authorize(Action.READ_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    try:
        contribution_id = uuid.UUID(uid)
    except ValueError:
        raise NotFound(f"contribution {uid!r} not found in EHR {ehr_id}") from None
    record = svc.storage.contributions.get(ehr_id, contribution_id)
    objects = {uid: VersionUid.parse(uid).object_id for uid in record.version_uids}
    hidden = ctx.hidden(ehr_id, set(objects.values()), refuse="all")
    if not hidden:
        return record
    shown = tuple(uid for uid, object_id in objects.items() if object_id not in hidden)
    return dataclasses.replace(record, version_uids=shown)
