"""``cdr serve --workers N`` spreads keep-alive connections over its worker processes (cdr.server_balance)."""

from __future__ import annotations

import http.client
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from cdr.server_balance import RECHECK_SECONDS, ConnectionCounts, may_accept
from tests.test_serve import start

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")


def test_only_the_least_loaded_workers_accept() -> None:
    assert may_accept([0, 0, 0], 1)
    assert not may_accept([2, 1, 1], 0)
    assert may_accept([2, 1, 1], 1) and may_accept([2, 1, 1], 2)
    assert not may_accept([1, 1, 0], 0) and may_accept([1, 1, 0], 2)


def test_counts_are_shared_with_forked_processes() -> None:
    counts = ConnectionCounts(3)
    pid = os.fork()
    if pid == 0:  # the child publishes, the parent must see it
        counts.publish(2, 7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert counts.snapshot() == [0, 0, 7]


def _established(pid: int, port: int) -> int:
    """Established TCP connections on the server's ``port`` that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            held += local_port == port and state == "01" and inode in inodes
    return held


def test_keep_alive_connections_land_one_per_worker(tmp_path: Path) -> None:
    served = start(tmp_path, "--workers", "3", "--db", f"sqlite:///{tmp_path / 'cdr.db'}")
    children = Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children")
    workers = [int(pid) for pid in children.read_text().split()]
    clients = []
    try:
        for _ in range(3):  # one after the other, each kept open, as keep-alive clients do
            client = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
            client.request("GET", "/openehr/v1/definition/template/adl1.4")
            response = client.getresponse()
            response.read()
            assert response.status == 200
            clients.append(client)
            time.sleep(4 * RECHECK_SECONDS)  # every worker has looked at the counts again
        assert sorted(_established(pid, served.port) for pid in workers) == [1, 1, 1]
        for client in clients:  # and the connections keep working
            client.request("GET", "/openehr/v1/definition/template/adl1.4")
            response = client.getresponse()
            response.read()
            assert response.status == 200
    finally:
        for client in clients:
            client.close()
        code = served.stop(signal.SIGTERM)
    assert code == 0, served.output()
