"""Compatibility fixtures: the API tests' app and client, on SQLite and PostgreSQL."""

from tests.api.conftest import api, app, storage  # noqa: F401  (fixtures)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)
