"""The benchmark's query shapes (``bench.aql``) give the answers the stored JSON gives, on both databases.

The compiler answers them with fewer joins than a literal reading of the FROM clause (an EHR known by its
compositions' ``ehr_id``, an OBSERVATION reached only through one leaf, a COMPOSITION known by its version
row); these tests compute each answer again by walking the compositions' canonical JSON in Python and
compare. Times carry different UTC offsets, so ORDER BY has to sort instants, not text; events are both
POINT_EVENT and INTERVAL_EVENT, and one composition holds two blood pressure observations.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from aql.compiler import bind_values, compile_query, parameter_kinds
from aql.execute import execute
from cdr.formats.canonical_json import to_json
from cdr.rm.data_types.iso8601 import duration_seconds
from cdr.storage import Audit, Storage
from cdr.template import parse_opt
from cdr.template.example import generate
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401

BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
EVENT = "o/data[at0001]/events[at0006]"
SYSTOLIC = f"{EVENT}/data[at0003]/items[at0004]/value/magnitude"
FROM_BP = f"FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{BP}]"
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "kommunal_vitalparametre_news2.nb.opt"
OFFSETS = ("+02:00", "Z", "-05:00", "+09:30", "-01:00")


@dataclass
class World:
    storage: Storage
    ehrs: list[uuid.UUID]
    compositions: dict[str, tuple[uuid.UUID, dict[str, Any]]]  # uid -> (EHR, stored JSON)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _objects(node: Any, rm_type: str, node_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every object of ``rm_type`` (with ``node_id``, when given) in a JSON document, in document order."""
    if isinstance(node, dict):
        if node.get("_type") == rm_type and node_id in (None, node.get("archetype_node_id")):
            yield node
        for value in node.values():
            yield from _objects(value, rm_type, node_id)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item, rm_type, node_id)


def _observations(node: Any) -> Iterator[dict[str, Any]]:
    """Every blood pressure OBSERVATION in a composition's JSON, in document order."""
    return _objects(node, "OBSERVATION", BP)


