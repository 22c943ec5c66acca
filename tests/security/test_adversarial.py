"""Adversarial tests of the REST API on SQLite and PostgreSQL: forged, expired and misdirected tokens and
missing scopes through every route; another patient's data through every route; SQL injection through path
and query parameters; oversized, deeply nested and entity-laden bodies.

The world they attack (also used by ``test_adversarial_aql`` and ``test_adversarial_audit``): tokens signed
by test keys published in a JWKS file, as HelseID publishes its keys; two patients, each with a record, and a
nurse in a care relation with only one of them; and every route of the app, read from its URL map with real
ids filled in, so that an endpoint added later is attacked without editing a table here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from cdr.api import create_app
from cdr.security import AuthConfig
from cdr.security.helseid import HPR_NUMBER, ORGNR_PARENT, PID
from cdr.storage import Storage
from cdr.storage.schema import metadata
from tests.api.conftest import BASE, COMPOSITIONS, NB_TEMPLATE, NB_TEMPLATE_ID, assert_error, etag
from tests.security.conftest import AUDIENCE, ISSUER, SigningKey
from tests.security.test_api_security import _contribution, status_for
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

PATIENT, OTHER_PATIENT = "13116900216", "01019010046"
NURSE_HPR, OTHER_NURSE_HPR = "9144900", "9144902"
ORG = "912159523"
MAX_BODY = 256 * 1024  # the request size limit the tests configure (the default is 32 MiB)

# Every scope the app knows, by default name (docs/security.md, "Scopes").
READ, WRITE, QUERY, DEFINITION, ADMIN = (
    "cdr/ehr.read",
    "cdr/ehr.write",
    "cdr/query",
    "cdr/definition",
    "cdr/admin",
)
PATIENT_SCOPE, RELATIONS, RESEARCH = "cdr/patient", "cdr/care_relation", "cdr/research"
ALL_SCOPES = frozenset({READ, WRITE, QUERY, DEFINITION, ADMIN, PATIENT_SCOPE, RELATIONS, RESEARCH})
CLINICAL = [READ, WRITE, QUERY]

EHR_BLUEPRINTS = frozenset({"ehr", "ehr_status", "composition", "directory", "contribution"})
ENDPOINT_GROUPS = EHR_BLUEPRINTS | {"definition", "query", "admin", "security"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(scopes: list[str] | frozenset[str], **overrides: Any) -> dict[str, Any]:
    """A HelseID-shaped access token's claims, valid now; ``None`` values remove a claim."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "sub": f"sub-{uuid.uuid4().hex[:8]}",
        "client_id": "kommune-ehr-client",
        "scope": sorted(scopes),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unsigned(key: SigningKey, body: dict[str, Any], alg: str) -> str:
    """A token with header ``alg`` and no signature at all (``alg: none`` or a stripped signature)."""
    header = {"alg": alg, "typ": "JWT", "kid": key.kid}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}."


def hmac_with_public_key(key: SigningKey, body: dict[str, Any]) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the RSA public key everyone can fetch."""
    secret = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'kid': key.kid}).encode())}.{b64(json.dumps(body).encode())}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bad_tokens(key: SigningKey, stranger: SigningKey) -> dict[str, str]:
    """Tokens that must be refused with 401 wherever they are sent; each would be accepted but for its flaw
    (every one carries every scope and a care-related HPR number)."""
    good = claims(ALL_SCOPES, **{HPR_NUMBER: NURSE_HPR})
    now = int(time.time())
    return {
        "expired": key.sign({**good, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
        "not yet valid": key.sign({**good, "nbf": now + 3600, "exp": now + 7200}),
        "wrong audience": key.sign({**good, "aud": "kommune:another-api"}),
        "wrong issuer": key.sign({**good, "iss": "https://helseid-sts.evil.example"}),
        "no expiry": key.sign({k: v for k, v in good.items() if k != "exp"}),
        "alg none": unsigned(key, good, "none"),
        "signature stripped": unsigned(key, good, key.alg),
        "signed by another key under our kid": jwt.encode(
            good, stranger.private, algorithm=stranger.alg, headers={"kid": key.kid}
        ),
        "HS256 keyed with the public key": hmac_with_public_key(key, good),
        "tampered payload": _tampered(key.sign(good)),
        "not a JWT": "not-a-token",
    }


def _tampered(token: str) -> str:
    """The valid signature kept, the payload changed (a scope added after signing)."""
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["scope"] = [*body["scope"], "cdr/extra"]
    return f"{header}.{b64(json.dumps(body).encode())}.{signature}"


def row_counts(db: sa.Engine, *, audit: bool = True) -> dict[str, int]:
    """Rows per table (the audit tables left out unless ``audit``), to show a refusal changed nothing."""
    with db.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            if audit or not table.name.startswith("audit")
        }


def make_app(storage: Storage, jwks_file: Path) -> Flask:
    auth = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=jwks_file)
    return create_app({"STORAGE": storage, "TESTING": True, "AUTH": auth, "MAX_CONTENT_LENGTH": MAX_BODY})


@dataclass
class Record:
    """One patient's EHR with a composition, a folder and a contribution, and its ids."""

    ehr_id: str
    version_uid: str
    object_id: str
    status_uid: str
    contribution_uid: str
    directory_uid: str


