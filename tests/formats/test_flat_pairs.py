"""The same composition in FLAT/STRUCTURED and in canonical form: the conversions must agree.

Pairs were found in the corpus by file name stem, template and content (share of equal leaf values); pairs
whose values differ (random test data generated twice) are not pairs and are left out. For each pair:

* simplified -> canonical equals the canonical file, field by field;
* for FLAT documents in EHRbase's output form (no ``ctx/``), canonical -> FLAT gives the document's keys and
  values, besides keys we write for data EHRbase's FLAT drops.

Date-time strings are compared as instants in ISO 8601 extended form (``34,5`` = ``34.500``). Every other
difference is listed per pair with its reason, as a pattern on the difference's path; a listed pattern that
matches nothing fails the test, so the lists cannot go stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.canonical_xml import parse_xml
from cdr.formats.flat import (
    composition_to_flat,
    flat_format_of,
    flat_to_composition,
    structured_to_composition,
)
from tests.corpus import CORPUS, require_corpus
from tests.formats.test_flat_roundtrip import differences, normalised
from tests.formats.test_flat_support import load, opt_at, opt_by_template_id

pytestmark = pytest.mark.corpus

_IT = "ehrbase-integration-tests/test_data_sets/compositions/"
_SDK = "ehrbase-openEHR_SDK/test-data/composition/"
_CONSULT = "EHRN-ABDM-OPConsultRecord.v2.0"

# reasons shared by several pairs
_PERSON = "EHRbase's FLAT has no key for a party reference type; read back it is 'PARTY'"
_DETAILS = "we keep archetype_details EHRbase drops (a template_id below the root, the rm_version)"
_NO_ORIGIN = "the FLAT gives no history_origin; the reader takes the first event time"


@dataclass(frozen=True)
class Pair:
    simplified: str
    canonical: str
    template_id: str
    differ: tuple[tuple[str, str], ...] = ()  # (path pattern, reason) of simplified -> canonical
    extra_keys: tuple[tuple[str, str], ...] = ()  # (key pattern, reason): keys we write, the file lacks
    missing_keys: tuple[tuple[str, str], ...] = ()  # (key pattern, reason): keys of the file we do not write


PAIRS: list[Pair] = [
    Pair(_IT + "FLAT/consult_record__.json", _IT + "CANONICAL_JSON/consult_record__.json", _CONSULT),
    Pair(_IT + "FLAT/consult_record__.json", _IT + "CANONICAL_XML/consult_record__.xml", _CONSULT),
    Pair(_IT + "STRUCTURED/consult_record__.json", _IT + "CANONICAL_JSON/consult_record__.json", _CONSULT),
    Pair(
        _SDK + "flat/simSDT/ehrb_adbm_op_consult_record.json",
        _SDK + "canonical_json/ehrb_adbm_op_consult_record.json",
        _CONSULT,
    ),
    Pair(_SDK + "flat/simSDT/corona.json", _SDK + "canonical_json/compo_corona.json", "Corona_Anamnese"),
    Pair(
        _SDK + "flat/simSDT/corona_with_raw.json",
        _SDK + "canonical_json/compo_corona.json",
        "Corona_Anamnese",
    ),
    Pair(_SDK + "flat/structured/corona.json", _SDK + "canonical_json/compo_corona.json", "Corona_Anamnese"),
    Pair(
        _IT + "STRUCTURED/family_history.v2__.json",
        _IT + "CANONICAL_JSON/family_history.v2__.json",
        "family_history",
    ),
    Pair(
        _IT + "STRUCTURED/family_history__.json",
        _IT + "CANONICAL_JSON/family_history__.json",
        "family_history",
        differ=(
            (r"^/content\[0\]/encoding/", "the document gives no encoding; the reader's default is UTF-8"),
            (r"^/content\[0\]/provider$", "the document gives no provider"),
        ),
    ),
    Pair(
        _IT + "STRUCTURED/family_history__.json",
        _IT + "CANONICAL_XML/family_history__.xml",
        "family_history",
        differ=(
            (r"^/content\[0\]/encoding/", "the document gives no encoding; the reader's default is UTF-8"),
            (r"^/content\[0\]/provider$", "the document gives no provider"),
        ),
    ),
    Pair(
        _IT + "STRUCTURED/family_history__with_uid.json",
        _IT + "CANONICAL_JSON/family_history__with_uid.json",
        "family_history",
        differ=(
            (r"^/content\[0\]/encoding/", "the document gives no encoding; the reader's default is UTF-8"),
            (r"^/content\[0\]/provider$", "the document gives no provider"),
            (r"^/uid/_type$", "the placeholder uid has no '::', so FLAT reads it as a HIER_OBJECT_ID"),
        ),
    ),
    Pair(
        _SDK + "flat/simSDT/multi_occurrence.json",
        _SDK + "canonical_json/multi_occurrence.json",
        "ehrbase_multi_occurrence.de.v1",
        differ=((r"^/content\[0\]/data/origin/value$", _NO_ORIGIN),),
        extra_keys=((r"/body_temperature:0/history_origin$", "the canonical origin is not the first event"),),
    ),
    Pair(
        _IT + "FLAT/persistent_minimal.en.v1__full.xml.flat.json",
        _IT + "CANONICAL_XML/persistent_minimal.en.v1__full.xml",
        "persistent_minimal.en.v1",
        differ=(
            (r"^/composer/external_ref/type$", _PERSON),
            (r"^/composer/external_ref/id/(_type|scheme)$", "the FLAT file adds an id_scheme"),
            (r"^/content\[0\]/data/origin/value$", _NO_ORIGIN),
        ),
        extra_keys=(
            (r"/composer\|id_type$", "we keep the reference type EHRbase drops"),
            (r"/minimal:0/history_origin$", "we keep the origin EHRbase drops"),
            (r"/minimal:0/_archetype_details", _DETAILS),
        ),
        missing_keys=((r"/composer\|id_scheme$", "not in the canonical file"),),
    ),
    Pair(
        _IT + "FLAT/persistent_minimal.en.v1__full_without_links.xml.flat.json",
        _IT + "CANONICAL_XML/persistent_minimal.en.v1__full_without_links.xml",
        "persistent_minimal.en.v1",
        differ=(
            (r"^/composer/external_ref/type$", _PERSON),
            (r"^/content\[0\]/data/origin/value$", _NO_ORIGIN),
        ),
        extra_keys=(
            (r"/minimal:0/_archetype_details", _DETAILS),
            (r"/composer\|id_type$", "we keep the reference type EHRbase drops"),
            (r"/minimal:0/history_origin$", "we keep the origin EHRbase drops"),
        ),
    ),
]


_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})[.,](\d+)(.*)$")


def instants(data: Any) -> Any:
    """Date-time strings with a fraction in one spelling: decimal point, no trailing zeros."""
    if isinstance(data, dict):
        return {k: instants(v) for k, v in data.items()}
    if isinstance(data, list):
        return [instants(v) for v in data]
    if isinstance(data, str):
        m = _DATE_TIME.match(data)
        if m:
            fraction = m.group(2).rstrip("0")
            return m.group(1) + (f".{fraction}" if fraction else "") + m.group(3)
    return data


def _canonical(path: str) -> Any:
    if path.endswith(".xml"):
        return parse_xml((CORPUS / path).read_bytes())
    return parse_json(load(path))


def _unexplained(found: list[str], listed: tuple[tuple[str, str], ...], what: str) -> list[str]:
    """``found`` items no listed pattern explains; fails on listed patterns that explain nothing."""
    paths = [f.split(": ", 1)[0] for f in found]
    stale = [p for p, _ in listed if not any(re.search(p, f) for f in paths)]
    assert not stale, f"listed {what} that no longer occur: {stale}"
    return [f for f, path in zip(found, paths) if not any(re.search(p, path) for p, _ in listed)]


def _id(pair: Pair) -> str:
    return f"{pair.simplified.rsplit('/', 2)[-2]}/{pair.simplified.rsplit('/', 1)[-1]}~{pair.canonical[-30:]}"


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_simplified_to_canonical_agrees(pair: Pair) -> None:
    require_corpus()
    opt = opt_at(opt_by_template_id()[pair.template_id])
    doc = load(pair.simplified)
    read = structured_to_composition if flat_format_of(doc) == "STRUCTURED" else flat_to_composition
    ours = instants(normalised(to_json(read(doc, opt))))
    theirs = instants(normalised(to_json(_canonical(pair.canonical))))
    found = differences(theirs, ours)
    assert not _unexplained(found, pair.differ, "differences")


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_canonical_to_flat_agrees(pair: Pair) -> None:
    require_corpus()
    doc = load(pair.simplified)
    if flat_format_of(doc) != "FLAT" or any(k.startswith("ctx/") or k.endswith("|raw") for k in doc):
        pytest.skip("an input document (STRUCTURED, ctx/ shortcuts, |raw), not EHRbase's FLAT output")
    opt = opt_at(opt_by_template_id()[pair.template_id])
    ours = instants(composition_to_flat(_canonical(pair.canonical), opt))
    theirs = instants(doc)
    extra = [k for k in ours if k not in theirs]
    missing = [k for k in theirs if k not in ours]
    assert not _unexplained(extra, pair.extra_keys, "extra keys")
    assert not _unexplained(missing, pair.missing_keys, "missing keys")
    assert {k: ours[k] for k in theirs if k in ours} == {k: theirs[k] for k in theirs if k in ours}
