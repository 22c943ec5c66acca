"""AQL and the overrides of issue 6, on SQLite and PostgreSQL: an EHR whose data a query returned only because
of an emergency grant or a recorded consent is flagged, with that decision, in the query's audit trail and
in that patient's access log, and no other EHR is; an emergency reason sent with a query opens one named
EHR, validated as for a composition read; expired grants and blocks are never overridden."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from werkzeug.test import TestResponse

from cdr.security.helseid import HPR_NUMBER, ORGNR_CHILD, ORGNR_PARENT, PID
from cdr.storage import schema as t
from tests.api.conftest import assert_error, etag
from tests.security import test_api_security as world
from tests.security.test_api_security import (
    CLINICAL,
    EMERGENCY,
    MODELER,
    NURSE_HPR,
    PATIENT,
    RELATIONS,
    SELF,
    STRANGER_HPR,
    UNIT,
    Client,
    Record,
    token,
)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

api, app, record, storage = world.api, world.app, world.record, world.storage  # the API world's fixtures

NURSE_Q = token(
    [*CLINICAL, "cdr/query"],
    sub="nurse",
    name="Nina Sykepleier",
    **{HPR_NUMBER: NURSE_HPR, ORGNR_PARENT: world.ORG, ORGNR_CHILD: UNIT},
)
STRANGER_Q = token(
    [*CLINICAL, "cdr/query"],
    sub="stranger",
    name="Sture Fremmed",
    **{HPR_NUMBER: STRANGER_HPR, ORGNR_PARENT: world.OTHER_ORG},
)
SECOND_PATIENT = "01019010046"
SECOND_SELF = token(["cdr/patient"], sub="second", **{PID: SECOND_PATIENT})
SYSTEM_Q = token([*CLINICAL, "cdr/query"], sub="integration", **{ORGNR_PARENT: world.OTHER_ORG})
ROWS = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"
COUNT = "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c"
EHRS = "SELECT e/ehr_id/value FROM EHR e"
QUERY_PATH = "/openehr/v1/query/"


def _aql(api: Client, who: dict[str, str], q: str) -> TestResponse:
    return api.call("POST", "/query/aql", who, json={"q": q})


def _post(api: Client, who: dict[str, str], q: str, headers: dict[str, str], **body: Any) -> TestResponse:
    return api.call("POST", "/query/aql", who, json={"q": q, **body}, headers=headers)


def _rows(answer: TestResponse) -> list[Any]:
    assert answer.status_code == 200, answer.json
    body: dict[str, Any] = answer.json or {}
    return list(body["rows"])


def _records(api: Client, after: int = 0) -> list[dict[str, Any]]:
    """The query records written after position ``after``, with the EHRs each names."""
    trail = api.app.extensions["cdr_audit"].records()
    return [r for r in trail if r["seq"] > after and QUERY_PATH in (r["path"] or "")]


def _head(api: Client) -> int:
    trail = api.app.extensions["cdr_audit"].records()
    return int(trail[-1]["seq"]) if trail else 0


def _queries_in_log(api: Client, ehr_id: str, who: dict[str, str], hpr: str) -> list[dict[str, Any]]:
    log = api.call("GET", f"/security/ehr/{ehr_id}/access_log", who)
    assert log.status_code == 200, log.json
    entries: list[dict[str, Any]] = log.json or []
    return [e for e in entries if e["actor"]["hpr_number"] == hpr]


def _second_patient(api: Client, record: Record) -> tuple[str, str]:
    """The other patient's EHR with a composition the nurse committed under a care relation since ended."""
    created = api.call("POST", "/ehr", world.NURSE, json=world.status_for(SECOND_PATIENT))
    assert created.status_code == 201, created.json
    ehr_id = str(created.headers["Location"]).rsplit("/", 1)[1]
    relation: dict[str, Any] = (
        api.call("POST", f"/security/ehr/{ehr_id}/care_relation", RELATIONS, json={"organisation": UNIT}).json
        or {}
    )
    committed = api.call(
        "POST", f"/ehr/{ehr_id}/composition", world.NURSE, data=record.body, content_type="application/json"
    )
    assert committed.status_code == 201, committed.json
    ended = api.call("DELETE", f"/security/ehr/{ehr_id}/care_relation/{relation['relation_id']}", RELATIONS)
    assert ended.status_code == 200
    return ehr_id, etag(committed)


