"""Templates: upload (parsed first), list, read, unique id, delete only when unused."""

from __future__ import annotations

import pytest

from cdr.errors import Conflict, NotFound, TemplateError
from cdr.storage import Audit, Storage
from tests.storage.data import TEMPLATES, shipped

NB = TEMPLATES / "kommunal_vitalparametre_news2.nb.opt"
EN = TEMPLATES / "municipal_vital_signs_news2.en.opt"


def test_upload_list_get(storage: Storage) -> None:
    nb = storage.templates.upload(NB.read_bytes())
    en = storage.templates.upload(EN.read_text(encoding="utf-8"))
    assert nb.template_id == "kommunal_vitalparametre_news2.nb.v1"
    assert nb.archetype_id == "openEHR-EHR-COMPOSITION.encounter.v1"
    assert [r.template_id for r in storage.templates.list()] == sorted([nb.template_id, en.template_id])
    assert storage.templates.get(nb.template_id) == nb
    assert storage.templates.opt(nb.template_id) == NB.read_text(encoding="utf-8-sig")


def test_unique_template_id(storage: Storage) -> None:
    first = storage.templates.upload(NB.read_bytes())
    with pytest.raises(Conflict):
        storage.templates.upload(NB.read_bytes())
    again = storage.templates.upload(NB.read_bytes(), replace=True)
    assert again.template_id == first.template_id and again.uploaded >= first.uploaded


def test_broken_templates_are_refused(storage: Storage) -> None:
    with pytest.raises(TemplateError):
        storage.templates.upload(b"<template xmlns='http://schemas.openehr.org/v1'/>")
    assert storage.templates.list() == []


def test_delete_only_unused(storage: Storage) -> None:
    record = storage.templates.upload(NB.read_bytes())
    composition = shipped("valid_normal.json")
    assert composition["archetype_details"]["template_id"]["value"] == record.template_id
    ehr_id = storage.ehrs.create(Audit.by("x"))[0].ehr_id
    v1 = storage.compositions.create(ehr_id, composition, Audit.by("x"))
    with pytest.raises(Conflict):
        storage.templates.delete(record.template_id)
    storage.compositions.delete(ehr_id, v1.uid, Audit.by("x"))
    with pytest.raises(Conflict):  # the history still uses it
        storage.templates.delete(record.template_id)
    en = storage.templates.upload(EN.read_bytes())
    storage.templates.delete(en.template_id)
    with pytest.raises(NotFound):
        storage.templates.get(en.template_id)
    with pytest.raises(NotFound):
        storage.templates.delete(en.template_id)
    with pytest.raises(NotFound):
        storage.templates.opt(en.template_id)
