"""Cross-origin requests: off by default; with ``CORS_ORIGINS`` the allowed origins get the CORS headers, a
preflight passes without credentials, and the request after it is authenticated and audited as any other."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from cdr.api import create_app
from cdr.api.cors import EXPOSED_HEADERS
from cdr.security import AuthConfig
from cdr.storage import Storage
from tests.api.conftest import BASE, Api, assert_error
from tests.security.conftest import AUDIENCE, ISSUER

APP_ORIGIN = "https://journal.kommune.example"
PORTAL = "https://helsenorge.example"
OTHER = "https://evil.example"
SECRET = "a test secret of more than thirty-two bytes"


def _app(storage: Storage, **config: object) -> Flask:
    return create_app({"STORAGE": storage, "TESTING": True, **config})


def test_no_cors_headers_unless_configured(storage: Storage) -> None:
    api = Api(_app(storage))
    response = api.post("/ehr", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 201
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = api.client.options(
        f"{BASE}/ehr", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_an_allowed_origin_reads_the_answer_and_its_headers(storage: Storage) -> None:
    api = Api(_app(storage, CORS_ORIGINS=f"{APP_ORIGIN}, {PORTAL}/"))
    response = api.post("/ehr", headers={"Origin": PORTAL, "Prefer": "return=minimal"})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Origin" in response.headers["Vary"]
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {h.lower() for h in EXPOSED_HEADERS} <= exposed
    assert {"etag", "location"} <= exposed
    other = api.post("/ehr", headers={"Origin": OTHER})
    assert other.status_code == 201  # CORS is the browser's check: the server only withholds the headers
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.fixture
def secured(storage: Storage) -> Flask:
    auth = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], algorithms=["HS256"], hmac_secret=SECRET)
    return _app(storage, AUTH=auth, CORS_ORIGINS=APP_ORIGIN)


def test_a_preflight_passes_without_credentials_and_the_request_still_needs_them(secured: Flask) -> None:
    client = secured.test_client()
    path = f"{BASE}/ehr/{uuid.uuid4()}/composition"
    preflight = client.options(
        path,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, prefer, openehr-template_id",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "openehr-template_id" in allowed
    assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    request = client.post(path, json={}, headers={"Origin": APP_ORIGIN})
    assert_error(request, 401)
    assert request.headers["Access-Control-Allow-Origin"] == APP_ORIGIN  # the app can read the 401
    rows = secured.extensions["cdr_audit"].records()
    assert all(r["method"] != "OPTIONS" for r in rows)  # a preflight touches no record


def test_an_options_request_without_preflight_headers_is_still_authenticated(secured: Flask) -> None:
    client = secured.test_client()
    response = client.options(f"{BASE}/ehr/{uuid.uuid4()}", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 401


def test_origins_setting() -> None:
    from cdr.api.cors import origins

    assert origins(" https://a.example ,https://b.example/ ,") == ["https://a.example", "https://b.example"]
    assert origins("*") == ["*"]
    assert origins(None) == []
