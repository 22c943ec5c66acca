"""Validation profiles: ``strict`` (the AOM) and ``ehrbase`` (EHRbase's evidenced departures), end to end.

The data is EHRbase's own: ``all_types_systematic_tests.json``, which its AQL suites load against
``test_all_types.opt`` although it puts a DV_TEXT where the template allows only DV_URI. Each rule the
``ehrbase`` profile does *not* relax is pinned here too (a DV_TEXT for a DV_CODED_TEXT, a choice, a
DV_INTERVAL, interval bounds), so the profile cannot grow silently. Then the wiring: ``validate(...,
profile)``, the SDK's expected counts under both profiles, the whole corpus (the profiles differ only by the
one departure), ``cdr validate --profile``, ``VALIDATION_PROFILE`` in the REST app and ``cdr serve
--validation-profile``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy.engine import Engine

from cdr.api import create_app
from cdr.cli import main
from cdr.formats.canonical_json import parse_json
from cdr.rm.base import RMObject
from cdr.rm.identification import ObjectVersionId
from cdr.storage import Storage
from cdr.template.issues import IssueCode, ValidationIssue
from cdr.template.validation import (
    DEFAULT,
    EHRBASE,
    PROFILES,
    STRICT,
    ValidationProfile,
    profile_named,
    validate,
)
from tests.api.conftest import BASE, Api, assert_error
from tests.corpus import CORPUS, corpus_available, require_corpus
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)
from tests.template.validation_corpus import (
    canonical_compositions_with_template,
    opt,
    read_composition,
    validate_against_best,
)

DATA_LOAD = "ehrbase-integration-tests/test_data_sets/aql/data_load"
ALL_TYPES_OPT = f"{DATA_LOAD}/opts/external/test_all_types.opt"
ALL_TYPES = f"{DATA_LOAD}/compositions/external/all_types_systematic_tests.json"
EVALUATION = "/content[openEHR-EHR-EVALUATION.test_all_types.v1]/data[at0001]"
OBSERVATION = "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]"
URI_VALUE = f"{EVALUATION}/items[at0002]/value"  # the template allows DV_URI only; the data has a DV_TEXT

pytestmark = pytest.mark.corpus


@cache
def _all_types() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((require_corpus() / ALL_TYPES).read_text(encoding="utf-8"))
    return doc


def _element(doc: dict[str, Any], entry: str, node_id: str) -> dict[str, Any]:
    """The ELEMENT ``node_id`` anywhere below the content item whose archetype is ``entry``."""

    def find(node: Any) -> dict[str, Any] | None:
        if isinstance(node, dict):
            if node.get("_type") == "ELEMENT" and node.get("archetype_node_id") == node_id:
                return node
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = find(child)
            if found is not None:
                return found
        return None

    item = next(c for c in doc["content"] if c["archetype_node_id"] == entry)
    element = find(item)
    assert element is not None, f"{entry} has no ELEMENT {node_id}"
    return element


def _with_value(entry: str, node_id: str, value: dict[str, Any]) -> RMObject:
    """``all_types_systematic_tests.json`` with the value of one ELEMENT replaced."""
    doc = copy.deepcopy(_all_types())
    _element(doc, f"openEHR-EHR-{entry}.test_all_types.v1", node_id)["value"] = value
    return parse_json(doc)


def _codes(issues: list[ValidationIssue]) -> list[tuple[str, str]]:
    return [(str(i.code), i.path) for i in issues]


def _both(obj: RMObject) -> tuple[list[ValidationIssue], list[ValidationIssue]]:
    template = opt(ALL_TYPES_OPT)
    return validate(obj, template), validate(obj, template, EHRBASE)


# ----------------------------------------------------------------------------------------- profiles


def test_profiles_by_name() -> None:
    assert profile_named("strict") is STRICT
    assert profile_named(" EHRbase ") is EHRBASE
    assert set(PROFILES) == {"strict", "ehrbase"}
    with pytest.raises(ValueError, match="strict, ehrbase"):
        profile_named("lenient")


def test_profile_docstring_examples() -> None:
    import doctest
    import importlib.util
    import sys

    # from its source: doctest finds no examples in a compiled module (cdr/native.py)
    source = Path(__file__).resolve().parents[2] / "cdr" / "template" / "validation" / "profile.py"
    spec = importlib.util.spec_from_file_location("profile_source", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        result = doctest.testmod(module)
    finally:
        del sys.modules[spec.name]
    assert result.attempted > 0
    assert result.failed == 0


def test_strict_departs_from_nothing() -> None:
    departures = [f.name for f in dataclasses.fields(ValidationProfile) if f.name != "name"]
    assert departures == ["foreign_element_value", "item_version_uid"]
    assert not any(getattr(STRICT, name) for name in departures)
    assert all(getattr(EHRBASE, name) for name in departures)


# ------------------------------------------------------------------------------------- the departure


def test_ehrbase_data_is_wrong_type_when_strict_and_valid_under_ehrbase() -> None:
    strict, ehrbase = _both(read_composition(ALL_TYPES))
    assert _codes(strict) == [(IssueCode.WRONG_TYPE, URI_VALUE)]
    assert "allowed: DV_URI" in strict[0].message
    assert ehrbase == []


def test_two_argument_call_is_strict() -> None:
    template = opt(ALL_TYPES_OPT)
    obj = read_composition(ALL_TYPES)
    assert validate(obj, template) == validate(obj, template, STRICT)


def test_accepted_foreign_value_is_still_held_to_the_rm() -> None:
    """A DV_QUANTITY without its mandatory ``units`` where DV_URI is allowed: the type is accepted, the
    RM's own rule is not waived."""
    obj = _with_value("EVALUATION", "at0002", {"_type": "DV_QUANTITY", "magnitude": 1.5})
    strict, ehrbase = _both(obj)
    assert (IssueCode.WRONG_TYPE, URI_VALUE) in _codes(strict)
    assert _codes(ehrbase) == [(IssueCode.REQUIRED, f"{URI_VALUE}/units")]
    assert [i for i in strict if i.code != IssueCode.WRONG_TYPE] == ehrbase


