"""The app factory: configuration, migrations on start, system endpoints, the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from cdr.api import create_app
from cdr.api.config import SETTINGS, external_terminology, load
from cdr.api.openapi import undocumented
from tests.api.conftest import BASE, Api


def test_database_url_from_environment_and_migrated_on_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env" / "cdr.db"
    monkeypatch.setenv("CDR_DATABASE_URL", f"sqlite:///{db}")
    app = create_app()
    assert db.is_file()
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"ehr", "object_version", "template", "alembic_version"} <= tables
    assert app.test_client().post(f"{BASE}/ehr").status_code == 201


def test_the_terminology_server_settings_configure_the_external_value_set_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert external_terminology(load()) is None  # off by default
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", "https://tx.example.org/fhir/")
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_FAIL_ON_ERROR", "true")
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_TIMEOUT_MS", "1500")
    configured = external_terminology(load({"FHIR_TERMINOLOGY_CACHE_S": 0}))
    assert configured is not None
    assert configured.fail_on_error is True
    assert configured.server.base_url == "https://tx.example.org/fhir"
    assert (configured.server.timeout, configured.server.ttl, configured.server.pause) == (1.5, 0, 30)


def test_config_mapping_overrides_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDR_SYSTEM_ID", "from.env")
    monkeypatch.setenv("CDR_STRICT_JSON", "true")
    values = load({"SYSTEM_ID": "from.config"})
    assert values["SYSTEM_ID"] == "from.config"
    assert values["STRICT_JSON"] is True
    assert {s.name for s in SETTINGS} <= set(values)


def test_system_id_in_version_uids(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SYSTEM_ID": "my.cdr"})
    response = app.test_client().post(f"{BASE}/ehr", headers={"Prefer": "return=representation"})
    assert response.json["system_id"]["value"] == "my.cdr"
    assert response.json["ehr_status"]["id"]["value"].endswith("::my.cdr::1")


def test_options_lists_capabilities(api: Api) -> None:
    response = api.client.options(BASE)
    assert response.status_code == 200
    body = response.json
    assert body["restapi_specs_version"] == "1.0.3"
    assert f"{BASE}/ehr/<ehr_id>/composition" in body["endpoints"]


def test_health(api: Api) -> None:
    for path in ("/health", f"{BASE}/health"):
        response = api.client.get(path)
        assert response.status_code == 200
        assert response.json == {"status": "ok", "database": "ok"}


def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"})
    from cdr.api import services

    with app.app_context():
        services().storage.engine.dispose()
        (tmp_path / "h.db").unlink()
        (tmp_path / "h.db").mkdir()  # a directory where the file was: no database can be opened
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_openapi_describes_every_route(api: Api) -> None:
    assert undocumented(api.app) == []
    doc = api.client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.0")
    routes = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in api.app.url_map.iter_rules()
        if rule.endpoint != "static"
    }
    assert routes == set(doc["paths"])
    create = doc["paths"][f"{BASE}/ehr/{{ehr_id}}/composition"]["post"]
    assert {"201", "400", "404", "409", "422", "503"} <= set(create["responses"])
    assert "delete" in doc["paths"][f"{BASE}/admin/ehr/{{ehr_id}}"]
