"""Composition reads ask for the EHR only when the version is not found, and still say which is missing."""

from __future__ import annotations

import uuid

import pytest

from cdr.errors import NotFound
from cdr.services import RequestContext, Services, composition, definition, ehr
from tests.api.conftest import NB_TEMPLATE, shipped


def test_a_read_finds_the_version_and_names_what_is_missing(svc: Services) -> None:
    ctx = RequestContext()
    definition.upload_template(svc, ctx, NB_TEMPLATE.read_bytes())
    ehr_id = ehr.create_ehr(svc, ctx).ehr.ehr_id
    stored = svc.storage.compositions.create(ehr_id, shipped("valid_minimal.json"), ctx.audit())
    for key in (stored.uid, str(stored.uid).split("::")[0]):
        assert composition.get_composition(svc, ctx, ehr_id, key).uid == stored.uid
    missing_version = f"{uuid.uuid4()}::test.cdr::1"
    with pytest.raises(NotFound, match=r"version .* not found in EHR"):
        composition.get_composition(svc, ctx, ehr_id, missing_version)
    other = uuid.uuid4()
    for key in (stored.uid, missing_version, str(uuid.uuid4())):
        with pytest.raises(NotFound, match=f"EHR {other} not found"):
            composition.get_composition(svc, ctx, other, key)
