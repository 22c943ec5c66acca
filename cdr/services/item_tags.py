"""ITEM_TAGs on a COMPOSITION or EHR_STATUS (ITS-REST ``/tags``, RM ITEM_TAG).

The target is named as ITS-REST names it: a version uid tags that version, a versioned object id (a bare
uuid) the versioned object. Reading tags is reading the record; setting or deleting them is a write, refused
by an EHR whose status forbids modification, recorded in the audit trail in the same transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from cdr.errors import InvalidInput, NotFound
from cdr.services import versions
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services, require_modifiable
from cdr.services.errors import Unprocessable
from cdr.storage import VersionRecord
from cdr.storage import schema as t
from cdr.storage.engine import write_transaction
from cdr.storage.item_tags import ItemTag, ItemTagStore, TagTarget
from cdr.storage.versioned_store import VersionedStore

__all__ = [
    "NO_TAGS",
    "TagInput",
    "TagUpdate",
    "WriteTags",
    "check_tag_updates",
    "delete_tag_ids",
    "delete_tags",
    "ehr_tags",
    "find_tags",
    "get_tags",
    "set_tags",
    "tags_writer",
    "upsert_tags",
]

TagInput = tuple[str, str | None, str | None]
"""A tag as a request gives it: ``(key, value, target_path)``."""

MAX_TAGS = 1000
"""The most tags one request may set: a target's tags are annotations, not data, and a request body of 32 MiB
could otherwise hold half a million of them, each a row written in one transaction."""


def check_tags(tags: Sequence[TagInput]) -> None:
    """:class:`InvalidInput` (400) naming the tag and the rule, for the ITEM_TAG invariants: a key neither
    empty nor with surrounding whitespace, a value (when given) not empty, a target path (when given) from
    the target's root, and each (key, path) once."""
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"{len(tags)} tags; a request sets at most {MAX_TAGS}")
    seen: set[tuple[str, str]] = set()
    for i, (key, value, path) in enumerate(tags):
        where = f"/{i}"
        if not key or key != key.strip():
            raise InvalidInput(f"{where}/key: a tag key may not be empty or start or end with whitespace")
        if len(key) > t.ID:
            raise InvalidInput(f"{where}/key: a tag key is at most {t.ID} characters")
        if value is not None and not value:
            raise InvalidInput(f"{where}/value: a tag value, when given, may not be empty")
        if path is not None and not path.startswith("/"):
            raise InvalidInput(f"{where}/target_path: {path!r} does not start at the target's root ('/')")
        pair = (key, path or "")
        if pair in seen:
            raise InvalidInput(f"{where}: the tag {key!r} at {path or 'the target'} is given twice")
        seen.add(pair)


@dataclass(frozen=True, slots=True)
class WriteTags:
    """The tag lists a COMPOSITION or EHR_STATUS write asks for in its ``openehr-item-tag`` (the versioned
    object's) and ``openehr-version-item-tag`` (the new version's) headers; ``None``: not sent, the
    target's tags stay as they are. Each list replaces its target's, in the write's own transaction."""

    on_object: tuple[TagInput, ...] | None = None
    on_version: tuple[TagInput, ...] | None = None

    def __bool__(self) -> bool:
        return self.on_object is not None or self.on_version is not None

    def check(self) -> None:
        """:class:`InvalidInput` (400) for a list that breaks the ITEM_TAG invariants, before anything is
        written."""
        for tags in (self.on_object, self.on_version):
            if tags is not None:
                check_tags(tags)

    def write(self, conn: Connection, store: ItemTagStore, record: VersionRecord) -> None:
        """Store the lists on ``record`` (the version just committed) and its versioned object."""
        ehr_id, kind, vo_id = record.ehr_id, record.kind, record.vo_id
        targets = (
            (self.on_object, TagTarget(ehr_id, kind, vo_id, str(vo_id))),
            (self.on_version, TagTarget(ehr_id, kind, vo_id, record.uid, record.version)),
        )
        for tags, target in targets:
            if tags is not None:
                store.replace(target, [ItemTag(target, key, value, path) for key, value, path in tags], conn)


NO_TAGS = WriteTags()


def tags_writer(svc: Services, tags: WriteTags) -> Callable[[Connection, list[VersionRecord]], None] | None:
    """What :meth:`Services.commit` runs after writing a single version, to store ``tags`` with it (``None``
    when no tag header was sent)."""
    if not tags:
        return None
    return lambda conn, committed: tags.write(conn, svc.storage.item_tags, committed[0])


