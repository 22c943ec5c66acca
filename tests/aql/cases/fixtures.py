"""Databases for AQL tests: a fresh SQLite file or a scratch PostgreSQL database per use.

PostgreSQL comes from ``CDR_TEST_POSTGRES_URL`` through the storage tests' ``postgres`` and
``postgres_engine`` fixtures (scratch databases created and dropped on that server); without it the PostgreSQL
cases skip with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdr.storage import Storage, create_engine, upgrade
from cdr.storage.schema import metadata
from tests.corpus import require_corpus
from tests.storage.conftest import postgres, postgres_engine  # noqa: F401  (fixtures shared with storage)

DIALECTS = ["sqlite", "postgresql"]


def ehrbase_data() -> Path:
    """The EHRbase integration-test data of the shared corpus (skips the test where it is absent)."""
    return require_corpus() / "ehrbase-integration-tests"


@pytest.fixture
def new_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Storage]]:
    """A factory of empty, migrated storages: a new SQLite file, or the session's PostgreSQL database
    truncated (every earlier storage of the test is then stale)."""
    opened: list[Storage] = []

    def make(dialect: str) -> Storage:
        if dialect == "sqlite":
            engine = create_engine(f"sqlite:///{tmp_path / f'cdr{len(opened)}.db'}")
            upgrade(engine)
            storage = Storage(engine, system_id="test.cdr")
            opened.append(storage)
            return storage
        engine = request.getfixturevalue("postgres_engine")
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} CASCADE")
        return Storage(engine, system_id="test.cdr")

    yield make
    for storage in opened:
        storage.close()
