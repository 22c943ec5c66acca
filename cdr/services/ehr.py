"""EHR use cases: create (with or without an EHR_STATUS), read by id, find by subject."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cdr.errors import NotFound
from cdr.rm.base import RMObject
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.ehr_status import check_status
from cdr.storage import EhrRecord, VersionRecord
from cdr.storage.engine import write_transaction


@dataclass(frozen=True, slots=True)
class EhrView:
    """An EHR with its current EHR_STATUS version: what the EHR resource shows."""

    ehr: EhrRecord
    status: VersionRecord


def create_ehr(
    svc: Services, ctx: RequestContext, status: RMObject | None = None, ehr_id: uuid.UUID | None = None
) -> EhrView:
    """A new EHR (with ``ehr_id`` when given) and version 1 of its EHR_STATUS (a default one when absent).

    :class:`~cdr.errors.Conflict` if the id is taken or the status's subject already has an EHR;
    :class:`~cdr.services.errors.InvalidContent` if the status breaks the RM.
    """
    ctx.authorize(Action.CREATE_EHR, ehr_id)
    if status is not None:
        check_status(status, new_ehr=True)
    with write_transaction(svc.storage.engine) as conn:
        record, version = svc.storage.ehrs.create(ctx.audit(), ehr_id=ehr_id, status=status, conn=conn)
        touched = (version.uid, str(version.contribution_id))
        ctx.record(conn, Action.CREATE_EHR, record.ehr_id, str(record.ehr_id), touched)
    return EhrView(record, version)


def get_ehr(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID) -> EhrView:
    """The EHR and its current status; :class:`NotFound` if unknown."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    record = svc.storage.ehrs.get(ehr_id)
    return EhrView(record, svc.storage.ehr_status.current(ehr_id))


def find_ehr(svc: Services, ctx: RequestContext, subject_id: str, namespace: str) -> EhrView:
    """The one EHR of a subject (``EHR_STATUS.subject.external_ref`` id and namespace); :class:`NotFound`."""
    ctx.authorize(Action.READ_EHR)
    record = svc.storage.ehrs.find_by_subject(subject_id, namespace)
    if record is None:
        raise NotFound(f"no EHR for subject {subject_id!r} in namespace {namespace!r}")
    return get_ehr(svc, ctx, record.ehr_id)