# --------------------------------------------------------------------- what the profile keeps strict


@pytest.mark.parametrize(
    ("entry", "node_id", "value", "code", "where"),
    [
        pytest.param(  # EHRbase's DvTextValidator: "Expected a DV_CODED_TEXT but got DV_TEXT"
            "OBSERVATION",
            "at0005",
            {"_type": "DV_TEXT", "value": "not coded"},
            IssueCode.CODED_TEXT_REQUIRED,
            f"{OBSERVATION}/items[at0005]/value",
            id="dv_text-for-dv_coded_text",
        ),
        pytest.param(  # DV_QUANTITY | DV_COUNT: a choice, not a single type
            "EVALUATION",
            "at0009",
            {"_type": "DV_TEXT", "value": "neither"},
            IssueCode.WRONG_TYPE,
            f"{EVALUATION}/items[at0009]/value",
            id="choice",
        ),
        pytest.param(  # EHRbase's walker descends into interval bounds and throws on a non-interval
            "EVALUATION",
            "at0003",
            {"_type": "DV_COUNT", "magnitude": 3},
            IssueCode.WRONG_TYPE,
            f"{EVALUATION}/items[at0003]/value",
            id="dv_interval",
        ),
        pytest.param(  # interval bounds are not ELEMENT.value
            "EVALUATION",
            "at0003",
            {
                "_type": "DV_INTERVAL",
                "lower": {"_type": "DV_QUANTITY", "magnitude": 1.0, "units": "mm"},
                "upper": {"_type": "DV_COUNT", "magnitude": 5},
                "lower_unbounded": False,
                "upper_unbounded": False,
            },
            IssueCode.WRONG_TYPE,
            f"{EVALUATION}/items[at0003]/value/lower",
            id="interval-bound",
        ),
    ],
)
def test_rules_the_ehrbase_profile_keeps(
    entry: str, node_id: str, value: dict[str, Any], code: IssueCode, where: str
) -> None:
    strict, ehrbase = _both(_with_value(entry, node_id, value))
    assert (code, where) in _codes(strict)
    assert (code, where) in _codes(ehrbase)
    # the URI element keeps its DV_TEXT, so only that one issue separates the profiles
    assert [i for i in strict if i.path != URI_VALUE] == ehrbase


