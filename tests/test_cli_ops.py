"""``cdr db upgrade`` and ``cdr import``: what ends up in the database, what is reported, exit codes."""

from __future__ import annotations

import json
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdr.cli import main
from cdr.storage import Storage
from cdr.storage.migrate import current_revision, head_revision

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
NB_OPT = TEMPLATES / "kommunal_vitalparametre_news2.nb.opt"
DATA = REPO / "tests" / "data" / "compositions"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def cli_output(*args: str) -> str:
    code, out, err = run(*args)
    assert code == 0, err
    return out


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'cdr.db'}"


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    target.mkdir()
    for opt in TEMPLATES.glob("*.opt"):
        shutil.copy(opt, target)
    return target


def stored(db: str) -> dict[uuid.UUID, int]:
    """Compositions per EHR in the database."""
    storage = Storage.open(db)
    try:
        return {ehr.ehr_id: len(storage.compositions.list_latest(ehr.ehr_id)) for ehr in _all_ehrs(storage)}
    finally:
        storage.close()


def _all_ehrs(storage: Storage) -> list:  # type: ignore[type-arg]
    import sqlalchemy as sa

    from cdr.storage import schema as t

    with storage.engine.connect() as conn:
        ids = [row.ehr_id for row in conn.execute(sa.select(t.ehr.c.ehr_id))]
    return [storage.ehrs.get(i) for i in ids]


def test_db_upgrade_migrates_once_and_reports_the_revision(db: str) -> None:
    out = cli_output("db", "upgrade", "--db", db)
    assert "upgraded from an empty database" in out
    assert str(head_revision()) in out
    assert "already at revision" in cli_output("db", "upgrade", "--db", db)
    from cdr.storage import create_engine

    engine = create_engine(db)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_db_upgrade_takes_cdr_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "env.db"
    monkeypatch.setenv("CDR_DATABASE_URL", f"sqlite:///{target}")
    cli_output("db", "upgrade")
    assert target.is_file()


