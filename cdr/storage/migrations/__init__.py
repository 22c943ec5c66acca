"""Alembic migrations of the storage schema; applied by :func:`cdr.storage.migrate.upgrade`."""
