"""The shipped test compositions (``tests/data/compositions``) give exactly the issues their sidecars list."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import parse_xml
from cdr.template import load_opt
from cdr.template.aom import OperationalTemplate
from cdr.template.validation import validate

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "compositions"
JSON_FILES = sorted(p for p in DATA.glob("*.json") if not p.name.endswith(".expected.json"))
XML_FILES = sorted((DATA / "xml").glob("*.xml"))


@cache
def templates() -> dict[str, OperationalTemplate]:
    out = {}
    for path in (REPO / "templates").glob("*.opt"):
        opt = load_opt(path)
        out[opt.template_id] = opt
    return out


def _template_of(obj: object) -> OperationalTemplate:
    details = obj.archetype_details  # type: ignore[attr-defined]
    return templates()[details.template_id.value]


def _expected(path: Path) -> set[tuple[str, str]]:
    sidecar = path.with_name(path.stem + ".expected.json")
    if not sidecar.exists():
        assert path.stem.startswith("valid_"), f"{path.name} has no sidecar"
        return set()
    return {(i["code"], i["path"]) for i in json.loads(sidecar.read_text(encoding="utf-8"))["issues"]}


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.name)
def test_shipped_json(path: Path) -> None:
    obj = parse_json(json.loads(path.read_text(encoding="utf-8")))
    got = {(i.code.value, i.path) for i in validate(obj, _template_of(obj))}
    assert got == _expected(path)


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_shipped_xml_is_valid(path: Path) -> None:
    obj = parse_xml(path.read_bytes())
    assert validate(obj, _template_of(obj)) == []
