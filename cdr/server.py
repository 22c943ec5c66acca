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

import gc
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING, Any

from cdr import __version__
from cdr.errors import CdrError

if TYPE_CHECKING:
    from cdr.server_balance import ConnectionCounts

logger = logging.getLogger("cdr.server")

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
        app = create_app({"DATABASE_URL": database_url})
    except (SQLAlchemyError, ArgumentError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ServerError(
            f"cannot open the database {shown_url(database_url)}: {exc.__class__.__name__}: {first}"
        ) from None
    preload()
    return app


def preload() -> None:
    """Load what every commit reads, once, before serving (and before ``--workers`` forks, so the workers
    share it): the openEHR terminology and code sets. A worker's first requests then neither wait for it nor
    build it in several threads at once."""
    from cdr.terminology import code_set_ids
    from cdr.terminology.openehr import group_ids

    code_set_ids()
    group_ids()


class _Stop(SystemExit):
    """Raised in the main thread by the signal handler: waitress's main loop ends on SystemExit."""


@contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """Turn the first SIGTERM or SIGINT into a clean stop of the main loop (later ones are only noted, so
    that they cannot interrupt the cleanup); the signals received are collected."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
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
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> None:
    """Serve the REST API on ``host:port`` until SIGTERM/SIGINT; :class:`ServerError` if it cannot start.

    ``workers`` > 1 forks that many server processes sharing the listening socket (POSIX only; see
    :func:`run_workers`): one Python process runs Python code for one request at a time, whatever its
    threads, so concurrent clients need processes.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if workers > 1:
        run_workers(database_url, host=host, port=port, threads=threads, workers=workers, log=log)
        return
    app = make_app(database_url)
    try:
        server = listen(app, host=host, port=port, threads=threads)
    except ServerError:
        _close_app(app)
        raise
    log(
        f"cdr {__version__} serving http://{host}:{getattr(server, 'effective_port', port)} "
        f"(database {shown_url(database_url)}); stop with SIGTERM or Ctrl-C"
    )
    received = serve_until_stopped(server, app)
    log(f"cdr stopped ({', '.join(signal.Signals(s).name for s in received) or 'end of loop'})")


def listen(app: Any, *, threads: int, host: str = "127.0.0.1", port: int = 8000, sockets: Any = None) -> Any:
    """A waitress server for ``app`` bound to ``host:port`` (or serving already bound ``sockets``)."""
    from waitress.server import create_server

    from cdr.server_headers import accept_openehr_headers

    where = {"sockets": sockets} if sockets is not None else {"host": host, "port": port}
    try:
        server = create_server(app, threads=threads, ident="cdr", **where, **_proxy_options(app))
        return accept_openehr_headers(server)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _proxy_options(app: Any) -> dict[str, Any]:
    """How waitress treats X-Forwarded-*: with PROXY_FIX it passes them on to the app's ProxyFix; otherwise
    it clears them, except Host/Proto/Port from a loopback peer (a proxy on this machine; gunicorn trusts
    loopback by default too), which then shape the URLs we answer with (``Location``). X-Forwarded-For is
    never taken, so the client address the security layer sees stays the peer's."""
    if (getattr(app, "config", None) or {}).get("PROXY_FIX"):
        return {"clear_untrusted_proxy_headers": False}
    return {
        "clear_untrusted_proxy_headers": True,
        "trusted_proxy": "127.0.0.1",
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"},
    }


GC_THRESHOLD = 10_000
"""Net new container objects between young collections while serving (CPython's default is 700)."""


def settle_gc() -> None:
    """Tune the cyclic garbage collector for serving: what is alive now (the app, its libraries) is moved
    out of its reach, and young collections wait for :data:`GC_THRESHOLD` net new objects.

    A request's objects (a composition's RM tree, its JSON, its node rows: thousands for a large one) are
    freed by reference counting when it ends, but with the default threshold they set off about two young
    collections per commit, and every hundredth an old one that walked the ~150,000 objects of the app:
    ~0.4-0.5 ms of a commit's CPU (measured with ``gc.callbacks``), none of it finding garbage.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def serve_until_stopped(server: Any, app: Any) -> list[int]:
    """Run ``server`` until SIGTERM/SIGINT, then close it and the app's database connections."""
    settle_gc()
    with _stop_on_signals() as received:
        try:
            server.run()
        except _Stop:  # a signal outside waitress's loop (between iterations)
            pass
        finally:
            _close(server)
            _close_app(app)
    return received


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


def run_workers(
    database_url: str, *, host: str, port: int, threads: int, workers: int, log: Callable[[str], None]
) -> None:
    """Pre-fork: migrate once, bind once, fork ``workers`` processes that each serve the shared socket.

    The parent only supervises: SIGTERM/SIGINT to it is passed on as SIGTERM to every worker and it returns
    once they have all stopped; a worker that dies on its own stops the others, and :class:`ServerError`
    says which one and how.
    """
    import socket

    if not hasattr(os, "fork"):
        raise ServerError("--workers above 1 needs a system with fork(); run one worker per process instead")
    _migrate(database_url)
    preload()  # before the fork: the workers share it
    try:
        sock = socket.create_server((host, port), backlog=1024)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    from cdr.server_balance import ConnectionCounts

    children: dict[int, int] = {}
    counts = ConnectionCounts(workers)  # shared with the forked workers: see cdr.server_balance
    with _forwarding_signals(children) as received:
        # signals stay blocked while forking, so that none reaches a worker before it has its own handlers
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for number in range(1, workers + 1):
                pid = os.fork()
                if pid == 0:  # the worker: never returns into the parent's code
                    os._exit(_worker(database_url, sock, threads, counts, number - 1))
                children[pid] = number
        except OSError as exc:  # fork failed: stop the workers already started
            for pid in children:
                os.kill(pid, signal.SIGTERM)
            for pid in children:
                os.waitpid(pid, 0)
            sock.close()
            raise ServerError(f"cannot start worker {len(children) + 1}: {exc.strerror or exc}") from None
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        bound = sock.getsockname()[1]
        sock.close()  # the workers hold it now
        log(
            f"cdr {__version__} serving http://{host}:{bound} with {workers} worker processes "
            f"(database {shown_url(database_url)}); stop with SIGTERM or Ctrl-C"
        )
        failure = _supervise(children, received)
    if failure:
        raise ServerError(failure)
    log(f"cdr stopped ({', '.join(signal.Signals(s).name for s in received)})")


def _migrate(database_url: str) -> None:
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from cdr.storage import upgrade

    try:
        upgrade(database_url)
    except (SQLAlchemyError, ArgumentError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ServerError(
            f"cannot open the database {shown_url(database_url)}: {exc.__class__.__name__}: {first}"
        ) from None


def _worker(database_url: str, sock: Any, threads: int, counts: ConnectionCounts, index: int) -> int:
    """One worker process: its own app (the parent migrated) and waitress on the inherited socket, taking
    new connections while it holds no more than any other worker (``counts``, see cdr.server_balance)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        from cdr.api import create_app
        from cdr.server_balance import balance

        app = create_app({"DATABASE_URL": database_url, "MIGRATE": False})
        serve_until_stopped(balance(listen(app, threads=threads, sockets=[sock]), counts, index), app)
    except BaseException:  # a worker must exit by os._exit, never unwind into the parent's code
        logger.exception("worker %d failed", os.getpid())
        return 1
    return 0


@contextmanager
def _forwarding_signals(children: dict[int, int]) -> Iterator[list[int]]:
    """In the parent: note SIGTERM/SIGINT and pass SIGTERM on to every worker still running."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        for pid in list(children):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _supervise(children: dict[int, int], received: list[int]) -> str | None:
    """Wait for every worker; what went wrong if one ended before a stop signal, else ``None``."""
    failure = None
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        number = children.pop(pid, 0)
        if not received and failure is None:
            failure = f"worker {number} ended unexpectedly ({_describe(status)}); stopping the others"
            for other in list(children):
                with suppress(ProcessLookupError):
                    os.kill(other, signal.SIGTERM)
    return failure


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
