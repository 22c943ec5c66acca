"""DIRECTORY use cases: an EHR's versioned root FOLDER, created once, updated and deleted with the preceding
version uid, read whole or at a sub-folder path (folder names separated by ``/``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from cdr.errors import NotFound, PreconditionFailed
from cdr.rm.base import RMObject
from cdr.services import versions
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.rm_checks import require_valid
from cdr.storage import StaleVersion, VersionChange, VersionRecord
from cdr.storage.records import COMPLETE, CREATION, DELETED, MODIFICATION

KIND = "FOLDER"


def _check(folder: RMObject) -> None:
    if folder.rm_type != KIND:
        from cdr.errors import InvalidInput

        raise InvalidInput(f"a directory is a FOLDER, not a {folder.rm_type}")
    require_valid(folder, "FOLDER")


def create_directory(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, folder: RMObject
) -> VersionRecord:
    """The EHR's directory; :class:`~cdr.errors.Conflict` (409) if it has one."""
    svc.require_ehr(ehr_id, ctx)
    _check(folder)
    change = VersionChange(KIND, CREATION, folder, lifecycle_state=ctx.lifecycle_state or COMPLETE)
    _, committed = svc.commit(ctx, ehr_id, [change])
    return committed[0]


def _current_for_change(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, preceding_version_uid: str
) -> VersionRecord:
    """The latest directory version, which ``preceding_version_uid`` must name (412 otherwise, also when the
    EHR has no directory: there is no version the precondition could match). Refused (403) when it lists
    compositions restricted from the caller: they read it without them, and a change would drop them."""
    svc.require_ehr(ehr_id, ctx)
    preceding = versions.parse_version_uid(preceding_version_uid)
    try:
        current = svc.storage.directory.current(ehr_id)
    except NotFound:
        raise PreconditionFailed(
            f"EHR {ehr_id} has no directory, so {preceding} cannot be its version"
        ) from None
    if current.deleted:
        raise PreconditionFailed(f"the directory of EHR {ehr_id} is deleted ({current.uid})")
    if str(preceding) != current.uid:
        raise StaleVersion(f"{preceding} is not the latest directory version of EHR {ehr_id}", current.uid)
    if current.data is not None:  # the caller's new version would silently drop items hidden from them
        ctx.hidden(ehr_id, item_ids(current.data), refuse="any")
    return current


def update_directory(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, preceding_version_uid: str, folder: RMObject
) -> VersionRecord:
    current = _current_for_change(svc, ctx, ehr_id, preceding_version_uid)
    _check(folder)
    change = VersionChange(
        KIND,
        ctx.change_type or MODIFICATION,
        folder,
        current.uid,
        lifecycle_state=ctx.lifecycle_state or COMPLETE,
    )
    _, committed = svc.commit(ctx, ehr_id, [change], target=current.uid)
    return committed[0]


def delete_directory(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, preceding_version_uid: str
) -> VersionRecord:
    current = _current_for_change(svc, ctx, ehr_id, preceding_version_uid)
    _, committed = svc.commit(
        ctx, ehr_id, [VersionChange(KIND, DELETED, None, current.uid)], target=current.uid
    )
    return committed[0]


def get_directory(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    at: dt.datetime | None = None,
    version_uid: str | None = None,
) -> VersionRecord:
    """The latest directory version, the one current at ``at``, or the version ``version_uid``.

    Items pointing at compositions the patient restricted from the caller are left out (at every folder
    level), as query results leave them out, so that the directory does not reveal their uids.
    """
    ctx.authorize(Action.READ_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    store = svc.storage.directory
    if version_uid is not None:
        record = versions.version(store, ehr_id, version_uid)
    else:
        record = store.current_at(ehr_id, at) if at is not None else store.current(ehr_id)
    if record.data is None:
        return record
    hidden = ctx.hidden(ehr_id, item_ids(record.data))
    return dataclasses.replace(record, document=without_items(record.data, hidden)) if hidden else record


def _item_id(item: Any) -> uuid.UUID | None:
    """The object id an item (OBJECT_REF) points at: its id's value up to the first ``::``."""
    value = ((item or {}).get("id") or {}).get("value") if isinstance(item, dict) else None
    try:
        return uuid.UUID(str(value).split("::")[0]) if value else None
    except ValueError:
        return None


def item_ids(folder: dict[str, Any]) -> set[uuid.UUID]:
    """The object ids the items of ``folder`` and of every folder below it point at.

    >>> ref = {"id": {"value": "8849182c-82ad-4088-a07f-48ead4180515::cdr::1"}}
    >>> item_ids({"items": [ref], "folders": [{"items": [{"id": {"value": "not-a-uuid"}}]}]})
    {UUID('8849182c-82ad-4088-a07f-48ead4180515')}
    """
    found = {i for i in map(_item_id, folder.get("items") or []) if i is not None}
    for child in folder.get("folders") or []:
        found |= item_ids(child)
    return found


def without_items(folder: dict[str, Any], hidden: frozenset[uuid.UUID]) -> dict[str, Any]:
    """A copy of ``folder`` whose items (at every level) point at none of ``hidden``."""
    copy = dict(folder)
    if folder.get("items"):
        copy["items"] = [i for i in folder["items"] if _item_id(i) not in hidden]
    if folder.get("folders"):
        copy["folders"] = [without_items(f, hidden) for f in folder["folders"]]
    return copy


def sub_folder(folder: dict[str, Any], path: str | None) -> dict[str, Any]:
    """The FOLDER at ``path`` (names of nested folders, ``/``-separated) below ``folder``; NotFound if absent.

    >>> root = {"name": {"value": "root"}, "folders": [{"name": {"value": "a"}, "folders": []}]}
    >>> sub_folder(root, "/a")["name"]["value"]
    'a'
    """
    current = folder
    for step in [s for s in (path or "").split("/") if s]:
        children = current.get("folders") or []
        found = next((f for f in children if (f.get("name") or {}).get("value") == step), None)
        if found is None:
            raise NotFound(f"no folder {step!r} at {path!r} in the directory")
        current = found
    return current
