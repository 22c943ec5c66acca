"""Instructions per request, counted by valgrind's callgrind: the measure for changes too small to time here.

The benchmark machines' speed moves by up to 3x within minutes, so a change worth a few percent cannot be
seen in timings. Instruction counts can: :func:`run` starts this module as a driver under
``valgrind --tool=callgrind --toggle-collect=_operator_call``, the driver does its set-up (outside the count)
and then calls each request through ``operator.call``, so only the requests' instructions in this process are
counted (PostgreSQL's work is another process's). Repeatable to a fraction of a percent.

Stages, per Corona_Anamnese composition: ``commit`` and ``read`` (by version uid) through the flask test
client on a scratch PostgreSQL database, ``parse`` (canonical JSON from bytes) and ``validate``. With
``CDR_BENCH_CALLGRIND_DIR`` set, each stage's profile is kept there (see :func:`_out_file`).
"""

from __future__ import annotations

import json
import operator
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable

from bench.commit import BASE, _postgres_url, scratch_database
from bench.foundation import CORONA_COMPOSITION, CORONA_OPT, Row

STAGES = ("commit", "read", "parse", "validate")
COLUMNS = ("figure", "instructions per request")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _body() -> bytes:
    doc = json.loads(CORONA_COMPOSITION.read_text(encoding="utf-8"))
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _http_request(stage: str, db_url: str) -> Callable[[], None]:
    """A commit or a read over the flask test client, after the template, an EHR and warm-up requests."""
    from cdr.api import create_app
    from cdr.server import settle_gc

    body = _body()
    client = create_app({"DATABASE_URL": db_url}).test_client()
    client.post(
        f"{BASE}/definition/template/adl1.4", data=CORONA_OPT.read_bytes(), content_type="application/xml"
    )
    ehr_id = client.post(f"{BASE}/ehr", headers={"Prefer": "return=minimal"}).headers["ETag"].strip('"')
    headers = {"Prefer": "return=minimal"}

    def commit() -> None:
        got = client.post(
            f"{BASE}/ehr/{ehr_id}/composition", data=body, content_type="application/json", headers=headers
        )
        if got.status_code != 201:
            raise SystemExit(f"commit: {got.status_code} {got.data[:300]!r}")

    uid = (
        client.post(
            f"{BASE}/ehr/{ehr_id}/composition", data=body, content_type="application/json", headers=headers
        )
        .headers["ETag"]
        .strip('"')
    )

    def read() -> None:
        got = client.get(f"{BASE}/ehr/{ehr_id}/composition/{uid}", headers={"Accept": "application/json"})
        if got.status_code != 200:
            raise SystemExit(f"read: {got.status_code} {got.data[:300]!r}")

    request = commit if stage == "commit" else read
    for _ in range(5):
        request()
    settle_gc()  # as cdr serve does
    return request


def _in_process(stage: str) -> Callable[[], object]:
    from cdr.formats.canonical_json import parse_json
    from cdr.template.opt_parser import load_opt
    from cdr.template.validation import validate

    raw = _body()
    if stage == "parse":
        return lambda: parse_json(raw, "COMPOSITION")
    opt, comp = load_opt(CORONA_OPT), parse_json(raw, "COMPOSITION")
    return lambda: validate(comp, opt)


def drive(stage: str, count: int) -> None:
    """The driver: set up, warm up, then ``count`` requests, each through ``operator.call``."""
    if stage in ("commit", "read"):
        with scratch_database(_postgres_url()) as db_url:
            request: Callable[[], object] = _http_request(stage, db_url)
            for _ in range(count):
                operator.call(request)
        return
    request = _in_process(stage)
    for _ in range(3):
        request()
    for _ in range(count):
        operator.call(request)


def _out_file(stage: str) -> str:
    """Where callgrind writes its profile: nowhere, unless ``CDR_BENCH_CALLGRIND_DIR`` names a directory
    (then ``callgrind.<stage>.out`` there, for ``callgrind_annotate --inclusive=yes``: C functions, the
    compiled modules' ``CPyDef_`` ones among them, with what they cost and whom they call)."""
    directory = os.environ.get("CDR_BENCH_CALLGRIND_DIR")
    if not directory:
        return "/dev/null"
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"callgrind.{stage}.out")


def _count(stage: str, rounds: int) -> float:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--toggle-collect=_operator_call",
        f"--callgrind-out-file={_out_file(stage)}",
        sys.executable,
        "-m",
        "bench.instructions",
        stage,
        str(rounds),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind {stage}: exit {done.returncode}: {done.stderr[-1500:]}")
    return int(found.group(1)) / rounds


def run(rounds: int = 30) -> list[Row]:
    """Instructions per request of each stage, ``rounds`` requests each (valgrind runs ~50x slower)."""
    if not CORONA_OPT.is_file():
        raise SystemExit(f"corpus not found at {CORONA_OPT.parent} (set CDR_CORPUS)")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this scenario counts instructions with callgrind")
    rows = []
    for stage in STAGES:
        per_request = _count(stage, rounds)
        rows.append(Row(f"{stage}, Corona_Anamnese", f"{per_request / 1e6:.2f} M", "-", "-", "-"))
    return rows


if __name__ == "__main__":
    drive(sys.argv[1], int(sys.argv[2]))