class World:
    """Two patients' records; ``nurse`` has a care relation (by HPR number) with ``mine`` only."""

    def __init__(self, app: Flask, key: SigningKey) -> None:
        self.app = app
        self.client = app.test_client()
        self.key = key
        self.modeler = self.token([DEFINITION])
        self.admin = self.token([ADMIN, RELATIONS])
        self.nurse = self.token(CLINICAL, **{HPR_NUMBER: NURSE_HPR, ORGNR_PARENT: ORG, "name": "Nina"})
        self.other_nurse = self.token(CLINICAL, **{HPR_NUMBER: OTHER_NURSE_HPR, "name": "Ola"})
        self.patient = self.token([PATIENT_SCOPE], **{PID: PATIENT})
        self.body = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
        uploaded = self.call(
            "POST",
            "/definition/template/adl1.4",
            self.modeler,
            data=NB_TEMPLATE.read_bytes(),
            content_type="application/xml",
        )
        assert uploaded.status_code == 201, uploaded.json
        self.mine = self._record(PATIENT, NURSE_HPR, self.nurse)
        self.theirs = self._record(OTHER_PATIENT, OTHER_NURSE_HPR, self.other_nurse)

    def token(self, scopes: list[str] | frozenset[str], **extra: Any) -> dict[str, str]:
        return bearer(self.key.sign(claims(scopes, **extra)))

    def call(self, method: str, path: str, who: dict[str, str], **kwargs: Any) -> TestResponse:
        headers = {**who, **kwargs.pop("headers", {})}
        return self.client.open(BASE + path, method=method, headers=headers, **kwargs)

    def _record(self, subject: str, hpr: str, nurse: dict[str, str]) -> Record:
        created = self.call("POST", "/ehr", nurse, json=status_for(subject))
        assert created.status_code == 201, created.json
        ehr_id = str(created.headers["Location"]).rsplit("/", 1)[1]
        relation = self.call(
            "POST", f"/security/ehr/{ehr_id}/care_relation", self.admin, json={"hpr_number": hpr}
        )
        assert relation.status_code == 201, relation.json
        committed = self.call(
            "POST", f"/ehr/{ehr_id}/composition", nurse, data=self.body, content_type="application/json"
        )
        assert committed.status_code == 201, committed.json
        folder = {
            "_type": "FOLDER",
            "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
            "name": {"value": "r"},
        }
        directory = self.call("POST", f"/ehr/{ehr_id}/directory", nurse, json=folder)
        assert directory.status_code == 201, directory.json
        contribution = self.call("POST", f"/ehr/{ehr_id}/contribution", nurse, json=_contribution(self.body))
        assert contribution.status_code == 201, contribution.json
        version_uid = etag(committed)
        return Record(
            ehr_id=ehr_id,
            version_uid=version_uid,
            object_id=version_uid.split("::")[0],
            status_uid=etag(self.call("GET", f"/ehr/{ehr_id}/ehr_status", nurse)),
            contribution_uid=str(contribution.headers["Location"]).rsplit("/", 1)[1],
            directory_uid=etag(directory),
        )

    def routes(self, record: Record) -> list[Route]:
        """Every method of every rule of the app (system endpoints aside), its variables filled from
        ``record``: the inventory the sweeps walk, so a new endpoint is attacked without editing a table."""
        found: list[Route] = []
        for rule in self.app.url_map.iter_rules():
            blueprint = (rule.endpoint or "").split(".")[0]
            if blueprint not in ENDPOINT_GROUPS:
                continue
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append(Route(blueprint, method, _fill(rule, record, blueprint), rule.endpoint))
        return found


