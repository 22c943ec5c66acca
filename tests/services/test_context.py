"""The request context seams: policy decisions and the access log written inside the write transaction."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cdr.errors import NotFound
from cdr.formats.canonical_json import parse_json
from cdr.security.principal import AuthMethod
from cdr.services import Action, Principal, RequestContext, Services, definition, ehr, ehr_status
from cdr.services.context import ADMIN_ROLE, AccessRecord, RolePolicy
from cdr.services.errors import Forbidden, TemplateInUse
from cdr.storage import schema as t
from tests.api.conftest import NB_TEMPLATE, NB_TEMPLATE_ID, shipped


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[tuple[bool, AccessRecord]] = []
        self.fail = fail

    def __call__(self, conn: Connection | None, record: AccessRecord) -> None:
        self.records.append((conn is not None, record))
        if self.fail:
            raise RuntimeError("access log unavailable")


ADMIN = Principal(subject="ops", auth_method=AuthMethod.BEARER, roles=frozenset({ADMIN_ROLE}))


def test_role_policy() -> None:
    policy = RolePolicy()
    nurse = Principal(subject="nurse", auth_method=AuthMethod.BEARER, name="nurse")
    admin = Principal(subject="ops", auth_method=AuthMethod.BEARER, roles=frozenset({ADMIN_ROLE}))
    assert policy.allows(nurse, Action.WRITE_EHR, uuid.uuid4())
    assert not policy.allows(nurse, Action.ADMIN, None)
    assert policy.allows(admin, Action.ADMIN, None)
    with pytest.raises(Forbidden, match="nurse may not perform admin"):
        RequestContext(principal=nurse).authorize(Action.ADMIN)


def test_committer_defaults_to_the_principal() -> None:
    ctx = RequestContext(principal=Principal(subject="k-1", auth_method=AuthMethod.BEARER, name="kari"))
    audit = ctx.audit()
    assert audit.committer["name"] == "kari"
    assert audit.committer["external_ref"]["id"]["value"] == "k-1"
    named = RequestContext(committer={"_type": "PARTY_IDENTIFIED", "name": "Ola"}, description="why")
    assert named.audit().committer["name"] == "Ola" and named.audit().description == "why"


def test_access_log_runs_in_the_write_transaction(svc: Services) -> None:
    recorder = Recorder()
    ctx = RequestContext(access_log=recorder)
    view = ehr.create_ehr(svc, ctx)
    status = parse_json({**(view.status.data or {}), "is_queryable": False})
    ehr_status.update_status(svc, ctx, view.ehr.ehr_id, view.status.uid, status)
    assert [(in_tx, r.action) for in_tx, r in recorder.records] == [
        (True, Action.CREATE_EHR),
        (True, Action.WRITE_EHR),
    ]
    assert recorder.records[1][1].ehr_id == view.ehr.ehr_id


def test_a_failing_access_log_undoes_ehr_creation_and_template_changes(svc: Services) -> None:
    """The audit seam: EHR creation and template upload/delete write their record in their own transaction."""
    failing = RequestContext(access_log=Recorder(fail=True), principal=ADMIN)
    with pytest.raises(RuntimeError):
        ehr.create_ehr(svc, failing)
    with pytest.raises(RuntimeError):
        definition.upload_template(svc, failing, NB_TEMPLATE.read_bytes())
    assert svc.storage.templates.list() == []
    definition.upload_template(svc, RequestContext(), NB_TEMPLATE.read_bytes())
    with pytest.raises(RuntimeError):
        definition.delete_template(svc, failing, NB_TEMPLATE_ID)
    assert [r.template_id for r in svc.storage.templates.list()] == [NB_TEMPLATE_ID]
    with svc.storage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.ehr)).scalar_one() == 0


def test_a_failing_access_log_rolls_the_write_back(svc: Services) -> None:
    view = ehr.create_ehr(svc, RequestContext())
    status = parse_json(view.status.data or {})
    with pytest.raises(RuntimeError):
        ehr_status.update_status(
            svc, RequestContext(access_log=Recorder(fail=True)), view.ehr.ehr_id, view.status.uid, status
        )
    with svc.storage.engine.connect() as conn:
        versions = conn.execute(sa.select(sa.func.count()).select_from(t.object_version)).scalar_one()
    assert versions == 1


def test_template_in_use_cannot_be_replaced_or_deleted(svc: Services) -> None:
    """The usage check runs under the template row's lock in the deleting/replacing transaction."""
    admin = RequestContext(principal=ADMIN)
    definition.upload_template(svc, admin, NB_TEMPLATE.read_bytes())
    view = ehr.create_ehr(svc, admin)
    svc.storage.compositions.create(view.ehr.ehr_id, shipped("valid_minimal.json"), admin.audit())
    with pytest.raises(TemplateInUse, match="is used by composition"):
        definition.delete_template(svc, admin, NB_TEMPLATE_ID)
    with pytest.raises(TemplateInUse, match="is used by composition"):
        definition.replace_template(svc, admin, NB_TEMPLATE_ID, NB_TEMPLATE.read_bytes())


def test_kind_of_a_version(svc: Services) -> None:
    view = ehr.create_ehr(svc, RequestContext())
    assert svc.kind_of(view.ehr.ehr_id, view.status.uid) == "EHR_STATUS"
    with pytest.raises(NotFound):
        svc.kind_of(view.ehr.ehr_id, f"{uuid.uuid4()}::test.cdr::1")
