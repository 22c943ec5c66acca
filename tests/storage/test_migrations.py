"""The migrations produce exactly the schema of cdr.storage.schema, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cdr.storage import Audit, Storage, create_engine, upgrade
from cdr.storage import schema as t
from cdr.storage.leaf_values import column_key
from cdr.storage.migrate import current_revision, head_revision
from cdr.storage.schema import metadata
from tests.storage.conftest import DIALECTS, empty_database_url
from tests.storage.data import TEMPLATES, shipped


def index_shapes(conn: sa.Connection) -> set[tuple[str, str, tuple[str, ...], str | None]]:
    """(table, index, columns, partial-index condition) of every index the database has."""
    inspector = sa.inspect(conn)
    shapes = set()
    for table in inspector.get_table_names():
        for ix in inspector.get_indexes(table):
            if ix.get("duplicates_constraint"):  # PostgreSQL lists unique constraints' indexes too
                continue
            where = ix.get("dialect_options", {}).get(f"{conn.dialect.name}_where")
            shapes.add((table, str(ix["name"]), tuple(str(c) for c in ix["column_names"]), _norm(where)))
    return shapes


def _norm(where: object) -> str | None:
    if where is None:
        return None
    # PostgreSQL shows a varchar compared with a literal with its casts to text
    return str(where).replace("::text", "").replace("(", "").replace(")", "").strip().lower()


def metadata_index_shapes(dialect: str) -> set[tuple[str, str, tuple[str, ...], str | None]]:
    shapes = set()
    for table in metadata.sorted_tables:
        for ix in table.indexes:
            where = ix.dialect_options[dialect]._non_defaults.get("where")
            condition = None if where is None else str(where.compile(compile_kwargs={"literal_binds": True}))
            condition = condition and condition.replace(f"{table.name}.", "")
            shapes.add((table.name, str(ix.name), tuple(c.name for c in ix.columns), _norm(condition)))
    return shapes


@pytest.mark.parametrize("dialect", DIALECTS)
def test_migrations_create_exactly_the_schema(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = empty_database_url(dialect, request, tmp_path)
    upgrade(url)
    engine = create_engine(url)
    try:
        assert current_revision(engine) == head_revision() is not None
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            assert set(sa.inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
            # alembic does not compare partial-index conditions: check them here
            assert index_shapes(conn) == metadata_index_shapes(dialect)
        upgrade(engine)  # a second upgrade is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_failed_upgrade_leaves_no_trace(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole upgrade is one transaction: a failure in the middle rolls back the tables already created."""
    url = empty_database_url(dialect, request, tmp_path)
    from alembic.operations import Operations

    real_create_index = Operations.create_index
    calls = []

    def failing_create_index(self: Operations, *args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real_create_index(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Operations, "create_index", failing_create_index)
    with pytest.raises(RuntimeError, match="disk on fire"):
        upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def _commit_one_composition(engine: sa.Engine) -> None:
    """The shipped NEWS2 template and one composition of it, through the storage of that schema version."""
    storage = Storage(engine, system_id="test.cdr")
    storage.templates.upload((TEMPLATES / "kommunal_vitalparametre_news2.nb.opt").read_bytes())
    ehr_id = storage.ehrs.create(Audit.by("Kari Nordmann", "test"))[0].ehr_id
    storage.compositions.create(ehr_id, shipped("valid_normal.json"), Audit.by("Kari Nordmann", "test"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_long_leaf_values_become_their_keys(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Migration 0008: a code or units longer than its column, which SQLite took whole before the keys, is
    rewritten as its key (AQL compares keys); values that fit stay as they were. PostgreSQL never held such a
    value (it refused the commit), so there the migration changes nothing."""
    url = empty_database_url(dialect, request, tmp_path)
    upgrade(url, "0007_audit_chains")
    engine = create_engine(url)
    try:
        _commit_one_composition(engine)
        node = t.node
        with engine.begin() as conn:
            before = conn.execute(sa.select(node.c.num, node.c.code_string, node.c.units)).all()
            coded = next(r.num for r in before if r.code_string is not None)
            quantity = next(r.num for r in before if r.units is not None)
            if dialect == "sqlite":
                conn.execute(sa.update(node).where(node.c.num == coded).values(code_string="7" * 300))
                conn.execute(sa.update(node).where(node.c.num == quantity).values(units="m" * 70))
        upgrade(engine)
        with engine.connect() as conn:
            after = {r.num: r for r in conn.execute(sa.select(node.c.num, node.c.code_string, node.c.units))}
        for row in before:
            if dialect == "sqlite" and row.num == coded:
                assert after[row.num].code_string == column_key("7" * 300, 255) != "7" * 300
            elif dialect == "sqlite" and row.num == quantity:
                assert after[row.num].units == column_key("m" * 70, 64) != "m" * 70
            else:
                assert (after[row.num].code_string, after[row.num].units) == (row.code_string, row.units)
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_durations_with_years_get_twelve_month_years(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Migration 0010: a stored DV_DURATION length with a year part is recomputed with the year as twelve
    average months (P1Y as long as P12M); other lengths stay; PostgreSQL's function agrees."""
    from cdr.rm.data_types.iso8601 import duration_seconds

    url = empty_database_url(dialect, request, tmp_path)
    upgrade(url, "0009_versioned_object_id_index")
    engine = create_engine(url)
    try:
        _commit_one_composition(engine)
        node = t.node
        old_year = 365.24219 * 86400  # the length 0009 stored for P1Y
        with engine.begin() as conn:
            nums = [r.num for r in conn.execute(sa.select(node.c.num).where(node.c.num_value.is_not(None)))]
            durations = {nums[0]: ("P1Y", old_year), nums[1]: ("PT30M", 1800.0)}
            for num, (text, seconds) in durations.items():
                conn.execute(
                    sa.update(node)
                    .where(node.c.num == num)
                    .values(value_type="DV_DURATION", text_value=text, num_value=seconds)
                )
        upgrade(engine)
        with engine.connect() as conn:
            after = dict(
                conn.execute(sa.select(node.c.num, node.c.num_value).where(node.c.num.in_(durations))).all()
            )
            if dialect == "postgresql":
                function = conn.execute(sa.select(sa.func.cdr_duration_seconds("P1Y"))).scalar_one()
                assert function == duration_seconds("P12M")
        assert after[nums[0]] == duration_seconds("P1Y") == duration_seconds("P12M") != old_year
        assert after[nums[1]] == 1800.0
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_item_tags_stored_before_0012_get_ids_of_their_own(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Migration 0012: every tag stored before it gets a new id, different from every other tag's."""
    import uuid

    url = empty_database_url(dialect, request, tmp_path)
    upgrade(url, "0011_item_tag")
    engine = create_engine(url)
    ehr_id, vo_id = uuid.uuid4(), uuid.uuid4()
    before_0012 = sa.table(
        "item_tag",
        sa.column("ehr_id", sa.Uuid()),
        sa.column("target_vo_id", sa.Uuid()),
        *(sa.column(name) for name in ("target_version", "target_type", "target_uid", "key", "target_path")),
    )
    rows = [
        {
            "ehr_id": ehr_id,
            "target_vo_id": vo_id,
            "target_version": version,
            "target_type": "COMPOSITION",
            "target_uid": str(vo_id) if version == 0 else f"{vo_id}::test.cdr::{version}",
            "key": key,
            "target_path": "",
        }
        for version in (0, 1)
        for key in ("a", "b")
    ]
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(before_0012), rows)
        upgrade(engine)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(t.item_tag.c.tag_id)).scalars().all()
        assert len(ids) == 4 and len(set(ids)) == 4 and all(isinstance(i, uuid.UUID) for i in ids)
    finally:
        engine.dispose()
