"""Running the REST API in production: the flask app from :func:`cdr.api.create_app` under waitress.

Why waitress: pure Python (no compiler, runs wherever cdr runs, Windows included), a thread pool in one
process (the SQLite default needs one process; PostgreSQL deployments scale out with more containers), and it
buffers slow clients so a worker thread is never tied to a slow network.

The process runs in the foreground and stops on SIGTERM (``docker stop``, process supervisors, the AQL
conformance runner) as on SIGINT (Ctrl-C): the main loop is left, the listening socket and open connections
are closed, the worker threads are told to exit (waitress waits up to 5 s for a request in progress), the
database connections are released and :func:`run` returns, so ``cdr serve`` exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from cdr import __version__
from cdr.errors import CdrError

log = logging.getLogger("cdr.server")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServerError(CdrError):
    """The server cannot start: the database cannot be opened or migrated, or the address is taken."""


def shown_url(url: str) -> str:
    """``url`` with any password masked, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_app(database_url: str) -> Any:
    """The WSGI app over ``database_url`` (migrated on creation); :class:`ServerError` when it cannot open."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from cdr.api import create_app

    try:
        return create_app({"DATABASE_URL": database_url})
    except (SQLAlchemyError, ArgumentError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ServerError(
            f"cannot open the database {shown_url(database_url)}: {exc.__class__.__name__}: {first}"
        ) from None


class _Stop(SystemExit):
    """Raised in the main thread by the signal handler: waitress's main loop ends on SystemExit."""


@contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """Turn SIGTERM and SIGINT into a clean stop of the main loop; the signals received are collected."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise _Stop(0)

    if threading.current_thread() is not threading.main_thread():  # signals only reach the main thread
        yield received
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(
    database_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 8,
    log: Callable[[str], None] = print,
) -> None:
    """Serve the REST API on ``host:port`` until SIGTERM/SIGINT; :class:`ServerError` if it cannot start."""
    from waitress.server import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = make_app(database_url)
    try:
        server = create_server(
            app, host=host, port=port, threads=threads, ident="cdr", clear_untrusted_proxy_headers=True
        )
    except OSError as exc:
        _close_app(app)
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = getattr(server, "effective_port", port)
    log(
        f"cdr {__version__} serving http://{host}:{bound} (database {shown_url(database_url)}); "
        "stop with SIGTERM or Ctrl-C"
    )
    with _stop_on_signals() as received:
        try:
            server.run()
        except _Stop:  # a signal outside waitress's loop (between iterations)
            pass
        finally:
            _close(server)
            _close_app(app)
    names = ", ".join(signal.Signals(s).name for s in received) or "end of loop"
    log(f"cdr stopped ({names})")


def _close(server: Any) -> None:
    """Close the listening socket and every open connection (waitress's own close covers only some)."""
    from waitress import wasyncore

    with suppress(OSError):
        server.close()
    socket_map = getattr(server, "_map", None) or getattr(server, "map", None)
    if socket_map:
        wasyncore.close_all(socket_map)


def _close_app(app: Any) -> None:
    """Release the app's database connections, if the app exposes its storage."""
    for candidate in (getattr(app, "extensions", {}) or {}).values():
        storage = getattr(candidate, "storage", candidate)
        close = getattr(storage, "close", None)
        if callable(close):
            close()