def _events(observation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for event in observation.get("data", {}).get("events", []):
        if event.get("archetype_node_id") == "at0006":
            yield event


def _systolic(event: dict[str, Any]) -> float | None:
    for item in event.get("data", {}).get("items", []):
        if item.get("archetype_node_id") == "at0004":
            return item.get("value", {}).get("magnitude")
    return None


def _retime(rng: random.Random, base: dt.datetime, data: dict[str, Any]) -> None:
    """Start and event times at random minutes, each written with another UTC offset."""

    def stamp() -> str:
        moment = base + dt.timedelta(minutes=rng.randrange(0, 600))
        offset = rng.choice(OFFSETS)
        zone = dt.UTC if offset == "Z" else dt.datetime.strptime(offset, "%z").tzinfo
        text = moment.astimezone(zone).isoformat(timespec="seconds")
        return text.replace("+00:00", "Z")

    data["context"]["start_time"]["value"] = stamp()
    for observation in _observations(data):
        for event in _events(observation):
            event["time"]["value"] = stamp()


@pytest.fixture(params=DIALECTS)
def world(request: pytest.FixtureRequest, new_storage: Callable[[str], Storage]) -> World:  # noqa: F811
    storage = new_storage(request.param)
    opt_bytes = TEMPLATE.read_bytes()
    storage.templates.upload(opt_bytes)
    audit = Audit({"_type": "PARTY_IDENTIFIED", "name": "shapes test"})
    ehrs = [storage.ehrs.create(audit)[0].ehr_id for _ in range(2)]
    rng = random.Random(5)
    base = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    compositions: dict[str, tuple[uuid.UUID, dict[str, Any]]] = {}
    doubled = False
    for i, comp in enumerate(generate(parse_opt(opt_bytes), 12, seed=11)):
        data = to_json(comp)
        first = next(_observations(data), None)
        if first is not None and not doubled:  # two blood pressure observations in one composition
            data["content"].append(copy.deepcopy(first))
            doubled = True
        _retime(rng, base, data)
        ehr = ehrs[i % 2]
        record = storage.compositions.create(ehr, data, audit)
        compositions[record.uid] = (ehr, {**data, "uid": {"value": record.uid}})
    return World(storage, ehrs, compositions)


def _threshold(world: World) -> float:
    values = sorted(
        v
        for _, data in world.compositions.values()
        for o in _observations(data)
        for e in _events(o)
        if (v := _systolic(e)) is not None
    )
    assert len(values) >= 4, "the generated data has too few blood pressure values"
    return values[len(values) // 2]


def _matches(world: World, x: float) -> list[tuple[str, float]]:
    return [
        (uid, v)
        for uid, (_, data) in world.compositions.items()
        for o in _observations(data)
        for e in _events(o)
        if (v := _systolic(e)) is not None and v > x
    ]


def test_population_filter_and_count_equal_a_walk_of_the_json(world: World) -> None:
    x = _threshold(world)
    want = _matches(world, x)
    rows = execute(
        world.storage, f"SELECT c/uid/value, {SYSTOLIC} {FROM_BP} WHERE {SYSTOLIC} > $x", {"x": x}
    ).rows
    assert sorted((r[0], float(r[1])) for r in rows) == sorted(want)
    count = execute(
        world.storage, f"SELECT COUNT(c/uid/value) {FROM_BP} WHERE {SYSTOLIC} > $x", {"x": x}
    ).rows
    assert count == [[len(want)]]
    limited = execute(
        world.storage, f"SELECT c/uid/value {FROM_BP} WHERE {SYSTOLIC} > $x LIMIT 2", {"x": x}
    ).rows
    assert len(limited) == min(2, len(want)) and all(r[0] in {u for u, _ in want} for r in limited)


def test_two_observations_of_one_composition_are_two_rows(world: World) -> None:
    doubled = [uid for uid, (_, data) in world.compositions.items() if len(list(_observations(data))) == 2]
    assert doubled, "the fixture holds a composition with two blood pressure observations"
    rows = execute(
        world.storage, f"SELECT c/uid/value, {SYSTOLIC} {FROM_BP} WHERE {SYSTOLIC} > $x", {"x": -1}
    ).rows
    assert sum(1 for r in rows if r[0] == doubled[0]) == 2


def test_latest_compositions_sort_by_start_instant_across_offsets(world: World) -> None:
    for ehr in world.ehrs:
        rows = execute(
            world.storage,
            "SELECT c/uid/value, c/context/start_time/value FROM EHR e[ehr_id/value=$ehr_id] "
            "CONTAINS COMPOSITION c ORDER BY c/context/start_time/value DESC LIMIT 4",
            {"ehr_id": str(ehr)},
        ).rows
        mine = [
            (uid, d["context"]["start_time"]["value"])
            for uid, (e, d) in world.compositions.items()
            if e == ehr
        ]
        want = sorted(mine, key=lambda r: _instant(r[1]), reverse=True)[:4]
        assert [_instant(r[1]) for r in rows] == [_instant(r[1]) for r in want]
        assert {r[0] for r in rows} == {r[0] for r in want}


def test_event_times_sort_and_compare_as_instants_for_point_and_interval_events(world: World) -> None:
    events = [
        (e["_type"], e["time"]["value"], _systolic(e))
        for ehr in world.ehrs
        for _, (owner, data) in world.compositions.items()
        if owner == ehr
        for o in _observations(data)
        for e in _events(o)
    ]
    assert {t for t, _, _ in events} == {"POINT_EVENT", "INTERVAL_EVENT"}, "both event types are generated"
    for ehr in world.ehrs:
        rows = execute(
            world.storage,
            f"SELECT {SYSTOLIC}, {EVENT}/time/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c "
            f"CONTAINS OBSERVATION o[{BP}] ORDER BY {EVENT}/time/value DESC LIMIT 5",
            {"ehr_id": str(ehr)},
        ).rows
        mine = [
            (e["time"]["value"], _systolic(e))
            for _, (owner, data) in world.compositions.items()
            if owner == ehr
            for o in _observations(data)
            for e in _events(o)
        ]
        want = sorted(mine, key=lambda r: _instant(r[0]), reverse=True)[:5]
        assert [_instant(r[1]) for r in rows] == [_instant(t) for t, _ in want]
    middle = sorted(_instant(t) for _, t, _ in events)[len(events) // 2]
    later = execute(
        world.storage,
        f"SELECT {EVENT}/time/value {FROM_BP} WHERE {EVENT}/time/value > $t",
        {"t": middle.isoformat()},
    ).rows
    assert sorted(_instant(r[0]) for r in later) == sorted(
        _instant(t) for _, t, _ in events if _instant(t) > middle
    )


def test_ehr_attributes_and_deleted_compositions(world: World) -> None:
    rows = execute(
        world.storage,
        "SELECT e/ehr_id/value, e/system_id/value, c/uid/value FROM EHR e CONTAINS COMPOSITION c",
    ).rows
    assert sorted((uuid.UUID(r[0]), r[2]) for r in rows) == sorted(
        (e, u) for u, (e, _) in world.compositions.items()
    )
    assert {r[1] for r in rows} == {"test.cdr"}
    gone = next(uid for uid, (_, data) in world.compositions.items() if next(_observations(data), None))
    ehr = world.compositions[gone][0]
    world.storage.compositions.delete(ehr, gone, Audit({"_type": "PARTY_IDENTIFIED", "name": "shapes test"}))
    alone = execute(world.storage, "SELECT c/uid/value FROM COMPOSITION c").rows
    assert sorted(r[0] for r in alone) == sorted(u for u in world.compositions if u != gone)
    inside = execute(world.storage, f"SELECT c/uid/value {FROM_BP} WHERE {SYSTOLIC} > $x", {"x": -1}).rows
    assert gone not in {r[0] for r in inside} and inside


def test_population_statement_joins_only_what_it_reads() -> None:
    text = f"SELECT c/uid/value, {SYSTOLIC} {FROM_BP} WHERE {SYSTOLIC} > $x LIMIT 50"
    compiled = compile_query(text, "postgresql", parameter_kinds({"x": 1.0}))
    sql = str(compiled.statement.compile(dialect=postgresql.dialect()))
    # no ehr row (every row carries ehr_id), no OBSERVATION row (the leaf's archetype columns say it), no
    # root node (the version row gives the uid): the leaf and its version, as written by hand
    assert "ehr AS" not in sql and sql.count("node AS") == 1 and sql.count("object_version AS") == 1, sql
    assert "archetype_path" in sql and " path =" not in sql, sql


def test_values_of_one_event_pair_with_that_event(world: World) -> None:
    """Paths through the same event node read that one event (EHRbase's reading), not every event of the
    observation: three events give three (systolic, time) rows, each its own event's pair."""
    ehr, source = next(
        (e, d)
        for e, d in world.compositions.values()
        if len(list(_observations(d))) == 1
        and any(_systolic(ev) is not None for o in _observations(d) for ev in _events(o))
    )
    data = copy.deepcopy(source)
    data.pop("uid", None)
    observation = next(o for o in _observations(data) if any(_systolic(e) is not None for e in _events(o)))
    template = next(e for e in _events(observation) if _systolic(e) is not None)
    pairs = [
        ("2024-05-01T08:00:00Z", 101.0),
        ("2024-05-01T09:00:00+02:00", 102.0),
        ("2024-05-01T10:00:00-05:00", 103.0),
    ]
    events = []
    for time, systolic in pairs:
        event = copy.deepcopy(template)
        event["time"]["value"] = time
        element = next(it for it in event["data"]["items"] if it["archetype_node_id"] == "at0004")
        element["value"]["magnitude"] = systolic
        events.append(event)
    observation["data"]["events"] = events
    audit = Audit({"_type": "PARTY_IDENTIFIED", "name": "shapes test"})
    uid = world.storage.compositions.create(ehr, data, audit).uid
    text = f"SELECT {SYSTOLIC}, {EVENT}/time/value {FROM_BP} WHERE c/uid/value = $uid"
    rows = execute(world.storage, text + f" ORDER BY {EVENT}/time/value", {"uid": uid}).rows
    want = sorted(((s, _instant(t)) for t, s in pairs), key=lambda r: r[1])
    assert [(float(r[0]), _instant(r[1])) for r in rows] == want


def test_a_repeated_postgresql_statement_keeps_one_plan(world: World) -> None:
    """The compiler's constants are SQL text and only the AQL's parameters are binds, so PostgreSQL plans
    a prepared statement once (a generic plan) instead of at every execution; an AQL literal stays a bind."""
    if world.storage.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    text = (
        f"SELECT {SYSTOLIC}, {EVENT}/time/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c "
        f"CONTAINS OBSERVATION o[{BP}] ORDER BY {EVENT}/time/value DESC LIMIT 10"
    )
    compiled = compile_query(text, "postgresql", parameter_kinds({"ehr_id": str(world.ehrs[0])}))
    with world.storage.engine.connect() as conn:
        for i in range(12):
            values = bind_values(list(compiled.derived), {"ehr_id": str(world.ehrs[i % 2])})
            conn.execute(compiled.statement, values).all()
        generic = conn.exec_driver_sql(
            "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements "
            "WHERE statement LIKE '%%at0006%%'"
        ).scalar()
    assert generic and generic > 0
    literal = compile_query(f"SELECT c/uid/value {FROM_BP} WHERE c/name/value = 'secret name'", "postgresql")
    assert "secret name" not in str(literal.statement.compile(dialect=postgresql.dialect()))


def _interval_events(node: Any) -> Iterator[dict[str, Any]]:
    return _objects(node, "INTERVAL_EVENT")


def test_a_duration_inside_an_object_sorts_by_its_length(world: World) -> None:
    """``ORDER BY i/width``: INTERVAL_EVENT.width is no ELEMENT value (no typed node column), so it sorts
    from the stored JSON, by the duration's length and not its text (``P40D`` before ``P30M``)."""
    sample = next(d for _, d in world.compositions.values() if next(_interval_events(d), None) is not None)
    audit = Audit({"_type": "PARTY_IDENTIFIED", "name": "durations"})
    ehr = world.storage.ehrs.create(audit)[0].ehr_id
    widths = ["P30M", "P40D", "PT1H", "P1Y", "-P1D", "PT90M"]
    for width in widths:
        data = copy.deepcopy({k: v for k, v in sample.items() if k != "uid"})
        for event in _interval_events(data):
            event["width"] = {"_type": "DV_DURATION", "value": width}
        world.storage.compositions.create(ehr, data, audit)
    per_composition = sum(1 for _ in _interval_events(sample))
    for direction, reverse in (("ASC", False), ("DESC", True)):
        rows = execute(
            world.storage,
            "SELECT i/width/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c "
            f"CONTAINS INTERVAL_EVENT i ORDER BY i/width {direction}",
            {"ehr_id": str(ehr)},
        ).rows
        want = sorted(widths, key=lambda w: duration_seconds(w) or 0.0, reverse=reverse)
        assert [r[0] for r in rows] == [w for w in want for _ in range(per_composition)]


def test_order_by_a_select_alias_sorts_by_that_column(world: World) -> None:
    """``ORDER BY n`` naming a SELECT alias: an aggregate (compositions per EHR, most first) and a path value
    (the same order as the path itself), on both databases."""
    _, data = next(iter(world.compositions.values()))
    extra = {k: v for k, v in data.items() if k != "uid"}
    world.storage.compositions.create(world.ehrs[1], extra, Audit({"_type": "PARTY_SELF"}))
    counts = {str(ehr): 0 for ehr in world.ehrs}
    for ehr, _ in world.compositions.values():
        counts[str(ehr)] += 1
    counts[str(world.ehrs[1])] += 1  # so that the EHRs' counts differ
    rows = execute(
        world.storage,
        "SELECT e/ehr_id/value AS ehr, COUNT(c/uid/value) AS n FROM EHR e CONTAINS COMPOSITION c "
        "ORDER BY n DESC",
    ).rows
    assert [r[1] for r in rows] == sorted(counts.values(), reverse=True)
    assert {r[0]: r[1] for r in rows} == counts
    by_alias = execute(
        world.storage, f"SELECT c/uid/value, {SYSTOLIC} AS sys {FROM_BP} ORDER BY sys DESC, c/uid/value"
    ).rows
    by_path = execute(
        world.storage, f"SELECT c/uid/value, {SYSTOLIC} {FROM_BP} ORDER BY {SYSTOLIC} DESC, c/uid/value"
    ).rows
    assert by_alias == by_path
    values = [float(r[1]) for r in by_alias if r[1] is not None]
    assert len(values) >= 4 and values == sorted(values, reverse=True)
