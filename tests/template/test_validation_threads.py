"""The validator's first use in a fresh process, from several threads at once, as a newly started server
worker meets its first concurrent requests.

The rule tables and the openEHR code sets are built on first use. ``functools.cache`` let two threads that
asked at the same moment each build their own code sets, and a rule built against one set then found the
other when it looked a terminology id up, so it refused ``ISO_639-1`` as "not ISO_639-1" in every
composition that worker validated after (a served commit of a valid composition answered 422 until the
process restarted). Run in a subprocess: this process has long loaded both.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from cdr.once import once

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json, sys, threading
from cdr.formats.canonical_json import parse_json
from cdr.template import load_opt
from cdr.template.validation import validate
opt = load_opt(sys.argv[1])
doc = json.loads(open(sys.argv[2], encoding="utf-8").read())
comps = [parse_json(doc, "COMPOSITION") for _ in range(8)]
barrier = threading.Barrier(8)
found = []
def run(comp):
    barrier.wait()
    found.extend(f"{i.code.value} {i.path}: {i.message}" for i in validate(comp, opt))
threads = [threading.Thread(target=run, args=(c,)) for c in comps]
[t.start() for t in threads]
[t.join() for t in threads]
print("\\n".join(found[:5]))
sys.exit(1 if found else 0)
"""


def test_threads_validating_first_at_once_agree_with_one_thread() -> None:
    opt = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
    comp = REPO / "tests" / "data" / "compositions" / "valid_normal.json"
    for _ in range(5):  # the race is a matter of timing: give it several fresh processes
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(opt), str(comp)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_once_loads_once_for_threads_that_ask_together() -> None:
    calls: list[object] = []
    barrier = threading.Barrier(8)

    @once
    def load() -> object:
        calls.append(object())
        return calls[-1]

    got: list[object] = []

    def ask() -> None:
        barrier.wait()
        got.append(load())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and all(g is calls[0] for g in got) and load() is calls[0]