def _store(svc: Services, kind: str) -> VersionedStore:
    return svc.storage.compositions if kind == "COMPOSITION" else svc.storage.ehr_status


def _target(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, kind: str, uid_based_id: str) -> TagTarget:
    """The version or versioned object ``uid_based_id`` names in the EHR; :class:`NotFound` if there is none
    of ``kind``."""
    svc.require_ehr(ehr_id, ctx)
    store = _store(svc, kind)
    if "::" in uid_based_id:
        uid = versions.parse_version_uid(uid_based_id)
        record = store.get(ehr_id, str(uid))
        return TagTarget(ehr_id, kind, uid.object_id, record.uid, uid.version)
    vo_id = versions.parse_object_id(uid_based_id, kind.lower())
    store.latest(ehr_id, vo_id)
    return TagTarget(ehr_id, kind, vo_id, str(vo_id))


def get_tags(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, kind: str, uid_based_id: str
) -> list[ItemTag]:
    ctx.authorize(Action.READ_EHR, ehr_id)
    return svc.storage.item_tags.for_target(_target(svc, ctx, ehr_id, kind, uid_based_id))


def set_tags(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    kind: str,
    uid_based_id: str,
    tags: Sequence[TagInput],
) -> list[ItemTag]:
    """Make ``tags`` the target's whole list (an empty list removes them all); the list as stored."""
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    check_tags(tags)
    target = _target(svc, ctx, ehr_id, kind, uid_based_id)
    with write_transaction(svc.storage.engine) as conn:
        require_modifiable(conn, ehr_id)
        stored = svc.storage.item_tags.replace(
            target, [ItemTag(target, key, value, path) for key, value, path in tags], conn
        )
        ctx.record(conn, Action.WRITE_EHR, ehr_id, uid_based_id)
    return stored


def delete_tags(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, kind: str, uid_based_id: str, key: str
) -> None:
    """Remove the target's tags with ``key``; :class:`NotFound` when it has none."""
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    target = _target(svc, ctx, ehr_id, kind, uid_based_id)
    with write_transaction(svc.storage.engine) as conn:
        require_modifiable(conn, ehr_id)
        if not svc.storage.item_tags.delete_key(target, key, conn):
            raise NotFound(f"{kind} {uid_based_id} has no tag {key!r}")
        ctx.record(conn, Action.WRITE_EHR, ehr_id, uid_based_id)


