"""ITEM_TAG store: tags on a COMPOSITION or EHR_STATUS, by version or on the versioned object.

A tag is a ``key`` with an optional ``value`` and ``target_path`` (a path within the target). Within one
target a tag is identified by its key and path; storing a target's tags replaces the whole list (ITS-REST
``PUT .../tags``), in one transaction. Tags are annotations of the record, not part of it: they are not
versioned, and a new version of the target neither copies nor drops the tags of an older one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, writing

__all__ = ["ItemTag", "ItemTagStore", "TagTarget"]

OBJECT = 0
"""``target_version`` of a tag on the versioned object rather than on one of its versions."""


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


_t = t.item_tag


def _record(row: sa.Row[tuple[object, ...]]) -> ItemTag:
    m = row._mapping
    target = TagTarget(m["ehr_id"], m["target_type"], m["target_vo_id"], m["target_uid"], m["target_version"])
    return ItemTag(target, m["key"], m["value"], m["target_path"] or None)


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
        when given; the list as stored."""
        with writing(self.engine, conn) as conn:
            conn.execute(sa.delete(_t).where(_of(target)))
            if tags:
                conn.execute(sa.insert(_t), [_row(target, tag) for tag in tags])
            rows = conn.execute(sa.select(_t).where(_of(target)).order_by(*_ORDER))
            return [_record(r) for r in rows]

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


def _row(target: TagTarget, tag: ItemTag) -> dict[str, object]:
    return {
        "ehr_id": target.ehr_id,
        "target_vo_id": target.vo_id,
        "target_version": target.version,
        "target_type": target.kind,
        "target_uid": target.uid,
        "key": tag.key,
        "target_path": tag.target_path or "",
        "value": tag.value,
    }
