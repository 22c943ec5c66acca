"""Security overhead (issue 6): commits and reads with JWT authentication, the policy and the audit trail on,
as a ratio to the same requests with the security layer off. Target: <= 1.15x at p50.

Subject and baseline are two in-process apps (flask's test client: no sockets, so the ratio is the layer's
own cost and not diluted by HTTP) over **one** database, interleaved round by round:

- *on*: ``CDR_AUTH=jwt`` with an RS256 key published in a JWKS file; every request carries a HelseID-shaped
  access token (one token reused, as a client reuses its token for its lifetime, so the signature is still
  verified on every request); the caller is a nurse whose HPR number has a care relation with the EHR; the
  policy decides every access and every request writes its hash-chained audit record (a write's in its
  write transaction; on PostgreSQL a read's in the transaction that read the facts and the data).
- *off*: the same app factory with the security hooks taken out (no authentication, no policy decision, no
  audit record): what the API did before issue 6.

Besides the wall-time ratios, the process's CPU time per request (client and in-process server together,
the database server left out) for each side: a figure that moves far less with the machine's load.

Data: the Corona_Anamnese composition of the corpus with its template, as ``bench commit`` uses (the shipped
NEWS2 template and composition if the corpus is missing). Database: a scratch PostgreSQL database (from
``CDR_BENCH_POSTGRES_URL``, ``CDR_TEST_POSTGRES_URL`` or the local default) when one can be created, else a
SQLite file; the figure names say which.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.commit import Client, _free_port, _postgres_url, _wait_healthy, scratch_database
from bench.foundation import CORONA_COMPOSITION, CORONA_OPT, REPO, Row
from bench.harness import Timing, compare, ms

BASE = "/openehr/v1"
ISSUER = "https://helseid-sts.bench.invalid"
AUDIENCE = "kommune:cdr"
NURSE_HPR = "9144900"
TARGET = "<= 1.15x"


@contextlib.contextmanager
def _database() -> Iterator[tuple[str, str]]:
    """A scratch PostgreSQL database if the server answers, else a SQLite file; yields (URL, label)."""
    try:
        with scratch_database(_postgres_url()) as url:
            yield url.replace("postgresql://", "postgresql+psycopg://", 1), "PostgreSQL"
            return
    except Exception as exc:
        reason = type(exc).__name__
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}", f"SQLite (PostgreSQL unavailable: {reason})"


def _data() -> tuple[bytes, bytes]:
    """The template and the composition (compact canonical JSON) the scenario commits."""
    if CORONA_OPT.is_file() and CORONA_COMPOSITION.is_file():
        opt, composition = CORONA_OPT.read_bytes(), CORONA_COMPOSITION.read_text(encoding="utf-8")
    else:
        opt = (REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt").read_bytes()
        composition = (REPO / "tests" / "data" / "compositions" / "valid_normal.json").read_text(
            encoding="utf-8"
        )
    body = json.dumps(json.loads(composition), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return opt, body


class _Keys:
    """An RS256 key of this run, its JWKS file, and tokens it signs."""

    def __init__(self, folder: Path) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._jwt = jwt
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwks_file = folder / "jwks.json"
        self.jwks_file.write_text(
            json.dumps({"keys": [{**jwk, "kid": "bench", "use": "sig", "alg": "RS256"}]})
        )

    def bearer(self, scopes: list[str], **claims: Any) -> dict[str, str]:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "sub": f"bench-{uuid.uuid4().hex[:8]}",
            "client_id": "bench",
            "scope": scopes,
            **claims,
        }
        token = self._jwt.encode(body, self.private, algorithm="RS256", headers={"kid": "bench"})
        return {"Authorization": f"Bearer {token}"}


class _Side:
    """One app, its test client, the headers it sends and the EHR it writes to."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.client = app.test_client()
        self.headers = headers
        self.ehr_id = ""
        self.uids: list[str] = []
        self._turn = 0

    def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.open(BASE + path, method=method, headers=headers, **kwargs)
        if response.status_code != status:
            raise SystemExit(
                f"{method} {path}: expected {status}, got {response.status_code}: {response.json}"
            )
        return response

    def create_ehr(self, subject: str) -> None:
        response = self.expect(
            201, "POST", "/ehr", json=_status(subject), headers={"Prefer": "return=minimal"}
        )
        self.ehr_id = str(response.headers["Location"]).rsplit("/", 1)[1]

    def commit(self, body: bytes) -> None:
        response = self.expect(
            201,
            "POST",
            f"/ehr/{self.ehr_id}/composition",
            data=body,
            headers={"Content-Type": "application/json", "Prefer": "return=minimal"},
        )
        self.uids.append(str(response.headers["ETag"]).strip('"'))

    def read(self) -> None:
        self._turn += 1
        uid = self.uids[self._turn % len(self.uids)]
        self.expect(
            200, "GET", f"/ehr/{self.ehr_id}/composition/{uid}", headers={"Accept": "application/json"}
        )


