"""The CLI contract: exit codes and output shapes of ``cdr validate`` and ``cdr webtemplate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cdr.cli import main
from tests.corpus import require_corpus

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
DATA = REPO / "tests" / "data" / "compositions"
NB_OPT = TEMPLATES / "kommunal_vitalparametre_news2.nb.opt"
CORONA_OPT = "ehrbase-integration-tests/test_data_sets/valid_templates/all_types/Corona_Anamnese.opt"
CORONA_JSON = "ehrbase-ehrbase/aql-engine-testdata/composition.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def valid_shipped() -> list[Path]:
    return sorted(
        p
        for p in DATA.glob("*.json")
        if not p.name.endswith(".expected.json") and (DATA / f"{p.stem}.expected.json").exists() is False
    )


def invalid_shipped() -> list[Path]:
    return sorted(p for p in DATA.glob("*.json") if (DATA / f"{p.stem}.expected.json").exists())


def test_webtemplate_prints_json_for_the_shipped_template() -> None:
    code, out, _ = run("webtemplate", str(NB_OPT))
    assert code == 0
    wt = json.loads(out)
    template_id = etree.parse(str(NB_OPT)).findtext("{http://schemas.openehr.org/v1}template_id/{*}value")
    assert wt["templateId"] == template_id
    assert wt["defaultLanguage"] == "nb"
    assert set(wt["languages"]) >= {"nb", "en"}
    assert wt["tree"]["rmType"] == "COMPOSITION"


def test_webtemplate_refuses_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.opt"
    broken.write_text("<template xmlns='http://schemas.openehr.org/v1'><concept>x</concept></template>")
    code, out, err = run("webtemplate", str(broken))
    assert code == 2
    assert out == ""
    assert "cannot load template" in err


def test_webtemplate_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("webtemplate", str(tmp_path / "nope.opt"))
    assert code == 2
    assert "nope.opt" in err


@pytest.mark.parametrize("composition", valid_shipped(), ids=lambda p: p.name)
def test_validate_accepts_valid_shipped_compositions(composition: Path) -> None:
    code, out, _ = run("validate", "--template", str(NB_OPT), str(composition), "--json")
    report = json.loads(out)
    assert report == {"valid": True, "issues": []}
    assert code == 0


@pytest.mark.parametrize("composition", invalid_shipped(), ids=lambda p: p.name)
def test_validate_reports_invalid_shipped_compositions(composition: Path) -> None:
    """Every shipped invalid composition is invalid (``cdr validate`` checks against the AOM by default);
    ``--profile ehrbase``, what the server accepts by default, passes only the one whose sole fault is a
    value of another type."""
    code, out, _ = run("validate", "--template", str(NB_OPT), str(composition), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False
    assert report["issues"]
    for issue in report["issues"]:
        assert {"path", "code", "message"} <= issue.keys()
    lenient = ("--profile", "ehrbase")
    ehrbase_code, ehrbase_out, _ = run(
        "validate", "--template", str(NB_OPT), str(composition), "--json", *lenient
    )
    only_wrong_type = {i["code"] for i in report["issues"]} == {"WRONG_TYPE"}
    assert ehrbase_code == (0 if only_wrong_type else 1)
    assert json.loads(ehrbase_out)["valid"] is only_wrong_type


def test_validate_text_output_lists_issues_and_exit_code() -> None:
    composition = invalid_shipped()[0]
    code, out, err = run("validate", "--template", str(NB_OPT), str(composition))
    assert code == 1
    assert out.strip()
    assert "invalid" in err


def test_validate_unreadable_input_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{ not json")
    code, _, err = run("validate", "--template", str(NB_OPT), str(junk), "--json")
    assert code == 2
    assert "not JSON" in err
    code, _, _ = run("validate", "--template", str(NB_OPT), str(tmp_path / "absent.json"))
    assert code == 2


def test_validate_unknown_type_is_invalid_with_a_path(tmp_path: Path) -> None:
    doc = json.loads(valid_shipped()[0].read_text(encoding="utf-8"))
    doc["language"]["_type"] = "NO_SUCH_TYPE"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code, out, _ = run("validate", "--template", str(NB_OPT), str(bad), "--json")
    assert code == 1
    (issue,) = json.loads(out)["issues"]
    assert issue["path"].startswith("/language")
    assert "NO_SUCH_TYPE" in issue["message"]


def test_validate_reads_a_canonical_document_given_as_flat_as_invalid_flat() -> None:
    code, out, _ = run(
        "validate", "--template", str(NB_OPT), "--format", "flat", str(valid_shipped()[0]), "--json"
    )
    assert code == 1
    (issue,) = json.loads(out)["issues"]
    assert issue["code"] == "INVALID_FORMAT"


def test_validate_missing_template_option_is_a_usage_error() -> None:
    code, _, _ = run("validate", str(valid_shipped()[0]))
    assert code == 2


def test_validate_corona_from_the_corpus() -> None:
    root = require_corpus()
    code, out, _ = run("validate", "--template", str(root / CORONA_OPT), str(root / CORONA_JSON), "--json")
    assert json.loads(out) == {"valid": True, "issues": []}
    assert code == 0


def test_validate_names_unknown_attributes_it_ignores(tmp_path: Path) -> None:
    doc = json.loads(valid_shipped()[0].read_text(encoding="utf-8"))
    doc["language"]["colour"] = "blue"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc))
    code, out, err = run("validate", "--template", str(NB_OPT), str(odd), "--json")
    assert json.loads(out) == {"valid": True, "issues": []}
    assert code == 0
    assert "/language/colour: unknown attribute ignored" in err


def test_validate_refuses_a_document_that_is_not_a_composition(tmp_path: Path) -> None:
    status = REPO / "tests" / "data" / "ehr_status" / "ehr_status_nb.json"
    code, out, _ = run("validate", "--template", str(NB_OPT), str(status), "--json")
    assert code == 1
    (issue,) = json.loads(out)["issues"]
    assert issue["code"] == "INVALID_FORMAT"
    assert "EHR_STATUS" in issue["message"]


def test_validate_asks_the_configured_terminology_server_about_codes_of_fhir_value_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.terminology.fhir_mock import running

    suite = require_corpus() / "ehrbase-integration-tests" / "test_data_sets"
    opt = suite / "valid_templates" / "all_types" / "terminology_test.ehrbase.org.v1.opt"
    documents = suite / "compositions" / "CANONICAL_JSON"
    outside = documents / "terminology_test.ehrbase.org.v1_non_existing_code.json"
    assert run("validate", "--template", str(opt), str(outside))[0] == 0  # no server: not checked
    with running() as fhir:
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", fhir.base_url)
        code, out, _ = run("validate", "--template", str(opt), "--json", str(outside))
        assert code == 1
        [issue] = json.loads(out)["issues"]
        assert issue["code"] == "CODE_NOT_IN_VALUE_SET" and issue["path"].endswith("/value/defining_code")
        assert (
            run("validate", "--template", str(opt), str(documents / "terminology_test.ehrbase.org.v1.json"))[
                0
            ]
            == 0
        )
        fhir.failing = True
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_FAIL_ON_ERROR", "true")
        code, _, err = run("validate", "--template", str(opt), str(outside))
        assert code == 2 and "could not check" in err
