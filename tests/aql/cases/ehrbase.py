"""Replays the EHRbase AQL manifest in-process: each suite's data loaded through the stores, each query run
by :func:`aql.execute.execute`, each answer judged as ``/work/shared/tools/aql_conformance.py`` judges it.

Judging (from the runner's docstring): the RESULT_SET ``{"q", "columns", "rows"}`` must equal the expected
file after removing the case's ``exclude_paths``, ignoring list order (``ignore_order``, default true; lists
compared as sets, as DeepDiff does without repetition reports) and string case (``ignore_string_case``); and
the row count must equal ``expected_rows``. Cases the manifest cannot judge are skipped with the reason
(no query, no oracle, variables nobody defines, an expected file naming ids no input contains).
"""

from __future__ import annotations

import copy
import csv
import difflib
import json
import random
import re
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aql.compiler.values import iso_instant
from aql.errors import AqlError
from aql.execute import execute
from cdr.formats.canonical_json import parse_json
from cdr.formats.flat_reader import flat_to_composition
from cdr.services.context import RequestContext
from cdr.services.contribution import commit_contribution
from cdr.services.core import Services
from cdr.storage import Audit, Storage
from cdr.template import load_opt
from tests.aql.cases.robot import Unresolved, Variables, as_received, evaluate, interpolate, norm

AUDIT = Audit.by("aql-conformance")
DEFAULT_EHR_STATUS = "ehr/valid/000_ehr_status_with_other_details.json"
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass
class Outcome:
    suite: str
    area: str
    case: str
    status: str  # passed | failed | skipped
    reason: str = ""


@dataclass
class Suite:
    raw: dict[str, Any]
    root: Path

    @property
    def path(self) -> str:
        return str(self.raw.get("suite", "?"))

    @property
    def short(self) -> str:
        return self.path.removeprefix("AQL_TESTS/").removesuffix(".robot")

    @property
    def area(self) -> str:
        parts = self.path.split("/")
        return parts[1] if len(parts) > 2 else parts[0]

    def csv_rows(self) -> list[list[str]] | None:
        name = self.raw.get("datadriver_csv")
        if not name or not (self.root / name).is_file():
            return None
        with (self.root / name).open(newline="", encoding="utf-8") as fh:
            return [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]


def load_suites(manifest: Path, root: Path) -> list[Suite]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [Suite(s, root) for s in data.get("suites", [])]


def _find(root: Path, name: str, *subdirs: str) -> Path:
    for sub in ("", *subdirs):
        if (root / sub / name).is_file():
            return root / sub / name
    raise FileNotFoundError(name)


