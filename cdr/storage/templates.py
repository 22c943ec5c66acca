"""Template store: operational templates (OPT 1.4 XML), unique by template_id."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.errors import Conflict, NotFound
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, write_transaction
from cdr.storage.records import TemplateRecord
from cdr.template.opt_parser import parse_opt

_META = (t.template.c.template_id, t.template.c.concept, t.template.c.archetype_id, t.template.c.uploaded)


class TemplateStore:
    """Upload, list, read and delete templates; a template in use by any version cannot be deleted."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upload(self, opt: bytes | str, *, replace: bool = False) -> TemplateRecord:
        """Store an OPT after parsing it (:class:`~cdr.errors.TemplateError` if unusable).

        :class:`~cdr.errors.Conflict` if its template_id exists and ``replace`` is not set.
        """
        xml = opt.encode("utf-8") if isinstance(opt, str) else opt
        template = parse_opt(xml)
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
        with write_transaction(self.engine) as conn:
            exists = conn.execute(sa.select(tpl.c.template_id).where(tpl.c.template_id == record.template_id))
            if exists.first() is not None:
                if not replace:
                    raise Conflict(f"template {record.template_id!r} already exists")
                conn.execute(sa.update(tpl).where(tpl.c.template_id == record.template_id).values(values))
            else:
                conn.execute(sa.insert(tpl).values(values))
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

    def delete(self, template_id: str) -> None:
        """Delete a template no version uses (any version, deleted compositions' history included).

        :class:`~cdr.errors.NotFound` if unknown, :class:`~cdr.errors.Conflict` if in use.
        """
        ov, tpl = t.object_version, t.template
        with write_transaction(self.engine) as conn:
            used = conn.execute(sa.select(ov.c.vo_id).where(ov.c.template_id == template_id).limit(1)).first()
            if used is not None:
                raise Conflict(f"template {template_id!r} is used by composition {used.vo_id}")
            if conn.execute(sa.delete(tpl).where(tpl.c.template_id == template_id)).rowcount != 1:
                raise NotFound(f"template {template_id!r} not found")