def _status(subject: str) -> dict[str, Any]:
    """An EHR_STATUS whose subject is a fødselsnummer: municipal patients always have one, and the audit
    record names the patient from the policy's facts (an EHR without a subject would cost a second lookup)."""
    status: dict[str, Any] = json.loads(
        (REPO / "tests" / "data" / "ehr_status" / "ehr_status_nb.json").read_text()
    )
    ref = status["subject"]["external_ref"]
    ref["id"] = {"_type": "GENERIC_ID", "value": subject, "scheme": "fnr"}
    ref["namespace"] = "fnr"
    return status


def _without_security(app: Any) -> Any:
    """The app as it was before the security layer: its hooks and access log taken out."""
    from cdr.api import security

    app.before_request_funcs[None] = [
        f for f in app.before_request_funcs.get(None, []) if f is not security._authenticate
    ]
    app.after_request_funcs[None] = [
        f for f in app.after_request_funcs.get(None, []) if f is not security._audit_response
    ]
    app.extensions["cdr_access_log"] = None
    return app


def _sides(url: str, keys: _Keys, opt: bytes) -> tuple[_Side, _Side]:
    from cdr.api import create_app
    from cdr.security import AuthConfig
    from cdr.security.helseid import HPR_NUMBER
    from cdr.storage import Storage

    storage = Storage.open(url, "bench.cdr")
    auth = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=keys.jwks_file)
    on = _Side(
        create_app({"STORAGE": storage, "AUTH": auth}),
        keys.bearer(["cdr/ehr.read", "cdr/ehr.write"], **{HPR_NUMBER: NURSE_HPR}),
    )
    off = _Side(_without_security(create_app({"STORAGE": storage})), {})
    modeler = keys.bearer(["cdr/definition"])
    on.expect(
        201,
        "POST",
        "/definition/template/adl1.4",
        data=opt,
        headers={**modeler, "Content-Type": "application/xml"},
    )
    on.create_ehr("13116900216")
    off.create_ehr("01019010046")
    coordinator = keys.bearer(["cdr/care_relation"])
    on.expect(
        201,
        "POST",
        f"/security/ehr/{on.ehr_id}/care_relation",
        json={"hpr_number": NURSE_HPR},
        headers=coordinator,
    )
    return on, off


def _rows(name: str, on: Timing, off: Timing) -> list[Row]:
    return [
        Row(f"{name} p50", ms(on.p50), ms(off.p50), f"{on.p50 / off.p50:.2f}x", TARGET),
        Row(f"{name} p95", ms(on.p95), ms(off.p95), f"{on.p95 / off.p95:.2f}x", "-"),
    ]


def run(rounds: int = 30) -> list[Row]:
    """Commit and read figures, security on against off; ``rounds`` interleaved samples each: over HTTP
    (the commit and read benchmarks of ``bench commit``, as the issue asks), then in-process."""
    opt, body = _data()
    with _database() as (url, label), tempfile.TemporaryDirectory() as folder:
        keys = _Keys(Path(folder))
        on, off = _sides(url, keys, opt)
        rows = _http_rows(url, label, keys, on, off, body, rounds)
        commit_on, commit_off = compare(lambda: on.commit(body), lambda: off.commit(body), rounds=rounds)
        read_on, read_off = compare(on.read, off.read, rounds=rounds * 3)
        audited = _audit_records(url)
        cpu = {
            "commit": (_cpu(lambda: on.commit(body), rounds), _cpu(lambda: off.commit(body), rounds)),
            "read by version uid": (_cpu(on.read, rounds * 3), _cpu(off.read, rounds * 3)),
        }
    rows += _rows(f"commit, JWT + policy + audit vs off, in-process, {label}", commit_on, commit_off)
    rows += _rows(f"read by version uid, JWT + policy + audit vs off, in-process, {label}", read_on, read_off)
    for name, (cpu_on, cpu_off) in cpu.items():
        rows.append(
            Row(f"  {name}: Python CPU per request", ms(cpu_on), ms(cpu_off), f"{cpu_on / cpu_off:.2f}x", "-")
        )
    rows.append(Row("  audit records written by the 'on' side", str(audited), "-", "-", "one per request"))
    return rows


