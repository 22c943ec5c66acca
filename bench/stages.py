"""Where a commit's and a read's CPU goes (issue 4): the REST app in this process on PostgreSQL, by stage.

``bench commit`` says how far the served figures are from their targets; with 4 clients on a small machine
they are bound by CPU per request. This scenario splits that CPU: the Corona_Anamnese composition committed
and read through the flask app (the test client, no HTTP server), with the process CPU
(``time.process_time``) spent inside each stage's function summed per request. Stages nest (indented rows
are part of the row above them); what no row names is flask, werkzeug, authentication and the response.
PostgreSQL's own CPU is not in these figures (``bench commit`` reports it). Nothing here is a target: it
tells where a cut would pay.

The functions are wrapped for the run and restored afterwards; the wrapper costs about a microsecond per call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.commit import BASE, _postgres_url, scratch_database
from bench.foundation import CORONA_COMPOSITION, CORONA_OPT, Row

WARM_UP = 30
COLUMNS = ("stage", "CPU per request", "share of the request")


@dataclass(frozen=True)
class Stage:
    """A function whose CPU is summed, shown as ``label`` at ``depth`` (0: a part of the whole request)."""

    module: str
    attribute: str  # "name" or "Class.method"
    label: str
    depth: int = 0


COMMIT_STAGES = (
    Stage("cdr.api.composition", "_incoming", "parse the canonical JSON into RM objects"),
    Stage("cdr.services.composition", "validate", "validate against the template"),
    Stage("cdr.services.core", "Services.commit", "the commit's transaction (writes, audit record)"),
    Stage("cdr.storage.versioning", "_data_of", "RM objects to stored canonical JSON", 1),
    Stage("cdr.storage.versioning", "insert_first_version", "contribution, object and version rows", 1),
    Stage("cdr.storage.versioning", "decompose", "decompose into node rows", 1),
    Stage("cdr.storage.versioning", "insert_nodes", "node rows (COPY)", 1),
    Stage("cdr.storage.audit", "AuditStore.append", "audit record", 1),
    Stage("cdr.services.context", "RequestContext.authorize", "policy decisions (facts loaded once)"),
)

READ_STAGES = (
    Stage("cdr.services.context", "RequestContext.authorize", "policy decision (its facts statement)"),
    Stage("cdr.storage.versioning", "get_version", "the version's statement"),
    Stage("cdr.api.composition", "_answer", "the response body and headers"),
    Stage("cdr.storage.audit", "AuditStore.append", "audit record"),
)


@contextmanager
def _timed(stages: tuple[Stage, ...]) -> Iterator[dict[str, float]]:
    """Wrap each stage's function to add its CPU seconds under its label (restored when the block ends)."""
    import importlib

    spent: dict[str, float] = {s.label: 0.0 for s in stages}
    restore: list[tuple[Any, str, Any]] = []
    for stage in stages:
        owner: Any = importlib.import_module(stage.module)
        *path, name = stage.attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        restore.append((owner, name, original))
        setattr(owner, name, _wrapped(original, stage.label, spent))
    try:
        yield spent
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


def _wrapped(fn: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    depth = [0]  # a recursive or re-entered stage counts once

    def timed(*args: Any, **kwargs: Any) -> Any:
        if depth[0]:
            return fn(*args, **kwargs)
        depth[0] += 1
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start
            depth[0] -= 1

    return timed


def _rows(title: str, stages: tuple[Stage, ...], request: Callable[[], None], count: int) -> list[Row]:
    for _ in range(WARM_UP):
        request()
    with _timed(stages) as spent:
        start = time.process_time()
        for _ in range(count):
            request()
        total = time.process_time() - start
    rows = [Row(f"{title} (this process, all of it)", f"{total / count * 1e3:.2f} ms", "100%", "", "")]
    for stage in stages:
        share = spent[stage.label] / total if total else 0.0
        indent = "  " * (stage.depth + 1)
        cpu = f"{spent[stage.label] / count * 1e3:.2f} ms"
        rows.append(Row(f"{indent}{stage.label}", cpu, f"{share:.0%}", "", ""))
    return rows


def run(rounds: int = 30) -> list[Row]:
    """``rounds`` x 10 commits and x 30 reads after a warm-up, on a scratch PostgreSQL database."""
    if not CORONA_OPT.is_file():
        raise SystemExit(f"corpus not found at {CORONA_OPT.parent} (set CDR_CORPUS)")
    from cdr.api import create_app
    from cdr.server import settle_gc

    body = json.dumps(
        json.loads(CORONA_COMPOSITION.read_text(encoding="utf-8")), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    with scratch_database(_postgres_url()) as db_url:
        app = create_app({"DATABASE_URL": db_url})
        client = app.test_client()
        uploaded = client.post(
            f"{BASE}/definition/template/adl1.4", data=CORONA_OPT.read_bytes(), content_type="application/xml"
        )
        if uploaded.status_code != 201:
            raise SystemExit(f"template upload: {uploaded.status_code} {uploaded.data[:300]!r}")
        ehr_id = client.post(f"{BASE}/ehr", headers={"Prefer": "return=minimal"}).headers["ETag"].strip('"')
        uids: list[str] = []
        settle_gc()  # as cdr serve does before its loop

        def commit() -> None:
            got = client.post(
                f"{BASE}/ehr/{ehr_id}/composition",
                data=body,
                content_type="application/json",
                headers={"Prefer": "return=minimal"},
            )
            if got.status_code != 201:
                raise SystemExit(f"commit: {got.status_code} {got.data[:300]!r}")
            uids.append(got.headers["ETag"].strip('"'))

        def read() -> None:
            got = client.get(
                f"{BASE}/ehr/{ehr_id}/composition/{uids[0]}", headers={"Accept": "application/json"}
            )
            if got.status_code != 200:
                raise SystemExit(f"read: {got.status_code} {got.data[:300]!r}")

        rows = _rows("commit", COMMIT_STAGES, commit, rounds * 10)
        rows += _rows("read by version uid", READ_STAGES, read, rounds * 30)
        app.extensions["cdr"].storage.engine.dispose()
    return rows