@dataclass(frozen=True)
class Route:
    group: str
    method: str
    path: str
    endpoint: str

    @property
    def reading(self) -> bool:
        return self.method == "GET"

    def opening_scopes(self) -> frozenset[str]:
        """The scopes of which this route needs one, as docs/security.md states them (not as the code
        computes them: the test is the second opinion)."""
        if self.group in EHR_BLUEPRINTS:
            return frozenset({READ, PATIENT_SCOPE}) if self.reading else frozenset({WRITE})
        if self.group == "definition" or self.endpoint in ("query.store_query", "query.store_query_version"):
            return frozenset({READ, WRITE, DEFINITION}) if self.reading else frozenset({DEFINITION})
        if self.group == "query":
            return (
                frozenset({READ, WRITE, DEFINITION})
                if self.endpoint.startswith("query.list_") or self.endpoint == "query.get_query"
                else frozenset({QUERY})
            )
        if self.group == "admin":
            return frozenset({ADMIN})
        if self.endpoint.endswith("relation") or self.endpoint.endswith("relations"):
            return frozenset({RELATIONS, ADMIN})
        return frozenset({PATIENT_SCOPE, ADMIN})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _fill(rule: Rule, record: Record, blueprint: str) -> str:
    version = {
        "ehr_status": record.status_uid,
        "directory": record.directory_uid,
    }.get(blueprint, record.version_uid)
    values = {
        "ehr_id": record.ehr_id,
        "uid_based_id": record.status_uid if blueprint == "ehr_status" else record.version_uid,
        "versioned_object_uid": record.object_id,
        "version_uid": version,
        "contribution_uid": record.contribution_uid,
        "template_id": NB_TEMPLATE_ID,
        "name": "org.example::vitals",
        "version": "1.0.0",
        "relation_id": str(uuid.uuid4()),
        "control_id": str(uuid.uuid4()),
        "key": "flag",
    }
    path = rule.rule
    for argument in rule.arguments:
        if argument in (rule.defaults or {}):
            continue
        path = path.replace(f"<{argument}>", values[argument])
    assert path.startswith(BASE) and "<" not in path, path
    return path.removeprefix(BASE)


@pytest.fixture
def storage(engine: sa.Engine) -> Storage:  # noqa: F811
    return Storage(engine, system_id="test.cdr")


@pytest.fixture
def app(storage: Storage, jwks_file: Path) -> Flask:
    return make_app(storage, jwks_file)


@pytest.fixture
def world(app: Flask, rsa_key: SigningKey) -> World:
    return World(app, rsa_key)


# --- tokens and scopes through every route -----------------------------------------------------------------


def test_the_route_inventory_covers_every_endpoint_group(world: World) -> None:
    groups = {route.group for route in world.routes(world.mine)}
    assert groups == ENDPOINT_GROUPS


def test_refused_tokens_are_401_everywhere_and_change_nothing(world: World, ec_key: SigningKey) -> None:
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db)
    routes = world.routes(world.mine)
    tokens = bad_tokens(world.key, SigningKey(ec_key.private, world.key.kid, "ES256"))
    for flaw, token in tokens.items():
        for route in routes:
            response = world.call(route.method, route.path, bearer(token), json={})
            assert response.status_code == 401, (flaw, str(route))
            assert_error(response, 401)
            challenge = response.headers["WWW-Authenticate"]
            assert challenge.startswith('Bearer realm="cdr"') and 'error="invalid_token"' in challenge, flaw
            assert token not in response.get_data(as_text=True)  # a refusal never echoes the token
    assert row_counts(db) == before  # not a row written, not even an audit record


def test_a_valid_token_reaches_every_read(world: World) -> None:
    """The control of the sweeps: with the right scopes, a care relation and the patient's own ids, no read
    is refused, so a 401 or 403 in the sweeps is the flaw's doing and not a wrong path."""
    everyone = world.token(ALL_SCOPES - {RESEARCH}, **{HPR_NUMBER: NURSE_HPR, PID: PATIENT})
    for route in world.routes(world.mine):
        if route.reading:
            response = world.call("GET", route.path, everyone)
            assert response.status_code not in (401, 403), (str(route), response.json)