@dataclass
class Loader:
    """Runs a suite's setup steps against one storage, keeping the Robot variables they define."""

    suite: Suite
    storage: Storage
    vars: Variables = field(default_factory=Variables)
    inputs: set[str] = field(default_factory=set)

    def run(self) -> None:
        for step in self.suite.raw.get("setup", []):
            getattr(self, f"do_{step['action']}")(step)

    def text(self, path: Path) -> str:
        content = path.read_text(encoding="utf-8")
        self.inputs |= {u.lower() for u in UUID_RE.findall(content)}
        return interpolate(content, self.vars, False)[0]

    def ehr_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.vars.lookup("ehr_id")))

    def do_upload_opt(self, step: dict[str, Any]) -> None:
        content = (self.suite.root / step["file"]).read_bytes()
        template_id = load_opt(content).template_id
        if template_id not in {t.template_id for t in self.storage.templates.list()}:
            self.storage.templates.upload(content)
        self.vars.set("template_id", template_id)

    def do_create_ehr(self, step: dict[str, Any]) -> None:
        args = {
            k.strip(): evaluate(v, self.vars) for k, _, v in (a.partition("=") for a in step.get("args", []))
        }
        name = step.get("ehr_status_file") or DEFAULT_EHR_STATUS
        status = json.loads(self.text(_find(self.suite.root, name)))
        ref = (status.get("subject") or {}).get("external_ref")
        if isinstance(ref, dict):
            ref["id"]["value"] = str(uuid.uuid4())
            ref["namespace"] = "namespace_" + "".join(random.choices(string.digits, k=7))
        ehr_id = uuid.UUID(str(args["ehr_id"])) if args.get("ehr_id") else None
        record, version = self.storage.ehrs.create(
            AUDIT, ehr_id=ehr_id, status=parse_json(status, strict=False)
        )
        self.vars.set("ehr_id", str(record.ehr_id))
        self.vars.set("system_id_with_tenant", self.storage.system_id)
        response = version.data
        self.vars.set("response", response)
        self.vars.set("resp_json", response)
        self.vars.set(
            "resp",
            {
                "ehr_id": {"value": str(record.ehr_id)},
                "system_id": {"value": record.system_id},
                "time_created": {"value": iso_instant(record.time_created)},
                "ehr_status": {"id": {"value": version.uid}},
            },
        )
        if isinstance(ref, dict):
            self.vars.set("subject_external_ref_value", ref["id"]["value"])
            self.vars.set("subject_external_ref_namespace", ref["namespace"])

    def _composition(self, step: dict[str, Any]) -> Any:
        text = self.text(self.suite.root / step["file"])
        if step.get("format") == "FLAT":
            template_id = step.get("template_id") or str(self.vars.lookup("template_id"))
            opt = load_opt(self.storage.templates.opt(template_id))
            return flat_to_composition(json.loads(text), opt)
        return parse_json(json.loads(text), strict=False)

    def do_commit_composition(self, step: dict[str, Any]) -> None:
        record = self.storage.compositions.create(self.ehr_id(), self._composition(step), AUDIT)
        self.vars.set("composition_uid", record.uid)
        self.vars.set("composition_short_uid", str(record.vo_id))
        self.vars.set("response", record.data)

    def _preceding(self) -> str:
        for name in ("composition_id", "composition_uid"):
            try:
                return str(self.vars.lookup(name))
            except Unresolved:
                continue
        raise Unresolved("composition_uid")

    def do_update_composition(self, step: dict[str, Any]) -> None:
        record = self.storage.compositions.update(
            self.ehr_id(), self._preceding(), self._composition(step), AUDIT
        )
        self.vars.set("updated_version_composition_uid", record.uid)
        self.vars.set("response", record.data)

    def do_delete_composition(self, step: dict[str, Any]) -> None:
        args = {
            k.strip(): evaluate(v, self.vars) for k, _, v in (a.partition("=") for a in step.get("args", []))
        }
        self.storage.compositions.delete(
            self.ehr_id(), str(args.get("composition_uid") or self._preceding()), AUDIT
        )

    def do_create_directory(self, step: dict[str, Any]) -> None:
        path = self.suite.root / step["file"]
        args = {
            k.strip(): evaluate(v, self.vars) for k, _, v in (a.partition("=") for a in step.get("args", []))
        }
        text = self.text(path) if args.get("has_robot_vars") else path.read_text(encoding="utf-8")
        self.inputs |= {u.lower() for u in UUID_RE.findall(text)}
        record = self.storage.directory.create(self.ehr_id(), parse_json(json.loads(text)), AUDIT)
        self.vars.set("response", record.data)

    def do_commit_contribution(self, step: dict[str, Any]) -> None:
        name = step["args"][0]
        text = self.text(_find(self.suite.root, name, "contributions/valid", "aql/data_load"))
        _, versions = commit_contribution(Services(self.storage), RequestContext(), self.ehr_id(), text)
        body = {"versions": [{"id": {"value": v.uid}} for v in versions]}
        self.vars.set("response", body)
        self.vars.set("versions", body["versions"])

    def do_remember(self, step: dict[str, Any]) -> None:
        self.vars.set(step["var"], evaluate(step.get("value", ""), self.vars))

    def do_other(self, step: dict[str, Any]) -> None:
        keyword, args = step.get("keyword", ""), step.get("args") or []
        key = norm(keyword)
        if key == norm("Admin Delete EHR For AQL"):
            ehr_id = uuid.UUID(str(evaluate(args[0], self.vars))) if args else self.ehr_id()
            _delete_ehr(self.storage, ehr_id)
        elif key == norm("generate random ehr_id"):
            self.vars.set("ehr_id", str(uuid.uuid4()))
        elif key == norm("Update EHR Status For EHR"):
            kw = {
                k.strip(): evaluate(v, self.vars) for k, _, v in (a.partition("=") for a in args if "=" in a)
            }
            status = json.loads(
                self.text(_find(self.suite.root, kw["ehr_status_file"], "aql/data_load/ehrs"))
            )
            record = self.storage.ehr_status.update(
                uuid.UUID(str(kw["ehr_id"])), str(kw["ehrstatus_uid"]), parse_json(status), AUDIT
            )
            self.vars.set("response", record.data)
        elif re.fullmatch(r"\$\{\w+\}", keyword) and args[:1] == ["Evaluate"]:
            m = re.fullmatch(
                r"'([^']*)'\.split\('([^']+)'\)\[(-?\d*):(-?\d*)\]", str(evaluate(args[1], self.vars))
            )
            if not m:
                raise Unresolved(keyword)
            text, sep, a, b = m.groups()
            self.vars.set(keyword, text.split(sep)[int(a) if a else None : int(b) if b else None])
        else:
            raise Unresolved(keyword)


