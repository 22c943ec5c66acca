"""openEHR headers with underscores in their names reach the app through waitress, as ``cdr serve`` runs it.

The flask test client hands headers straight to the app, so only a real HTTP server shows whether
``openEHR-TEMPLATE_ID``, ``openEHR-AUDIT_DETAILS`` and ``openEHR-VERSION.lifecycle_state`` arrive: waitress
drops header names with ``_`` unless :mod:`cdr.server_headers` spells them with ``-`` first. On SQLite and
PostgreSQL (the ``app`` fixture), served by :func:`cdr.server.listen` on a free port in a thread.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from cdr.api import create_app
from cdr.server import _close, listen
from cdr.server_headers import openehr_names
from cdr.storage import Storage
from tests.api.conftest import BASE, FLAT, NB_TEMPLATE, NB_TEMPLATE_ID, shipped


class Http:
    def __init__(self, port: int) -> None:
        self.port = port

    def __call__(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, BASE + path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()


@contextmanager
def _running(server: Any) -> Iterator[None]:
    """``server`` looping in a thread until the block ends. Closing its sockets from this thread can catch the
    loop inside ``select()`` on them (EBADF): expected then, not a failure of the code under test."""
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        _close(server)
        thread.join(10)


@pytest.fixture
def served(app: Flask) -> Iterator[Http]:
    server = listen(app, threads=2, port=0)
    with _running(server):
        yield Http(int(server.effective_port))


def _ehr(http: Http) -> str:
    status, headers, _ = http("POST", "/ehr")
    assert status == 201
    return headers["location"].rsplit("/", 1)[1]


def _upload(http: Http) -> None:
    status, _, body = http(
        "POST", "/definition/template/adl1.4", NB_TEMPLATE.read_bytes(), {"Content-Type": "application/xml"}
    )
    assert status == 201, body[:300]


def _flat_example(http: Http) -> bytes:
    status, _, body = http("GET", f"/definition/template/adl1.4/{NB_TEMPLATE_ID}/example?format=FLAT")
    assert status == 200, body[:300]
    return body


def test_flat_commit_reads_the_template_id_header(served: Http) -> None:
    _upload(served)
    ehr = _ehr(served)
    headers = {
        "Content-Type": FLAT,
        "Accept": FLAT,
        "openEHR-TEMPLATE_ID": NB_TEMPLATE_ID,
        "Prefer": "return=representation",
    }
    status, _, body = served("POST", f"/ehr/{ehr}/composition", _flat_example(served), headers)
    assert status == 201, body[:300]
    assert any(key.endswith("/_uid") for key in json.loads(body))


def test_audit_details_and_lifecycle_headers_are_recorded(served: Http) -> None:
    _upload(served)
    ehr = _ehr(served)
    headers = {
        "Content-Type": "application/json",
        "openEHR-AUDIT_DETAILS": 'committer.name="Dr. Underscore"',
        "openEHR-VERSION.lifecycle_state": 'code_string="553"',
    }
    status, answer, body = served(
        "POST", f"/ehr/{ehr}/composition", json.dumps(shipped("valid_normal.json")).encode(), headers
    )
    assert status == 201, body[:300]
    vo = answer["etag"].strip('"').split("::")[0]
    status, _, body = served("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version")
    version: dict[str, Any] = json.loads(body)
    assert version["commit_audit"]["committer"]["name"] == "Dr. Underscore"
    assert version["lifecycle_state"]["defining_code"]["code_string"] == "553"


def test_utf8_header_text_arrives_as_written(served: Http) -> None:
    """UTF-8 in a committer name and in an item tag, sent as bytes over the wire: recorded as written, and
    the tag confirmed in the answer in the same bytes."""
    _upload(served)
    ehr = _ehr(served)
    tag = 'key="merknad",value="Åse Ødegård"'
    headers: dict[str, Any] = {
        "Content-Type": "application/json",
        "openEHR-AUDIT_DETAILS": 'committer.name="Åse Ødegård"'.encode(),
        "openehr-version-item-tag": tag.encode(),
    }
    status, answer, body = served(
        "POST", f"/ehr/{ehr}/composition", json.dumps(shipped("valid_normal.json")).encode(), headers
    )
    assert status == 201, body[:300]
    assert answer["openehr-version-item-tag"].encode("latin-1").decode() == tag
    uid = answer["etag"].strip('"')
    _, _, body = served("GET", f"/ehr/{ehr}/versioned_composition/{uid.split('::')[0]}/version")
    assert json.loads(body)["commit_audit"]["committer"]["name"] == "Åse Ødegård"
    _, _, body = served("GET", f"/ehr/{ehr}/composition/{uid}/tags")
    assert json.loads(body)[0]["value"] == "Åse Ødegård"


def test_1_0_3_committer_spelling_is_recorded(served: Http) -> None:
    _upload(served)
    ehr = _ehr(served)
    headers = {"Content-Type": "application/json", "openEHR-AUDIT_DETAILS.committer": 'name="Dr. Dotted"'}
    status, answer, body = served(
        "POST", f"/ehr/{ehr}/composition", json.dumps(shipped("valid_normal.json")).encode(), headers
    )
    assert status == 201, body[:300]
    vo = answer["etag"].strip('"').split("::")[0]
    _, _, body = served("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version")
    assert json.loads(body)["commit_audit"]["committer"]["name"] == "Dr. Dotted"


def test_only_openehr_header_names_are_respelled() -> None:
    head = b"\r\n".join(
        [
            b"POST /x HTTP/1.1",
            b"openEHR-TEMPLATE_ID: a_b",
            b"X_Forwarded_For: 1.2.3.4",
            b"OPENEHR-AUDIT_DETAILS: c",
        ]
    )
    out = openehr_names(head).split(b"\r\n")
    assert out[0] == b"POST /x HTTP/1.1"
    assert out[1] == b"openEHR-TEMPLATE-ID: a_b"  # the value keeps its underscore
    assert out[2] == b"X_Forwarded_For: 1.2.3.4"  # still dropped by waitress, as before
    assert out[3] == b"OPENEHR-AUDIT-DETAILS: c"


def test_forwarded_host_proto_port_shape_location_through_waitress(storage: Storage) -> None:
    """X-Forwarded-Host/-Port/-Proto make Location ``https://example.com:333/...`` (EHRbase's suites): with
    PROXY_FIX through the app's ProxyFix, without it from a loopback peer only (this test's client)."""
    forwarded = {"X-Forwarded-Host": "example.com", "X-Forwarded-Port": "333", "X-Forwarded-Proto": "https"}
    for proxy_fix in (True, False):
        app = create_app({"STORAGE": storage, "TESTING": True, "PROXY_FIX": proxy_fix})
        server = listen(app, threads=1, port=0)
        with _running(server):
            http = Http(int(server.effective_port))
            status, headers, _ = http("POST", "/ehr", headers=forwarded)
            _, plain, _ = http("POST", "/ehr")
        assert status == 201
        assert headers["location"].startswith("https://example.com:333/openehr/v1/ehr/"), (proxy_fix, headers)
        assert plain["location"].startswith(f"http://127.0.0.1:{http.port}/openehr/v1/ehr/")