def test_a_missing_scope_is_403_everywhere_and_changes_nothing(world: World) -> None:
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db, audit=False)
    for route in world.routes(world.mine):
        lacking = world.token(ALL_SCOPES - route.opening_scopes(), **{HPR_NUMBER: NURSE_HPR, PID: PATIENT})
        response = world.call(route.method, route.path, lacking, json={})
        assert response.status_code == 403, str(route)
        assert_error(response, 403)
        if route.group != "security":  # the security endpoints check per endpoint, without a challenge
            assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"], str(route)
    assert row_counts(db, audit=False) == before


def test_no_credentials_is_401_everywhere(world: World) -> None:
    for route in world.routes(world.mine):
        response = world.client.open(BASE + route.path, method=route.method, json={})
        assert response.status_code == 401, str(route)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="cdr"'


# --- another patient's record through every route -----------------------------------------------------------


def _valid_body(world: World, route: Route) -> dict[str, Any]:
    """A body the route would accept from someone allowed, so that a refusal is the policy's and not the
    parser's."""
    theirs = world.theirs
    if route.path.endswith("/item_tag"):  # EHRbase's ITEM_TAG API: tags to add, ids to delete
        if route.method == "PUT":
            return {"json": [{"key": "flag", "value": "x"}]}
        return {"json": [str(uuid.uuid4())]} if route.method == "DELETE" else {}
    if route.method in ("GET", "DELETE"):
        return {"headers": {"If-Match": theirs.directory_uid}} if route.group == "directory" else {}
    if route.path.endswith("/tags"):  # ITEM_TAGs of a COMPOSITION or EHR_STATUS
        return {"json": [{"key": "flag", "value": "x"}]}
    folder = {"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": {"value": "x"}}
    by_group: dict[str, dict[str, Any]] = {
        "composition": {
            "data": world.body,
            "content_type": "application/json",
            "headers": {"If-Match": theirs.version_uid},
        },
        "ehr_status": {"json": status_for(OTHER_PATIENT), "headers": {"If-Match": theirs.status_uid}},
        "directory": {"json": folder, "headers": {"If-Match": theirs.directory_uid}},
        "contribution": {"json": _contribution(world.body)},
        "ehr": {"json": status_for(OTHER_PATIENT)},
        "security": {
            "json": {"hpr_number": NURSE_HPR, "target_kind": "ehr", "party_kind": "everyone", "party": None}
        },
    }
    return by_group.get(route.group, {"json": {}})


def _patient_routes(world: World) -> list[Route]:
    return [r for r in world.routes(world.theirs) if "/ehr/" in r.path and r.group != "admin"]


@pytest.mark.parametrize("who", ["nurse", "patient"])
def test_another_patients_record_is_refused_through_every_route(world: World, who: str) -> None:
    """The nurse has a care relation with PATIENT only; the patient may see their own record only. Every
    route naming OTHER_PATIENT's EHR is 403, nothing of it is in the answer, and nothing changes."""
    caller = {"nurse": world.nurse, "patient": world.patient}[who]
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db, audit=False)
    theirs = world.theirs
    secrets = (theirs.version_uid, theirs.object_id, theirs.status_uid, OTHER_PATIENT, theirs.directory_uid)
    for route in _patient_routes(world):
        response = world.call(route.method, route.path, caller, **_valid_body(world, route))
        if route.endpoint == "ehr.create_ehr_with_id":
            # creating an EHR under an id needs only ``write``; the id is taken, so it cannot succeed
            assert response.status_code in (400, 403, 409), str(route)
            continue
        assert response.status_code == 403, str(route)
        assert_error(response, 403)
        text = response.get_data(as_text=True)
        assert not any(s in text for s in secrets), str(route)
    lookup = world.call("GET", f"/ehr?subject_id={OTHER_PATIENT}&subject_namespace=fnr", caller)
    assert_error(lookup, 403)
    assert row_counts(db, audit=False) == before
    # and the same routes on their own record are open to them (the control)
    mine = world.mine
    for path in (f"/ehr/{mine.ehr_id}", f"/ehr/{mine.ehr_id}/composition/{mine.version_uid}"):
        assert world.call("GET", path, caller).status_code == 200, path