@contextlib.contextmanager
def _served(url: str, side: str, keys: _Keys) -> Iterator[Client]:
    """A keep-alive client of :mod:`bench.security_server` serving ``url`` with security ``side`` (on/off)."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "bench.security_server",
        "--db",
        url,
        "--port",
        str(port),
        "--side",
        side,
    ]
    command += ["--jwks", str(keys.jwks_file), "--issuer", ISSUER, "--audience", AUDIENCE]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO
        )
        client = None
        try:
            _wait_healthy(proc, port, log)
            client = Client(port)
            yield client
        finally:
            if client is not None:
                client.close()
            proc.terminate()
            proc.wait(timeout=30)


def _http_rows(
    url: str, label: str, keys: _Keys, on: _Side, off: _Side, body: bytes, rounds: int
) -> list[Row]:
    """The figures of ``bench commit`` (serial commits and reads by version uid over keep-alive HTTP to a
    waitress server) with the security layer on against a server with it off, over the same database."""
    with _served(url, "on", keys) as on_http, _served(url, "off", keys) as off_http:
        uids: dict[str, list[str]] = {"on": [], "off": []}

        def commit(side: str, client: Client, ehr_id: str, auth: dict[str, str]) -> None:
            headers = {**auth, "Content-Type": "application/json", "Prefer": "return=minimal"}
            found, _ = client.expect(201, "POST", f"{BASE}/ehr/{ehr_id}/composition", body, headers)
            uids[side].append(found["etag"].strip('"'))

        turn = iter(range(10**9))

        def read(side: str, client: Client, ehr_id: str, auth: dict[str, str]) -> None:
            uid = uids[side][next(turn) % len(uids[side])]
            headers = {**auth, "Accept": "application/json"}
            client.expect(200, "GET", f"{BASE}/ehr/{ehr_id}/composition/{uid}", headers=headers)

        commit_on, commit_off = compare(
            lambda: commit("on", on_http, on.ehr_id, on.headers),
            lambda: commit("off", off_http, off.ehr_id, off.headers),
            rounds=rounds,
        )
        read_on, read_off = compare(
            lambda: read("on", on_http, on.ehr_id, on.headers),
            lambda: read("off", off_http, off.ehr_id, off.headers),
            rounds=rounds * 3,
        )
        with _durable_insert(url) as insert:

            def read_and_insert() -> None:
                read("off", off_http, off.ehr_id, off.headers)
                insert()

            floor, bare = compare(
                read_and_insert,
                lambda: read("off", off_http, off.ehr_id, off.headers),
                rounds=rounds * 3,
            )
    rows = _rows(f"commit over HTTP, JWT + policy + audit vs off, {label}", commit_on, commit_off)
    rows += _rows(f"read by version uid over HTTP, JWT + policy + audit vs off, {label}", read_on, read_off)
    rows.append(
        Row(
            "  floor: the off read + ONE durable one-row INSERT (raw psycopg), nothing else",
            ms(floor.p50),
            ms(bare.p50),
            f"{floor.p50 / bare.p50:.2f}x",
            "least cost of a per-read record",
        )
    )
    return rows


@contextlib.contextmanager
def _durable_insert(url: str) -> Iterator[Callable[[], None]]:
    """A callable that inserts one small row and commits it (waits for the WAL flush), on its own psycopg
    connection to ``url``'s database: the least a read's durable audit record can cost. Yields a callable
    doing nothing on SQLite (not measured there)."""
    if not url.startswith("postgresql"):
        yield lambda: None
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as raw:
        raw.execute("CREATE TABLE bench_floor (at timestamptz, note text)")  # logged: the flush is the point

        def insert() -> None:
            raw.execute("INSERT INTO bench_floor VALUES (now(), %s)", ("read",), prepare=True)

        try:
            yield insert
        finally:
            raw.execute("DROP TABLE bench_floor")


def _cpu(call: Callable[[], object], rounds: int) -> float:
    """This process's CPU seconds per call (client and server: the app runs in-process), averaged over
    ``rounds`` calls; unlike wall time it hardly moves with the machine's load, but it leaves the database
    server's CPU out."""
    start = time.process_time()
    for _ in range(rounds):
        call()
    return (time.process_time() - start) / rounds


def _audit_records(url: str) -> int:
    import sqlalchemy as sa

    from cdr.storage import create_engine
    from cdr.storage.schema import audit_event

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_event)).scalar_one())
    finally:
        engine.dispose()
