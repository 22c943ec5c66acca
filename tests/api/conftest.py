"""API fixtures: every test gets a fresh app over SQLite and over PostgreSQL (the storage tests' databases).

``api`` wraps the flask test client with the base path and the few steps most tests start from (upload a
template, create an EHR, commit a composition).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from werkzeug.test import TestResponse

from cdr.api import create_app
from cdr.storage import Storage
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

REPO = Path(__file__).resolve().parents[2]
BASE = "/openehr/v1"
NB_TEMPLATE = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
EN_TEMPLATE = REPO / "templates" / "municipal_vital_signs_news2.en.opt"
NB_TEMPLATE_ID = "kommunal_vitalparametre_news2.nb.v1"
COMPOSITIONS = REPO / "tests" / "data" / "compositions"
ROOT_FOLDER = {
    "_type": "FOLDER",
    "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
    "name": {"_type": "DV_TEXT", "value": "root"},
}
"""A directory's root FOLDER, the smallest one a POST .../directory takes."""
EHR_STATUS_NB = REPO / "tests" / "data" / "ehr_status" / "ehr_status_nb.json"
FLAT = "application/openehr.wt.flat+json"
STRUCTURED = "application/openehr.wt.structured+json"


class Api:
    """The test client below the openEHR base path, with setup helpers."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        return self.client.open(BASE + path, method=method, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def upload(self, opt: Path | bytes = NB_TEMPLATE) -> TestResponse:
        data = opt.read_bytes() if isinstance(opt, Path) else opt
        response = self.post("/definition/template/adl1.4", data=data, content_type="application/xml")
        assert response.status_code in (201, 409), response.json
        return response

    def new_ehr(self, status: dict[str, Any] | None = None) -> str:
        kwargs: dict[str, Any] = {} if status is None else {"json": status}
        response = self.post("/ehr", **kwargs)
        assert response.status_code == 201, response.json
        return str(response.headers["Location"]).rsplit("/", 1)[1]

    def commit(self, ehr_id: str, composition: str | bytes | dict[str, Any] = "valid_normal.json") -> str:
        """Commit a canonical JSON composition (a shipped file name, text or document); its version uid."""
        if isinstance(composition, dict):
            body: str | bytes = json.dumps(composition)
        elif isinstance(composition, str) and composition.endswith(".json"):
            body = (COMPOSITIONS / composition).read_text(encoding="utf-8")
        else:
            body = composition
        response = self.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json")
        assert response.status_code == 201, response.json
        return etag(response)


def etag(response: TestResponse) -> str:
    return str(response.headers["ETag"]).strip('"')


def shipped(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((COMPOSITIONS / name).read_text(encoding="utf-8"))
    return doc


def assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    """The single error shape, with ``status``; returns the body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.json
    assert isinstance(body, dict)
    assert set(body) == {"error", "status", "message", "details", "validationErrors"}
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    for detail in body["details"]:
        assert {"path", "code", "message"} <= set(detail)
    assert len(body["validationErrors"]) == len(body["details"])
    assert all(isinstance(text, str) and text for text in body["validationErrors"])
    return body


@pytest.fixture
def storage(engine: Engine) -> Storage:  # noqa: F811
    return Storage(engine, system_id="test.cdr")


@pytest.fixture
def app(storage: Storage) -> Iterator[Flask]:
    yield create_app({"STORAGE": storage, "TESTING": True})


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app)


@pytest.fixture
def nb_api(api: Api) -> Api:
    """An api with the shipped Norwegian template uploaded."""
    api.upload()
    return api
