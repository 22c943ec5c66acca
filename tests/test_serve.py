"""``cdr serve`` as a real process: starts, answers, commits a composition, stops cleanly on SIGTERM/SIGINT.

The server is started the way the AQL conformance runner starts it (``cdr serve --port P --db
sqlite:///DIR/cdr.db``, the installed ``cdr`` script, stdin closed) and stopped the way it stops it (a signal
to the pid). PostgreSQL cases run when ``CDR_TEST_POSTGRES_URL`` is set, on a scratch database.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.storage.conftest import scratch_postgres_url

REPO = Path(__file__).resolve().parent.parent
NB_OPT = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
NORMAL = REPO / "tests" / "data" / "compositions" / "valid_normal.json"
BASE = "/openehr/v1"
STARTUP_LIMIT_S = 60  # a generous ceiling for a loaded CI machine, not a performance figure
STOP_LIMIT_S = 15


def cdr_command() -> list[str]:
    """The installed ``cdr`` entry point next to this interpreter (what the runner's PATH finds)."""
    script = Path(sys.executable).parent / "cdr"
    if script.exists():
        return [str(script)]
    found = shutil.which("cdr")
    return [found] if found else [sys.executable, "-m", "cdr"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=STOP_LIMIT_S)


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> Served:
    """``cdr serve ARGS`` on a free port (in ``env``, default this environment), waited for until /health
    answers 200."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*cdr_command(), "serve", "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env=env if env is not None else dict(os.environ),
        )
    served = Served(proc, port, log)
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"cdr serve exited with {proc.returncode}:\n{served.output()}")
        try:
            if served.call("GET", "/health")[0] == 200:
                return served
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"cdr serve did not answer /health:\n{served.output()}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'cdr.db'}"
        return
    with scratch_postgres_url() as url:
        yield url


def test_serve_commits_the_shipped_composition_and_stops_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    served = start(tmp_path, "--db", database_url)
    try:
        status, _, _ = served.call(
            "GET", f"{BASE}/definition/template/adl1.4"
        )  # the runner's readiness probe
        assert status < 500
        status, _, body = served.call(
            "POST",
            f"{BASE}/definition/template/adl1.4",
            NB_OPT.read_bytes(),
            {"Content-Type": "application/xml"},
        )
        assert status == 201, body
        status, headers, body = served.call("POST", f"{BASE}/ehr", headers={"Prefer": "return=minimal"})
        assert status == 201, body
        ehr_id = headers["etag"].strip('"')
        status, headers, body = served.call(
            "POST",
            f"{BASE}/ehr/{ehr_id}/composition",
            NORMAL.read_bytes(),
            {"Content-Type": "application/json", "Prefer": "return=minimal"},
        )
        assert status == 201, body
        version_uid = headers["etag"].strip('"')
        assert version_uid.endswith("::1")
        status, _, body = served.call(
            "GET", f"{BASE}/ehr/{ehr_id}/composition/{version_uid}", headers={"Accept": "application/json"}
        )
        assert status == 200
        sent, got = json.loads(NORMAL.read_bytes()), json.loads(body)
        assert got["archetype_details"]["template_id"] == sent["archetype_details"]["template_id"]
        assert got["content"][0]["archetype_node_id"] == sent["content"][0]["archetype_node_id"]
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 0, served.output()
    assert "stopped (SIGTERM)" in served.output()
    assert "Traceback" not in served.output()


def test_serve_stops_on_sigint_and_frees_the_port(tmp_path: Path) -> None:
    served = start(tmp_path, "--db", f"sqlite:///{tmp_path / 'cdr.db'}")
    assert served.stop(signal.SIGINT) == 0, served.output()
    with socket.socket() as s:  # the listening socket is closed: the port can be bound again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", served.port))


def test_serve_default_database_is_created_under_the_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CDR_DATABASE_URL"}
    served = start(tmp_path, env=env)
    try:
        assert (tmp_path / "cdr-data" / "cdr.db").is_file()
    finally:
        assert served.stop() == 0


def test_serve_takes_the_database_from_cdr_database_url(tmp_path: Path) -> None:
    target = tmp_path / "from-env" / "cdr.db"
    served = start(tmp_path, env={**os.environ, "CDR_DATABASE_URL": f"sqlite:///{target}"})
    try:
        assert target.is_file()
        assert not (tmp_path / "cdr-data").exists()
    finally:
        assert served.stop() == 0


def test_serve_refuses_a_port_in_use_with_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [*cdr_command(), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'cdr.db'}"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=STARTUP_LIMIT_S,
        )
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr.decode()


def test_serve_refuses_an_unreachable_database_with_exit_2(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]  # bound, never listening: connections are refused
        proc = subprocess.run(
            [
                *cdr_command(),
                "serve",
                "--port",
                str(free_port()),
                "--db",
                f"postgresql://nobody:secret@127.0.0.1:{dead}/cdr",
            ],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=STARTUP_LIMIT_S,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "cannot open the database" in err
    assert "secret" not in err


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:cdr?mode=memory&uri=true"]
)
def test_serve_refuses_an_in_memory_sqlite_database_with_exit_2(url: str) -> None:
    """A request holds two connections (its access facts and audit record, and the storage's); in memory they
    were one connection, and every EHR creation a 500 (nested BEGIN). Refused at start, naming a file URL."""
    proc = subprocess.run(
        [*cdr_command(), "serve", "--port", str(free_port()), "--db", url],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=STARTUP_LIMIT_S,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "in-memory SQLite" in err and "sqlite:///./cdr-data/cdr.db" in err


def test_serve_with_worker_processes_answers_and_stops_them_all(tmp_path: Path) -> None:
    served = start(tmp_path, "--workers", "2", "--db", f"sqlite:///{tmp_path / 'cdr.db'}")
    children = Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children")
    workers = [int(pid) for pid in children.read_text().split()]
    assert len(workers) == 2
    try:
        for _ in range(4):  # new connections each time: any worker may take them
            status, _, _ = served.call("POST", f"{BASE}/ehr", headers={"Prefer": "return=minimal"})
            assert status == 201
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 0, served.output()
    assert "with 2 worker processes" in served.output()
    assert "Traceback" not in served.output()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", served.port))


def test_serving_settles_the_garbage_collector_and_cycles_are_still_collected() -> None:
    """``settle_gc`` (run before a server loop) freezes what is alive and raises the young threshold;
    reference cycles made afterwards are still found once that many objects accumulate."""
    import gc
    import weakref

    from cdr.server import GC_THRESHOLD, settle_gc

    before = gc.get_threshold()
    try:
        settle_gc()
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert gc.get_freeze_count() > 0

        class Node:
            pass

        first = Node()
        first.me = first  # type: ignore[attr-defined]
        alive = weakref.ref(first)
        del first
        for _ in range(3 * GC_THRESHOLD):  # more cycles, each only collectable by the collector
            node = Node()
            node.me = node  # type: ignore[attr-defined]
        del node
        assert alive() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
