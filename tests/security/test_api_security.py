"""Security through the REST API, with HelseID-shaped tokens, on SQLite and PostgreSQL: authentication and
scopes, care relations, emergency access, restrictions and consent, blocks, the audit trail of every
patient-data request, the patient's access log, and Norwegian subject ids."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from cdr.api import create_app
from cdr.security import AuthConfig
from cdr.security.helseid import HPR_NUMBER, ORGNR_CHILD, ORGNR_PARENT, PID
from cdr.security.policy import EmergencyGrant
from cdr.storage import Storage
from cdr.storage import schema as t
from tests.api.conftest import BASE, COMPOSITIONS, EHR_STATUS_NB, NB_TEMPLATE, assert_error, etag
from tests.security.conftest import AUDIENCE, ISSUER
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

SECRET = "a test secret of more than thirty-two bytes"
PATIENT, OTHER_PATIENT = "13116900216", "01010150093"
NURSE_HPR, STRANGER_HPR = "9144900", "9144901"
ORG, UNIT, OTHER_ORG = "912159523", "922734046", "974589095"
CLINICAL = ["cdr/ehr.read", "cdr/ehr.write"]
EMERGENCY = {"X-Cdr-Emergency-Reason-Code": "AKUTT", "X-Cdr-Emergency-Reason-Text": "bevisstløs ved ankomst"}


def token(scopes: list[str], **claims: Any) -> dict[str, str]:
    """A bearer token; the callers below are made once, at import, so they must outlive a long test session
    (other modules import them and may run many minutes later)."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 12 * 3600, "scope": scopes, **claims}
    body.setdefault("sub", f"sub-{uuid.uuid4().hex[:8]}")
    return {"Authorization": "Bearer " + jwt.encode(body, SECRET, algorithm="HS256")}


NURSE = token(
    CLINICAL,
    sub="nurse",
    name="Nina Sykepleier",
    **{HPR_NUMBER: NURSE_HPR, ORGNR_PARENT: ORG, ORGNR_CHILD: UNIT},
)
STRANGER = token(
    CLINICAL, sub="stranger", name="Sture Fremmed", **{HPR_NUMBER: STRANGER_HPR, ORGNR_PARENT: OTHER_ORG}
)
SELF = token(["cdr/patient"], sub="patient", name="Pia Pasient", **{PID: PATIENT})
OTHER_SELF = token(["cdr/patient"], sub="other", **{PID: OTHER_PATIENT})
MODELER = token(["cdr/definition"], sub="modeler")
RELATIONS = token(["cdr/care_relation"], sub="coordinator", **{ORGNR_PARENT: ORG})
ADMIN = token(["cdr/admin"], sub="ops")
RESEARCHER = token(["cdr/research", "cdr/query"], sub="researcher")


class Client:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()

    def call(self, method: str, path: str, who: dict[str, str], **kwargs: Any) -> TestResponse:
        headers = {**who, **kwargs.pop("headers", {})}
        return self.client.open(BASE + path, method=method, headers=headers, **kwargs)

    def audit(self, **where: Any) -> list[dict[str, Any]]:
        db = self.app.extensions["cdr"].storage.engine
        query = sa.select(t.audit_event).order_by(t.audit_event.c.seq)
        for column, value in where.items():
            query = query.where(t.audit_event.c[column] == value)
        with db.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def status_for(subject: str, namespace: str = "fnr") -> dict[str, Any]:
    status = json.loads(EHR_STATUS_NB.read_text(encoding="utf-8"))
    ref = copy.deepcopy(status["subject"]["external_ref"])
    ref["id"] = {"_type": "GENERIC_ID", "value": subject, "scheme": namespace}
    ref["namespace"] = namespace
    status["subject"]["external_ref"] = ref
    return dict(status)


@pytest.fixture
def storage(engine: sa.Engine) -> Storage:  # noqa: F811
    return Storage(engine, system_id="test.cdr")


@pytest.fixture
def app(storage: Storage) -> Flask:
    auth = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], algorithms=["HS256"], hmac_secret=SECRET)
    return create_app({"STORAGE": storage, "TESTING": True, "AUTH": auth})


@pytest.fixture
def api(app: Flask) -> Client:
    return Client(app)


