"""Admin use cases (admin role only): physical deletion of an EHR with everything in it, or of one of its
compositions or its directory with every version (:mod:`cdr.storage.erasure`).

Template deletion and replacement are in :mod:`cdr.services.definition`; the SQL is in the stores.
"""

from __future__ import annotations

import uuid

from cdr.services import versions
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.storage.engine import write_transaction
from cdr.storage.erasure import erase_versioned_object


def delete_ehr(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID) -> None:
    """Remove the EHR, its versions of every kind, contributions and subject in one transaction, with the
    access record in that same transaction. :class:`~cdr.errors.NotFound` if there is no such EHR."""
    ctx.authorize(Action.ADMIN, ehr_id)
    with write_transaction(svc.storage.engine) as conn:
        svc.storage.ehrs.delete(ehr_id, conn)
        ctx.record(conn, Action.ADMIN, ehr_id, f"delete EHR {ehr_id}")


def erase(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, kind: str, uid: str) -> None:
    """Remove the COMPOSITION or FOLDER ``uid`` (its object id, or any of its version uids) of the EHR with
    every version, physically, in one transaction with the access record. :class:`~cdr.errors.NotFound`
    when the EHR has no such object."""
    ctx.authorize(Action.ADMIN, ehr_id)
    vo_id = versions.parse_object_id(uid.split("::", 1)[0], kind)
    with write_transaction(svc.storage.engine) as conn:
        removed = erase_versioned_object(conn, ehr_id, vo_id, kind)
        ctx.record(conn, Action.ADMIN, ehr_id, f"erase {kind} {vo_id} ({removed} versions)")