def test_only_the_ehr_read_by_emergency_access_is_flagged(api: Client, record: Record) -> None:
    other, other_uid = _second_patient(api, record)
    assert {str(r[0]) for r in _rows(_aql(api, NURSE_Q, ROWS))} == {record.version_uid}  # no basis there
    opened = api.call("GET", f"/ehr/{other}", world.NURSE, headers=EMERGENCY)
    assert opened.status_code == 200
    for q, expected in ((ROWS, {record.version_uid, other_uid}), (COUNT, {2})):
        before = _head(api)
        rows = _rows(_aql(api, NURSE_Q, q))
        assert {r[0] for r in rows} == expected
        plain, flagged = _records(api, before)
        assert set(map(str, plain["ehr_ids"])) == {record.ehr_id} and not plain["emergency"]
        assert plain["ehr_id"] is None and plain["basis"] is None
        assert set(map(str, flagged["ehr_ids"])) == {other} and str(flagged["ehr_id"]) == other
        assert flagged["emergency"] and flagged["emergency_code"] == "AKUTT"
        assert flagged["emergency_text"] == EMERGENCY["X-Cdr-Emergency-Reason-Text"]
        assert flagged["basis"] == "emergency" and flagged["patient_id"] == SECOND_PATIENT
        assert plain["request_id"] == flagged["request_id"]  # two records of one query
    # a query whose rows are all of the first patient flags nothing and is not in the other's log
    before = _head(api)
    own = f"SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = '{record.ehr_id}'"
    assert [r[0] for r in _rows(_aql(api, NURSE_Q, own))] == [record.version_uid]
    (only,) = _records(api, before)
    assert not only["emergency"] and set(map(str, only["ehr_ids"])) == {record.ehr_id}
    theirs = _queries_in_log(api, other, SECOND_SELF, NURSE_HPR)
    queries = [e for e in theirs if e["operation"] == "ehr:read"]
    assert len(queries) == 3 and all(e["emergency"] for e in queries)  # the read and the two queries
    assert queries[-1]["emergency"] == {"code": "AKUTT", "text": EMERGENCY["X-Cdr-Emergency-Reason-Text"]}
    mine = _queries_in_log(api, record.ehr_id, SELF, NURSE_HPR)
    assert not any(e["emergency"] for e in mine)  # the first patient's data was read on the care relation


def test_an_emergency_reason_sent_with_a_query_opens_the_ehr_it_names(api: Client, record: Record) -> None:
    grants = api.app.extensions["cdr"].storage.engine
    before = _head(api)
    refused = _post(api, STRANGER_Q, ROWS, EMERGENCY)  # a population query cannot break the glass
    assert "ehr_id" in assert_error(refused, 400)["message"]
    half = {"X-Cdr-Emergency-Reason-Code": "AKUTT"}
    assert_error(_post(api, STRANGER_Q, ROWS, half, ehr_id=record.ehr_id), 400)  # both headers, as REST
    assert_error(_post(api, SYSTEM_Q, ROWS, EMERGENCY, ehr_id=record.ehr_id), 403)  # personnel only
    with grants.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.emergency_grant)).scalar() == 0
    assert _records(api, before)[-1]["outcome"] == "denied"  # the system's attempt; the 400s accessed nothing
    assert _rows(_aql(api, STRANGER_Q, ROWS)) == []  # no basis, no reason: nothing
    before = _head(api)
    answer = _post(api, STRANGER_Q, ROWS, EMERGENCY, ehr_id=record.ehr_id)
    assert [r[0] for r in _rows(answer)] == [record.version_uid]
    (flagged,) = _records(api, before)
    assert flagged["emergency"] and flagged["emergency_code"] == "AKUTT" and flagged["basis"] == "emergency"
    assert str(flagged["ehr_id"]) == record.ehr_id and flagged["patient_id"] == PATIENT
    with grants.connect() as conn:
        (grant,) = conn.execute(sa.select(t.emergency_grant)).mappings().all()
    assert str(grant["ehr_id"]) == record.ehr_id and grant["actor_hpr"] == STRANGER_HPR
    # the grant lasts: a later query without the reason and without ehr_id is flagged too
    before = _head(api)
    assert _rows(_aql(api, STRANGER_Q, COUNT)) == [[1]]
    (later,) = _records(api, before)
    assert later["emergency"] and str(later["ehr_id"]) == record.ehr_id
    log = _queries_in_log(api, record.ehr_id, SELF, STRANGER_HPR)
    assert len(log) == 2 and all(e["emergency"]["code"] == "AKUTT" for e in log)
    # the grant expires: nothing is read, nothing is flagged, nothing more is in the patient's log
    with grants.begin() as conn:
        expired = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        conn.execute(sa.update(t.emergency_grant).values(expires_at=expired))
    before = _head(api)
    assert _rows(_aql(api, STRANGER_Q, ROWS)) == [] and _rows(_aql(api, STRANGER_Q, COUNT)) == [[0]]
    assert not any(r["emergency"] or r["ehr_ids"] for r in _records(api, before))
    assert len(_queries_in_log(api, record.ehr_id, SELF, STRANGER_HPR)) == 2


