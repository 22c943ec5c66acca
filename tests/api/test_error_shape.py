"""Every error path answers with the one JSON error shape (``cdr.api.errors.error_body``), status by type."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import NB_TEMPLATE, Api, assert_error

MISSING = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:cdr:test:missing"))  # fixed: ids equal on every worker
VERSION = f"{MISSING}::test.cdr::1"
JSON = {"content_type": "application/json"}

# (method, path, request options, expected status): at least one error of each endpoint and status kind
CASES: list[tuple[str, str, dict[str, object], int]] = [
    ("GET", "/nowhere", {}, 404),
    ("PATCH", "/ehr", {}, 405),
    ("POST", "/ehr", {"data": "{", **JSON}, 400),
    ("POST", "/ehr", {"data": "x", "content_type": "text/plain"}, 415),
    ("PUT", "/ehr/not-a-uuid", {}, 400),
    ("GET", f"/ehr/{MISSING}", {}, 404),
    ("GET", "/ehr?subject_id=x", {}, 400),
    ("GET", f"/ehr/{MISSING}/ehr_status", {}, 404),
    ("GET", f"/ehr/{MISSING}/ehr_status/{VERSION}", {}, 404),
    ("PUT", f"/ehr/{MISSING}/ehr_status", {"data": "{}", **JSON}, 400),
    ("GET", f"/ehr/{MISSING}/versioned_ehr_status", {}, 404),
    ("GET", f"/ehr/{MISSING}/versioned_ehr_status/revision_history", {}, 404),
    ("GET", f"/ehr/{MISSING}/versioned_ehr_status/version?version_at_time=yesterday", {}, 400),
    ("GET", f"/ehr/{MISSING}/versioned_ehr_status/version/{VERSION}", {}, 404),
    ("POST", f"/ehr/{MISSING}/composition", {"data": "{}", **JSON}, 404),
    ("POST", f"/ehr/{MISSING}/composition", {"data": "{}", "headers": {"Accept": "text/csv"}}, 406),
    ("GET", f"/ehr/{MISSING}/composition/{VERSION}", {}, 404),
    ("PUT", f"/ehr/{MISSING}/composition/{MISSING}", {"data": "{}", **JSON}, 400),
    ("DELETE", f"/ehr/{MISSING}/composition/{VERSION}", {}, 404),
    ("GET", f"/ehr/{MISSING}/composition/{VERSION}/tags", {}, 404),
    ("PUT", f"/ehr/{MISSING}/composition/{VERSION}/tags", {"data": "{}", **JSON}, 400),
    ("DELETE", f"/ehr/{MISSING}/composition/{VERSION}/tags/flag", {}, 404),
    ("GET", f"/ehr/{MISSING}/ehr_status/{VERSION}/tags", {}, 404),
    ("PUT", f"/ehr/{MISSING}/ehr_status/{VERSION}/tags", {"data": "[]", "content_type": "text/plain"}, 415),
    ("DELETE", f"/ehr/{MISSING}/ehr_status/{VERSION}/tags/flag", {}, 404),
    ("GET", f"/ehr/{MISSING}/tags", {}, 404),
    ("GET", f"/ehr/{MISSING}/composition/{VERSION}/item_tag", {}, 404),
    ("PUT", f"/ehr/{MISSING}/composition/{VERSION}/item_tag", {"data": "[]", **JSON}, 422),
    ("DELETE", f"/ehr/{MISSING}/composition/{VERSION}/item_tag", {"data": '["x"]', **JSON}, 400),
    ("GET", f"/ehr/{MISSING}/ehr_status/{VERSION}/item_tag", {"query_string": {"ids": "x"}}, 400),
    ("PUT", f"/ehr/{MISSING}/ehr_status/{VERSION}/item_tag", {"data": "{}", **JSON}, 400),
    ("DELETE", f"/ehr/{MISSING}/ehr_status/{VERSION}/item_tag", {"data": "[]", **JSON}, 422),
    ("GET", f"/ehr/{MISSING}/versioned_composition/{MISSING}", {}, 404),
    ("GET", f"/ehr/{MISSING}/versioned_composition/{MISSING}/revision_history", {}, 404),
    ("GET", f"/ehr/{MISSING}/versioned_composition/{MISSING}/version", {}, 404),
    ("GET", f"/ehr/{MISSING}/versioned_composition/{MISSING}/version/{VERSION}", {}, 404),
    ("POST", f"/ehr/{MISSING}/directory", {"data": '{"_type": "FOLDER"}', **JSON}, 404),
    ("PUT", f"/ehr/{MISSING}/directory", {"data": "{}", **JSON}, 400),
    ("DELETE", f"/ehr/{MISSING}/directory", {"headers": {"If-Match": VERSION}}, 404),
    ("GET", f"/ehr/{MISSING}/directory", {}, 404),
    ("GET", f"/ehr/{MISSING}/directory/{VERSION}", {}, 404),
    ("POST", f"/ehr/{MISSING}/contribution", {"data": "{}", **JSON}, 404),
    ("GET", f"/ehr/{MISSING}/contribution/{MISSING}", {}, 404),
    ("POST", "/definition/template/adl1.4", {"data": "<x/>", **JSON}, 415),
    ("POST", "/definition/template/adl1.4", {"data": "<x/>", "content_type": "application/xml"}, 400),
    ("GET", "/definition/template/adl1.4/nope", {}, 404),
    ("GET", "/definition/template/adl1.4/nope/example", {}, 404),
    ("GET", "/query/aql?q=SELEC", {}, 400),
    ("POST", "/query/aql", {"json": {"q": "SELECT c FROM COMPOSITION c LIMIT 1", "fetch": 1}}, 422),
    ("GET", "/query/nope::q", {}, 404),
    ("POST", "/query/nope::q", {}, 404),
    ("GET", "/query/nope::q/1.0.0", {}, 404),
    ("POST", "/query/nope::q/x.y", {}, 400),
    ("PUT", "/definition/query/org.x::q", {"data": "SELEC", "content_type": "text/plain"}, 400),
    ("PUT", "/definition/query/org.x::q/1", {"data": "x", "content_type": "application/xml"}, 415),
    ("GET", "/definition/query/bad%20name", {}, 400),
    ("GET", "/definition/query/nope::q/1.2.3", {}, 404),
    ("POST", "/security/ehr/not-a-uuid/care_relation", {"json": {}}, 400),
    ("GET", "/security/ehr/not-a-uuid/care_relation", {}, 400),
    ("DELETE", f"/security/ehr/{MISSING}/care_relation/{MISSING}", {}, 404),
    ("POST", f"/security/ehr/{MISSING}/restriction", {"json": {"party_kind": "unit"}}, 400),
    ("POST", f"/security/ehr/{MISSING}/block", {"json": {"party_kind": "everyone"}}, 400),
    ("POST", f"/security/ehr/{MISSING}/consent", {"json": {"valid_to": "x"}}, 400),
    ("GET", "/security/ehr/not-a-uuid/patient_control", {}, 400),
    ("DELETE", f"/security/ehr/{MISSING}/patient_control/{MISSING}", {}, 404),
    ("GET", "/security/ehr/not-a-uuid/access_log", {}, 400),
    ("DELETE", f"/admin/ehr/{MISSING}", {}, 404),
    ("DELETE", f"/admin/ehr/{MISSING}/composition/{MISSING}", {}, 404),
    ("DELETE", f"/admin/ehr/{MISSING}/directory/{MISSING}", {}, 404),
    ("DELETE", "/admin/template/nope", {}, 404),
    (
        "PUT",
        "/admin/template/nope",
        {"data": NB_TEMPLATE.read_bytes(), "content_type": "application/xml"},
        400,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_error_shape(api: Api, method: str, path: str, options: dict[str, object], status: int) -> None:
    assert_error(api.request(method, path, **options), status)


def test_every_route_has_an_error_case(api: Api) -> None:
    """The table above covers every endpoint of the openEHR and admin APIs."""
    import re

    covered = set()
    for method, path, _, _ in CASES:
        for rule in api.app.url_map.iter_rules():
            pattern = "^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule.removeprefix("/openehr/v1")) + "$"
            if method in (rule.methods or set()) and re.match(pattern, path.split("?")[0]):
                covered.add((method, rule.rule))
    expected = {
        (method, rule.rule)
        for rule in api.app.url_map.iter_rules()
        if rule.rule.startswith("/openehr/v1/") and not rule.rule.endswith("/health")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    no_client_errors = {  # listings cannot fail but with 500
        ("GET", "/openehr/v1/definition/template/adl1.4"),
        ("GET", "/openehr/v1/definition/query"),
    }
    assert expected - covered == no_client_errors


def test_unexpected_errors_are_500_in_the_same_shape(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdr.services import ehr

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(ehr, "get_ehr", boom)
    body = assert_error(api.get(f"/ehr/{MISSING}"), 500)
    assert "fire" not in body["message"]
