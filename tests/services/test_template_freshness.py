"""A commit validates against the parse of its template that this process holds, without asking the database
first; its write transaction confirms the upload time under the template row's lock. A template another
process (here: another registry over the same database) replaced since is validated against afresh, never
through the stale parse."""

from __future__ import annotations

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.services import RequestContext, Services, composition, definition, ehr
from cdr.services.errors import TemplateViolation
from tests.api.conftest import NB_TEMPLATE, NB_TEMPLATE_ID, shipped
from tests.storage.test_write_path import statements

ROOT = "openEHR-EHR-COMPOSITION.encounter.v1"


def _setup(svc: Services) -> tuple[Services, RequestContext]:
    """The template uploaded, and a second services container (its own registry) with its parse cached."""
    ctx = RequestContext()
    definition.upload_template(svc, ctx, NB_TEMPLATE.read_bytes())
    other = Services(svc.storage)
    other.templates.get(NB_TEMPLATE_ID)
    return other, ctx


def test_a_template_replaced_since_it_was_cached_is_validated_against_again(svc: Services) -> None:
    other, ctx = _setup(svc)
    # the replacement wants another root archetype: the shipped composition no longer conforms to it
    replaced = NB_TEMPLATE.read_bytes().replace(ROOT.encode(), b"openEHR-EHR-COMPOSITION.report.v1")
    svc.storage.templates.upload(replaced, replace=True)
    ehr_id = ehr.create_ehr(svc, ctx).ehr.ehr_id
    with pytest.raises(TemplateViolation):
        composition.create_composition(other, ctx, ehr_id, parse_json(shipped("valid_normal.json")))
    assert svc.storage.compositions.list_latest(ehr_id) == []


def test_data_valid_under_the_replacement_is_committed(svc: Services) -> None:
    other, ctx = _setup(svc)
    record = svc.storage.templates.upload(NB_TEMPLATE.read_bytes(), replace=True)
    ehr_id = ehr.create_ehr(svc, ctx).ehr.ehr_id
    committed = composition.create_composition(other, ctx, ehr_id, parse_json(shipped("valid_normal.json")))
    assert committed.template_id == NB_TEMPLATE_ID
    assert other.templates.cached(NB_TEMPLATE_ID)[1] == record.uploaded


def test_a_commit_with_the_template_cached_does_not_look_it_up_first(svc: Services) -> None:
    other, ctx = _setup(svc)
    ehr_id = ehr.create_ehr(svc, ctx).ehr.ehr_id
    with statements(svc.storage.engine) as seen:
        composition.create_composition(other, ctx, ehr_id, parse_json(shipped("valid_normal.json")))
    # the shared lock in the write transaction only (SQLite has no FOR SHARE: its writer is alone)
    assert len([s for s in seen if "FROM template" in s]) == 1