# ------------------------------------------------------------------------- SDK counts and the corpus


def _sdk_cases() -> list[Any]:
    if not corpus_available():
        return [pytest.param({}, id="<corpus absent>")]
    from tests.template.test_validation_sdk import EXPECTATIONS

    cases = json.loads((CORPUS / EXPECTATIONS).read_text(encoding="utf-8"))["cases"]
    return [pytest.param(c, id=c["sdk_test"]) for c in cases]


@pytest.mark.parametrize("case", _sdk_cases())
def test_sdk_counts_hold_under_both_profiles(case: dict[str, Any]) -> None:
    """The 21 SDK cases give the same issues under both profiles (none has a foreign single-type value)."""
    require_corpus()
    template = opt(str(case["opt"]))
    composition: RMObject
    if case["format"] == "FLAT":
        from cdr.formats.flat import flat_to_composition

        flat = json.loads((CORPUS / str(case["composition"])).read_text(encoding="utf-8"))
        composition = flat_to_composition(flat, template)
    else:
        composition = read_composition(str(case["composition"]))
    strict = validate(composition, template)
    ehrbase = validate(composition, template, EHRBASE)
    assert ehrbase == strict
    expected = case["expected_violations"]
    assert bool(ehrbase) if expected == ">0" else len(ehrbase) == expected


IT_COMPOSITIONS = "ehrbase-integration-tests/test_data_sets/compositions/CANONICAL_JSON"
FEEDER_AUDIT_IN_ELEMENT = f"{IT_COMPOSITIONS}/composition_feeder_audit_in_element.json"
FEEDER_AUDIT_ITEM_UID = "/content[openEHR-EHR-OBSERVATION.body_weight.v2]/uid/value"

# every corpus composition the profiles judge differently, and where (the whole difference)
CORPUS_DIFFERENCES = {
    ALL_TYPES: {URI_VALUE},
    "ehrbase-openEHR_SDK/test-data/composition/canonical_json/simple_composition_dvinterval.json": {
        "/content[openEHR-EHR-ADMIN_ENTRY.episodeofcare.v0]/data[at0001]/items[at0002]/value"
    },
    FEEDER_AUDIT_IN_ELEMENT: {FEEDER_AUDIT_ITEM_UID},
}


def test_corpus_profiles_differ_only_by_the_departures() -> None:
    """Over every canonical corpus composition with its template: ``ehrbase`` reports the strict issues
    minus WRONG_TYPE at an ELEMENT.value and the format of an item's OBJECT_VERSION_ID uid, and only at
    the places listed above."""
    require_corpus()
    differences: dict[str, set[str]] = {}
    for path in canonical_compositions_with_template():
        try:
            obj = read_composition(path)
        except Exception:  # unreadable corpus documents are the readers' tests' business
            continue
        opt_path, strict = validate_against_best(path, obj)
        ehrbase = validate(obj, opt(opt_path), EHRBASE)
        if ehrbase == strict:
            continue
        dropped = [i for i in strict if i not in ehrbase]
        assert [i for i in strict if i in ehrbase] == ehrbase, path  # nothing new, order kept
        assert all(i.path.endswith("/value") for i in dropped), path
        for issue in dropped:
            uid = issue.code == IssueCode.RM_INVARIANT and issue.path.endswith("/uid/value")
            assert issue.code == IssueCode.WRONG_TYPE or uid, (path, issue)
        differences[path] = {i.path for i in dropped}
    assert differences == CORPUS_DIFFERENCES