def ehr_tags(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    key: str | None = None,
    value: str | None = None,
    target_path: str | None = None,
) -> list[ItemTag]:
    """The EHR's tags, narrowed by key, value and path; none of compositions the caller may not see."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    found = svc.storage.item_tags.for_ehr(ehr_id, key, value, target_path)
    hidden = ctx.hidden(ehr_id, {tag.target.vo_id for tag in found if tag.target.kind == "COMPOSITION"})
    return [tag for tag in found if tag.target.vo_id not in hidden]


# --- EHRbase's experimental ``/item_tag`` API ---------------------------------------------------------------
#
# EHRbase tags the versioned object (a version uid in the path names its object), gives every tag an id, and
# lets a PUT add or change tags one by one (by id, else by key and path) instead of replacing the list. Its
# rules for keys, values and paths are stricter than the RM's invariants, and their breach is a 422.


@dataclass(frozen=True, slots=True)
class TagUpdate:
    """One tag of an ``/item_tag`` PUT: ``tag_id`` to change that tag, ``owner_id`` / ``target`` /
    ``target_type`` only as checks that it is this EHR's and this target's."""

    key: str
    value: str | None = None
    target_path: str | None = None
    tag_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    target: uuid.UUID | None = None
    target_type: str | None = None


_KEY = re.compile(r"[a-zA-Z0-9/\-_:]+")
# a path step: an attribute, optionally with a node predicate (an archetype node id, optionally a name)
_STEP = re.compile(
    r"/[a-z][a-z0-9_]*"
    r"(\[(at\d+(\.\d+)*|id\d+(\.\d+)*|[A-Za-z][\w-]*-[A-Za-z][\w]*-[A-Za-z][\w]*\.[\w-]+(\.[\w-]+)*\.v\d[\w.-]*)"
    r"(\s*,\s*'[^']*'|\s+and\s+name/value\s*=\s*'[^']*')?\])?"
)


def check_tag_updates(kind: str, tags: Sequence[TagUpdate], ehr_id: uuid.UUID, vo_id: uuid.UUID) -> None:
    """EHRbase's rules for the tags of an ``/item_tag`` PUT: :class:`Unprocessable` (422) naming the tag and
    the rule, :class:`InvalidInput` (400) for a tag of another RM type."""
    if not tags:
        raise Unprocessable("ItemTags are empty")
    if len(tags) > MAX_TAGS:
        raise Unprocessable(f"{len(tags)} ItemTags; a request sets at most {MAX_TAGS}")
    for i, tag in enumerate(tags):
        where, key = f"/{i}", tag.key
        if tag.target_type is not None and tag.target_type != kind:
            raise InvalidInput(
                f"{where}/target_type: tag target_type {tag.target_type} does not match {kind}"
            )
        if not key.strip():
            raise Unprocessable(f"{where}/key: ItemTag must have a key that can not be empty or blank")
        if not _KEY.fullmatch(key):
            raise Unprocessable(
                f"{where}/key: ItemTag key {key!r} contains invalid characters, only alphanumerics, minus, "
                "slash, underscore and colon are allowed"
            )
        if len(key) > t.ID:
            raise Unprocessable(f"{where}/key: ItemTag key {key!r} is longer than {t.ID} characters")
        if tag.value is not None and not tag.value.strip():
            raise Unprocessable(f"{where}/value: ItemTag {key!r} value can not be empty or blank")
        if tag.owner_id is not None and tag.owner_id != ehr_id:
            raise Unprocessable(f"{where}/owner_id: can not change the owner of ItemTag {key!r}")
        if tag.target is not None and tag.target != vo_id:
            raise Unprocessable(f"{where}/target: can not move ItemTag {key!r} to {tag.target}")
        _check_target_path(where, key, tag.target_path)


def _check_target_path(where: str, key: str, path: str | None) -> None:
    if path is None:
        return
    problem = ""
    if "|" in path:
        problem = "attributes are not supported"
    elif not path.startswith("/"):
        problem = "does not start at root"
    elif path != "/" and _STEP_PATH.fullmatch(path) is None:
        problem = "is not a path of attributes and archetype node ids (with an optional name)"
    if problem:
        raise Unprocessable(f"{where}/target_path: ItemTag {key!r} target_path {path!r} {problem}")


_STEP_PATH = re.compile(f"(?:{_STEP.pattern})+")


def _object_target(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, kind: str, uid_based_id: str
) -> TagTarget:
    """The versioned object ``uid_based_id`` names (a version uid names its object), as EHRbase reads it."""
    object_id = uid_based_id.split("::", 1)[0]
    return _target(svc, ctx, ehr_id, kind, object_id)


def upsert_tags(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    kind: str,
    uid_based_id: str,
    tags: Sequence[TagUpdate],
) -> list[ItemTag]:
    """Add or change ``tags`` on the versioned object, leaving its other tags; the tags as stored."""
    if not tags:
        raise Unprocessable("ItemTags are empty")  # before anything is looked up, as EHRbase answers
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    target = _object_target(svc, ctx, ehr_id, kind, uid_based_id)
    check_tag_updates(kind, tags, ehr_id, target.vo_id)
    wanted = [ItemTag(target, tag.key, tag.value, tag.target_path, tag.tag_id) for tag in tags]
    with write_transaction(svc.storage.engine) as conn:
        require_modifiable(conn, ehr_id)
        stored = svc.storage.item_tags.upsert(target, wanted, conn)
        ctx.record(conn, Action.WRITE_EHR, ehr_id, target.uid)
    return stored


def find_tags(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    kind: str,
    uid_based_id: str,
    ids: Sequence[uuid.UUID] = (),
    keys: Sequence[str] = (),
) -> list[ItemTag]:
    """The versioned object's tags, narrowed to ``ids`` and ``keys`` when given."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    return svc.storage.item_tags.find(_object_target(svc, ctx, ehr_id, kind, uid_based_id), ids, keys)


def delete_tag_ids(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    kind: str,
    uid_based_id: str,
    ids: Sequence[uuid.UUID],
) -> None:
    """Remove the versioned object's tags with these ids (ids it has no tag with are passed over, as
    EHRbase does); :class:`Unprocessable` for an empty list."""
    if not ids:
        raise Unprocessable("ItemTags are empty")
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    target = _object_target(svc, ctx, ehr_id, kind, uid_based_id)
    with write_transaction(svc.storage.engine) as conn:
        require_modifiable(conn, ehr_id)
        svc.storage.item_tags.delete_ids(target, ids, conn)
        ctx.record(conn, Action.WRITE_EHR, ehr_id, target.uid)
