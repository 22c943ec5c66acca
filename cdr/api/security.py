"""Security in the REST API: authentication and scopes before every request, the policy in the services'
seam, one audit record per request that touches patient data, and the endpoints that manage care relations,
patient controls and the patient's access log.

:func:`init_app` (called by ``create_app``) installs it. Per request:

1. ``before_request``: :func:`cdr.security.authenticate` per the app's :class:`~cdr.security.AuthConfig`
   (``AUTH`` in the app config, else the ``CDR_AUTH*`` environment; without ``CDR_AUTH`` authentication is
   off, which serves loopback clients only, so that the test suite and the AQL conformance runner work on a
   developer's machine while nothing is open to the network); the areas the scopes open become the
   principal's roles, the endpoint's area is required (403 ``insufficient_scope`` otherwise), and the
   request's :class:`~cdr.security.enforcement.EnforcingPolicy` is put where ``request_context`` finds it.
2. The use cases call ``ctx.authorize``; refusals are 403 with the policy's reason.
3. Versioned writes hand their access record to :func:`_access_log` inside the write transaction; every other
   request that touched patient data gets its record in ``after_request``, with the response status. If the
   record cannot be written, the answer is a 500 instead of the data: no access without a trace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.engine import Connection

from cdr.api.cors import is_preflight
from cdr.api.current import current_request, request_globals, the_app
from cdr.api.errors import ApiError, error_response, handle_cdr_error
from cdr.api.openapi import documented
from cdr.errors import CdrError, NotFound
from cdr.security import AuthConfig, AuthMode, Principal, authenticate
from cdr.security.audit import AuditEvent, Outcome, actor_fields, is_internal
from cdr.security.config import is_loopback
from cdr.security.enforcement import EnforcingPolicy, RequestAccess, utc_now
from cdr.security.errors import AuthUnavailable, Forbidden, Unauthenticated
from cdr.security.identity import anonymous_principal
from cdr.security.policy import (
    EMERGENCY_GRANT_MINUTES,
    CareRelation,
    ControlKind,
    Decision,
    EmergencyRequest,
    PartyKind,
    PatientControl,
    TargetKind,
)
from cdr.security.principal import AuthMethod
from cdr.security.scopes import ApiArea, with_roles
from cdr.security.tokens import VerifiedTokens
from cdr.services.context import AccessRecord
from cdr.storage.access_control import AccessControlStore, RequestConnection, RequestFacts
from cdr.storage.audit import AuditStore
from cdr.storage.engine import bind, unbind
from cdr.storage.records import VersionUid

log = logging.getLogger(__name__)

EMERGENCY_CODE = "X-Cdr-Emergency-Reason-Code"
EMERGENCY_TEXT = "X-Cdr-Emergency-Reason-Text"
_EHR_BLUEPRINTS = frozenset({"ehr", "ehr_status", "composition", "directory", "contribution"})
_COMPOSITION_ARGS = ("uid_based_id", "versioned_object_uid")
_TARGET_ARGS = ("uid_based_id", "versioned_object_uid", "version_uid", "contribution_uid")

bp = Blueprint("security", __name__)


# --- settings and installation -----------------------------------------------------------------------------


def auth_config(config: Mapping[str, Any], environ: Mapping[str, str]) -> AuthConfig:
    """The app's authentication settings: ``config["AUTH"]`` (an AuthConfig or its fields), else the
    ``CDR_AUTH*`` environment with ``none`` as the default mode (loopback clients only)."""
    given = config.get("AUTH")
    if isinstance(given, AuthConfig):
        return given
    if isinstance(given, Mapping):
        return AuthConfig.load(**given)
    env = dict(environ)
    env.setdefault("CDR_AUTH", AuthMode.NONE.value)
    return AuthConfig.from_env(env)


def init_app(app: Flask, base: str) -> None:
    """Install authentication, the policy, the audit trail and the security endpoints on ``app``."""
    storage = app.extensions["cdr"].storage
    app.extensions["cdr_auth"] = config = auth_config(app.config, os.environ)
    app.extensions["cdr_tokens"] = VerifiedTokens(config)
    app.extensions["cdr_audit"] = AuditStore(storage.engine)
    app.extensions["cdr_access_control"] = AccessControlStore(storage.engine)
    app.extensions["cdr_access_log"] = _access_log
    minutes = app.config.get("EMERGENCY_MINUTES") or os.environ.get("CDR_EMERGENCY_MINUTES")
    app.config["EMERGENCY_MINUTES"] = int(minutes) if minutes else EMERGENCY_GRANT_MINUTES
    for cls in (Unauthenticated, Forbidden, AuthUnavailable):
        app.register_error_handler(cls, _security_error)
    app.register_error_handler(NotFound, _not_found)
    app.before_request(_authenticate)
    app.after_request(_audit_response)
    app.teardown_request(_release)
    app.register_blueprint(bp, url_prefix=base)


def _security_error(exc: CdrError) -> Response:
    status = int(getattr(exc, "status", 500))
    response = error_response(status, exc.message)
    challenge = getattr(exc, "www_authenticate", None)
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _not_found(exc: NotFound) -> Response:
    """A lookup by subject id that finds nothing answers 403, like one that finds an EHR without a basis, so
    that the API is not an oracle for who has a record here (except to the patient themself)."""
    access: RequestAccess | None = g.get("cdr_access")
    principal = access.principal if access is not None else None
    if (
        request.endpoint == "ehr.find_ehr"
        and principal is not None
        and principal.auth_method is not AuthMethod.NONE
        and principal.pid != request.args.get("subject_id")
    ):
        if access is not None:
            access.refused = True
        return _security_error(Forbidden("no care relation or attested purpose for this patient"))
    return handle_cdr_error(exc)


# --- before each request: who, which area, which policy ----------------------------------------------------


def _principal(config: AuthConfig) -> Principal:
    req = current_request()
    app = the_app()
    if config.mode is not AuthMode.NONE:
        tokens: VerifiedTokens = app.extensions["cdr_tokens"]
        return with_roles(authenticate(dict(req.headers.items()), config, tokens), config.scopes)
    if not is_loopback(req.remote_addr or ""):
        raise Unauthenticated(
            "authentication is off (CDR_AUTH=none), which serves loopback clients only", error=None
        )
    from cdr.api.auth import identify  # the admin-role rules that apply while authentication is off

    legacy = identify()
    admin = ApiArea.ADMIN.value in legacy.roles
    key = (admin, legacy.display_name)
    known: dict[tuple[bool, str], Principal] = app.extensions.setdefault("cdr_dev_principals", {})
    principal = known.get(key)
    if principal is None:  # the same few per app: built once (a Principal is immutable)
        base = with_roles(anonymous_principal(config), config.scopes)
        roles = base.roles - {ApiArea.ADMIN.value} | ({ApiArea.ADMIN.value} if admin else set())
        principal = known[key] = base.model_copy(update={"roles": roles, "name": legacy.display_name})
    return principal


def _areas() -> frozenset[ApiArea] | None:
    """The areas of which the endpoint needs one; ``None`` when it is public or checks for itself."""
    req = current_request()
    endpoint = req.endpoint or ""
    if endpoint.startswith("system.") or req.method == "OPTIONS" or req.blueprint == "security":
        return None
    reading = req.method in ("GET", "HEAD")
    if req.blueprint in _EHR_BLUEPRINTS:
        return frozenset({ApiArea.READ, ApiArea.PATIENT}) if reading else frozenset({ApiArea.WRITE})
    # stored-query definitions live in the query blueprint but are administration, like templates
    rule = req.url_rule.rule if req.url_rule is not None else ""
    if req.blueprint == "definition" or (req.blueprint == "query" and "/definition/" in rule):
        return (
            frozenset({ApiArea.READ, ApiArea.WRITE, ApiArea.DEFINITION})
            if reading
            else frozenset({ApiArea.DEFINITION})
        )
    if req.blueprint == "admin":
        return frozenset({ApiArea.ADMIN})
    if req.blueprint in ("query", "aql"):
        return frozenset({ApiArea.QUERY})
    if req.endpoint is None:  # no such route: the 404 follows
        return None
    return frozenset()  # an endpoint nobody mapped to an area is closed


def require_area(principal: Principal, areas: frozenset[ApiArea], config: AuthConfig) -> None:
    """:class:`Forbidden` (``insufficient_scope``) unless ``principal`` holds one of ``areas``."""
    if any(area.value in principal.roles for area in areas):
        return
    if not areas:
        raise Forbidden(f"{request.endpoint} is not open to any scope")
    first = sorted(areas)[0]
    needed = config.scopes.for_area(first)
    names = " or ".join(config.scopes.for_area(a) for a in sorted(areas))
    raise Forbidden(f"this requires the scope {names}", required_scope=needed, realm=config.realm)


def _emergency() -> EmergencyRequest | None:
    req = current_request()
    code, text = req.headers.get(EMERGENCY_CODE), req.headers.get(EMERGENCY_TEXT)
    if code is None and text is None:
        return None
    try:
        return EmergencyRequest(code=(code or "").strip(), text=(text or "").strip())
    except ValidationError:
        raise ApiError(f"emergency access needs both {EMERGENCY_CODE} and {EMERGENCY_TEXT}") from None


def _composition_id() -> uuid.UUID | None:
    req = current_request()
    if req.blueprint != "composition":
        return None
    for name in _COMPOSITION_ARGS:
        value = (req.view_args or {}).get(name)
        if value:
            try:
                return uuid.UUID(str(value).split("::")[0])
            except ValueError:
                return None
    return None


def _authenticate() -> None:
    req = current_request()
    glob = request_globals()
    app = the_app()
    config: AuthConfig = app.extensions["cdr_auth"]
    endpoint = req.endpoint or ""
    if endpoint.startswith("system.") or is_preflight(req):  # a preflight carries no credentials
        return
    principal = _principal(config)
    glob.cdr_principal = principal
    areas = _areas()
    if areas is not None:
        require_area(principal, areas, config)
    access = RequestAccess(principal, emergency=_emergency(), composition_id=_composition_id())
    access.touches_patient = "ehr_id" in (req.view_args or {})
    glob.cdr_access = access
    glob.cdr_policy = EnforcingPolicy(
        _facts(),
        access,
        emergency_minutes=app.config["EMERGENCY_MINUTES"],
    )


class RequestDb(RequestConnection):
    """The request's connection, which on PostgreSQL also carries the storage's transactions of the request
    (it is bound to the engine, see :func:`cdr.storage.engine.bind`): the policy's facts, the data read or
    written and the audit record then take one pooled connection.

    Blocks nest: an inner block joins the outermost one, and only the outermost commits (when it or any block
    inside it wrote) or rolls back (when an exception leaves it), so a write stays all or nothing. A
    read-only outermost block leaves its transaction open for the audit record (see RequestConnection).
    ``autocommit`` (a plain read, see :func:`_reads_one_record`): no transaction at all, each statement
    commits by itself, which saves the BEGIN and COMMIT round trips.
    """

    def __init__(self, engine: Any, *, autocommit: bool = False) -> None:
        super().__init__(engine)
        self._depth = 0
        self._wrote = False
        self._autocommit = autocommit

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        if not self._hold:
            with super().transaction(write=write) as conn:
                yield conn
            return
        if self._conn is None:
            self._conn = self.engine.connect()
            if self._autocommit:  # each statement commits itself: no BEGIN, no COMMIT round trip
                self._conn = self._conn.execution_options(isolation_level="AUTOCOMMIT")
        conn, outermost = self._conn, self._depth == 0
        self._depth += 1
        self._wrote |= write
        try:
            yield conn
        except BaseException:
            if outermost:
                self._wrote = False
                conn.rollback()
            raise
        finally:
            self._depth -= 1
        if outermost and self._wrote:
            self._wrote = False
            conn.commit()


def _reads_one_record() -> bool:
    """Whether the request only reads patient data and writes nothing but its audit record, which on
    PostgreSQL is ONE statement: then its statements need no transaction around them (the record commits by
    itself, and a read sees committed data either way under READ COMMITTED). Not for AQL (the record and
    the EHRs it names are two statements), nor for emergency access (the grant it writes and the record
    belong together)."""
    req = current_request()
    return (
        req.method in ("GET", "HEAD")
        and req.blueprint in _EHR_BLUEPRINTS
        and EMERGENCY_CODE not in req.headers
        and EMERGENCY_TEXT not in req.headers
    )


def _db() -> RequestDb:
    """The request's connection for its policy facts, its audit record and (PostgreSQL) its data."""
    glob = request_globals()
    db: RequestDb | None = glob.get("cdr_db")
    if db is None:
        engine = the_app().extensions["cdr"].storage.engine
        db = glob.cdr_db = RequestDb(engine, autocommit=_reads_one_record())
        if db.shared:
            glob.cdr_db_binding = bind(db)
    return db


