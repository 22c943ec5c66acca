"""The server against the ITS-REST 1.0.3 OpenAPI documents (EHR and DEFINITION), with schemathesis in-process.

For every operation the documents describe, schemathesis generates requests from the spec; path ids,
``If-Match`` and subject queries are drawn half from real ids (a template, an EHR with a subject, a
composition in two versions, a directory, a contribution) so that deep paths answer 200 as well as 404.
Every answer must pass: no 5xx, a documented status code, a documented Content-Type, the documented
response schema and headers. The spec changes made first (each with its reason) are in :mod:`.overlay`.
On SQLite and PostgreSQL; the number of examples is bounded so that the whole run takes about a minute.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.api.conftest import BASE, COMPOSITIONS, NB_TEMPLATE, NB_TEMPLATE_ID, Api, etag
from tests.compat import overlay
from tests.corpus import CORPUS, require_corpus

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is a dev dependency (pip install -e .[dev])"
)
from schemathesis import checks as core_checks  # noqa: E402
from schemathesis.specs.openapi import checks as openapi_checks  # noqa: E402

OAS = CORPUS / "openEHR-specifications-ITS-REST" / "Release-1.0.3" / "computable" / "OAS"
SPECS = ("ehr-validation.openapi.yaml", "definition-validation.openapi.yaml")
MAX_EXAMPLES = 12
CHECKS = [
    core_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
]
BODY_CHECKS = (openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance)
UNSUPPORTED = {
    "POST /definition/template/adl2": "ADL 2 templates are not supported (OPT 1.4 only, as EHRbase)",
    "GET /definition/template/adl2": "ADL 2 templates are not supported",
    "GET /definition/template/adl2/{template_id}": "ADL 2 templates are not supported",
    "GET /definition/template/adl2/{template_id}/{version}": "ADL 2 templates are not supported",
}
SUBJECT = {"id": "compat-subject-1", "namespace": "compat.test"}


@dataclass
class Seed:
    """Real ids to draw from, so that generated requests also reach existing resources."""

    api: Api
    ehr_id: str
    status_uid: str
    composition_uid: str
    folder_uid: str
    contribution_uid: str

    @property
    def composition_id(self) -> str:
        return self.composition_uid.split("::", 1)[0]

    def latest(self, path: str) -> str:
        """The current ETag of the resource a PUT or DELETE addresses (read now: earlier cases change it)."""
        response = self.api.get(path)
        return str(response.headers.get("ETag") or '"none"')

    def path_values(self, op_path: str, name: str) -> list[str]:
        if name == "ehr_id":
            return [self.ehr_id]
        if name == "template_id":
            return [NB_TEMPLATE_ID]
        if name in ("uid_based_id", "versioned_object_uid"):
            return [self.composition_uid, self.composition_id]
        if name == "contribution_uid":
            return [self.contribution_uid]
        if name == "version_uid":
            if "ehr_status" in op_path:
                return [self.status_uid]
            if "directory" in op_path:
                return [self.folder_uid]
            return [self.composition_uid]
        if name == "qualified_query_name":
            return ["org.example::compat"]
        return []


def _status(subject: dict[str, str]) -> dict[str, Any]:
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR Status"},
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": subject["id"], "scheme": "id_scheme"},
                "namespace": subject["namespace"],
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": True,
    }


def _seed(api: Api) -> Seed:
    api.upload(NB_TEMPLATE)
    ehr_id = api.new_ehr(_status(SUBJECT))
    status_uid = etag(api.get(f"/ehr/{ehr_id}/ehr_status"))
    first = api.commit(ehr_id)
    body = (COMPOSITIONS / "valid_high_risk.json").read_text(encoding="utf-8")
    updated = api.put(
        f"/ehr/{ehr_id}/composition/{first.split('::')[0]}",
        data=body,
        content_type="application/json",
        headers={"If-Match": f'"{first}"'},
    )
    assert updated.status_code == 200, updated.json
    folder = api.post(
        f"/ehr/{ehr_id}/directory",
        json={
            "_type": "FOLDER",
            "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
            "name": {"_type": "DV_TEXT", "value": "root"},
        },
    )
    assert folder.status_code == 201, folder.json
    version = api.get(f"/ehr/{ehr_id}/versioned_composition/{first.split('::')[0]}/version/{first}").json
    assert isinstance(version, dict)
    contribution_uid = version["contribution"]["id"]["value"]
    return Seed(api, ehr_id, status_uid, etag(updated), etag(folder), contribution_uid)


def _composition_bodies() -> list[Any]:
    """Valid, invalid and broken compositions: what COMPOSITION writes are sent instead of generated ones."""
    names = sorted(p.name for p in COMPOSITIONS.glob("*.json") if not p.name.endswith(".expected.json"))
    documents: list[Any] = [json.loads((COMPOSITIONS / n).read_text(encoding="utf-8")) for n in names]
    return [*documents, {}, {"_type": "COMPOSITION"}, {"_type": "EHR_STATUS"}, [1, 2]]


BODIES = _composition_bodies()


def _wants_representation(case: Any) -> bool:
    return "representation" in str((case.headers or {}).get("Prefer", ""))


def _run_operation(
    app: Flask, seed: Seed, operation: Any, failures: Counter[str], examples: dict[str, str]
) -> None:
    real_body = (operation.path, operation.method.lower()) in overlay.COMPOSITION_WRITES
    path_names = [p.name for p in operation.path_parameters] if operation.path_parameters else []

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for name in path_names:
            real = seed.path_values(operation.path, name)
            use_real: bool = data.draw(st.booleans(), label=f"real {name}")
            if real and use_real:
                case.path_parameters[name] = data.draw(st.sampled_from(real), label=name)
        if operation.path == "/ehr" and operation.method.lower() == "get" and data.draw(st.booleans()):
            case.query = {"subject_id": SUBJECT["id"], "subject_namespace": SUBJECT["namespace"]}
        if case.headers and "If-Match" in case.headers and data.draw(st.booleans(), label="current If-Match"):
            target = operation.path.format(**case.path_parameters).removesuffix("/")
            case.headers["If-Match"] = seed.latest(target)
        if real_body:
            case.body = data.draw(st.sampled_from(BODIES), label="composition")
        response = case.call()
        checks = CHECKS
        if response.status_code in (200, 201) and not response.content and not _wants_representation(case):
            checks = [c for c in CHECKS if c not in BODY_CHECKS]  # overlay.PREFER_MINIMAL
        try:
            case.validate_response(response, checks=checks)
        except BaseException as exc:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
            for failure in getattr(exc, "exceptions", [exc]):
                key = f"{operation.label}: {type(failure).__name__}: {str(failure).splitlines()[0]}"
                failures[key] += 1
                examples.setdefault(key, f"{str(failure)[:1200]}\n{case.as_curl_command()[:400]}")

    run()


def _loopback(app: Flask) -> Any:
    """The app as a loopback client reaches it (flask's test client says 127.0.0.1; schemathesis says
    nothing, and a server without authentication serves loopback clients only)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        return app(environ, start_response)

    return wsgi


