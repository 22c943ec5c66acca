"""The policy's remaining rules through REST and AQL, on SQLite and PostgreSQL: a purpose attested in the
token, what the patient's access log shows (consent overrides marked, system-internal accesses left out),
and AQL honouring composition and template restrictions and blocks inside its one statement (rows,
counts)."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.test import TestResponse

from cdr.security.helseid import HPR_NUMBER, ORGNR_CHILD, ORGNR_PARENT
from cdr.storage import Storage
from tests.api.conftest import assert_error, etag
from tests.security import test_api_security as world
from tests.security.test_api_security import (
    CLINICAL,
    NURSE_HPR,
    OTHER_PATIENT,
    PATIENT,
    SELF,
    STRANGER_HPR,
    UNIT,
    Client,
    Record,
    token,
)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

api, app, record, storage = world.api, world.app, world.record, world.storage  # the API world's fixtures

ORG = world.ORG
NURSE_Q = token(
    [*CLINICAL, "cdr/query"],
    sub="nurse",
    name="Nina Sykepleier",
    **{HPR_NUMBER: NURSE_HPR, ORGNR_PARENT: ORG, ORGNR_CHILD: UNIT},
)


def _purpose(patient: str) -> list[dict[str, str]]:
    return [
        {
            "type": "cdr_patient_purpose",
            "purpose": "TREAT",
            "text": "oppfølging etter utskrivning",
            "patient": patient,
        }
    ]


def test_a_purpose_attested_for_the_patient_opens_the_record(api: Client, record: Record) -> None:
    attested = token(
        CLINICAL,
        sub="gp",
        name="Fastlege",
        **{HPR_NUMBER: STRANGER_HPR},
        authorization_details=_purpose(PATIENT),
    )
    elsewhere = token(
        CLINICAL, sub="gp2", **{HPR_NUMBER: STRANGER_HPR}, authorization_details=_purpose(OTHER_PATIENT)
    )
    assert (
        api.call("GET", f"/ehr/{record.ehr_id}/composition/{record.version_uid}", attested).status_code == 200
    )
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", elsewhere), 403)  # bound to that patient only
    allowed, refused = api.audit(actor_hpr=STRANGER_HPR)
    assert allowed["basis"] == "attested_purpose" and "TREAT" in allowed["purpose"]
    assert refused["outcome"] == "denied"
    log = api.call("GET", f"/security/ehr/{record.ehr_id}/access_log", SELF).json
    assert [e["basis"] for e in log if e["actor"]["hpr_number"] == STRANGER_HPR] == ["attested_purpose"]


def test_the_access_log_marks_consent_and_leaves_out_system_accesses(api: Client, record: Record) -> None:
    controls = f"/security/ehr/{record.ehr_id}"
    restriction = api.call(
        "POST", f"{controls}/restriction", SELF, json={"party_kind": "unit", "party": UNIT}
    )
    consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": restriction.json["control_id"]}
    assert api.call("POST", f"{controls}/consent", SELF, json=consent).status_code == 201
    assert api.call("GET", f"/ehr/{record.ehr_id}", world.NURSE).status_code == 200
    # a system acting for no organisation and no person (an integration with an attested purpose)
    system = token(
        CLINICAL, sub="integration", client_id="eresept-sync", authorization_details=_purpose(PATIENT)
    )
    assert api.call("GET", f"/ehr/{record.ehr_id}", system).status_code == 200
    assert api.audit(actor_subject="integration")[-1]["internal"] is True
    log = api.call("GET", f"{controls}/access_log", SELF).json
    assert not [e for e in log if e["actor"]["client"] == "eresept-sync"]
    nurse = [e for e in log if e["actor"]["hpr_number"] == NURSE_HPR]
    assert nurse[-1]["consent_override"] is True and not any(e["consent_override"] for e in nurse[:-1])
    assert not [e for e in log if e["operation"].startswith("security:")]  # managing controls is not access


def _aql(api: Client, q: str) -> TestResponse:
    return api.call("POST", "/query/aql", NURSE_Q, json={"q": q})


def _uids(answer: TestResponse) -> set[str]:
    assert answer.status_code == 200, answer.json
    return {str(row[0]).split("::")[0] for row in answer.json["rows"]}


def _count(api: Client) -> int:
    answer = _aql(api, "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c")
    assert answer.status_code == 200, answer.json
    return int(answer.json["rows"][0][0])


ROWS = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"
OBSERVED = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o WHERE EXISTS o/data"


def test_aql_honours_restrictions_and_blocks_in_its_statement(api: Client, record: Record) -> None:
    posted = api.call(
        "POST",
        f"/ehr/{record.ehr_id}/composition",
        world.NURSE,
        data=record.body,
        content_type="application/json",
    )
    second = etag(posted).split("::")[0]
    assert _uids(_aql(api, ROWS)) == {record.object_id, second} and _count(api) == 2
    controls = f"/security/ehr/{record.ehr_id}"
    one = {"target_kind": "composition", "target": record.object_id}
    assert api.call("POST", f"{controls}/restriction", SELF, json=one).status_code == 201
    assert _uids(_aql(api, ROWS)) == {second} and _uids(_aql(api, OBSERVED)) <= {second}
    assert _count(api) == 1
    template = json.loads(record.body)["archetype_details"]["template_id"]["value"]
    by_template: dict[str, Any] = {
        "target_kind": "template",
        "target": template,
        "party_kind": "organisation",
        "party": ORG,
    }
    lifted = api.call("POST", f"{controls}/restriction", SELF, json=by_template)
    assert _uids(_aql(api, ROWS)) == set() and _count(api) == 0
    api.call("DELETE", f"{controls}/patient_control/{lifted.json['control_id']}", SELF)
    assert _count(api) == 1
    assert (
        api.call(
            "POST", f"{controls}/block", SELF, json={"party_kind": "hpr", "party": NURSE_HPR}
        ).status_code
        == 201
    )
    assert _uids(_aql(api, "SELECT e/ehr_id/value FROM EHR e")) == set() and _count(api) == 0
    queries = api.audit(actor_hpr=NURSE_HPR, path="/openehr/v1/query/aql")
    assert len(queries) == 10 and {q["operation"] for q in queries} == {"ehr:read"}  # one record per query


def test_aql_over_an_emergency_grant_is_flagged(api: Client, record: Record) -> None:
    stranger = token(
        [*CLINICAL, "cdr/query"], sub="stranger", **{HPR_NUMBER: STRANGER_HPR, ORGNR_PARENT: world.OTHER_ORG}
    )
    query = {"q": ROWS}
    assert api.call("POST", "/query/aql", stranger, json=query).json["rows"] == []  # no basis: nothing
    opened = api.call("GET", f"/ehr/{record.ehr_id}", stranger, headers=world.EMERGENCY)
    assert opened.status_code == 200
    answer = api.call("POST", "/query/aql", stranger, json=query)
    assert _uids(answer) == {record.object_id}  # the grant lasts, for AQL too
    flagged = api.audit(actor_hpr=STRANGER_HPR)[-1]
    assert flagged["path"].endswith("/query/aql") and flagged["emergency"] is True
    assert flagged["emergency_code"] == world.EMERGENCY["X-Cdr-Emergency-Reason-Code"]
    assert str(flagged["ehr_id"]) == record.ehr_id and flagged["patient_id"] == PATIENT
    log = api.call("GET", f"/security/ehr/{record.ehr_id}/access_log", SELF).json
    queries = [e for e in log if e["actor"]["hpr_number"] == STRANGER_HPR and e["emergency"]]
    assert len(queries) == 2  # the emergency read and the query, both flagged in the patient's log


def test_subject_ids_are_checked_on_every_status_write(api: Client, record: Record) -> None:
    bad = world.status_for("13116900217")  # a fødselsnummer with a wrong check digit
    updated = api.call(
        "PUT",
        f"/ehr/{record.ehr_id}/ehr_status",
        world.NURSE,
        json=bad,
        headers={"If-Match": record.status_uid},
    )
    assert assert_error(updated, 400)["details"][0]["code"] == "INVALID_SUBJECT_ID"
    version = world._contribution(record.body)["versions"][0]
    version["data"] = bad
    version["preceding_version_uid"] = {"value": record.status_uid}
    version["commit_audit"]["change_type"] = world._coded("modification", "251")
    body = {"versions": [version], "audit": version["commit_audit"]}
    refused = assert_error(
        api.call("POST", f"/ehr/{record.ehr_id}/contribution", world.NURSE, json=body), 400
    )
    assert "INVALID_SUBJECT_ID" in json.dumps(refused), refused
    for namespace, number in (("dnr", "41018036736"), ("hnr", "01418010181")):  # valid D- and H-nummer
        assert (
            api.call("POST", "/ehr", world.NURSE, json=world.status_for(number, namespace)).status_code == 201
        )
    assert etag(api.call("GET", f"/ehr/{record.ehr_id}/ehr_status", SELF)) == record.status_uid  # unchanged


def test_basic_users_with_an_identity_work_under_the_policy(storage: Storage) -> None:
    from cdr.api import create_app
    from cdr.security import AuthConfig
    from cdr.security.passwords import hash_password

    def user(scopes: list[str], **identity: str) -> dict[str, Any]:
        return {"password_hash": hash_password("pw", log2_n=4), "scopes": scopes, **identity}

    users = {
        "modeler": user(["cdr/definition"]),
        "nina": user([*CLINICAL, "cdr/query"], hpr_number=NURSE_HPR, orgnr_parent=ORG, orgnr_child=UNIT),
        "coordinator": user(["cdr/care_relation"], orgnr_parent=ORG),
        "pia": user(["cdr/patient"], pid=PATIENT),
    }
    basic_app = create_app(
        {"STORAGE": storage, "TESTING": True, "AUTH": AuthConfig.load(mode="basic", basic_users=users)}
    )
    client = Client(basic_app)

    def as_(name: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{name}:pw".encode()).decode()}

    template = world.NB_TEMPLATE.read_bytes()
    uploaded = client.call(
        "POST", "/definition/template/adl1.4", as_("modeler"), data=template, content_type="application/xml"
    )
    assert uploaded.status_code == 201
    created = client.call("POST", "/ehr", as_("nina"), json=world.status_for(PATIENT))
    ehr_id = str(created.headers["Location"]).rsplit("/", 1)[1]
    body = (world.COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
    path = f"/ehr/{ehr_id}/composition"
    assert_error(client.call("POST", path, as_("nina"), data=body, content_type="application/json"), 403)
    relation = {"organisation": UNIT, "reason": "hjemmesykepleie"}
    made = client.call("POST", f"/security/ehr/{ehr_id}/care_relation", as_("coordinator"), json=relation)
    assert made.status_code == 201, made.json
    committed = client.call("POST", path, as_("nina"), data=body, content_type="application/json")
    assert committed.status_code == 201, committed.json
    rows = client.call("POST", "/query/aql", as_("nina"), json={"q": ROWS}).json["rows"]
    assert [str(r[0]) for r in rows] == [etag(committed)]
    log = client.call("GET", f"/security/ehr/{ehr_id}/access_log", as_("pia")).json
    assert {e["actor"]["hpr_number"] for e in log} == {NURSE_HPR}


def test_aql_under_a_whole_ehr_restriction_and_its_consent(api: Client, record: Record) -> None:
    controls = f"/security/ehr/{record.ehr_id}"
    restriction = api.call(
        "POST", f"{controls}/restriction", SELF, json={"party_kind": "unit", "party": UNIT}
    )
    assert restriction.status_code == 201
    assert _count(api) == 0  # the nurse's unit is restricted from the whole EHR
    consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": restriction.json["control_id"]}
    assert api.call("POST", f"{controls}/consent", SELF, json=consent).status_code == 201
    assert _count(api) == 1
    flagged = api.audit(actor_hpr=NURSE_HPR, path="/openehr/v1/query/aql")
    assert [q["consent_override"] for q in flagged] == [False, True]
    assert str(flagged[-1]["ehr_id"]) == record.ehr_id and flagged[-1]["patient_id"] == PATIENT
    log = api.call("GET", f"{controls}/access_log", SELF).json
    assert [e["consent_override"] for e in log if e["operation"] == "ehr:read"][-1] is True
