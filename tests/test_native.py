"""The optional mypyc build (cdr/native.py): extensions are used only while they match their sources, and
compiled and pure-Python code give the same results on real documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cdr.native as native
from tests.corpus import CORPUS, index_rows

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "templates" / "municipal_vital_signs_news2.en.opt"
COMPOSITIONS = sorted((REPO / "tests" / "data" / "compositions").glob("*.json"))


def _corpus_pairs() -> list[tuple[Path, Path]]:
    """The corpus's canonical JSON compositions (171) with an OPT of their template (none where the corpus
    is absent: the shipped documents still run)."""
    opts: dict[str, Path] = {}
    for row in index_rows():
        if row["kind"] == "opt":
            opts.setdefault(row["template_id"], CORPUS / row["path"])
    pairs = [
        (opts[row["template_id"]], CORPUS / row["path"])
        for row in index_rows()
        if row["kind"] == "composition/canonical_json" and row["template_id"] in opts
    ]
    return pairs


def _fake_tree(root: Path, *, build: bool) -> Path:
    """A project root with one listed source (and, if ``build``, its extension and manifest)."""
    source = root / "cdr" / "formats" / "canonical_json.py"
    source.parent.mkdir(parents=True)
    source.write_text("X = 1\n")
    if build:
        source.with_suffix(native._EXTENSION_SUFFIXES[0]).write_bytes(b"\x7fELF")
        (root / native.MANIFEST).write_text(json.dumps(native.source_digests(root)))
    return source


def test_no_extensions_is_plain_python_and_not_stale(tmp_path: Path) -> None:
    _fake_tree(tmp_path, build=False)
    assert native.stale_extensions(tmp_path) == []
    assert not native.up_to_date(tmp_path)


def test_an_edited_source_makes_its_extension_stale(tmp_path: Path) -> None:
    source = _fake_tree(tmp_path, build=True)
    assert native.stale_extensions(tmp_path) == []
    os.utime(source, (0, 10**10))  # newer file time, same text: still current
    assert native.stale_extensions(tmp_path) == []
    source.write_text("X = 2\n")
    assert native.stale_extensions(tmp_path) == ["cdr/formats/canonical_json.py"]
    assert not native.up_to_date(tmp_path)


def test_an_extension_without_manifest_is_stale(tmp_path: Path) -> None:
    _fake_tree(tmp_path, build=True)
    (tmp_path / native.MANIFEST).unlink()
    assert native.stale_extensions(tmp_path) == ["cdr/formats/canonical_json.py"]


def test_every_listed_source_exists() -> None:
    for entry in native.COMPILED:
        path = REPO / entry
        assert path.is_dir() if entry.endswith("/") else path.is_file(), entry
    assert len(native.compiled_sources()) > len(native.COMPILED)


def _run(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


_HOT = (
    "import cdr.formats.canonical_json, cdr.storage.decompose, cdr.template.validation, cdr.rm.invariants\n"
)


def test_pure_python_mode_loads_no_extension() -> None:
    out = _run(_HOT + "import cdr.native as n; print(n.compiled_modules())", CDR_PURE_PYTHON="1")
    assert out.strip() == "[]"


def test_the_suite_runs_the_compiled_modules_where_they_are_built() -> None:
    """scripts/test builds them where a C compiler is (CDR_COMPILE_STRICT=1): then every listed module must be
    the extension."""
    if not native.up_to_date():
        if (
            os.environ.get("CDR_COMPILE_STRICT") == "1"
            and shutil.which("cc")
            and os.environ.get("CDR_COMPILE") != "0"
        ):
            pytest.fail(
                f"scripts/test compiles the modules, yet they are not current: {native.stale_extensions()}"
            )
        pytest.skip("the modules are not compiled here (./scripts/compile builds them)")
    loaded = set(_run(_HOT + "import cdr.native as n; print('\\n'.join(n.compiled_modules()))").split())
    assert {
        "cdr.formats.canonical_json",
        "cdr.storage.decompose",
        "cdr.template.validation.structure",
        "cdr.rm.invariants.core",
    } <= loaded


_OUTCOMES = """
import json, sys
from pathlib import Path
from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.canonical_form import canonical_form
from cdr.storage.decompose import decompose
from cdr.template.opt_parser import load_opt
from cdr.template.validation import validate

out = []
for opt_path, doc_path in json.loads(sys.argv[1]):
    try:
        opt = load_opt(Path(opt_path))
        obj = parse_json(Path(doc_path).read_bytes(), strict=False)
    except Exception as exc:
        out.append({"error": f"{type(exc).__name__}: {exc}"})
        continue
    doc = canonical_form(to_json(obj))
    rows = [r.columns() for r in decompose(doc)]
    for row in rows:
        row["time_value"] = str(row["time_value"])
    issues = [i.model_dump(mode="json") for i in validate(obj, opt)]
    out.append({"doc": doc, "rows": rows, "issues": issues})
print(json.dumps(out, sort_keys=True))
"""


def _outcomes(pairs: list[tuple[Path, Path]], **env: str) -> list[object]:
    code = f"import sys; sys.argv[1:] = [{json.dumps(json.dumps([[str(a), str(b)] for a, b in pairs]))}]\n"
    return json.loads(_run(code + _OUTCOMES, **env))  # type: ignore[no-any-return]


def test_compiled_and_pure_python_agree_on_real_documents() -> None:
    """Parse, canonical form, decomposition and validation (valid and invalid documents) give the same results
    either way; where the modules are not compiled this compares Python with itself and proves little."""
    pairs = [(TEMPLATE, doc) for doc in COMPOSITIONS if not doc.name.endswith(".expected.json")]
    pairs += _corpus_pairs()
    assert len(pairs) >= 10
    compiled = _outcomes(pairs)
    pure = _outcomes(pairs, CDR_PURE_PYTHON="1")
    assert compiled == pure
    assert any(o.get("issues") for o in compiled if isinstance(o, dict))  # the invalid ones were judged


def test_a_module_no_longer_listed_is_an_orphan_and_stale_until_rebuilt(tmp_path: Path) -> None:
    source = _fake_tree(tmp_path, build=True)
    gone = tmp_path / "cdr" / "formats" / "dropped.py"
    gone.write_text("Y = 1\n")
    orphan = gone.with_suffix(native._EXTENSION_SUFFIXES[0])
    orphan.write_bytes(b"\x7fELF")
    group = tmp_path / "cdr" / f"{native.GROUP_LIBRARY}{native._EXTENSION_SUFFIXES[0]}"
    group.write_bytes(b"\x7fELF")
    assert native.orphan_extensions(tmp_path) == [orphan]  # the group library and listed modules stay
    manifest = tmp_path / native.MANIFEST
    manifest.write_text(json.dumps({**native.source_digests(tmp_path), "cdr/formats/dropped.py": "0" * 64}))
    assert native.stale_extensions(tmp_path) == ["cdr/formats/dropped.py"]
    assert source.is_file()