# --- SQL injection through REST path and query parameters ---------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "1' OR 1=1 --",
    "x'; DROP TABLE ehr; --",
    'x"; DELETE FROM audit_event; --',
    "') UNION SELECT ehr_id FROM ehr --",
    "%' OR '%'='",
    "x\\' OR 1=1 #",
    "nul\x00byte",  # PostgreSQL text cannot hold NUL: must be a 400, not a driver error
]


def _injected_paths(world: World, payload: str) -> list[str]:
    from urllib.parse import quote

    p, e, v, o = quote(payload, safe=""), world.mine.ehr_id, world.mine.version_uid, world.mine.object_id
    return [
        f"/ehr/{p}",
        f"/ehr?subject_id={p}&subject_namespace=fnr",
        f"/ehr?subject_id={PATIENT}&subject_namespace={p}",
        f"/ehr/{e}/ehr_status?version_at_time={p}",
        f"/ehr/{e}/ehr_status/{p}",
        f"/ehr/{e}/versioned_ehr_status/version?version_at_time={p}",
        f"/ehr/{e}/composition/{p}",
        f"/ehr/{e}/composition/{o}::{p}::1",
        f"/ehr/{e}/composition/{o}?version_at_time={p}",
        f"/ehr/{e}/versioned_composition/{p}",
        f"/ehr/{e}/versioned_composition/{o}/version?version_at_time={p}",
        f"/ehr/{e}/versioned_composition/{o}/version/{v}{p}",
        f"/ehr/{e}/directory?version_at_time={p}",
        f"/ehr/{e}/directory?path={p}",
        f"/ehr/{e}/contribution/{p}",
        f"/definition/template/adl1.4/{p}",
        f"/definition/template/adl1.4/{p}/example",
        f"/definition/query/{p}",
        f"/definition/query/org.example::q/{p}",
        f"/query/{p}",
        f"/security/ehr/{p}/access_log",
    ]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_through_path_and_query_parameters(world: World, payload: str) -> None:
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db, audit=False)
    everyone = world.token(ALL_SCOPES - {RESEARCH}, **{HPR_NUMBER: NURSE_HPR, PID: PATIENT})
    for path in _injected_paths(world, payload):
        response = world.call("GET", path, everyone)
        assert response.status_code in (400, 403, 404), (path, response.status_code, response.json)
        assert_error(response, response.status_code)
        assert world.theirs.object_id not in response.get_data(as_text=True), path
    assert row_counts(db, audit=False) == before


# --- bodies: size, depth, entities -------------------------------------------------------------------------


def _body_routes(world: World) -> list[tuple[str, str, str]]:
    e, o, v = world.mine.ehr_id, world.mine.object_id, world.mine.version_uid
    return [
        ("POST", "/ehr", "application/json"),
        ("POST", f"/ehr/{e}/composition", "application/json"),
        ("PUT", f"/ehr/{e}/composition/{o}", "application/json"),
        ("POST", f"/ehr/{e}/composition", "application/xml"),
        ("PUT", f"/ehr/{e}/ehr_status", "application/json"),
        ("POST", f"/ehr/{e}/directory", "application/json"),
        ("POST", f"/ehr/{e}/contribution", "application/json"),
        ("POST", "/query/aql", "application/json"),
        ("POST", "/definition/template/adl1.4", "application/xml"),
        ("POST", f"/security/ehr/{e}/care_relation", "application/json"),
        ("POST", f"/security/ehr/{e}/restriction", "application/json"),
    ] + [("PUT", f"/ehr/{e}/composition/{o}", "application/xml")] * bool(v)


def _writer(world: World) -> dict[str, str]:
    """The nurse with every scope but research (and no ``pid``: a patient's token never writes)."""
    return world.token(ALL_SCOPES - {RESEARCH}, **{HPR_NUMBER: NURSE_HPR})


def test_an_oversized_body_is_413_before_it_is_read(world: World) -> None:
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db, audit=False)
    big = b'{"a": "' + b"x" * MAX_BODY + b'"}'
    for method, path, content_type in _body_routes(world):
        headers = {"If-Match": world.mine.version_uid} if method == "PUT" else {}
        response = world.call(
            method, path, _writer(world), data=big, content_type=content_type, headers=headers
        )
        body = assert_error(response, 413)
        assert body["error"] == "Request Entity Too Large", path
    # just under the limit is read (and refused for what it is, not for its size)
    small = b'{"a": "' + b"x" * (MAX_BODY - 64) + b'"}'
    response = world.call(
        "POST",
        f"/ehr/{world.mine.ehr_id}/composition",
        _writer(world),
        data=small,
        content_type="application/json",
    )
    assert response.status_code in (400, 422), response.json
    assert row_counts(db, audit=False) == before


