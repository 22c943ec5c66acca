"""The compiled FLAT read plan: what is worked out once per template must not change what a document reads as.

The reader remembers per template how each FLAT spelling resolves (:mod:`cdr.formats.flat_plan`) and per key
text how it splits (:mod:`cdr.formats.flat_keys`); these tests read the same documents in other key orders,
again and again, with lenient spellings and with mistakes, and expect what a first read gives.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.flat import (
    composition_to_flat,
    composition_to_structured,
    flat_to_composition,
    structured_to_composition,
)
from cdr.formats.flat_keys import parse_flat
from cdr.formats.flat_plan import read_plan
from cdr.formats.flat_schema import flat_schema, fold_id
from cdr.rm import Composition
from cdr.template import parse_opt
from cdr.template.aom import OperationalTemplate
from cdr.template.validation import validate

REPO = Path(__file__).resolve().parents[2]
NEWS2 = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
COMPOSITION = REPO / "tests" / "data" / "compositions" / "valid_normal.json"


@pytest.fixture(scope="module")
def opt() -> OperationalTemplate:
    return parse_opt(NEWS2.read_bytes())


@pytest.fixture(scope="module")
def flat(opt: OperationalTemplate) -> dict[str, Any]:
    composition = parse_json(json.loads(COMPOSITION.read_text(encoding="utf-8")))
    assert isinstance(composition, Composition)
    return composition_to_flat(composition, opt)


def _read(doc: dict[str, Any], opt: OperationalTemplate) -> Any:
    return to_json(flat_to_composition(doc, opt))


def test_plan_is_compiled_once_per_template(opt: OperationalTemplate, flat: dict[str, Any]) -> None:
    flat_to_composition(flat, opt)
    plan = read_plan(flat_schema(opt))
    assert read_plan(flat_schema(opt)) is plan
    assert plan.finish, "finishing a document fills the plan's finish plans"
    assert plan.root.snode is flat_schema(opt).root


def test_reading_again_reads_the_same(opt: OperationalTemplate, flat: dict[str, Any]) -> None:
    """Later reads take the remembered paths (key shapes, child lookups, folded chains, names)."""
    first = _read(flat, opt)
    for _ in range(3):
        assert _read(flat, opt) == first
    assert validate(flat_to_composition(flat, opt), opt) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_key_order_does_not_matter(opt: OperationalTemplate, flat: dict[str, Any], seed: int) -> None:
    """Shuffled keys split the suffixes of one value apart and put children before their siblings: the
    composition is the same, its children in template order."""
    items = list(flat.items())
    random.Random(seed).shuffle(items)
    assert _read(dict(items), opt) == _read(flat, opt)
    assert _read(dict(reversed(flat.items())), opt) == _read(flat, opt)


def test_instances_come_in_index_order(opt: OperationalTemplate, flat: dict[str, Any]) -> None:
    prefix = "kommunale_vitalparametre_og_news2/blodtrykk/"
    doc = {k: v for k, v in flat.items() if not k.startswith(prefix + "kommentar")}
    doc[prefix + "kommentar:1"] = "second"
    doc[prefix + "kommentar:0"] = "first"
    comp = to_json(flat_to_composition(doc, opt))
    texts = _texts(comp)
    assert texts.index("first") < texts.index("second")


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        own = [data["value"]] if data.get("_type") == "DV_TEXT" and "value" in data else []
        return own + [t for v in data.values() for t in _texts(v)]
    if isinstance(data, list):
        return [t for v in data for t in _texts(v)]
    return []


def test_lenient_spelling_reads_as_the_exact_one(opt: OperationalTemplate, flat: dict[str, Any]) -> None:
    """An id spelled with accents or digits another EHRbase drops resolves to the same node, before and
    after the exact spelling has been looked up."""
    root = flat_schema(opt).root.id
    exact = "pulsoksymetri/spo2"
    assert any(k.startswith(f"{root}/{exact}") for k in flat)
    variant = {k.replace(f"{root}/{exact}", f"{root}/pulsoksymetri/spo₂"): v for k, v in flat.items()}
    assert fold_id("spo₂") == "spo"
    assert _read(variant, opt) == _read(flat, opt)
    assert _read(variant, opt) == _read(flat, opt)


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("kommunale_vitalparametre_og_news2/respirasjon/no_such_node", "x", "respirasjon:0/no_such_node"),
        ("kommunale_vitalparametre_og_news2/respirasjon/frekvens|colour", "red", "|colour"),
        ("kommunale_vitalparametre_og_news2/respirasjon/frekvens|magnitude", "fast", "frekvens"),
        ("kommunale_vitalparametre_og_news2//frekvens", "x", "empty step"),
        ("kommunale_vitalparametre_og_news2/respirasjon/frekvens|", "x", "empty '|' suffix"),
    ],
)
def test_mistakes_are_named_on_every_read(
    opt: OperationalTemplate, flat: dict[str, Any], key: str, value: Any, where: str
) -> None:
    """Remembered misses and key shapes still raise, naming the key, however often they are read."""
    doc = {**flat, key: value}
    for _ in range(2):
        with pytest.raises(FormatError) as info:
            flat_to_composition(doc, opt)
        assert where in str(info.value)


def test_suffixes_of_one_node_apart_fill_one_node() -> None:
    tree = parse_flat({"a/b|magnitude": 1, "a/c": "x", "a/b|unit": "kg", "a/b:1|magnitude": 2})[1]
    b = tree.children["a"][0].children["b"]
    assert b[0].attrs == {"magnitude": 1, "unit": "kg"}
    assert b[1].attrs == {"magnitude": 2}
    assert b[1].key == "a:0/b:1"


def test_structured_reads_through_the_same_plan(opt: OperationalTemplate, flat: dict[str, Any]) -> None:
    comp = flat_to_composition(flat, opt)
    assert to_json(structured_to_composition(composition_to_structured(comp, opt), opt)) == to_json(comp)
