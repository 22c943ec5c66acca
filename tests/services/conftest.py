"""Service fixtures: the storage tests' databases (SQLite and PostgreSQL) behind a Services container."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from cdr.services import Services
from cdr.storage import Storage
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)


@pytest.fixture
def svc(engine: Engine) -> Services:  # noqa: F811
    return Services(Storage(engine, system_id="test.cdr"))