@pytest.mark.corpus
@pytest.mark.parametrize("spec_name", SPECS)
def test_server_conforms_to_its_rest_openapi(spec_name: str, api: Api, app: Flask) -> None:
    require_corpus()
    spec = overlay.load(OAS / spec_name)
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = _loopback(app)
    schema.config.base_url = f"http://localhost{BASE}"
    seed = _seed(api)
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in UNSUPPORTED:
            response = api.request(
                operation.method.upper(), operation.path.format(template_id="x", version="1")
            )
            assert response.status_code in (404, 405), (operation.label, response.status_code)
            continue
        _run_operation(app, seed, operation, failures, examples)
        ran.append(operation.label)
    assert ran, "no operation was checked"
    report = "\n\n".join(f"{count}x {key}\n{examples[key]}" for key, count in failures.most_common())
    assert not failures, f"{len(failures)} kinds of non-conformance:\n{report}"


def test_overlay_changes_only_what_it_documents() -> None:
    """Each fix names its reason, and the general statuses are added only where an operation lacks them."""
    require_corpus()
    assert all(fix.reason and fix.name for fix in overlay.SPEC_FIXES)
    raw = overlay.yaml.safe_load((OAS / SPECS[0]).read_text(encoding="utf-8"))
    fixed = overlay.load(OAS / SPECS[0], speed=False)
    op = fixed["paths"]["/ehr/{ehr_id}"]["get"]
    assert set(op["responses"]) == {"200", "404", "400", "406"}
    assert (
        fixed["paths"]["/ehr"]["post"]["responses"]["400"] == raw["paths"]["/ehr"]["post"]["responses"]["400"]
    )
    assert "415" in fixed["paths"]["/ehr"]["post"]["responses"]
    assert (
        fixed["paths"]["/ehr/{ehr_id}/composition"]["post"]["requestBody"]
        == raw["paths"]["/ehr/{ehr_id}/composition"]["post"]["requestBody"]
    )
    paths = fixed["paths"]
    assert "409" in paths["/ehr/{ehr_id}/composition"]["post"]["responses"]  # a read-only EHR
    assert "409" in paths["/ehr/{ehr_id}/directory"]["delete"]["responses"]
    assert "409" not in paths["/ehr/{ehr_id}/ehr_status"]["put"]["responses"]  # how it becomes writable again
