"""Admin use cases (admin role only): physical deletion of an EHR with everything in it.

Template deletion and replacement are in :mod:`cdr.services.definition`.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from cdr.errors import NotFound
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.storage import schema as t
from cdr.storage.engine import write_transaction

# Children first, so that the deletion does not depend on the database enforcing ON DELETE CASCADE; every
# table carries ehr_id (the distribution column), so each is one indexed statement.
_EHR_TABLES = (
    t.folder_item,
    t.node,
    t.object_version,
    t.versioned_object,
    t.contribution,
    t.ehr_subject,
)


def delete_ehr(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID) -> None:
    """Remove the EHR, its versions of every kind, contributions and subject in one transaction.

    This is physical and irreversible (for erasure requests and test clean-up); logical deletion of content is
    the versioned DELETE. :class:`NotFound` if there is no such EHR.
    """
    ctx.authorize(Action.ADMIN, ehr_id)
    with write_transaction(svc.storage.engine) as conn:
        if conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id)).first() is None:
            raise NotFound(f"EHR {ehr_id} not found")
        for table in _EHR_TABLES:
            conn.execute(sa.delete(table).where(table.c.ehr_id == ehr_id))
        conn.execute(sa.delete(t.ehr).where(t.ehr.c.ehr_id == ehr_id))
        ctx.record(conn, Action.ADMIN, ehr_id, f"delete EHR {ehr_id}")