def _read_version() -> VersionUid | None:
    """The composition version a ``GET .../composition/{version uid}`` reads: the facts' statement reads it
    too (one statement less for the hottest read)."""
    req = current_request()
    if req.method != "GET" or req.endpoint != "composition.get_composition":
        return None
    uid = str((req.view_args or {}).get("uid_based_id") or "")
    if "::" not in uid or req.args.get("version_at_time") is not None:
        return None
    try:
        return VersionUid.parse(uid)
    except CdrError:
        return None  # the use case reports it


def _facts() -> RequestFacts:
    """The request's view of the access-control store: each EHR's facts loaded once, in one statement."""
    glob = request_globals()
    facts: RequestFacts | None = glob.get("cdr_facts")
    if facts is None:
        store: AccessControlStore = the_app().extensions["cdr_access_control"]
        facts = glob.cdr_facts = RequestFacts(store.engine, _db(), _read_version())
    return facts


def _release(_exc: BaseException | None) -> None:
    glob = request_globals()
    binding = glob.pop("cdr_db_binding", None)
    if binding is not None:
        unbind(binding)
    db: RequestDb | None = glob.pop("cdr_db", None)
    if db is not None:
        db.close()


# --- the audit record of each request ----------------------------------------------------------------------


def _path_ehr_id() -> uuid.UUID | None:
    req = current_request()
    try:
        return uuid.UUID(str((req.view_args or {}).get("ehr_id")))
    except ValueError:
        return None


