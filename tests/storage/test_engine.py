"""Engines: SQLite set up for concurrent use, instants stored in UTC on both databases."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.rm.data_types.iso8601 import duration_seconds
from cdr.storage import schema as t
from cdr.storage.engine import (
    DEFAULT_URL,
    create_engine,
    read_transaction,
    statement_deadline,
    write_transaction,
)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'cdr.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert (tmp_path / "a" / "b" / "cdr.db").is_file()
    engine.dispose()


def test_default_url_creates_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine()
    assert str(engine.url) == DEFAULT_URL
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert (tmp_path / "cdr-data" / "cdr.db").is_file()
    engine.dispose()


def test_plain_postgresql_urls_get_psycopg() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:5432/nowhere")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_sqlite_write_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    """While one write transaction is open, a second cannot begin (BEGIN IMMEDIATE); a reader can."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cdr.db'}")
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE x (a)")
    with write_transaction(engine) as writer:
        writer.exec_driver_sql("INSERT INTO x VALUES (1)")
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout = 0")  # type: ignore[union-attr]
            conn.execution_options(cdr_write=True)
            with pytest.raises(sa.exc.OperationalError, match="locked"):
                conn.begin()
        with read_transaction(engine) as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM x").scalar() == 0
    with read_transaction(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM x").scalar() == 1
    engine.dispose()


def test_instants_come_back_aware_and_equal(engine: Engine) -> None:
    moment = dt.datetime(2024, 5, 14, 8, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ehr_id = uuid.uuid4()
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(t.ehr).values(ehr_id=ehr_id, system_id="s", time_created=moment))
    with read_transaction(engine) as conn:
        stored = conn.execute(sa.select(t.ehr.c.time_created).where(t.ehr.c.ehr_id == ehr_id)).scalar_one()
        later = conn.execute(
            sa.select(sa.func.count()).where(t.ehr.c.time_created > moment - dt.timedelta(microseconds=1))
        ).scalar_one()
    assert stored == moment and stored.tzinfo == dt.UTC
    assert later == 1


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"), write_transaction(engine) as conn:
        conn.execute(
            sa.insert(t.ehr).values(ehr_id=uuid.uuid4(), system_id="s", time_created=dt.datetime(2024, 1, 1))
        )


def test_storage_open_migrates_a_new_database(tmp_path: Path) -> None:
    from cdr.storage import Storage
    from cdr.storage.migrate import current_revision, head_revision

    storage = Storage.open(f"sqlite:///{tmp_path / 'new' / 'cdr.db'}", system_id="here")
    try:
        assert current_revision(storage.engine) == head_revision()
        assert storage.templates.list() == []
        assert storage.ehrs.system_id == storage.compositions.system_id == "here"
    finally:
        storage.close()


def test_result_columns_match_each_statement_on_a_reused_connection(postgres_engine: Engine) -> None:
    """The description kept per result shape: every statement, repeated or not, names its own columns."""
    shapes = [
        ("SELECT 1 AS a, 'x'::text AS b", ["a", "b"]),
        ("SELECT now() AS a, gen_random_uuid() AS c", ["a", "c"]),
        ("SELECT 1.5::float8 AS b, 2 AS a", ["b", "a"]),
        ("SELECT 'y'::varchar(5) AS b", ["b"]),
        ("SELECT 'z'::varchar(9) AS b", ["b"]),
    ]
    with postgres_engine.connect() as conn:
        for _ in range(3):
            for sql, names in shapes:
                result = conn.exec_driver_sql(sql)
                assert list(result.keys()) == names
                assert len(result.one()) == len(names)
        driver = conn.connection.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        cursor.execute("SELECT 'y'::varchar(5) AS b, 1 AS n")
        first, second = cursor.description, cursor.description
        assert first is not None and second is not None and first is not second  # callers may change theirs
        assert [(c.name, c.type_code, c.internal_size) for c in first] == [("b", 1043, None), ("n", 23, 4)]
        assert str(first[0].type_display) == "varchar(5)"
        for length in (5, 9, 5):  # same name and type, another modifier: another shape
            cursor.execute(f"SELECT 'y'::varchar({length}) AS b")
            assert [c.type_display for c in cursor.description or []] == [f"varchar({length})"]
        cursor.execute("SET LOCAL work_mem = '4MB'")
        assert cursor.description is None  # a statement without a result set
        conn.rollback()


@pytest.mark.parametrize(
    "value",
    ["PT1H30M", "-P1W1D", "P1Y2M3DT4H5M6.5S", "P0,5D", "P30M", "PT30M", "P", "PT", "1H", "P1H", "", "P1DT"],
)
def test_the_database_reads_durations_as_python_does(engine: Engine, value: str) -> None:
    """``cdr_duration_seconds`` (migration 0006 on PostgreSQL, a connection function on SQLite), which AQL
    sorts DV_DURATION objects by, agrees with :func:`duration_seconds` (NULL where that is None)."""
    with engine.connect() as conn:
        got = conn.execute(sa.select(sa.func.cdr_duration_seconds(value, type_=sa.Float()))).scalar()
    want = duration_seconds(value)
    assert got == pytest.approx(want) if want is not None else got is None


_SLOW = {  # about a second of work or waiting on each database
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000) "
    "SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(1)",
}


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_statement_deadline_stops_the_statement_and_ends_with_its_block(
    engine: Engine, autocommit: bool
) -> None:
    """The AQL time limit: the database stops a statement past the deadline (PostgreSQL 57014, SQLite
    "interrupted"); after the block the connection has no limit (in a transaction on PostgreSQL the limit
    ends with it; without one it is undone)."""
    slow = _SLOW[engine.dialect.name]
    with engine.connect() as conn:
        if autocommit:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(sa.exc.DBAPIError) as stopped, conn.begin(), statement_deadline(conn, 0.05):
            conn.exec_driver_sql(slow)
        cause = stopped.value.orig
        assert getattr(cause, "sqlstate", None) == "57014" or str(cause) == "interrupted"
        with conn.begin(), statement_deadline(conn, 30):
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        if engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