def test_the_default_body_limit_is_set() -> None:
    from cdr.api.config import load

    assert load()["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024


NESTED = {
    "JSON arrays": lambda n: "[" * n + "]" * n,
    "JSON objects": lambda n: '{"a":' * n + "1" + "}" * n,
    "JSON in a composition": lambda n: (
        '{"_type":"COMPOSITION","name":{"value":"x"},"content":[' + '{"items":[' * n + "]}" * n + "]}"
    ),
    "XML elements": lambda n: (
        '<composition xmlns="http://schemas.openehr.org/v1">' + "<a>" * n + "</a>" * n + "</composition>"
    ),
}


@pytest.mark.parametrize("kind", sorted(NESTED))
def test_deeply_nested_bodies_are_400_not_500(world: World, kind: str) -> None:
    body = NESTED[kind](20_000)
    assert len(body) < MAX_BODY
    for method, path, content_type in _body_routes(world):
        response = world.call(method, path, _writer(world), data=body, content_type=content_type)
        assert response.status_code in (400, 415, 422), (path, content_type, response.status_code)
        assert_error(response, response.status_code)
    # a deep AQL expression is another nested body
    aql = "SELECT e/ehr_id/value FROM EHR e WHERE " + "(" * 5000 + "1 = 1" + ")" * 5000
    response = world.call("POST", "/query/aql", _writer(world), json={"q": aql})
    assert response.status_code == 400, response.json
    assert_error(response, 400)
    # and the server still answers afterwards
    assert world.call("GET", f"/ehr/{world.mine.ehr_id}", world.nurse).status_code == 200


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    '<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>'
    '<{root} xmlns="http://schemas.openehr.org/v1"><name><value>&g;</value></name>{rest}</{root}>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<{root} xmlns="http://schemas.openehr.org/v1"><name><value>&x;</value></name>{rest}</{root}>'
)
XXE_PARAMETER = (
    '<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
    '<{root} xmlns="http://schemas.openehr.org/v1"><name><value>x</value></name>{rest}</{root}>'
)


@pytest.mark.parametrize("attack", ["billion laughs", "external entity", "external parameter entity"])
def test_xml_entities_are_refused(world: World, attack: str) -> None:
    template = {"billion laughs": BOMB, "external entity": XXE, "external parameter entity": XXE_PARAMETER}[
        attack
    ]
    db = world.app.extensions["cdr"].storage.engine
    before = row_counts(db, audit=False)
    e, o = world.mine.ehr_id, world.mine.object_id
    for method, path, root in (
        ("POST", f"/ehr/{e}/composition", "composition"),
        ("PUT", f"/ehr/{e}/composition/{o}", "composition"),
        ("POST", "/definition/template/adl1.4", "template"),
    ):
        body = template.replace("{root}", root).replace(
            "{rest}", "<template_id><value>t</value></template_id>"
        )
        headers = {"If-Match": world.mine.version_uid} if method == "PUT" else {}
        response = world.call(
            method, path, _writer(world), data=body, content_type="application/xml", headers=headers
        )
        assert response.status_code == 400, (path, response.status_code)
        text = response.get_data(as_text=True)
        assert "root:" not in text and "aaaaaaaaaaaaaaaaaaaa" not in text, path  # nothing expanded or read
    assert row_counts(db, audit=False) == before


def test_a_nul_character_in_a_body_is_400_not_500(world: World) -> None:
    """JSON may spell NUL as ``\\u0000``; PostgreSQL's jsonb and text refuse it, so it is refused first."""
    e = world.mine.ehr_id
    composition = json.loads(world.body)
    composition["name"]["value"] = "nul\u0000byte"
    folder = {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": {"value": "a\u0000"},
    }
    for method, path, body in (
        ("POST", f"/ehr/{e}/composition", composition),
        ("POST", f"/ehr/{e}/directory", folder),
        ("POST", f"/ehr/{e}/contribution", _contribution(json.dumps(composition))),
        ("POST", f"/security/ehr/{e}/care_relation", {"hpr_number": "91\u00004900"}),
    ):
        response = world.call(method, path, _writer(world), json=body)
        assert response.status_code in (400, 409, 422), (path, response.status_code, response.json)
        assert_error(response, response.status_code)


