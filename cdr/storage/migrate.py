"""Alembic migrations: ``upgrade(url)`` brings a database to the schema of :mod:`cdr.storage.schema`.

The CLI (``cdr db upgrade``) and the server start call :func:`upgrade`. It runs in one transaction on both
dialects (PostgreSQL and, with :mod:`cdr.storage.engine`'s explicit ``BEGIN``, SQLite have transactional DDL),
so a failed upgrade leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from cdr.storage.engine import DEFAULT_URL, create_engine, write_transaction

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for our migrations (no ini file), bound to ``connection`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | sa.URL | Engine = DEFAULT_URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` (or behind an engine) to ``revision``, in one transaction."""
    engine = url if isinstance(url, Engine) else create_engine(url)
    try:
        with write_transaction(engine) as conn:
            command.upgrade(alembic_config(conn), revision)
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` for an unmigrated database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
