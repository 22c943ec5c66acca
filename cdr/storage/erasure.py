"""Physical removal of one versioned object (a COMPOSITION or the directory's FOLDER) from an EHR.

Logical deletion (ITS-REST DELETE) adds a version and keeps the history; this removes the history too: for
data recorded in the wrong patient's record, or an erasure the law requires, by an administrator. Every
version goes, with the rows derived from them (node rows AQL reads, folder items, item tags) and the
contributions left with no version of their own; contributions that also committed other objects stay,
listing only those. The access log keeps its records (they say who did what, not what the data said).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cdr.errors import NotFound
from cdr.storage import schema as t

_DERIVED = (
    (t.item_tag, t.item_tag.c.target_vo_id),
    (t.folder_item, t.folder_item.c.vo_id),
    (t.node, t.node.c.vo_id),
    (t.object_version, t.object_version.c.vo_id),
    (t.versioned_object, t.versioned_object.c.vo_id),
)
"""What one versioned object leaves behind, in the order it is removed (referencing rows first)."""


def erase_versioned_object(conn: Connection, ehr_id: uuid.UUID, vo_id: uuid.UUID, kind: str) -> int:
    """Remove the versioned object ``vo_id`` of ``kind`` in EHR ``ehr_id`` physically, in ``conn``'s
    transaction; the number of versions removed. :class:`NotFound` when the EHR has no such object."""
    vo, ov, contribution = t.versioned_object, t.object_version, t.contribution
    found = conn.execute(
        sa.select(vo.c.latest_version)
        .where(vo.c.ehr_id == ehr_id, vo.c.vo_id == vo_id, vo.c.kind == kind)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"{kind} {vo_id} not found in EHR {ehr_id}")
    contributions = sa.select(ov.c.contribution_id).where(ov.c.ehr_id == ehr_id, ov.c.vo_id == vo_id)
    emptied = [row[0] for row in conn.execute(contributions.distinct())]
    for table, column in _DERIVED:
        conn.execute(sa.delete(table).where(table.c.ehr_id == ehr_id, column == vo_id))
    # the EHR's directory was this FOLDER: it has none now, so a new one may be created
    ehr = t.ehr
    conn.execute(
        sa.update(ehr).where(ehr.c.ehr_id == ehr_id, ehr.c.directory_id == vo_id).values(directory_id=None)
    )
    if emptied:
        still_used = sa.exists().where(
            ov.c.ehr_id == contribution.c.ehr_id, ov.c.contribution_id == contribution.c.contribution_id
        )
        creation = sa.exists().where(
            t.ehr_access.c.ehr_id == contribution.c.ehr_id,
            t.ehr_access.c.contribution_id == contribution.c.contribution_id,
        )
        conn.execute(
            sa.delete(contribution).where(
                contribution.c.ehr_id == ehr_id,
                contribution.c.contribution_id.in_(emptied),
                ~still_used,
                ~creation,
            )
        )
    return int(found[0])