def test_stored_queries_take_the_emergency_reason_alike(api: Client, record: Record) -> None:
    stored = api.call(
        "PUT",
        "/definition/query/org.example::compositions/1.0.0",
        MODELER,
        data=ROWS,
        content_type="text/plain",
    )
    assert stored.status_code == 200, stored.json
    path = "/query/org.example::compositions"
    assert "ehr_id" in assert_error(api.call("GET", path, STRANGER_Q, headers=EMERGENCY), 400)["message"]
    assert_error(api.call("POST", path, STRANGER_Q, json={}, headers=EMERGENCY), 400)
    before = _head(api)
    answer = api.call("GET", f"{path}?ehr_id={record.ehr_id}", STRANGER_Q, headers=EMERGENCY)
    assert [r[0] for r in _rows(answer)] == [record.version_uid]
    (flagged,) = _records(api, before)
    assert flagged["emergency"] and str(flagged["ehr_id"]) == record.ehr_id
    assert flagged["targets"] == ["org.example::compositions/1.0.0"]
    # the EHR named by the openEHR-EHR-id header, as the stored query's other callers name it
    other = token([*CLINICAL, "cdr/query"], sub="locum", **{HPR_NUMBER: "9144902"})
    by_header = {"openEHR-EHR-id": record.ehr_id, **EMERGENCY}
    answer = api.call("POST", f"{path}/1.0.0", other, json={}, headers=by_header)
    assert [r[0] for r in _rows(answer)] == [record.version_uid]
    assert _records(api, before)[-1]["emergency"] and _records(api, before)[-1]["actor_hpr"] == "9144902"


def test_a_block_is_never_overridden_through_aql(api: Client, record: Record) -> None:
    assert _rows(_post(api, STRANGER_Q, COUNT, EMERGENCY, ehr_id=record.ehr_id)) == [[1]]  # a grant now
    block = {"party_kind": "hpr", "party": STRANGER_HPR}
    assert api.call("POST", f"/security/ehr/{record.ehr_id}/block", SELF, json=block).status_code == 201
    before = _head(api)
    body = assert_error(_post(api, STRANGER_Q, ROWS, EMERGENCY, ehr_id=record.ehr_id), 403)
    assert "blocked" in body["message"]
    for q, nothing in ((ROWS, []), (COUNT, [[0]]), (EHRS, [])):  # the live grant opens nothing either
        assert _rows(_aql(api, STRANGER_Q, q)) == nothing
    records = _records(api, before)
    assert records[0]["outcome"] == "denied" and not any(r["emergency"] for r in records[1:])
    assert not any(str(e) == record.ehr_id for r in records for e in r["ehr_ids"])