def test_db_upgrade_unusable_database_exits_2() -> None:
    assert run("db", "upgrade", "--db", "nonsense://")[0] == 2
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        code, _, err = run("db", "upgrade", "--db", f"postgresql://u:secret@127.0.0.1:{port}/x")
    assert code == 2
    assert "secret" not in err


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Valid documents in all four formats and a JSON lines series, plus one unreadable and one invalid."""
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    shutil.copy(DATA / "valid_normal.json", docs / "normal.json")
    shutil.copy(DATA / "xml" / "valid_minimal.xml", docs / "sub" / "minimal.xml")
    high = DATA / "valid_high_risk.json"
    (docs / "high.flat.json").write_text(
        cli_output("convert", "--template", str(NB_OPT), str(high), "--to", "flat")
    )
    (docs / "high.structured.json").write_text(
        cli_output("convert", "--template", str(NB_OPT), str(high), "--to", "structured")
    )
    (docs / "series.jsonl").write_text(
        cli_output("example", str(NB_OPT), "--count", "3", "--format", "flat") + "\n"
    )
    (docs / "broken.json").write_text("{ not json")
    (docs / "sub" / "broken.xml").write_text('?xml version="1.0"?><composition/>')  # its first < lost
    shutil.copy(DATA / "invalid_bad_date_time.json", docs / "invalid.json")
    (docs / ".hidden.json").write_text("{ ignored")
    return docs


def test_import_per_file_commits_the_valid_and_reports_the_rest(
    mixed: Path, template_dir: Path, db: str
) -> None:
    code, _, err = run(
        "import", str(mixed), "--template-dir", str(template_dir), "--ehr-per-file", "--db", db
    )
    assert code == 1
    assert f"skipped {mixed / 'broken.json'}:" in err
    assert "not JSON" in err
    assert f"skipped {mixed / 'sub' / 'broken.xml'}:\n  not XML" in err  # by its name
    assert f"skipped {mixed / 'invalid.json'}:" in err
    assert "INVALID_DATE_TIME /context/start_time/value" in err
    assert ".hidden" not in err
    assert "imported 7 composition(s) into 5 EHR(s); skipped 3" in err
    per_ehr = stored(db)
    assert sorted(per_ehr.values()) == [1, 1, 1, 1, 3]  # the JSON lines file is one patient


def test_import_into_one_ehr_creates_it_with_the_given_id(mixed: Path, template_dir: Path, db: str) -> None:
    for bad in ("broken.json", "invalid.json", "sub/broken.xml"):
        (mixed / bad).unlink()
    ehr_id = uuid.uuid4()
    code, _, err = run(
        "import", str(mixed), "--template-dir", str(template_dir), "--ehr", str(ehr_id), "--db", db
    )
    assert code == 0, err
    assert f"created EHR {ehr_id}" in err
    assert stored(db) == {ehr_id: 7}
    code, _, err = run(
        "import", str(mixed), "--template-dir", str(template_dir), "--ehr", str(ehr_id), "--db", db
    )
    assert code == 0, err  # templates already stored with the same content: no warning, no conflict
    assert "warning" not in err
    assert stored(db) == {ehr_id: 14}


def test_import_reports_the_first_issues_and_how_many_more(
    tmp_path: Path, template_dir: Path, db: str
) -> None:
    doc = json.loads((DATA / "valid_normal.json").read_text(encoding="utf-8"))
    for item in doc["content"]:
        item["archetype_node_id"] = "openEHR-EHR-OBSERVATION.nothing_like_it.v1"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "odd.json").write_text(json.dumps(doc))
    code, _, err = run("import", str(docs), "--template-dir", str(template_dir), "--ehr-per-file", "--db", db)
    assert code == 1
    report = err.split("skipped ", 1)[1].splitlines()
    assert len([line for line in report[1:4] if line.startswith("  ")]) == 3
    assert "more issue(s)" in err  # seven unknown entries give more issues than are shown
    assert stored(db) == {}  # a refused first document leaves no empty EHR


def test_import_flat_keyed_by_an_unknown_root_is_skipped_with_the_reason(
    tmp_path: Path, template_dir: Path, db: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "x.json").write_text(json.dumps({"no_such_root/context/start_time": "2024-01-01T00:00:00Z"}))
    code, _, err = run("import", str(docs), "--template-dir", str(template_dir), "--ehr-per-file", "--db", db)
    assert code == 1
    assert "no template has the web template root id 'no_such_root'" in err


def test_import_usage_errors_exit_2(mixed: Path, template_dir: Path, tmp_path: Path, db: str) -> None:
    base = ["import", str(mixed), "--template-dir", str(template_dir), "--db", db]
    assert run(*base)[0] == 2  # neither --ehr-per-file nor --ehr
    assert run(*base, "--ehr-per-file", "--ehr", str(uuid.uuid4()))[0] == 2
    assert run(*base, "--ehr", "not-a-uuid")[0] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(
        "import", str(empty), "--template-dir", str(template_dir), "--ehr-per-file", "--db", db
    )
    assert code == 2
    assert "no compositions" in err
    code, _, err = run("import", str(mixed), "--template-dir", str(empty), "--ehr-per-file", "--db", db)
    assert code == 2
    assert "no usable template" in err
    assert (
        run("import", str(tmp_path / "absent"), "--template-dir", str(template_dir), "--ehr-per-file")[0] == 2
    )


def test_import_finds_templates_in_subdirectories(mixed: Path, template_dir: Path, db: str) -> None:
    """A template tree (a modeller's folders, a suite's ``valid_templates/<area>/``) is searched whole;
    hidden directories are left out."""
    nested = template_dir.parent / "tree"
    (nested / "area" / "deeper").mkdir(parents=True)
    (nested / ".git").mkdir()
    for opt in template_dir.glob("*.opt"):
        shutil.move(opt, nested / "area" / "deeper" / opt.name.upper().replace(".OPT", ".opt"))
    (nested / ".git" / "broken.opt").write_text("<template/>")
    code, _, err = run("import", str(mixed), "--template-dir", str(nested), "--ehr-per-file", "--db", db)
    assert code == 1  # the two bad documents of the fixture
    assert "imported 7 composition(s)" in err
    assert "broken.opt" not in err


def test_import_leaves_out_a_broken_template_with_a_warning(mixed: Path, template_dir: Path, db: str) -> None:
    (template_dir / "broken.opt").write_text("<template/>")
    code, _, err = run(
        "import", str(mixed), "--template-dir", str(template_dir), "--ehr-per-file", "--db", db
    )
    assert code == 1
    assert "broken.opt: not a usable template" in err
    assert "imported 7 composition(s)" in err


def test_import_checks_codes_of_fhir_value_sets_against_the_configured_server(
    tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cdr import`` validates as the server would: with ``CDR_FHIR_TERMINOLOGY_URL`` a code outside its
    value set is reported and skipped (EHRbase's terminology test template, the server of fhir_mock.py)."""
    from tests.corpus import require_corpus
    from tests.terminology.fhir_mock import running

    suite = require_corpus() / "ehrbase-integration-tests" / "test_data_sets"
    templates = tmp_path / "opts"
    templates.mkdir()
    shutil.copy(suite / "valid_templates" / "all_types" / "terminology_test.ehrbase.org.v1.opt", templates)
    documents = tmp_path / "documents"
    documents.mkdir()
    for name in ("terminology_test.ehrbase.org.v1", "terminology_test.ehrbase.org.v1_non_existing_code"):
        shutil.copy(suite / "compositions" / "CANONICAL_JSON" / f"{name}.json", documents)
    with running() as fhir:
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", fhir.base_url)
        code, _, err = run(
            "import", str(documents), "--template-dir", str(templates), "--ehr-per-file", "--db", db
        )
    assert code == 1
    assert "_non_existing_code.json:" in err and "CODE_NOT_IN_VALUE_SET" in err
    assert "imported 1 composition(s) into 1 EHR(s); skipped 1" in err


def test_serve_refuses_to_start_with_a_terminology_client_that_cannot_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A half-configured OAuth client for the terminology server stops ``cdr serve`` before it listens,
    naming the missing setting, instead of turning every later commit into a 503."""
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", "https://terminologi.example.no/fhir")
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_TOKEN_URL", "https://helseid-sts.nhn.no/connect/token")
    code, _, err = run("serve", "--port", "0", "--db", "sqlite://")
    assert code == 2
    assert "needs CDR_FHIR_TERMINOLOGY_CLIENT_ID" in err