def test_an_items_version_uid_is_free_under_ehrbase_and_the_roots_never() -> None:
    """``item_version_uid``: an entry's OBJECT_VERSION_ID uid need not be object_id::system::version under
    ``ehrbase`` (EHRbase's suite commits one that is a bare UUID); the composition's own uid always must."""
    require_corpus()
    obj = read_composition(FEEDER_AUDIT_IN_ELEMENT)
    opt_path, strict = validate_against_best(FEEDER_AUDIT_IN_ELEMENT, obj)
    assert _codes(strict) == [(IssueCode.RM_INVARIANT, FEEDER_AUDIT_ITEM_UID)]
    assert validate(obj, opt(opt_path), EHRBASE) == []
    obj.uid = ObjectVersionId(value="not-a-version-uid")  # type: ignore[attr-defined]
    assert _codes(validate(obj, opt(opt_path), EHRBASE)) == [(IssueCode.RM_INVARIANT, "/uid/value")]


# ------------------------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize(
    ("args", "code"), [((), 1), (("--profile", "strict"), 1), (("--profile", "ehrbase"), 0)]
)
def test_cdr_validate_profile_exit_codes(args: tuple[str, ...], code: int) -> None:
    corpus = require_corpus()
    result = CliRunner().invoke(
        main,
        ["validate", "--json", *args, "--template", str(corpus / ALL_TYPES_OPT), str(corpus / ALL_TYPES)],
    )
    assert result.exit_code == code, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is (code == 0)
    assert [i["code"] for i in report["issues"]] == ([] if code == 0 else ["WRONG_TYPE"])


def test_cdr_validate_refuses_an_unknown_profile() -> None:
    corpus = require_corpus()
    result = CliRunner().invoke(
        main,
        [
            "validate",
            "--profile",
            "lenient",
            "--template",
            str(corpus / ALL_TYPES_OPT),
            str(corpus / ALL_TYPES),
        ],
    )
    assert result.exit_code == 2
    assert "lenient" in result.stderr


# ----------------------------------------------------------------------------------------------- REST


def _app(engine: Engine, profile: str | None) -> Flask:  # noqa: F811
    config: dict[str, Any] = {"STORAGE": Storage(engine, system_id="test.cdr"), "TESTING": True}
    if profile is not None:
        config["VALIDATION_PROFILE"] = profile
    return create_app(config)


@pytest.mark.parametrize(("profile", "status"), [(None, 201), ("strict", 422), ("ehrbase", 201)])
def test_rest_commit_under_each_profile(engine: Engine, profile: str | None, status: int) -> None:  # noqa: F811
    corpus = require_corpus()
    api = Api(_app(engine, profile))
    api.upload(corpus / ALL_TYPES_OPT)
    ehr_id = api.new_ehr()
    response = api.post(
        f"/ehr/{ehr_id}/composition",
        data=(corpus / ALL_TYPES).read_bytes(),
        content_type="application/json",
    )
    if status == 201:
        assert response.status_code == 201, response.json
        version_uid = str(response.headers["ETag"]).strip('"')
        assert api.get(f"/ehr/{ehr_id}/composition/{version_uid}").status_code == 200
    else:
        body = assert_error(response, 422)
        assert [(d["code"], d["path"]) for d in body["details"]] == [("WRONG_TYPE", URI_VALUE)]


def test_the_default_profile_is_ehrbase() -> None:
    """What ``cdr serve`` and ``cdr import`` use when nothing names a profile; the validator itself (the
    function and ``cdr validate``) stays with the AOM (``test_two_argument_call_is_strict``,
    ``test_cdr_validate_profile_exit_codes``)."""
    assert DEFAULT is EHRBASE


