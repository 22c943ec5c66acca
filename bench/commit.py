"""Commit and read benchmarks (issue 4): the REST API on PostgreSQL against the database doing the least.

Subject: a real ``cdr serve`` (waitress, PostgreSQL) driven over HTTP/1.1 with keep-alive, one connection per
client. Baseline, in this process and interleaved round by round: a raw ``INSERT`` of the same canonical JSON
text into a ``jsonb`` table, one transaction per document, and a raw ``SELECT`` of it by primary key (as JSON
text, i.e. what a server would send on). Targets: commit <= 10x the raw insert, read <= 8x the raw select,
at p50, serially and with 4 concurrent clients. Storage: bytes of cdr's tables (heap, TOAST, indexes) per
committed composition against the canonical JSON size (and against the raw jsonb table).

Data: the Corona_Anamnese composition of the corpus (``ehrbase-ehrbase/aql-engine-testdata/composition.json``)
with its template. PostgreSQL comes from ``CDR_BENCH_POSTGRES_URL`` (else ``CDR_TEST_POSTGRES_URL``, else
``postgresql://postgres@127.0.0.1:5432/postgres``); a scratch database is created and dropped.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import IO

from bench.cpu import CpuShare
from bench.foundation import CORONA_COMPOSITION, CORONA_OPT, Row
from bench.harness import Timing, compare, ms

BASE = "/openehr/v1"
CLIENTS = 4
WORKERS = 4
STARTUP_TIMEOUT_S = 60


def _postgres_url() -> str:
    return (
        os.environ.get("CDR_BENCH_POSTGRES_URL")
        or os.environ.get("CDR_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL as psycopg takes it (without the ``+driver`` part)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url`` (dropped afterwards); yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(_libpq(url))
    name = f"cdr_bench_{uuid.uuid4().hex[:10]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def cdr_server(db_url: str, workers: int = 1) -> Iterator[int]:
    """``cdr serve`` on a free port over ``db_url`` until the block ends (stopped with SIGTERM)."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "cdr",
        "serve",
        "--port",
        str(port),
        "--db",
        db_url,
        "--workers",
        str(workers),
    ]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(proc, port, log)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"cdr serve exited with {proc.returncode}: {log.read().decode()[-2000:]}")
        probe = Client(port)
        try:
            if probe.request("GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        finally:
            probe.close()
        if time.monotonic() > deadline:
            raise SystemExit("cdr serve did not answer /health in time")
        time.sleep(0.1)


class Client:
    """One keep-alive HTTP/1.1 connection to the server (http.client: the least client overhead)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def expect(
        self,
        status: int,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        got, hdrs, data = self.request(method, path, body, headers)
        if got != status:
            raise SystemExit(f"{method} {path}: expected {status}, got {got}: {data[:500]!r}")
        return hdrs, data

    def create_ehr(self) -> str:
        hdrs, _ = self.expect(201, "POST", f"{BASE}/ehr", headers={"Prefer": "return=minimal"})
        return hdrs["etag"].strip('"')

    def commit(self, ehr_id: str, body: bytes) -> str:
        hdrs, _ = self.expect(
            201,
            "POST",
            f"{BASE}/ehr/{ehr_id}/composition",
            body,
            {"Content-Type": "application/json", "Prefer": "return=minimal"},
        )
        return hdrs["etag"].strip('"')

    def read(self, ehr_id: str, version_uid: str) -> bytes:
        return self.expect(
            200,
            "GET",
            f"{BASE}/ehr/{ehr_id}/composition/{version_uid}",
            headers={"Accept": "application/json"},
        )[1]

    def close(self) -> None:
        self.conn.close()


class Raw:
    """The baseline: one psycopg connection to a jsonb table with a uuid primary key."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(_libpq(url))
        self.conn.execute("CREATE TABLE IF NOT EXISTS raw_doc (id uuid PRIMARY KEY, doc jsonb NOT NULL)")
        self.conn.commit()

    def insert(self, text: str) -> uuid.UUID:
        key = uuid.uuid4()
        self.conn.execute("INSERT INTO raw_doc (id, doc) VALUES (%s, %s::jsonb)", (key, text))
        self.conn.commit()
        return key

    def select(self, key: uuid.UUID) -> str:
        row = self.conn.execute("SELECT doc::text FROM raw_doc WHERE id = %s", (key,)).fetchone()
        self.conn.commit()
        assert row is not None
        return str(row[0])

    def close(self) -> None:
        self.conn.close()


class _Concurrent:
    """Latencies and wall time of calls made by :data:`CLIENTS` threads at once."""

    def __init__(self, calls: list[Callable[[], object]]) -> None:
        self.calls = calls
        self.timing = Timing()
        self.elapsed = 0.0
        self.count = 0
        self.cpu = CpuShare()
        for call in calls:
            call()  # warm-up: connections open, caches filled

    def batch(self, per_client: int) -> None:
        self.cpu.measure(lambda: self._batch(per_client))

    def _batch(self, per_client: int) -> None:
        lock = threading.Lock()
        barrier = threading.Barrier(len(self.calls) + 1)

        failed: list[BaseException] = []

        def work(call: Callable[[], object]) -> None:
            barrier.wait()
            mine = []
            try:
                for _ in range(per_client):
                    start = time.perf_counter()
                    call()
                    mine.append(time.perf_counter() - start)
            except BaseException as exc:  # SystemExit included: a thread would end silently with it
                failed.append(exc)
            with lock:
                self.timing.samples.extend(mine)

        threads = [threading.Thread(target=work, args=(call,)) for call in self.calls]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        self.elapsed += time.perf_counter() - start
        if failed:  # fewer clients than claimed would flatter the figures: stop instead
            raise SystemExit(f"a client failed: {failed[0]}")
        self.count += len(self.calls) * per_client

    @property
    def rate(self) -> float:
        return self.count / self.elapsed


def compare_concurrent(
    subject: list[Callable[[], object]],
    baseline: list[Callable[[], object]],
    per_client: int,
    chunks: int = 5,
) -> tuple[_Concurrent, _Concurrent]:
    """Both sides with every client at once, alternating in ``chunks`` batches so drift hits both alike."""
    s, b = _Concurrent(subject), _Concurrent(baseline)
    for _ in range(chunks):
        b.batch(max(1, per_client // chunks))
        s.batch(max(1, per_client // chunks))
    return s, b


def _ratio_rows(name: str, subject: Timing, baseline: Timing, target: str) -> list[Row]:
    return [
        Row(f"{name} p50", ms(subject.p50), ms(baseline.p50), f"{subject.p50 / baseline.p50:.1f}x", target),
        Row(f"{name} p95", ms(subject.p95), ms(baseline.p95), f"{subject.p95 / baseline.p95:.1f}x", "-"),
    ]


def _relation_bytes(url: str, tables: list[str]) -> int:
    import psycopg

    with psycopg.connect(_libpq(url)) as conn:
        total = 0
        for table in tables:
            row = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
            total += int(row[0]) if row else 0
        return total


@dataclass
class _Stored:
    """What the serial phase left in the databases, for the concurrent reads and the storage figures."""

    reads: list[tuple[str, str]] = field(default_factory=list)  # (ehr id, version uid)
    keys: list[uuid.UUID] = field(default_factory=list)
    cdr_bytes: float = 0.0
    raw_bytes: float = 0.0


def run(rounds: int = 30) -> list[Row]:
    """Every figure of the scenario; ``rounds`` samples per serial figure and per client concurrently."""
    if not CORONA_OPT.is_file():
        raise SystemExit(f"corpus not found at {CORONA_OPT.parent} (set CDR_CORPUS)")
    text = json.dumps(
        json.loads(CORONA_COMPOSITION.read_text(encoding="utf-8")), ensure_ascii=False, separators=(",", ":")
    )
    body = text.encode("utf-8")
    rows: list[Row] = []
    stored = _Stored()
    with scratch_database(_postgres_url()) as db_url:
        with cdr_server(db_url) as port:
            rows += _serial_rows(port, db_url, body, text, rounds, stored)
            label = f"{CLIENTS} clients, 1 process"
            rows += _concurrent_rows(port, db_url, body, text, stored, rounds, label)
        with cdr_server(db_url, workers=WORKERS) as port:
            label = f"{CLIENTS} clients, {WORKERS} processes"
            rows += _concurrent_rows(port, db_url, body, text, stored, rounds, label)
    size = f"{len(body):,} B canonical JSON"
    rows.append(
        Row(
            "storage per composition (cdr tables, indexes, TOAST)",
            f"{stored.cdr_bytes:,.0f} B",
            size,
            f"{stored.cdr_bytes / len(body):.1f}x",
            "-",
        )
    )
    rows.append(
        Row(
            "  raw jsonb table per document (reference)",
            f"{stored.raw_bytes:,.0f} B",
            size,
            f"{stored.raw_bytes / len(body):.1f}x",
            "-",
        )
    )
    return rows


def _serial_rows(port: int, db_url: str, body: bytes, text: str, rounds: int, stored: _Stored) -> list[Row]:
    """One client: commits against raw inserts, then reads against raw selects, interleaved round by round."""
    from cdr.storage.schema import metadata

    cdr_tables = [t.name for t in metadata.sorted_tables]
    client, raw = Client(port), Raw(db_url)
    try:
        client.expect(
            201,
            "POST",
            f"{BASE}/definition/template/adl1.4",
            CORONA_OPT.read_bytes(),
            {"Content-Type": "application/xml"},
        )
        ehr_id = client.create_ehr()
        uids: list[str] = []
        before = _relation_bytes(db_url, cdr_tables)
        commit, insert = compare(
            lambda: uids.append(client.commit(ehr_id, body)),
            lambda: stored.keys.append(raw.insert(text)),
            rounds=rounds,
        )
        stored.cdr_bytes = (_relation_bytes(db_url, cdr_tables) - before) / len(uids)
        stored.raw_bytes = _relation_bytes(db_url, ["raw_doc"]) / len(stored.keys)
        stored.reads = [(ehr_id, uid) for uid in uids]
        turn = iter(range(10**9))
        read, select = compare(
            lambda: client.read(*stored.reads[next(turn) % len(uids)]),
            lambda: raw.select(stored.keys[next(turn) % len(stored.keys)]),
            rounds=rounds,
        )
    finally:
        client.close()
        raw.close()
    return [
        *_ratio_rows("commit over HTTP, serial", commit, insert, "<= 10x raw INSERT"),
        *_ratio_rows("read by version uid over HTTP, serial", read, select, "<= 8x raw SELECT"),
    ]


def _concurrent_rows(
    port: int, db_url: str, body: bytes, text: str, stored: _Stored, rounds: int, label: str
) -> list[Row]:
    """The figures with :data:`CLIENTS` clients at once, each with its own connection and EHR."""
    clients = [Client(port) for _ in range(CLIENTS)]
    raws = [Raw(db_url) for _ in range(CLIENTS)]
    try:
        ehrs = [c.create_ehr() for c in clients]
        commit, insert = compare_concurrent(
            [partial(clients[i].commit, ehrs[i], body) for i in range(CLIENTS)],
            [partial(raws[i].insert, text) for i in range(CLIENTS)],
            rounds,
        )
        read, select = compare_concurrent(
            [partial(clients[i].read, *stored.reads[i % len(stored.reads)]) for i in range(CLIENTS)],
            [partial(raws[i].select, stored.keys[i % len(stored.keys)]) for i in range(CLIENTS)],
            rounds,
        )
    finally:
        for c in clients:
            c.close()
        for r in raws:
            r.close()
    rows = _ratio_rows(f"commit, {label}", commit.timing, insert.timing, "<= 10x raw INSERT")
    rows.append(_rate_row(f"  commit throughput, {label}", commit, insert))
    rows.append(_cpu_row(f"  CPU per commit, {label}", commit))
    rows += _ratio_rows(f"read by version uid, {label}", read.timing, select.timing, "<= 8x raw SELECT")
    rows.append(_rate_row(f"  read throughput, {label}", read, select))
    rows.append(_cpu_row(f"  CPU per read, {label}", read))
    return rows


def _cpu_row(name: str, subject: _Concurrent) -> Row:
    """Server and PostgreSQL CPU per request, and the machine's idle share meanwhile: CPU-bound when idle
    is near 0; idle CPU means waiting (locks, connections unevenly spread over server processes)."""
    share, n = subject.cpu, max(subject.count, 1)
    idle = "-" if share.idle_share is None else f"machine idle {share.idle_share:.0%}"
    return Row(name, f"server {ms(share.server / n)}", f"PostgreSQL {ms(share.postgres / n)}", idle, "-")


def _rate_row(name: str, subject: _Concurrent, baseline: _Concurrent) -> Row:
    return Row(
        name, f"{subject.rate:.0f}/s", f"{baseline.rate:.0f}/s", f"{baseline.rate / subject.rate:.1f}x", "-"
    )
