"""``cdr validate`` over FLAT/STRUCTURED, ``cdr convert`` and ``cdr example``: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdr.cli import main
from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.canonical_xml import parse_xml
from cdr.template import load_opt
from cdr.template.validation import validate
from tests.corpus import require_corpus

REPO = Path(__file__).resolve().parent.parent
NB_OPT = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
NORMAL = REPO / "tests" / "data" / "compositions" / "valid_normal.json"
NORMAL_XML = REPO / "tests" / "data" / "compositions" / "xml" / "valid_normal.xml"
CORONA_OPT = "ehrbase-integration-tests/test_data_sets/valid_templates/all_types/Corona_Anamnese.opt"
CORONA_JSON = "ehrbase-ehrbase/aql-engine-testdata/composition.json"


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def convert(source: Path, to: str, *extra: str) -> str:
    code, out, err = run("convert", "--template", str(NB_OPT), str(source), "--to", to, *extra)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def nb_opt():  # type: ignore[no-untyped-def]
    return load_opt(NB_OPT)


@pytest.fixture
def flat_file(tmp_path: Path) -> Path:
    path = tmp_path / "normal.flat.json"
    path.write_text(convert(NORMAL, "flat"), encoding="utf-8")
    return path


def test_no_subcommand_prints_help() -> None:
    code, out, _ = run()
    assert code == 0
    for command in ("validate", "convert", "example", "webtemplate", "serve", "import", "db"):
        assert command in out


@pytest.mark.parametrize("fmt", ["flat", "structured"])
def test_validate_reads_simplified_formats_with_and_without_format_option(tmp_path: Path, fmt: str) -> None:
    doc = tmp_path / f"normal.{fmt}.json"
    doc.write_text(convert(NORMAL, fmt), encoding="utf-8")
    for options in (["--format", fmt], []):
        code, out, _ = run("validate", "--template", str(NB_OPT), *options, str(doc), "--json")
        assert json.loads(out) == {"valid": True, "issues": []}
        assert code == 0


def test_validate_flat_with_an_unknown_key_is_invalid_and_names_it(flat_file: Path, tmp_path: Path) -> None:
    flat = json.loads(flat_file.read_text(encoding="utf-8"))
    flat["kommunale_vitalparametre_og_news2/no_such_node|magnitude"] = 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(flat), encoding="utf-8")
    code, out, _ = run("validate", "--template", str(NB_OPT), "--format", "flat", str(bad), "--json")
    assert code == 1
    (issue,) = json.loads(out)["issues"]
    assert issue["code"] == "INVALID_FORMAT"
    assert "no_such_node" in issue["path"] + issue["message"]


def test_validate_flat_reports_template_violations_as_issues(flat_file: Path, tmp_path: Path) -> None:
    flat = json.loads(flat_file.read_text(encoding="utf-8"))
    key = next(k for k, v in flat.items() if k.endswith("|magnitude") and isinstance(v, int | float))
    flat[key] = 10_000
    bad = tmp_path / "out_of_range.json"
    bad.write_text(json.dumps(flat), encoding="utf-8")
    code, out, _ = run("validate", "--template", str(NB_OPT), str(bad), "--json")
    assert code == 1
    assert json.loads(out)["issues"]


def test_convert_round_trip_through_every_format_is_a_fixpoint(flat_file: Path, tmp_path: Path) -> None:
    structured = tmp_path / "s.json"
    structured.write_text(convert(flat_file, "structured"), encoding="utf-8")
    xml = tmp_path / "c.xml"
    xml.write_text(convert(structured, "xml"), encoding="utf-8")
    canonical = tmp_path / "c.json"
    canonical.write_text(convert(xml, "json"), encoding="utf-8")
    assert json.loads(convert(canonical, "flat")) == json.loads(flat_file.read_text(encoding="utf-8"))


def test_convert_canonical_xml_to_json_is_the_canonical_reading() -> None:
    out = json.loads(convert(NORMAL_XML, "json"))
    assert out == to_json(parse_xml(NORMAL_XML.read_bytes(), "COMPOSITION"))


def test_convert_json_to_xml_needs_no_template() -> None:
    code, out, _ = run("convert", str(NORMAL), "--to", "xml")
    assert code == 0
    assert to_json(parse_xml(out.encode("utf-8"))) == to_json(parse_json(NORMAL.read_text(encoding="utf-8")))


def test_convert_compact_prints_one_line_and_reads_stdin() -> None:
    code, out, _ = run(
        "convert", "--template", str(NB_OPT), "-", "--to", "flat", "--compact", stdin=NORMAL.read_bytes()
    )
    assert code == 0
    assert out.count("\n") == 1
    assert json.loads(out)


def test_convert_unknown_flat_key_exits_1_naming_the_key(flat_file: Path, tmp_path: Path) -> None:
    flat = json.loads(flat_file.read_text(encoding="utf-8"))
    flat["kommunale_vitalparametre_og_news2/respirasjon/no_such_element|code"] = "x"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(flat), encoding="utf-8")
    code, out, err = run("convert", "--template", str(NB_OPT), str(bad), "--from", "flat", "--to", "json")
    assert code == 1
    assert out == ""
    assert "no_such_element" in err


def test_convert_unknown_rm_type_exits_1_naming_the_path(tmp_path: Path) -> None:
    doc = json.loads(NORMAL.read_text(encoding="utf-8"))
    doc["language"]["_type"] = "NO_SUCH_TYPE"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run("convert", str(bad), "--to", "xml")
    assert code == 1
    assert "/language" in err


def test_convert_legacy_path_value_document_is_refused_with_the_reason(tmp_path: Path) -> None:
    legacy = tmp_path / "ecis.json"
    legacy.write_text(json.dumps({"/context/start_time": "2024-01-01T00:00:00Z"}), encoding="utf-8")
    code, _, err = run("convert", "--template", str(NB_OPT), str(legacy), "--to", "json")
    assert code == 1
    assert "ECISFLAT" in err


def test_convert_usage_errors_exit_2(flat_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{ nope", encoding="utf-8")
    assert run("convert", str(junk), "--to", "xml")[0] == 2
    assert run("convert", str(tmp_path / "absent.json"), "--to", "xml")[0] == 2
    code, _, err = run("convert", str(flat_file), "--to", "json")
    assert code == 2
    assert "--template" in err
    code, _, err = run("convert", str(NORMAL), "--to", "structured")
    assert code == 2
    assert "--template" in err
    assert run("convert", str(NORMAL), "--to", "yaml")[0] == 2
    assert run("convert", str(NORMAL))[0] == 2


def test_convert_corona_canonical_to_flat_and_back_validates() -> None:
    root = require_corpus()
    opt_path = root / CORONA_OPT
    code, flat_text, err = run(
        "convert", "--template", str(opt_path), str(root / CORONA_JSON), "--to", "flat"
    )
    assert code == 0, err
    code, out, err = run(
        "convert", "--template", str(opt_path), "-", "--to", "json", stdin=flat_text.encode()
    )
    assert code == 0, err
    assert validate(parse_json(out), load_opt(opt_path)) == []


@pytest.mark.parametrize("fmt", ["json", "xml", "flat", "structured"])
def test_example_single_document_in_each_format_is_valid(fmt: str, nb_opt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("example", str(NB_OPT), "--format", fmt)
    assert code == 0, err
    doc = tmp_path / ("doc.xml" if fmt == "xml" else "doc.json")
    doc.write_text(out, encoding="utf-8")
    code, report, _ = run("validate", "--template", str(NB_OPT), str(doc), "--json")
    assert json.loads(report) == {"valid": True, "issues": []}


def test_example_series_is_json_lines_reproducible_by_seed(nb_opt) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("example", str(NB_OPT), "--count", "4", "--seed", "7")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4
    for line in lines:
        assert validate(parse_json(line), nb_opt) == []
    assert run("example", str(NB_OPT), "--count", "4", "--seed", "7")[1] == out
    assert run("example", str(NB_OPT), "--count", "4", "--seed", "8")[1] != out
    assert len(set(lines)) > 1


def test_example_minimal_is_smaller_than_maximal(nb_opt) -> None:  # type: ignore[no-untyped-def]
    sizes = {}
    for mode in ("--minimal", "--maximal"):
        code, out, _ = run("example", str(NB_OPT), mode, "--format", "flat")
        assert code == 0
        flat = json.loads(out)
        sizes[mode] = len(flat)
        code, report, _ = run(
            "validate", "--template", str(NB_OPT), "--format", "flat", "-", "--json", stdin=out.encode()
        )
        assert json.loads(report)["valid"] is True
    assert sizes["--minimal"] < sizes["--maximal"]


def test_example_out_dir_writes_one_file_per_composition(tmp_path: Path, nb_opt) -> None:  # type: ignore[no-untyped-def]
    code, _, _ = run("example", str(NB_OPT), "--count", "3", "--format", "xml", "--out", str(tmp_path / "x"))
    assert code == 0
    files = sorted((tmp_path / "x").iterdir())
    assert [f.name for f in files] == ["example-0001.xml", "example-0002.xml", "example-0003.xml"]
    for f in files:
        assert validate(parse_xml(f.read_bytes()), nb_opt) == []


def test_example_usage_errors_exit_2(tmp_path: Path) -> None:
    code, out, err = run("example", str(NB_OPT), "--count", "2", "--format", "xml")
    assert code == 2
    assert out == ""
    assert "--out" in err
    broken = tmp_path / "broken.opt"
    broken.write_text("<template/>", encoding="utf-8")
    assert run("example", str(broken))[0] == 2
    assert run("example", str(NB_OPT), "--count", "0")[0] == 2
