"""ITEM_TAG store: tags on a COMPOSITION or EHR_STATUS, by version or on the versioned object.

A tag is a ``key`` with an optional ``value`` and ``target_path`` (a path within the target). Within one
target a tag is identified by its key and path; storing a target's tags replaces the whole list (ITS-REST
``PUT .../tags``), in one transaction. Each tag also has an id of its own (``tag_id``), kept while its key
and path stay, by which EHRbase's ``/item_tag`` API updates, finds and deletes tags one by one. Tags are
annotations of the record, not part of it: they are not versioned, and a new version of the target neither
copies nor drops the tags of an older one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.errors import Conflict, NotFound
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, writing

__all__ = ["ItemTag", "ItemTagStore", "TagClash", "TagTarget"]

OBJECT = 0
"""``target_version`` of a tag on the versioned object rather than on one of its versions."""


class TagClash(Conflict):
    """Two tags of one target would have the same key and path, which identify a tag there."""


@dataclass(frozen=True, slots=True)
class TagTarget:
    """What a tag is on: a versioned object (``version`` 0) or one version of it; ``uid`` names it (the
    object id, or the version uid as stored)."""

    ehr_id: uuid.UUID
    kind: str  # COMPOSITION or EHR_STATUS
    vo_id: uuid.UUID
    uid: str
    version: int = OBJECT


@dataclass(frozen=True, slots=True)
class ItemTag:
    target: TagTarget
    key: str
    value: str | None = None
    target_path: str | None = None
    tag_id: uuid.UUID | None = None  # None on input: a new tag (or the one with this key and path)


_t = t.item_tag


def _record(row: sa.Row[tuple[object, ...]]) -> ItemTag:
    m = row._mapping
    target = TagTarget(m["ehr_id"], m["target_type"], m["target_vo_id"], m["target_uid"], m["target_version"])
    return ItemTag(target, m["key"], m["value"], m["target_path"] or None, m["tag_id"])


def _lock(conn: Connection, target: TagTarget) -> None:
    """Hold the target's versioned object row to commit (PostgreSQL; SQLite writes one at a time anyway), so
    that two requests changing its tags at once take turns instead of one failing on the table's key."""
    vo = t.versioned_object
    found = sa.select(vo.c.vo_id).where(vo.c.ehr_id == target.ehr_id, vo.c.vo_id == target.vo_id)
    conn.execute(found.with_for_update())


def _of(target: TagTarget) -> sa.ColumnElement[bool]:
    return sa.and_(
        _t.c.ehr_id == target.ehr_id,
        _t.c.target_vo_id == target.vo_id,
        _t.c.target_version == target.version,
    )


_ORDER = (_t.c.target_vo_id, _t.c.target_version, _t.c.key, _t.c.target_path)


class ItemTagStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def for_target(self, target: TagTarget) -> list[ItemTag]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(sa.select(_t).where(_of(target)).order_by(*_ORDER))
            return [_record(r) for r in rows]

    def replace(
        self, target: TagTarget, tags: Sequence[ItemTag], conn: Connection | None = None
    ) -> list[ItemTag]:
        """Make ``tags`` the target's whole list (an empty one removes them all), in ``conn``'s transaction
        when given; the list as stored. A tag whose key and path the target had keeps its id."""
        with writing(self.engine, conn) as conn:
            _lock(conn, target)
            ids = {(tag.key, tag.target_path): tag.tag_id for tag in self._of_target(conn, target)}
            conn.execute(sa.delete(_t).where(_of(target)))
            if tags:
                rows = [_row(target, tag, ids.get((tag.key, tag.target_path))) for tag in tags]
                conn.execute(sa.insert(_t), rows)
            return self._of_target(conn, target)

    def upsert(
        self, target: TagTarget, tags: Sequence[ItemTag], conn: Connection | None = None
    ) -> list[ItemTag]:
        """Store each of ``tags`` on the target, leaving its other tags: one with a ``tag_id`` replaces that
        tag (:class:`NotFound` when the target has none with that id), one without replaces the target's tag
        with the same key and path, or is added with a new id. The tags as stored, in the order given;
        :class:`TagClash` when two would end with the same key and path."""
        with writing(self.engine, conn) as conn:
            _lock(conn, target)
            held = {tag.tag_id: tag for tag in self._of_target(conn, target)}
            by_place = {(tag.key, tag.target_path): tag_id for tag_id, tag in held.items()}
            stored: list[ItemTag] = []
            for tag in tags:
                place = (tag.key, tag.target_path)
                tag_id = tag.tag_id if tag.tag_id is not None else by_place.get(place) or uuid.uuid4()
                if tag.tag_id is not None and tag.tag_id not in held:
                    raise NotFound(f"{target.kind} {target.uid} has no item tag {tag.tag_id}")
                other = by_place.get(place)
                if other is not None and other != tag_id:
                    raise TagClash(
                        f"item tag {tag_id}: {target.kind} {target.uid} already has the tag {tag.key!r} at "
                        f"{tag.target_path or 'the target'} (item tag {other})"
                    )
                previous = held.get(tag_id)
                if previous is not None:
                    del by_place[(previous.key, previous.target_path)]
                    conn.execute(sa.delete(_t).where(_of(target), _t.c.tag_id == tag_id))
                conn.execute(sa.insert(_t), [_row(target, tag, tag_id)])
                held[tag_id] = stored_tag = ItemTag(target, tag.key, tag.value, tag.target_path, tag_id)
                by_place[place] = tag_id
                stored.append(stored_tag)
            return stored

    def find(
        self, target: TagTarget, ids: Sequence[uuid.UUID] = (), keys: Sequence[str] = ()
    ) -> list[ItemTag]:
        """The target's tags, narrowed to ``ids`` and to ``keys`` when either is given."""
        where = [_of(target)]
        if ids:
            where.append(_t.c.tag_id.in_(list(ids)))
        if keys:
            where.append(_t.c.key.in_(list(keys)))
        with read_transaction(self.engine) as conn:
            return [_record(r) for r in conn.execute(sa.select(_t).where(*where).order_by(*_ORDER))]

    def delete_ids(self, target: TagTarget, ids: Sequence[uuid.UUID], conn: Connection | None = None) -> int:
        """Remove the target's tags with these ids; how many there were."""
        with writing(self.engine, conn) as conn:
            return conn.execute(sa.delete(_t).where(_of(target), _t.c.tag_id.in_(list(ids)))).rowcount

    @staticmethod
    def _of_target(conn: Connection, target: TagTarget) -> list[ItemTag]:
        return [_record(r) for r in conn.execute(sa.select(_t).where(_of(target)).order_by(*_ORDER))]

    def delete_key(self, target: TagTarget, key: str, conn: Connection | None = None) -> int:
        """Remove the target's tags with ``key`` (whatever their path); how many there were."""
        with writing(self.engine, conn) as conn:
            return conn.execute(sa.delete(_t).where(_of(target), _t.c.key == key)).rowcount

    def for_ehr(
        self,
        ehr_id: uuid.UUID,
        key: str | None = None,
        value: str | None = None,
        target_path: str | None = None,
    ) -> list[ItemTag]:
        """Every tag in the EHR, narrowed by key, value and path when given."""
        where = [_t.c.ehr_id == ehr_id]
        if key is not None:
            where.append(_t.c.key == key)
        if value is not None:
            where.append(_t.c.value == value)
        if target_path is not None:
            where.append(_t.c.target_path == target_path)
        with read_transaction(self.engine) as conn:
            return [_record(r) for r in conn.execute(sa.select(_t).where(*where).order_by(*_ORDER))]


def _row(target: TagTarget, tag: ItemTag, tag_id: uuid.UUID | None = None) -> dict[str, object]:
    return {
        "ehr_id": target.ehr_id,
        "target_vo_id": target.vo_id,
        "target_version": target.version,
        "target_type": target.kind,
        "target_uid": target.uid,
        "key": tag.key,
        "target_path": tag.target_path or "",
        "value": tag.value,
        "tag_id": tag_id or tag.tag_id or uuid.uuid4(),
    }
