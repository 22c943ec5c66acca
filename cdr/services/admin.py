"""Admin use cases (admin role only): physical deletion of an EHR with everything in it.

Template deletion and replacement are in :mod:`cdr.services.definition`; the SQL is in the stores.
"""

from __future__ import annotations

import uuid

from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.storage.engine import write_transaction


def delete_ehr(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID) -> None:
    """Remove the EHR, its versions of every kind, contributions and subject in one transaction, with the
    access record in that same transaction. :class:`~cdr.errors.NotFound` if there is no such EHR."""
    ctx.authorize(Action.ADMIN, ehr_id)
    with write_transaction(svc.storage.engine) as conn:
        svc.storage.ehrs.delete(ehr_id, conn)
        ctx.record(conn, Action.ADMIN, ehr_id, f"delete EHR {ehr_id}")