def _delete_ehr(storage: Storage, ehr_id: uuid.UUID) -> None:
    import sqlalchemy as sa

    from cdr.storage import schema as t

    with storage.engine.begin() as conn:
        conn.execute(sa.delete(t.ehr).where(t.ehr.c.ehr_id == ehr_id))


# ------------------------------------------------------------------------------------------- judging


def _exclude(doc: Any, excluded: list[str]) -> Any:
    doc = copy.deepcopy(doc)
    for path in excluded:
        steps = re.findall(r"\[('([^']*)'|(\d+))\]", path.removeprefix("root"))
        target = doc
        try:
            for i, (_, key, index) in enumerate(steps):
                last = i == len(steps) - 1
                sel: Any = key if index == "" else int(index)
                if last:
                    del target[sel]
                else:
                    target = target[sel]
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _normal(value: Any, ignore_order: bool, ignore_case: bool) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v, ignore_order, ignore_case) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normal(v, ignore_order, ignore_case) for v in value]
        if ignore_order:
            return sorted({json.dumps(i, sort_keys=True): i for i in items}.items())
        return items
    if isinstance(value, str) and ignore_case:
        return value.lower()
    return value


def differences(actual: Any, expected: Any, case: dict[str, Any]) -> str | None:
    excluded = case.get("exclude_paths")
    excluded = ["root['meta']"] if excluded is None else list(excluded)
    ignore_order = bool(case.get("ignore_order", True))
    ignore_case = bool(case.get("ignore_string_case", False))
    a = _normal(_exclude(actual, excluded), ignore_order, ignore_case)
    e = _normal(_exclude(expected, excluded), ignore_order, ignore_case)
    if a == e:
        return None
    return _first_lines_of_diff(actual, expected, excluded, ignore_case)


def _sorted_lists(value: Any, ignore_case: bool) -> Any:
    """``value`` with every list sorted by its items' JSON, for a readable diff of unordered results."""
    if isinstance(value, dict):
        return {k: _sorted_lists(v, ignore_case) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v, ignore_case) for v in value]
        return sorted(items, key=lambda i: json.dumps(i, sort_keys=True, default=str))
    if isinstance(value, str) and ignore_case:
        return value.lower()
    return value