def _targets(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The uids in the path, then those the use case names (a write: every version it committed)."""
    req = current_request()
    found = [str(v) for k, v in (req.view_args or {}).items() if k in _TARGET_ARGS and v]
    found += [uid for uid in extra if uid]
    return tuple(dict.fromkeys(found))


def _event(
    access: RequestAccess,
    ehr_id: uuid.UUID | None,
    decision: Decision | None,
    *,
    operation: str,
    outcome: Outcome,
    status: int | None,
    targets: tuple[str, ...] = (),
    ehr_ids: tuple[uuid.UUID, ...] = (),
) -> AuditEvent:
    req = current_request()
    glob = request_globals()
    patient_id = decision.patient_id if decision else None
    namespace = decision.patient_namespace if decision else None
    if patient_id is None and req.args.get("subject_id"):
        patient_id, namespace = req.args.get("subject_id"), req.args.get("subject_namespace")
    if patient_id is None and ehr_id is not None and outcome is not Outcome.DENIED:
        facts, _ = _facts().facts(ehr_id, utc_now())
        patient_id, namespace = facts.subject_id, facts.subject_namespace
    return AuditEvent(
        time=utc_now(),
        request_id=glob.get("cdr_ctx").request_id if glob.get("cdr_ctx") else req.headers.get("X-Request-Id"),
        **actor_fields(access.principal),
        patient_id=patient_id,
        patient_namespace=namespace,
        ehr_id=ehr_id,
        operation=operation,
        method=req.method,
        path=req.path,
        targets=_targets(targets),
        basis=decision.basis.value if decision else None,
        purpose=decision.purpose if decision else None,
        emergency=bool(decision and decision.emergency),
        emergency_code=decision.emergency_code if decision else None,
        emergency_text=decision.emergency_text if decision else None,
        consent_override=bool(decision and decision.consent_override),
        outcome=outcome,
        status=status,
        ehr_ids=ehr_ids,
        # managing relations and controls, and reading the log, is not access to the record's content
        internal=is_internal(access.principal, patient_id) or req.blueprint == "security",
    )


def _access_log(conn: Connection | None, record: AccessRecord) -> None:
    """The services' access-log hook: the request's audit record, in the write transaction when given."""
    glob = request_globals()
    app = the_app()
    access: RequestAccess | None = glob.get("cdr_access")
    if access is None or (record.ehr_id is None and not record.ehr_ids):  # e.g. templates: not patient data
        return
    # AQL names its decision (an EHR read by consent or emergency access) or none: a query over many EHRs
    # takes no other EHR's decision, so its flags stay on the EHRs they are about
    decision = record.decision
    if decision is None and record.ehr_id is not None:
        decision = access.decision_for(record.ehr_id)
    event = _event(
        access,
        record.ehr_id,
        decision,
        operation=record.action.value,
        outcome=Outcome.SUCCESS,
        status=None,
        targets=(record.target or "", *record.touched),
        ehr_ids=record.ehr_ids,
    )
    app.extensions["cdr_audit"].append(event, conn)
    access.audited = True


def _operation(access: RequestAccess) -> str:
    req = current_request()
    if req.blueprint == "security":
        return f"security:{(req.endpoint or '').removeprefix('security.')}"
    if req.blueprint == "admin":
        return "admin"
    if req.blueprint in ("query", "aql"):  # running AQL reads, also when it is POSTed
        return "ehr:read"
    return "ehr:read" if req.method in ("GET", "HEAD") else "ehr:write"


def _audit_response(response: Response) -> Response:
    access: RequestAccess | None = request_globals().get("cdr_access")
    if access is None or not access.touches_patient:
        return response
    if access.audited and response.status_code < 500:
        return response
    ehr_id = _path_ehr_id()
    decision = access.decision_for(ehr_id)
    if response.status_code == 403 and (access.refused or (decision is not None and not decision.allowed)):
        outcome = Outcome.DENIED
    else:
        outcome = Outcome.SUCCESS if response.status_code < 400 else Outcome.FAILED
    if ehr_id is None and decision is not None:
        ehr_id = next((e for e, d in reversed(access.decisions) if d is decision), None)
    try:
        event = _event(
            access,
            ehr_id,
            decision,
            operation=_operation(access),
            outcome=outcome,
            status=response.status_code,
        )
        with _db().transaction(write=True) as conn:  # the request's connection: no second checkout
            the_app().extensions["cdr_audit"].append(event, conn)
    except Exception:
        req = current_request()
        log.exception("the audit record of %s %s could not be written", req.method, req.path)
        return error_response(500, "the access could not be audited, so it is refused")
    access.audited = True
    return response


# --- endpoints: care relations, patient controls, the patient's access log ---------------------------------


class RelationIn(BaseModel):
    """A care relation to create: exactly one of ``hpr_number`` and ``organisation``."""

    model_config = ConfigDict(extra="forbid")

    hpr_number: str | None = Field(default=None, pattern=r"^[0-9]{1,9}$")
    organisation: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_party(self) -> RelationIn:
        if (self.hpr_number is None) == (self.organisation is None):
            raise ValueError("give exactly one of hpr_number and organisation")
        for moment in (self.valid_from, self.valid_to):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need a time zone (e.g. 2026-01-01T08:00:00Z)")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must come after valid_from")
        return self


class ControlIn(BaseModel):
    """A restriction, block or consent to record (the kind comes from the path)."""

    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind | None = None
    target: str | None = Field(default=None, max_length=255)
    party_kind: PartyKind = PartyKind.EVERYONE
    party: str | None = Field(default=None, max_length=255)
    overrides: uuid.UUID | None = None
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    note: str | None = Field(default=None, max_length=2000)

    def check(self, kind: ControlKind) -> None:
        """:class:`ApiError` (400) when the fields do not fit ``kind``."""
        problems = []
        if kind is ControlKind.BLOCK and self.party_kind not in (PartyKind.HPR, PartyKind.PID):
            problems.append("a block names a person: party_kind hpr or pid")
        scoped = self.target_kind in (TargetKind.COMPOSITION, TargetKind.TEMPLATE)
        if kind is ControlKind.RESTRICTION and scoped and self.target_kind and not self.target:
            problems.append(f"a {self.target_kind.value} restriction needs target")
        if kind is ControlKind.RESTRICTION and self.target_kind is TargetKind.COMPOSITION and self.target:
            try:
                uuid.UUID(self.target)
            except ValueError:
                problems.append("target must be the composition's object id (a UUID)")
        if kind is not ControlKind.RESTRICTION and self.target_kind is not None:
            problems.append(f"a {kind.value} has no target")
        if kind is not ControlKind.CONSENT and self.overrides is not None:
            problems.append("only a consent overrides a restriction")
        if self.party_kind is not PartyKind.EVERYONE and not self.party:
            problems.append(f"party_kind {self.party_kind.value} needs party")
        for moment in (self.valid_from, self.valid_to):
            if moment is not None and moment.tzinfo is None:
                problems.append("times need a time zone (e.g. 2026-01-01T08:00:00Z)")
        if problems:
            raise ApiError("; ".join(problems))


def _body(model: type[BaseModel]) -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise ApiError(reasons) from None


def _ehr(ehr_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(ehr_id)
    except ValueError:
        raise ApiError(f"ehr_id {ehr_id!r} is not a UUID") from None


def _access() -> tuple[RequestAccess, AccessControlStore]:
    return g.cdr_access, _facts()


def _is_self(access: RequestAccess, store: AccessControlStore, ehr_id: uuid.UUID) -> bool:
    principal = access.principal
    if ApiArea.PATIENT.value not in principal.roles or principal.pid is None:
        return False
    facts, _ = store.facts(ehr_id, utc_now())
    return facts.subject_id == principal.pid


def _allow(ehr_id: uuid.UUID, *areas: ApiArea, patient: bool = False) -> None:
    """403 unless the caller holds one of ``areas``, or (``patient``) is the EHR's own subject."""
    access, store = _access()
    principal = access.principal
    if any(a.value in principal.roles for a in areas) or (patient and _is_self(access, store, ehr_id)):
        return
    who = " or ".join(a.value for a in areas) + (" or the patient themself" if patient else "")
    raise Forbidden(f"this needs the {who}")


@bp.post("/security/ehr/<ehr_id>/care_relation")
@documented(201, 400, 401, 403, 404, tag="SECURITY", consumes=("application/json",))
def create_relation(ehr_id: str) -> tuple[Response, int]:
    """Record a care relation of a health professional or an organisation unit to the patient."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.RELATIONS, ApiArea.ADMIN)
    body: RelationIn = _body(RelationIn)
    access, store = _access()
    now = utc_now()
    relation = CareRelation(
        ehr_id=uid,
        hpr_number=body.hpr_number,
        organisation=body.organisation,
        valid_from=body.valid_from or now,
        valid_to=body.valid_to,
        created_by=access.principal.subject,
        reason=body.reason,
    )
    store.add_relation(relation, now)
    return jsonify(relation.model_dump(mode="json")), 201


@bp.get("/security/ehr/<ehr_id>/care_relation")
@documented(200, 400, 401, 403, tag="SECURITY")
def list_relations(ehr_id: str) -> Response:
    """The care relations to the patient, ended ones included."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.RELATIONS, ApiArea.ADMIN)
    _, store = _access()
    return jsonify([r.model_dump(mode="json") for r in store.relations(uid)])


@bp.delete("/security/ehr/<ehr_id>/care_relation/<relation_id>")
@documented(200, 400, 401, 403, 404, tag="SECURITY")
def end_relation(ehr_id: str, relation_id: str) -> Response:
    """End a care relation now (it stays listed, with ended_at)."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.RELATIONS, ApiArea.ADMIN)
    _, store = _access()
    return jsonify(store.end_relation(uid, _ehr(relation_id), utc_now()).model_dump(mode="json"))


@bp.post("/security/ehr/<ehr_id>/restriction", defaults={"kind": "restriction"})
@bp.post("/security/ehr/<ehr_id>/block", defaults={"kind": "block"})
@bp.post("/security/ehr/<ehr_id>/consent", defaults={"kind": "consent"})
@documented(201, 400, 401, 403, 404, tag="SECURITY", consumes=("application/json",))
def create_control(ehr_id: str, kind: str) -> tuple[Response, int]:
    """Record the patient's restriction, block of a named person, or consent."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.ADMIN, patient=True)
    body: ControlIn = _body(ControlIn)
    control_kind = ControlKind(kind)
    body.check(control_kind)
    access, store = _access()
    now = utc_now()
    control = PatientControl(
        ehr_id=uid,
        kind=control_kind,
        target_kind=body.target_kind,
        target=body.target,
        party_kind=body.party_kind,
        party=body.party,
        overrides=body.overrides,
        valid_from=body.valid_from or now,
        valid_to=body.valid_to,
        created_by=access.principal.subject,
        note=body.note,
    )
    store.add_control(control, now)
    return jsonify(control.model_dump(mode="json")), 201


@bp.get("/security/ehr/<ehr_id>/patient_control")
@documented(200, 400, 401, 403, tag="SECURITY")
def list_controls(ehr_id: str) -> Response:
    """The patient's restrictions, blocks and consents, lifted ones included."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.ADMIN, patient=True)
    _, store = _access()
    return jsonify([c.model_dump(mode="json") for c in store.controls(uid)])


@bp.delete("/security/ehr/<ehr_id>/patient_control/<control_id>")
@documented(200, 400, 401, 403, 404, tag="SECURITY")
def lift_control(ehr_id: str, control_id: str) -> Response:
    """Lift a restriction, block or consent now (it stays listed, with lifted_at)."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.ADMIN, patient=True)
    _, store = _access()
    return jsonify(store.lift_control(uid, _ehr(control_id), utc_now()).model_dump(mode="json"))


def access_log_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the patient's access log: who, when, from where, why."""
    emergency = {"code": row["emergency_code"], "text": row["emergency_text"]} if row["emergency"] else None
    return {
        "time": row["time"].isoformat(),
        "actor": {
            "name": row["actor_name"],
            "hpr_number": row["actor_hpr"],
            "organisation": row["orgnr_parent"],
            "unit": row["orgnr_child"],
            "client": row["client_name"] or row["client_id"],
        },
        "operation": row["operation"],
        "basis": row["basis"],
        "purpose": row["purpose"],
        "emergency": emergency,
        "consent_override": bool(row["consent_override"]),
        "outcome": row["outcome"],
    }


@bp.get("/security/ehr/<ehr_id>/access_log")
@documented(200, 400, 401, 403, tag="SECURITY")
def access_log(ehr_id: str) -> Response:
    """The patient's access log (innsynslogg): who accessed the record, when, from where and why."""
    uid = _ehr(ehr_id)
    _allow(uid, ApiArea.ADMIN, patient=True)
    rows = current_app.extensions["cdr_audit"].records([uid])
    shown = [
        access_log_entry(r)
        for r in rows
        if r["kind"] == "access" and not r["internal"] and r["outcome"] != Outcome.DENIED.value
    ]
    return jsonify(shown)