def test_a_composition_shown_only_by_consent_flags_its_ehr(api: Client, record: Record) -> None:
    posted = api.call(
        "POST",
        f"/ehr/{record.ehr_id}/composition",
        world.NURSE,
        data=record.body,
        content_type="application/json",
    )
    second = etag(posted)
    controls = f"/security/ehr/{record.ehr_id}"
    one = {"target_kind": "composition", "target": record.object_id}
    restriction: dict[str, Any] = api.call("POST", f"{controls}/restriction", SELF, json=one).json or {}
    assert {r[0] for r in _rows(_aql(api, NURSE_Q, ROWS))} == {second}
    consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": restriction["control_id"]}
    assert api.call("POST", f"{controls}/consent", SELF, json=consent).status_code == 201
    only_second = f"{ROWS} WHERE c/uid/value = '{second}'"
    for q, expected, consented in (
        (ROWS, {record.version_uid, second}, True),
        (COUNT, {2}, True),
        ("SELECT DISTINCT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c", {record.ehr_id}, True),
        (only_second, {second}, False),  # the consented composition is not in the result
        (EHRS, {record.ehr_id}, False),  # the EHR itself is read on the care relation
    ):
        before = _head(api)
        assert {r[0] for r in _rows(_aql(api, NURSE_Q, q))} == expected, q
        (audited,) = _records(api, before)
        assert audited["consent_override"] is consented, q
        assert set(map(str, audited["ehr_ids"])) == {record.ehr_id} and not audited["emergency"]
        assert (str(audited["ehr_id"]) == record.ehr_id) is consented  # a flagged record names its EHR
    log = [e for e in _queries_in_log(api, record.ehr_id, SELF, NURSE_HPR) if e["operation"] == "ehr:read"]
    assert [e["consent_override"] for e in log[-5:]] == [True, True, True, False, False]


def test_a_composition_shown_only_by_emergency_access_flags_its_ehr(api: Client, record: Record) -> None:
    controls = f"/security/ehr/{record.ehr_id}"
    one = {"target_kind": "composition", "target": record.object_id}
    assert api.call("POST", f"{controls}/restriction", SELF, json=one).status_code == 201
    assert _rows(_aql(api, NURSE_Q, COUNT)) == [[0]]
    path = f"/ehr/{record.ehr_id}/composition/{record.version_uid}"
    assert api.call("GET", path, world.NURSE, headers=EMERGENCY).status_code == 200  # break the glass
    before = _head(api)
    assert _rows(_aql(api, NURSE_Q, COUNT)) == [[1]]
    assert [r[0] for r in _rows(_aql(api, NURSE_Q, EHRS))] == [record.ehr_id]
    counted, listed = _records(api, before)
    assert counted["emergency"] and counted["emergency_code"] == "AKUTT" and counted["basis"] == "emergency"
    assert not listed["emergency"]  # the EHR row alone owes nothing to the grant
    entries = _queries_in_log(api, record.ehr_id, SELF, NURSE_HPR)
    assert entries[-2]["emergency"] == {"code": "AKUTT", "text": EMERGENCY["X-Cdr-Emergency-Reason-Text"]}
    assert entries[-1]["emergency"] is None


SHAPES = [
    "SELECT c/uid/value FROM COMPOSITION c",
    "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c ORDER BY c/context/start_time/value DESC LIMIT 5",
    "SELECT o/data FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o",
    "SELECT v/commit_audit/time_committed/value FROM EHR e CONTAINS VERSION v CONTAINS COMPOSITION c",
    "SELECT MAX(c/context/start_time/value) FROM EHR e CONTAINS COMPOSITION c",
    "SELECT e/ehr_id/value AS id, COUNT(c/uid/value) AS n FROM EHR e CONTAINS COMPOSITION c",
    "SELECT DISTINCT c/name/value FROM EHR e CONTAINS COMPOSITION c",
    "SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c WHERE EXISTS c/context",
]


def test_every_query_shape_over_a_consented_composition_is_flagged(api: Client, record: Record) -> None:
    controls = f"/security/ehr/{record.ehr_id}"
    one = {"target_kind": "composition", "target": record.object_id}
    restriction: dict[str, Any] = api.call("POST", f"{controls}/restriction", SELF, json=one).json or {}
    hidden = {q: _rows(_aql(api, NURSE_Q, q)) for q in SHAPES}
    consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": restriction["control_id"]}
    assert api.call("POST", f"{controls}/consent", SELF, json=consent).status_code == 201
    for q in SHAPES:
        before = _head(api)
        rows = _rows(_aql(api, NURSE_Q, q))
        assert rows and rows != hidden[q], q  # the consent shows the composition again
        (audited,) = _records(api, before)
        assert audited["consent_override"] and str(audited["ehr_id"]) == record.ehr_id, q
    before = _head(api)  # the same shapes without the consented composition's rows: nothing to flag
    for q in (f"{SHAPES[0]} WHERE c/uid/value = 'none'", f"{SHAPES[4]} WHERE c/uid/value = 'none'"):
        _rows(_aql(api, NURSE_Q, q))
    assert not any(r["consent_override"] for r in _records(api, before))