def _first_lines_of_diff(actual: Any, expected: Any, excluded: list[str], ignore_case: bool) -> str:
    """The changed lines of a unified diff of both documents (pretty JSON), so a failure names its cause."""
    a, e = (
        json.dumps(_sorted_lists(_exclude(d, excluded), ignore_case), indent=1, sort_keys=True, default=str)
        for d in (actual, expected)
    )
    lines = [
        line.strip()
        for line in difflib.unified_diff(e.splitlines(), a.splitlines(), "expected", "got", n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "diff (-expected +got): " + " ".join(lines)[:700]


def _leaves(node: Any, path: str = "root") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, node


def _excluded(path: str, excluded: list[str]) -> bool:
    return any(path == e or (path.startswith(e) and path[len(e)] == "[") for e in excluded)


def run_suite(suite: Suite, storage: Storage) -> list[Outcome]:
    """Load the suite's data into ``storage`` (empty) and judge every case."""
    loader = Loader(suite, storage)
    out: list[Outcome] = []
    try:
        loader.run()
    except Exception as exc:
        return [
            Outcome(suite.short, suite.area, c.get("name", "?"), "failed", f"setup: {exc!r}"[:300])
            for c in suite.raw.get("cases", [])
        ]
    rows = suite.csv_rows()
    for case in suite.raw.get("cases", []):
        out.append(_run_case(suite, loader, case, rows))
    return out


@dataclass
class CaseQuery:
    """A case's query as upstream sent it, its parameters, and the variables of its CSV row."""

    text: str
    params: dict[str, Any] | None
    scope: Variables


def case_query(loader: Loader, case: dict[str, Any], rows: list[list[str]] | None) -> CaseQuery | str:
    """The case's query with its CSV row's and the setup's variables filled in, or why it cannot be sent."""
    scope = Variables(parent=loader.vars)
    row = case.get("csv_row")
    if rows is not None and isinstance(row, int) and 0 < row < len(rows):
        header = [h.strip() for h in rows[0]]
        for name, cell in zip(header, rows[row], strict=False):
            scope.set(name, interpolate(cell, loader.vars, True)[0])
    query, missing = interpolate(case["query"], scope, True)
    if missing:
        return f"query needs ${{{min(missing)}}}"
    try:
        query = as_received(query)
    except ValueError:
        return "query cannot be sent as upstream did"
    if "$" in re.sub(r"'[^']*'", "", query) and not case.get("query_parameters"):
        return "query uses a $parameter the manifest gives no value for"
    params = case.get("query_parameters")
    if params:
        params = {k: (interpolate(v, scope, True)[0] if isinstance(v, str) else v) for k, v in params.items()}
    return CaseQuery(query, params or None, scope)


def _run_case(suite: Suite, loader: Loader, case: dict[str, Any], rows: list[list[str]] | None) -> Outcome:
    def result(status: str, reason: str = "") -> Outcome:
        return Outcome(suite.short, suite.area, case.get("name", "?"), status, reason)

    if not case.get("query"):
        return result("skipped", "no query (REST-level check)")
    prepared = case_query(loader, case, rows)
    if isinstance(prepared, str):
        return result("skipped", prepared)
    query, params, scope = prepared.text, prepared.params, prepared.scope
    expected = None
    if case.get("expected_file"):
        path = suite.root / case["expected_file"]
        if not path.is_file() and scope_has(scope, "expected_file"):
            path = path.parent / str(scope.lookup("expected_file"))
        if path.is_file() and path.read_text(encoding="utf-8").strip():
            text, _ = interpolate(path.read_text(encoding="utf-8"), scope, False)
            try:
                expected = json.loads(text)
            except ValueError:
                return result("skipped", "expected file is not JSON after substitution")
    excluded = case.get("exclude_paths")
    excluded = ["root['meta']"] if excluded is None else list(excluded)
    want_rows = None
    if case.get("expected_rows") not in (None, ""):
        try:
            want_rows = int(evaluate(str(case["expected_rows"]), Variables()))
        except (ValueError, Unresolved):
            want_rows = None
    if expected is None and want_rows is None:
        return result("skipped", "no oracle")
    if expected is not None:
        inputs = loader.inputs | {u.lower() for u in UUID_RE.findall(query)}
        for leaf_path, value in _leaves(expected):
            if not isinstance(value, str) or _excluded(leaf_path, excluded):
                continue
            if "${" in value:
                return result("skipped", f"oracle needs a variable at {leaf_path}")
            if any(u.lower() not in inputs for u in UUID_RE.findall(value)):
                return result("skipped", f"oracle pins an id at {leaf_path}")
        if (
            isinstance(expected.get("rows"), list)
            and want_rows is not None
            and want_rows != len(expected["rows"])
        ):
            want_rows = None
        inconsistent = _inconsistent_columns(expected, query, excluded, bool(case.get("ignore_order", True)))
        if inconsistent:
            return result("skipped", inconsistent)
        recorded = expected.get("q")
        if isinstance(recorded, str) and re.sub(r"\s+", "", recorded) == re.sub(r"\s+", "", query):
            query = recorded
    try:
        answer = execute(loader.storage, query, params)
    except AqlError as exc:
        return result("failed", f"AQL error: {exc}")
    except Exception as exc:
        return result("failed", f"error: {type(exc).__name__}: {str(exc)[:300]}")
    actual = json.loads(json.dumps(answer.to_json(), default=str))
    problems = []
    if want_rows is not None and len(actual["rows"]) != want_rows:
        problems.append(f"expected {want_rows} rows, got {len(actual['rows'])}")
    if expected is not None and (diff := differences(actual, expected, case)):
        problems.append(diff)
    return result("failed", " | ".join(problems)) if problems else result("passed")


def _inconsistent_columns(expected: Any, query: str, excluded: list[str], ignore_order: bool) -> str | None:
    """Why an expected file cannot match ``query`` (its columns name other paths), as the conformance runner
    decides; such cases are skipped there, so the two measurements skip the same cases."""
    columns = expected.get("columns") if isinstance(expected, dict) else None
    if not isinstance(columns, list) or _excluded("root['columns']", excluded):
        return None
    selected = _select_list(query)
    if selected is None:
        return None
    if len(columns) != len(selected):
        return f"oracle inconsistent: {len(columns)} expected columns, query selects {len(selected)}"
    squashed = {_squash(s) for s in selected}
    for i, (column, expr) in enumerate(zip(columns, selected, strict=True)):
        path = column.get("path") if isinstance(column, dict) else None
        if not isinstance(path, str) or "${" in path or _excluded(f"root['columns'][{i}]['path']", excluded):
            continue
        if _squash(path) not in (squashed if ignore_order else {_squash(expr)}):
            return f"oracle inconsistent: expected column {i} path {path!r}, query selects {expr!r}"
    return None


def _select_list(query: str) -> list[str] | None:
    """The SELECT expressions as written (aliases dropped), split at top-level commas up to FROM."""
    head = re.match(r"\s*SELECT\s+(?:DISTINCT\s+)?(?:TOP\s+\d+\s+)?", query, re.IGNORECASE)
    if head is None:
        return None
    parts: list[str] = []
    depth, quote, start = 0, "", head.end()
    for i in range(head.end(), len(query)):
        c = query[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == ",":
            parts.append(query[start:i])
            start = i + 1
        elif depth == 0 and re.match(r"\sFROM\s", query[i : i + 6], re.IGNORECASE):
            parts.append(query[start:i])
            return [re.sub(r"\s+AS\s+\w+\s*$", "", p, flags=re.IGNORECASE).strip() for p in parts]
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def scope_has(scope: Variables, name: str) -> bool:
    try:
        scope.lookup(name)
    except Unresolved:
        return False
    return True