class Record:
    """A patient's EHR with a composition, committed by the nurse under a care relation of her unit."""

    def __init__(self, api: Client) -> None:
        assert (
            api.call(
                "POST",
                "/definition/template/adl1.4",
                MODELER,
                data=NB_TEMPLATE.read_bytes(),
                content_type="application/xml",
            ).status_code
            == 201
        )
        created = api.call("POST", "/ehr", NURSE, json=status_for(PATIENT))
        assert created.status_code == 201, created.json
        self.ehr_id = str(created.headers["Location"]).rsplit("/", 1)[1]
        relation = api.call(
            "POST",
            f"/security/ehr/{self.ehr_id}/care_relation",
            RELATIONS,
            json={"organisation": UNIT, "reason": "hjemmesykepleie"},
        )
        assert relation.status_code == 201, relation.json
        self.relation_id = relation.json["relation_id"]
        body = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
        committed = api.call(
            "POST", f"/ehr/{self.ehr_id}/composition", NURSE, data=body, content_type="application/json"
        )
        assert committed.status_code == 201, committed.json
        self.version_uid = etag(committed)
        self.object_id = self.version_uid.split("::")[0]
        self.status_uid = etag(api.call("GET", f"/ehr/{self.ehr_id}/ehr_status", NURSE))
        self.body = body


@pytest.fixture
def record(api: Client) -> Record:
    return Record(api)


def test_authentication_and_scopes(api: Client) -> None:
    missing = assert_error(api.client.get(f"{BASE}/ehr/{uuid.uuid4()}"), 401)
    assert "authentication required" in missing["message"]
    response = api.client.get(f"{BASE}/ehr/{uuid.uuid4()}")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cdr"'
    forged = {"Authorization": "Bearer " + jwt.encode({"iss": ISSUER, "aud": AUDIENCE}, "x" * 40, "HS256")}
    refused = api.call("GET", "/ehr", forged)
    assert_error(refused, 401)
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    reader = token(["cdr/ehr.read"], **{HPR_NUMBER: NURSE_HPR})
    no_write = api.call("POST", "/ehr", reader, json=status_for(PATIENT))
    assert_error(no_write, 403)
    assert 'error="insufficient_scope"' in no_write.headers["WWW-Authenticate"]
    assert 'scope="cdr/ehr.write"' in no_write.headers["WWW-Authenticate"]
    assert_error(
        api.call("POST", "/definition/template/adl1.4", NURSE, data=b"<x/>", content_type="application/xml"),
        403,
    )
    assert_error(api.call("DELETE", f"/admin/ehr/{uuid.uuid4()}", NURSE), 403)
    assert_error(api.call("GET", f"/ehr/{uuid.uuid4()}", ADMIN), 403)  # admin does not imply read
    assert api.client.get("/health").status_code == 200  # public


def _reads(r: Record) -> list[str]:
    e, v, o, s = r.ehr_id, r.version_uid, r.object_id, r.status_uid
    return [
        f"/ehr/{e}",
        f"/ehr?subject_id={PATIENT}&subject_namespace=fnr",
        f"/ehr/{e}/ehr_status",
        f"/ehr/{e}/ehr_status/{s}",
        f"/ehr/{e}/versioned_ehr_status",
        f"/ehr/{e}/versioned_ehr_status/revision_history",
        f"/ehr/{e}/versioned_ehr_status/version",
        f"/ehr/{e}/versioned_ehr_status/version/{s}",
        f"/ehr/{e}/composition/{v}",
        f"/ehr/{e}/composition/{o}",
        f"/ehr/{e}/versioned_composition/{o}",
        f"/ehr/{e}/versioned_composition/{o}/revision_history",
        f"/ehr/{e}/versioned_composition/{o}/version",
        f"/ehr/{e}/versioned_composition/{o}/version/{v}",
        f"/ehr/{e}/directory",
        f"/ehr/{e}/contribution/{uuid.uuid4()}",
    ]


def _coded(value: str, code: str) -> dict[str, Any]:
    return {
        "_type": "DV_CODED_TEXT",
        "value": value,
        "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": code},
    }


def _contribution(composition: str) -> dict[str, Any]:
    audit = {
        "_type": "AUDIT_DETAILS",
        "system_id": "test.cdr",
        "time_committed": {"value": "2026-01-01T00:00:00Z"},
        "change_type": _coded("creation", "249"),
        "committer": {"_type": "PARTY_IDENTIFIED", "name": "Sture Fremmed"},
    }
    version = {
        "_type": "ORIGINAL_VERSION",
        "commit_audit": audit,
        "lifecycle_state": _coded("complete", "532"),
        "data": json.loads(composition),
    }
    return {"versions": [version], "audit": audit}