def test_validation_profile_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDR_VALIDATION_PROFILE", raising=False)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'default.db'}"})
    assert app.extensions["cdr"].validation_profile is DEFAULT
    monkeypatch.setenv("CDR_VALIDATION_PROFILE", "strict")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"})
    assert app.extensions["cdr"].validation_profile is STRICT
    monkeypatch.setenv("CDR_VALIDATION_PROFILE", "loose")
    with pytest.raises(ValueError, match="loose"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'bad.db'}"})


def test_cdr_serve_validation_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cdr serve`` as a real process, as the AQL conformance runner starts it (no option: the default,
    ``ehrbase``), and with each ``--validation-profile``: only ``strict`` refuses EHRbase's own data."""
    from tests.test_serve import start

    corpus = require_corpus()
    monkeypatch.delenv("CDR_VALIDATION_PROFILE", raising=False)
    for profile, status in ((None, 201), ("strict", 422), ("ehrbase", 201)):
        option = () if profile is None else ("--validation-profile", profile)
        served = start(tmp_path, "--db", f"sqlite:///{tmp_path / (profile or 'default') / 'cdr.db'}", *option)
        try:
            code, _, body = served.call(
                "POST",
                f"{BASE}/definition/template/adl1.4",
                (corpus / ALL_TYPES_OPT).read_bytes(),
                {"Content-Type": "application/xml"},
            )
            assert code == 201, body
            code, headers, body = served.call("POST", f"{BASE}/ehr", headers={"Prefer": "return=minimal"})
            assert code == 201, body
            ehr_id = headers["etag"].strip('"')
            code, _, body = served.call(
                "POST",
                f"{BASE}/ehr/{ehr_id}/composition",
                (corpus / ALL_TYPES).read_bytes(),
                {"Content-Type": "application/json", "Prefer": "return=minimal"},
            )
            assert code == status, body
        finally:
            assert served.stop() == 0


@pytest.mark.parametrize(("profile", "committed"), [(None, 1), ("strict", 0), ("ehrbase", 1)])
def test_cdr_import_validates_by_the_servers_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str | None, committed: int
) -> None:
    """``cdr import`` holds documents to the profile ``cdr serve`` would (``CDR_VALIDATION_PROFILE``)."""
    import shutil

    corpus = require_corpus()
    templates, docs = tmp_path / "templates", tmp_path / "docs"
    templates.mkdir()
    docs.mkdir()
    shutil.copy(corpus / ALL_TYPES_OPT, templates)
    shutil.copy(corpus / ALL_TYPES, docs)
    if profile is None:
        monkeypatch.delenv("CDR_VALIDATION_PROFILE", raising=False)
    else:
        monkeypatch.setenv("CDR_VALIDATION_PROFILE", profile)
    db = f"sqlite:///{tmp_path / 'db' / 'cdr.db'}"
    result = CliRunner().invoke(
        main, ["import", str(docs), "--template-dir", str(templates), "--ehr-per-file", "--db", db]
    )
    assert result.exit_code == (0 if committed else 1), result.output
    if not committed:
        assert "WRONG_TYPE" in result.stderr or "DV_URI" in result.stderr, result.stderr
    storage = Storage.open(db)
    try:
        import sqlalchemy as sa

        from cdr.storage import schema

        with storage.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(schema.object_version)
                .where(schema.object_version.c.kind == "COMPOSITION")
            ).scalar_one()
    finally:
        storage.close()
    assert count == committed


def test_cdr_import_refuses_an_unknown_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDR_VALIDATION_PROFILE", "loose")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.json").write_text("{}")
    (tmp_path / "templates").mkdir()
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(tmp_path / "docs"),
            "--template-dir",
            str(tmp_path / "templates"),
            "--ehr-per-file",
            "--db",
            f"sqlite:///{tmp_path / 'cdr.db'}",
        ],
    )
    assert result.exit_code == 2
    assert "loose" in result.stderr
