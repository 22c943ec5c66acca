"""Keep-alive connections spread evenly over the pre-forked worker processes of ``cdr serve --workers N``.

Every worker polls the one listening socket and the kernel hands a new connection to whichever accepts
first. Clients keep their connection (keep-alive), so two or three of four clients could end up on one
worker, queued behind its interpreter lock, while another worker idled: ``bench commit`` measured the
machine 34-38% idle in such runs and 8-14% when the spread was even. Each worker publishes how many
connections it holds in a small array shared by the workers (:class:`ConnectionCounts`, created before the
fork), and polls the listening socket only while it holds no more than the fewest (:func:`may_accept`): a
new connection goes to a least-loaded worker.

A worker that stopped polling the socket looks again whenever its own connections change and at least
every :data:`RECHECK_SECONDS`, so when the others have caught up a new connection never waits longer.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Sequence
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer

RECHECK_SECONDS = 0.05
"""The poll loop's timeout in a balanced worker (waitress's default is 1 s): how stale a count may be."""


def may_accept(counts: Sequence[int], worker: int) -> bool:
    """Whether ``worker`` should take new connections: it holds no more than any other worker.

    >>> may_accept([1, 0, 0], 0), may_accept([1, 0, 0], 1), may_accept([1, 1, 1], 2)
    (False, True, True)
    """
    return counts[worker] <= min(counts)


class ConnectionCounts:
    """Open connections per worker, in memory the forked workers share (no lock: a stale read only
    makes the spread briefly uneven)."""

    def __init__(self, workers: int) -> None:
        self._shared = multiprocessing.RawArray(ctypes.c_int, workers)

    def publish(self, worker: int, count: int) -> None:
        self._shared[worker] = count

    def snapshot(self) -> list[int]:
        return list(self._shared)


def balance(server: Any, counts: ConnectionCounts, worker: int) -> Any:
    """Make ``server`` (what ``waitress.server.create_server`` returned) accept only while ``worker`` holds
    no more connections than any other worker; returns it."""
    servers = list(server.map.values()) if isinstance(server, MultiSocketServer) else [server]
    for each in servers:
        if isinstance(each, BaseWSGIServer):
            each.readable = _balanced_readable(each, counts, worker)
            each.adj.asyncore_loop_timeout = RECHECK_SECONDS
    return server


def _balanced_readable(listener: BaseWSGIServer, counts: ConnectionCounts, worker: int) -> Any:
    plain = listener.readable

    def readable() -> bool:
        held = sum(1 for d in listener._map.values() if isinstance(d, HTTPChannel))
        counts.publish(worker, held)
        return bool(plain()) and may_accept(counts.snapshot(), worker)

    return readable