def _writes(r: Record) -> list[tuple[str, str, dict[str, Any]]]:
    e, v = r.ehr_id, r.version_uid
    json_body = {"data": r.body, "content_type": "application/json"}
    folder = {"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": {"value": "r"}}
    return [
        ("POST", f"/ehr/{e}/composition", json_body),
        ("PUT", f"/ehr/{e}/composition/{r.object_id}", {**json_body, "headers": {"If-Match": v}}),
        ("DELETE", f"/ehr/{e}/composition/{v}", {}),
        ("PUT", f"/ehr/{e}/ehr_status", {"json": status_for(PATIENT), "headers": {"If-Match": r.status_uid}}),
        ("POST", f"/ehr/{e}/directory", {"json": folder}),
        ("POST", f"/ehr/{e}/contribution", {"json": _contribution(r.body)}),
    ]


def test_another_patients_record_is_refused_everywhere_and_audited(api: Client, record: Record) -> None:
    reads, writes = _reads(record), _writes(record)
    for path in reads:
        body = assert_error(api.call("GET", path, STRANGER), 403)
        assert "care relation" in body["message"], path
    for method, path, options in writes:
        assert_error(api.call(method, path, STRANGER, **options), 403)
    # a subject without an EHR answers as one without a basis: the API is no oracle for who has a record
    unknown = f"/ehr?subject_id={OTHER_PATIENT}&subject_namespace=fnr"
    assert_error(api.call("GET", unknown, STRANGER), 403)
    assert_error(api.call("GET", unknown, OTHER_SELF), 404)
    denied = api.audit(actor_hpr=STRANGER_HPR)
    assert len(denied) == len(reads) + len(writes) + 1
    assert {r["outcome"] for r in denied} == {"denied"} and {r["status"] for r in denied} == {403}
    assert {r["patient_id"] for r in denied} == {PATIENT, OTHER_PATIENT}
    assert {str(r["ehr_id"]) for r in denied} == {record.ehr_id, "None"}
    assert all(r["actor_name"] == "Sture Fremmed" and r["orgnr_parent"] == OTHER_ORG for r in denied)
    # the nurse's unit has a care relation: every read works, and each is one audit record
    before = len(api.audit(actor_hpr=NURSE_HPR))
    for path in reads[:-2]:  # no directory and no such contribution: 404s are not the point here
        assert api.call("GET", path, NURSE).status_code == 200, path
    mine = api.audit(actor_hpr=NURSE_HPR)[before:]
    assert len(mine) == len(reads) - 2
    assert {r["basis"] for r in mine} == {"care_relation"} and {r["purpose"] for r in mine} == {
        "hjemmesykepleie"
    }
    assert record.version_uid in mine[8]["targets"]


def test_writes_are_audited_in_their_transaction(
    api: Client, record: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = api.audit(actor_hpr=NURSE_HPR, operation="ehr:write")
    assert len(written) == 1 and written[0]["outcome"] == "success" and written[0]["status"] is None
    from cdr.storage.audit import AuditStore

    def broken(self: AuditStore, event: object, conn: object = None) -> int:
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr(AuditStore, "append", broken)
    failed = api.call(
        "POST", f"/ehr/{record.ehr_id}/composition", NURSE, data=record.body, content_type="application/json"
    )
    assert_error(failed, 500)
    monkeypatch.undo()
    with api.app.extensions["cdr"].storage.engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.versioned_object)
            .where(t.versioned_object.c.kind == "COMPOSITION")
        ).scalar_one()
    assert count == 1  # the commit rolled back with its audit record


def test_care_relations_grant_end_and_expire(api: Client, record: Record) -> None:
    path = f"/ehr/{record.ehr_id}"
    assert_error(api.call("GET", path, STRANGER), 403)
    relation = api.call(
        "POST", f"/security/ehr/{record.ehr_id}/care_relation", RELATIONS, json={"hpr_number": STRANGER_HPR}
    )
    assert relation.status_code == 201
    assert api.call("GET", path, STRANGER).status_code == 200
    ended = api.call(
        "DELETE", f"/security/ehr/{record.ehr_id}/care_relation/{relation.json['relation_id']}", RELATIONS
    )
    assert ended.status_code == 200 and ended.json["ended_at"] is not None
    assert_error(api.call("GET", path, STRANGER), 403)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    expired = {
        "hpr_number": STRANGER_HPR,
        "valid_from": past.isoformat(),
        "valid_to": (past + dt.timedelta(days=1)).isoformat(),
    }
    assert (
        api.call("POST", f"/security/ehr/{record.ehr_id}/care_relation", RELATIONS, json=expired).status_code
        == 201
    )
    assert_error(api.call("GET", path, STRANGER), 403)
    listed = api.call("GET", f"/security/ehr/{record.ehr_id}/care_relation", RELATIONS).json
    assert len(listed) == 3
    assert_error(api.call("GET", f"/security/ehr/{record.ehr_id}/care_relation", NURSE), 403)
    assert_error(
        api.call(
            "POST",
            f"/security/ehr/{record.ehr_id}/care_relation",
            RELATIONS,
            json={"hpr_number": STRANGER_HPR, "organisation": ORG},
        ),
        400,
    )


