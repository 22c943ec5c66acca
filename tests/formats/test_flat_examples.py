"""Example compositions of every valid corpus template through FLAT: written, read back, valid and unchanged.

For each template the minimal, the maximal and three random examples (:mod:`cdr.template.example`) go
canonical -> FLAT -> canonical; the result must validate clean and equal the original except where FLAT
cannot carry the data, each kind checked precisely:

* a folded INTERVAL_EVENT -- an event node the web template folds away (a single event) has no key for
  ``width``, ``math_function`` and ``sample_count``, so it comes back a POINT_EVENT (as in EHRbase);
* a relabelled code -- the text of a DV_CODED_TEXT whose code the web template lists becomes the template's
  label (:func:`cdr.formats.flat_reader.apply_code_label`, as EHRbase): same code, another text.

Templates whose root is not a COMPOSITION have no FLAT form and are skipped with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from cdr.formats.canonical_json import to_json
from cdr.formats.flat import composition_to_flat, flat_to_composition
from cdr.rm import Composition, RMObject
from cdr.template.aom import OperationalTemplate
from cdr.template.example import generate, maximal_example, minimal_example
from cdr.template.opt_parser import load_opt
from cdr.template.validation import validate
from tests.corpus import CORPUS, corpus_files, require_corpus
from tests.formats.test_flat_roundtrip import differences

pytestmark = pytest.mark.corpus

INVALID_DIR = "ehrbase-integration-tests/test_data_sets/invalid_templates"
TEMPLATES = [p for p in corpus_files("opt") if not p.startswith(INVALID_DIR)]

EXAMPLES: dict[str, Callable[[OperationalTemplate], list[RMObject]]] = {
    "minimal": lambda opt: [minimal_example(opt)],
    "maximal": lambda opt: [maximal_example(opt)],
    "random": lambda opt: list(generate(opt, 3, seed=7)),
}

_INTERVAL_ONLY = re.compile(r"^(.*/events\[\d+\])/(_type|width|math_function|sample_count)$")
_TEXT = re.compile(r"^(.*)/value$")


@cache
def _opt(rel: str) -> OperationalTemplate:
    return load_opt(CORPUS / rel)


def _at(data: Any, path: str) -> Any:
    """The JSON value at a :func:`differences` path (``/content[0]/data/events[1]``)."""
    for name, index in re.findall(r"/([^/\[]+)(?:\[(\d+)\])?", path):
        data = data.get(name) if isinstance(data, dict) else None
        if index and isinstance(data, list):
            data = data[int(index)] if int(index) < len(data) else None
    return data


def _explained(path: str, original: Any, back: Any) -> bool:
    """Whether a difference at ``path`` is one of the FLAT limits above, checked on both sides."""
    folded = _INTERVAL_ONLY.match(path)
    if folded:
        before, after = _at(original, folded.group(1)), _at(back, folded.group(1))
        return (
            isinstance(before, dict)
            and isinstance(after, dict)
            and before.get("_type") == "INTERVAL_EVENT"
            and after.get("_type") == "POINT_EVENT"
        )
    text = _TEXT.match(path)
    if text:
        before, after = _at(original, text.group(1)), _at(back, text.group(1))
        return (
            isinstance(before, dict)
            and isinstance(after, dict)
            and after.get("_type") == "DV_CODED_TEXT"
            and before.get("defining_code") == after.get("defining_code")
        )
    return False


def _unexplained(comp: Composition, back: Composition) -> list[str]:
    original, result = to_json(comp), to_json(back)
    found = differences(original, result)
    return [d for d in found if not _explained(d.split(": ", 1)[0], original, result)]


@pytest.mark.parametrize("kind", list(EXAMPLES))
@pytest.mark.parametrize("rel", TEMPLATES or ["<corpus absent>"])
def test_examples_survive_flat(rel: str, kind: str) -> None:
    require_corpus()
    opt = _opt(rel)
    for comp in EXAMPLES[kind](opt):
        if not isinstance(comp, Composition):
            pytest.skip(f"root {comp.rm_type}: FLAT holds compositions only")
        back = flat_to_composition(composition_to_flat(comp, opt), opt)
        issues = validate(back, opt)
        assert not issues, "\n".join(f"{i.code.value} {i.path}: {i.message}" for i in issues[:10])
        unexplained = _unexplained(comp, back)
        assert not unexplained, "\n".join(unexplained[:10])


def test_limits_are_checked_not_assumed() -> None:
    """The limit checks accept only their own kind of difference."""
    original = {
        "events": [{"_type": "INTERVAL_EVENT", "width": "PT1H"}],
        "value": {"_type": "DV_CODED_TEXT", "value": "x", "defining_code": {"code_string": "at1"}},
        "other": {"_type": "DV_CODED_TEXT", "value": "y", "defining_code": {"code_string": "at1"}},
    }
    back = {
        "events": [{"_type": "POINT_EVENT"}],
        "value": {"_type": "DV_CODED_TEXT", "value": "X", "defining_code": {"code_string": "at1"}},
        "other": {"_type": "DV_CODED_TEXT", "value": "Y", "defining_code": {"code_string": "at2"}},
    }
    assert _explained("/events[0]/width", original, back)
    assert _explained("/value/value", original, back)
    assert not _explained("/other/value", original, back)  # another code: a real change
    assert not _explained("/events[0]/width", original, {"events": [{"_type": "INTERVAL_EVENT"}]})
