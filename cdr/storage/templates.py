"""Template store: operational templates (OPT 1.4 XML), unique by template_id."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.errors import Conflict, NotFound, TemplateError
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, writing
from cdr.storage.records import TemplateRecord
from cdr.storage.write_path import new_rows_only
from cdr.template.aom import OperationalTemplate
from cdr.template.opt_parser import parse_opt

_META = (t.template.c.template_id, t.template.c.concept, t.template.c.archetype_id, t.template.c.uploaded)


def _check_ids(template: OperationalTemplate) -> None:
    """:class:`TemplateError` listing every id too long for its column: the template's own (the key of its
    row) and each node's archetype id or at-code (``node.archetype_node_id`` of the data it would admit)."""
    reasons = []
    if len(template.template_id) > t.ID:
        reasons.append(f"template_id: {len(template.template_id)} characters; at most {t.ID}")
    for node in template.nodes():
        if len(node.path_id) > t.ID:
            reasons.append(f"{node.path}: node id of {len(node.path_id)} characters; at most {t.ID}")
    if reasons:
        raise TemplateError(f"template ids too long for storage: {reasons[0]}", reasons)


class TemplateStore:
    """Upload, list, read and delete templates; a template in use by any version cannot be deleted."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upload(
        self, opt: bytes | str, *, replace: bool = False, conn: Connection | None = None
    ) -> TemplateRecord:
        """Store an OPT after parsing it (:class:`~cdr.errors.TemplateError` if unusable), in ``conn``'s
        transaction when given.

        :class:`~cdr.errors.Conflict` if its template_id exists and ``replace`` is not set; with ``replace``,
        :class:`~cdr.errors.NotFound` if it does not exist and :class:`TemplateInUseError` if any version
        uses it (checked under the row lock, see :meth:`delete`).
        """
        xml = opt.encode("utf-8") if isinstance(opt, str) else opt
        template = parse_opt(xml)
        _check_ids(template)
        record = TemplateRecord(
            template.template_id,
            template.concept,
            template.definition.archetype_id,
            dt.datetime.now(dt.UTC),
        )
        values = {
            "template_id": record.template_id,
            "concept": record.concept,
            "archetype_id": record.archetype_id,
            "opt": xml.decode("utf-8-sig"),
            "uploaded": record.uploaded,
        }
        tpl = t.template
        with writing(self.engine, conn) as conn:
            if replace:
                _lock_unused(conn, record.template_id)
                conn.execute(sa.update(tpl).where(tpl.c.template_id == record.template_id).values(values))
                return record
            # the key decides, also between two uploads of one template at once
            stored = conn.execute(new_rows_only(conn, tpl).values(values).returning(tpl.c.template_id))
            if stored.first() is None:
                raise Conflict(f"template {record.template_id!r} already exists")
        return record

    def list(self) -> list[TemplateRecord]:
        """Every template, by template_id."""
        with read_transaction(self.engine) as conn:
            rows = conn.execute(sa.select(*_META).order_by(t.template.c.template_id)).all()
        return [TemplateRecord(*row) for row in rows]

    def get(self, template_id: str) -> TemplateRecord:
        """A template's metadata; :class:`~cdr.errors.NotFound` if unknown."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(sa.select(*_META).where(t.template.c.template_id == template_id)).first()
        if row is None:
            raise NotFound(f"template {template_id!r} not found")
        return TemplateRecord(*row)

    def opt(self, template_id: str) -> str:
        """The OPT XML as uploaded; :class:`~cdr.errors.NotFound` if unknown."""
        with read_transaction(self.engine) as conn:
            xml = conn.execute(
                sa.select(t.template.c.opt).where(t.template.c.template_id == template_id)
            ).scalar()
        if xml is None:
            raise NotFound(f"template {template_id!r} not found")
        return str(xml)

    def delete(self, template_id: str, conn: Connection | None = None) -> None:
        """Delete a template no version uses (any version, deleted compositions' history included).

        :class:`~cdr.errors.NotFound` if unknown, :class:`TemplateInUseError` if in use. The usage check
        and the DELETE run in one transaction under the template row's lock (``conn``'s when given).
        """
        with writing(self.engine, conn) as conn:
            _lock_unused(conn, template_id)
            conn.execute(sa.delete(t.template).where(t.template.c.template_id == template_id))

    def share(self, conn: Connection, template_id: str) -> dt.datetime | None:
        """Take a shared lock on a template row in a write transaction; its upload time (``None`` if there is
        no such template): a commit that stores data of the template holds it, so a concurrent delete or
        replace waits and then sees the use, and the commit can tell whether it validated against this upload.
        (SQLite has one writer at a time, so there the transaction itself serialises them.)"""
        row = conn.execute(_SHARE, {"template_id": template_id}).first()
        return None if row is None else row.uploaded


_SHARE = (
    sa.select(t.template.c.uploaded)
    .where(t.template.c.template_id == sa.bindparam("template_id", type_=t.template.c.template_id.type))
    .with_for_update(read=True)
)
SHARED_UPLOAD = _SHARE.scalar_subquery()
""":meth:`TemplateStore.share` as a column of another statement (bind parameter ``template_id``)."""


class TemplateInUseError(Conflict):
    """The template is used by stored data, so it cannot be deleted or replaced."""


def _lock_unused(conn: Connection, template_id: str) -> None:
    """Lock the template row (FOR UPDATE) and check, under that lock, that no version uses the template."""
    tpl, ov = t.template, t.object_version
    row = conn.execute(sa.select(tpl.c.template_id).where(tpl.c.template_id == template_id).with_for_update())
    if row.first() is None:
        raise NotFound(f"template {template_id!r} not found")
    used = conn.execute(sa.select(ov.c.vo_id).where(ov.c.template_id == template_id).limit(1)).first()
    if used is not None:
        raise TemplateInUseError(f"template {template_id!r} is used by composition {used.vo_id}")