def test_emergency_access_is_granted_flagged_and_expires(api: Client, record: Record) -> None:
    path = f"/ehr/{record.ehr_id}/composition/{record.version_uid}"
    assert_error(api.call("GET", path, STRANGER, headers={"X-Cdr-Emergency-Reason-Code": "AKUTT"}), 400)
    assert api.call("GET", path, STRANGER, headers=EMERGENCY).status_code == 200
    assert api.call("GET", f"/ehr/{record.ehr_id}", STRANGER).status_code == 200  # the grant lasts
    flagged = api.audit(actor_hpr=STRANGER_HPR)
    assert [r["emergency"] for r in flagged] == [True, True]  # the 400 came before any access
    assert (
        flagged[1]["emergency_code"] == "AKUTT"
        and flagged[1]["emergency_text"] == EMERGENCY["X-Cdr-Emergency-Reason-Text"]
    )
    with api.app.extensions["cdr"].storage.engine.begin() as conn:
        conn.execute(
            sa.update(t.emergency_grant).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", STRANGER), 403)
    system = token(CLINICAL, sub="integration", **{ORGNR_PARENT: OTHER_ORG})
    assert_error(api.call("GET", path, system, headers=EMERGENCY), 403)  # break-glass is for personnel


def test_restriction_consent_and_composition_restriction(api: Client, record: Record) -> None:
    controls = f"/security/ehr/{record.ehr_id}"
    restricted = api.call("POST", f"{controls}/restriction", SELF, json={"party_kind": "unit", "party": UNIT})
    assert restricted.status_code == 201, restricted.json
    body = assert_error(api.call("GET", f"/ehr/{record.ehr_id}", NURSE), 403)
    assert "restricted" in body["message"]
    nurse_consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": restricted.json["control_id"]}
    assert api.call("POST", f"{controls}/consent", SELF, json=nurse_consent).status_code == 201
    assert api.call("GET", f"/ehr/{record.ehr_id}", NURSE).status_code == 200
    assert api.audit(actor_hpr=NURSE_HPR)[-1]["consent_override"] is True
    lifted = api.call("DELETE", f"{controls}/patient_control/{restricted.json['control_id']}", SELF)
    assert lifted.status_code == 200 and lifted.json["lifted_at"] is not None
    one = {"target_kind": "composition", "target": record.object_id}
    assert api.call("POST", f"{controls}/restriction", SELF, json=one).status_code == 201
    assert api.call("GET", f"/ehr/{record.ehr_id}/ehr_status", NURSE).status_code == 200
    for path in (f"/composition/{record.version_uid}", f"/versioned_composition/{record.object_id}/version"):
        assert_error(api.call("GET", f"/ehr/{record.ehr_id}{path}", NURSE), 403)
    assert_error(api.call("POST", f"{controls}/restriction", OTHER_SELF, json={}), 403)  # not their record
    assert_error(api.call("POST", f"{controls}/restriction", NURSE, json={}), 403)
    assert len(api.call("GET", f"{controls}/patient_control", SELF).json) == 3
    emergency = api.call(
        "GET", f"/ehr/{record.ehr_id}/composition/{record.version_uid}", NURSE, headers=EMERGENCY
    )
    assert emergency.status_code == 200


def test_blocking_beats_emergency_and_relations(api: Client, record: Record) -> None:
    block = {"party_kind": "hpr", "party": NURSE_HPR, "note": "nabo"}
    assert api.call("POST", f"/security/ehr/{record.ehr_id}/block", SELF, json=block).status_code == 201
    for headers in ({}, EMERGENCY):
        body = assert_error(api.call("GET", f"/ehr/{record.ehr_id}", NURSE, headers=headers), 403)
        assert "blocked" in body["message"]
    assert (
        api.call(
            "GET", f"/ehr/{record.ehr_id}", token(CLINICAL, **{HPR_NUMBER: "1234567", ORGNR_CHILD: UNIT})
        ).status_code
        == 200
    )
    assert_error(
        api.call(
            "POST", f"/security/ehr/{record.ehr_id}/block", SELF, json={"party_kind": "unit", "party": UNIT}
        ),
        400,
    )


def test_patient_self_service_and_access_log(api: Client, record: Record) -> None:
    assert api.call("GET", f"/ehr/{record.ehr_id}/composition/{record.version_uid}", SELF).status_code == 200
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", OTHER_SELF), 403)
    assert_error(
        api.call(
            "POST",
            f"/ehr/{record.ehr_id}/composition",
            SELF,
            data=record.body,
            content_type="application/json",
        ),
        403,
    )
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", STRANGER), 403)  # denied: not an access
    api.call("GET", f"/ehr/{record.ehr_id}", STRANGER, headers=EMERGENCY)
    log = api.call("GET", f"/security/ehr/{record.ehr_id}/access_log", SELF)
    assert log.status_code == 200
    entries = log.json
    actors = [e["actor"]["name"] for e in entries]
    assert set(actors) == {"Nina Sykepleier", "Sture Fremmed"}  # not the patient, not the coordinator's setup
    assert actors.count("Sture Fremmed") == 1
    emergency = [e for e in entries if e["emergency"]]
    assert emergency == [e for e in entries if e["actor"]["name"] == "Sture Fremmed"]
    assert emergency[0]["emergency"] == {"code": "AKUTT", "text": EMERGENCY["X-Cdr-Emergency-Reason-Text"]}
    assert emergency[0]["actor"]["organisation"] == OTHER_ORG
    nurse = [e for e in entries if e["actor"]["name"] == "Nina Sykepleier"]
    assert {e["actor"]["unit"] for e in nurse} == {UNIT} and nurse[-1]["purpose"] == "hjemmesykepleie"
    assert_error(api.call("GET", f"/security/ehr/{record.ehr_id}/access_log", OTHER_SELF), 403)
    assert_error(api.call("GET", f"/security/ehr/{record.ehr_id}/access_log", NURSE), 403)


def test_researchers_never_read_ehrs(api: Client, record: Record) -> None:
    research_reader = token(["cdr/research"], **{ORGNR_CHILD: UNIT})
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", research_reader), 403)
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", RESEARCHER), 403)


def test_norwegian_subject_ids_are_checked(api: Client) -> None:
    bad = api.call("POST", "/ehr", NURSE, json=status_for("13116900217"))
    body = assert_error(bad, 400)
    assert body["details"][0]["code"] == "INVALID_SUBJECT_ID"
    assert_error(api.call("POST", "/ehr", NURSE, json=status_for("13116900216", "dnr")), 400)
    assert_error(api.call("POST", "/ehr", NURSE, json=status_for("13916900216")), 400)  # Test-Norge
    assert (
        api.call("POST", "/ehr", NURSE, json=status_for("any-local-id", "kommune.example")).status_code == 201
    )


def test_expired_grant_rows_do_not_count(api: Client, record: Record) -> None:
    now = dt.datetime.now(dt.UTC)
    store = api.app.extensions["cdr_access_control"]
    store.add_grant(
        EmergencyGrant(
            ehr_id=uuid.UUID(record.ehr_id),
            actor_subject="stranger",
            reason_code="AKUTT",
            reason_text="x",
            granted_at=now - dt.timedelta(hours=2),
            expires_at=now - dt.timedelta(hours=1),
        )
    )
    assert_error(api.call("GET", f"/ehr/{record.ehr_id}", STRANGER), 403)


def test_none_mode_serves_loopback_only(storage: Storage) -> None:
    app = create_app({"STORAGE": storage, "TESTING": True, "AUTH": {"mode": "none"}})
    client = app.test_client()
    assert client.post(f"{BASE}/ehr").status_code == 201
    remote = client.post(f"{BASE}/ehr", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert_error(remote, 401)
    with app.extensions["cdr"].storage.engine.connect() as conn:
        rows = conn.execute(sa.select(t.audit_event.c.basis, t.audit_event.c.internal)).all()
    assert [tuple(r) for r in rows] == [(None, True)]  # audited, and internal (not in any patient's log)
