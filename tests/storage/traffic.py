"""The statements a block of code sends to the database, counted where they leave: SQLAlchemy's
``before_cursor_execute`` on SQLite; on PostgreSQL the driver's cursor, which also sees what goes past
SQLAlchemy (the node rows' ``COPY``, the statements :mod:`cdr.storage.direct` runs). BEGIN, COMMIT and
ROLLBACK are not statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

_NOT_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK")


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every statement ``engine`` sends while the block runs."""
    seen: list[str] = []

    def note(text: Any) -> None:
        sql = str(text)
        if sql.split(None, 1)[0].upper() not in _NOT_STATEMENTS:
            seen.append(sql)

    if engine.dialect.name != "postgresql":

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            note(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return
    execute, executemany, copy = psycopg.Cursor.execute, psycopg.Cursor.executemany, psycopg.Cursor.copy

    def counted_execute(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        note(query)
        return execute(cursor, query, *args, **kwargs)

    def counted_executemany(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        note(query)  # one statement, however many parameter sets
        return executemany(cursor, query, *args, **kwargs)

    def counted_copy(cursor: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        note(statement)
        return copy(cursor, statement, *args, **kwargs)

    setattr(psycopg.Cursor, "execute", counted_execute)  # noqa: B010 (mypy refuses assigning a method)
    setattr(psycopg.Cursor, "executemany", counted_executemany)  # noqa: B010
    setattr(psycopg.Cursor, "copy", counted_copy)  # noqa: B010
    try:
        yield seen
    finally:
        setattr(psycopg.Cursor, "execute", execute)  # noqa: B010
        setattr(psycopg.Cursor, "executemany", executemany)  # noqa: B010
        setattr(psycopg.Cursor, "copy", copy)  # noqa: B010
