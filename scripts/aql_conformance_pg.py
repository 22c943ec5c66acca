"""Run ``cdr serve`` on a fresh PostgreSQL database, for the AQL conformance runner (one server per suite).

The runner isolates suites by starting the server command once per suite; on SQLite a new ``{dbdir}`` gives
an empty database, and this wrapper does the same on PostgreSQL: it creates ``cdr_aqlconf_<random>`` on the
server of ``--admin-url``, runs ``cdr serve`` on it in the foreground, passes SIGTERM/SIGINT on, and drops
the database when the server has stopped. ``--cleanup`` drops what killed runs left behind.

    python scripts/aql_conformance_pg.py --admin-url postgresql://postgres@127.0.0.1/postgres --port 8000
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import FrameType

import sqlalchemy as sa
from sqlalchemy.engine import make_url

PREFIX = "cdr_aqlconf_"


def _admin(url: str) -> sa.Engine:
    """An AUTOCOMMIT engine on the server's maintenance database (CREATE/DROP DATABASE need one)."""
    u = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return sa.create_engine(u, isolation_level="AUTOCOMMIT")


def _drop(admin: sa.Engine, names: list[str]) -> None:
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cleanup(admin_url: str) -> int:
    """Drop every database this wrapper created that is still there."""
    admin = _admin(admin_url)
    with admin.connect() as conn:
        names = [
            str(n)
            for (n,) in conn.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
            )
        ]
    _drop(admin, names)
    admin.dispose()
    return 0


def serve(admin_url: str, port: int, cdr: str) -> int:
    """Create a database, serve it until a signal stops the server, drop it; the server's exit code."""
    admin = _admin(admin_url)
    name = PREFIX + uuid.uuid4().hex[:16]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        server = subprocess.Popen([cdr, "serve", "--port", str(port), "--db", url.render_as_string(False)])

        def forward(signum: int, _frame: FrameType | None) -> None:
            server.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        code = server.wait()
    finally:
        _drop(admin, [name])
        admin.dispose()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True, help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--port", type=int, help="port for cdr serve")
    parser.add_argument("--cleanup", action="store_true", help="drop databases left by earlier runs and exit")
    args = parser.parse_args(argv)
    if args.cleanup:
        return cleanup(args.admin_url)
    if args.port is None:
        parser.error("--port is required unless --cleanup is given")
    cdr = shutil.which("cdr", path=str(Path(sys.executable).parent)) or "cdr"
    return serve(args.admin_url, args.port, cdr)


if __name__ == "__main__":
    sys.exit(main())
