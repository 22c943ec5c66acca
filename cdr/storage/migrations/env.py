"""Alembic environment: runs on the connection :func:`cdr.storage.migrate.upgrade` passes in.

Driven programmatically (there is no alembic.ini): the caller puts an open connection, already inside its
transaction, into ``config.attributes["connection"]``, so a whole upgrade is one transaction on both dialects.
"""

from __future__ import annotations

from alembic import context

from cdr.storage.schema import metadata

config = context.config


def run_offline() -> None:
    """Emit the SQL for ``config``'s ``sqlalchemy.url`` dialect instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through cdr.storage.migrate.upgrade(), which supplies a connection"
        )
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