def test_a_lone_surrogate_escape_in_a_body_is_400_and_a_pair_is_stored(world: World) -> None:
    """JSON may escape half a UTF-16 surrogate pair (``\\ud800``); the string it makes has no UTF-8 form, so
    neither database can store it (it was a 500 on both). Refused first, with nothing written; a whole pair
    (an emoji) is one character and goes through, as does an escaped backslash before ``ud800``."""
    db = world.app.extensions["cdr"].storage.engine
    e = world.mine.ehr_id
    before = row_counts(db, audit=False)
    for lone in ("\ud800", "\udfff", "x\udc00y"):
        composition = json.loads(world.body)
        composition["name"]["value"] = f"half {lone} pair"
        folder = {
            "_type": "FOLDER",
            "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
            "name": {"value": lone},
        }
        flat = {"kommunal_vitalparametre_news2/context/start_time": lone}
        for method, path, body, media_type in (
            ("POST", f"/ehr/{e}/composition", composition, "application/json"),
            ("POST", f"/ehr/{e}/composition", composition, None),  # no media type: read as JSON
            ("POST", f"/ehr/{e}/composition", flat, "application/openehr.wt.flat+json"),
            ("POST", f"/ehr/{e}/directory", folder, "application/json"),
            ("POST", f"/ehr/{e}/contribution", _contribution(json.dumps(composition)), "application/json"),
            (
                "POST",
                f"/security/ehr/{e}/care_relation",
                {"hpr_number": "9", "reason": lone},
                "application/json",
            ),
            (
                "POST",
                "/query/aql",
                {"q": f"SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = '{lone}'"},
                "application/json",
            ),
        ):
            text = json.dumps(body)  # ASCII only: the lone surrogate goes as its \\u escape
            assert "\\ud" in text
            headers = {"openEHR-TEMPLATE_ID": NB_TEMPLATE_ID}
            response = world.call(
                method, path, _writer(world), data=text, content_type=media_type, headers=headers
            )
            assert response.status_code == 400, (path, lone, response.status_code, response.json)
            assert_error(response, 400)
            assert "surrogate" in response.json["message"]
    assert row_counts(db, audit=False) == before
    composition = json.loads(world.body)
    composition["name"]["value"] = "pair \U0001f600 and a backslash \\ud800"
    text = json.dumps(composition)
    assert "\\ud83d\\ude00" in text and "\\\\ud800" in text
    created = world.call(
        "POST", f"/ehr/{e}/composition", _writer(world), data=text, content_type="application/json"
    )
    assert created.status_code == 201, created.json
    read = world.call("GET", f"/ehr/{e}/composition/{created.headers['ETag'].strip(chr(34))}", world.nurse)
    assert read.status_code == 200
    assert read.json["name"]["value"] == "pair \U0001f600 and a backslash \\ud800"


def test_text_from_outside_longer_than_its_column_is_no_500(world: World) -> None:
    """An ``X-Request-Id`` longer than the audit record's column is kept as far as it fits (PostgreSQL refused
    the record, and so the request: a 500); a subject id longer than any stored one is a 400, as a parameter
    of ``GET /ehr`` and in an EHR_STATUS, with nothing written."""
    db = world.app.extensions["cdr"].storage.engine
    e = world.mine.ehr_id
    long_id = "trace-" + "0123456789" * 10
    read = world.call("GET", f"/ehr/{e}", world.nurse, headers={"X-Request-Id": long_id})
    assert read.status_code == 200, read.json
    records = world.app.extensions["cdr_audit"].records([uuid.UUID(e)])
    assert long_id[:64] in [r["request_id"] for r in records]
    before = row_counts(db, audit=False)
    subject = "1" * 300
    found = world.call(
        "GET", "/ehr", world.nurse, query_string={"subject_id": subject, "subject_namespace": "fnr"}
    )
    assert_error(found, 400)
    created = world.call("POST", "/ehr", world.nurse, json=status_for(subject, "org.example.patients"))
    assert "at most 255" in assert_error(created, 400)["message"]
    assert row_counts(db, audit=False) == before
