"""Black-box REST conformance sweep: ``cdr serve`` on a fresh database, driven over HTTP with the corpus.

Starts the server on a new SQLite file and/or a new PostgreSQL database, then walks the cases of
EHRbase's REST suites area by area (``/work/shared/guide/ehrbase-suites.md``, ITS-REST 1.0.3) with the
shared corpus's own templates, compositions, EHR_STATUS, FOLDER and CONTRIBUTION bodies, read in place:

* every corpus OPT uploaded (the broken ones must be 400), each web template and ``/example`` read, the
  JSON example committed back;
* every canonical JSON / XML / FLAT / STRUCTURED composition of an uploaded template committed and read back
  in its own format and in the others;
* EHR, EHR_STATUS, versioned objects, COMPOSITION CRUD, CONTRIBUTION, DIRECTORY, stored queries, admin
  deletes and headers with the status codes the guide lists.

Each check prints nothing when it passes; the summary lists every failure (area, case, expected, got) and
a JSON report goes to ``--report``. The failures that are corpus data are pinned in
``scripts/rest_smoke_known.txt``; exit 0 when nothing else failed (``--write-known`` rewrites the list).

    .venv/bin/python scripts/rest_smoke.py --db sqlite --db postgres [--report rest-smoke.json]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CDR_CORPUS", REPO.parent / "shared" / "openehr-data")).resolve()
SUITE = CORPUS / "ehrbase-integration-tests" / "test_data_sets"
BASE = "/openehr/v1"
XML = "application/xml"
JSON = "application/json"
FLAT = "application/openehr.wt.flat+json"
STRUCTURED = "application/openehr.wt.structured+json"
WT = "application/openehr.wt+json"
PG_ADMIN = os.environ.get("CDR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_PREFIX = "cdr_restsmoke_"
PLACEHOLDERS = (b"__THIS_SHOULD_BE_MODIFIED", b"__TO_BE_REPLACED", b"replaceme")
KNOWN = Path(__file__).with_name("rest_smoke_known.txt")
"""The corpus's own failures (compositions that break their template, malformed files, OPTs whose root is
no COMPOSITION), pinned so that a run shows what a change broke: docs/conformance.md says why each fails."""
# EHRbase's XML writer spells ARCHETYPE_ID out into these; they are not RM attributes
XML_NOT_RM = {
    "qualifiedRmEntity",
    "domainConcept",
    "rmOriginator",
    "rmName",
    "rmEntity",
    "specialisation",
    "versionID",
    "versionId",
}


# ---------------------------------------------------------------------------------------------- results


@dataclass
class Check:
    area: str
    case: str
    ok: bool
    expected: str
    got: str


@dataclass
class Results:
    checks: list[Check] = field(default_factory=list)

    def add(self, area: str, case: str, ok: bool, expected: object = "", got: object = "") -> bool:
        self.checks.append(Check(area, case, bool(ok), str(expected), str(got)[:400]))
        return bool(ok)

    def summary(self) -> dict[str, Any]:
        areas: dict[str, dict[str, int]] = {}
        for c in self.checks:
            row = areas.setdefault(c.area, {"passed": 0, "failed": 0})
            row["passed" if c.ok else "failed"] += 1
        return {
            "passed": sum(c.ok for c in self.checks),
            "failed": sum(not c.ok for c in self.checks),
            "areas": areas,
            "failures": [c.__dict__ for c in self.checks if not c.ok],
        }


# ---------------------------------------------------------------------------------------------- corpus


def index(kind: str) -> list[tuple[str, str]]:
    """(path, template id) of the INDEX.tsv rows of one kind."""
    with open(CORPUS / "INDEX.tsv", encoding="utf-8") as fh:
        rows = csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t")
        return [(r[0], r[2]) for r in rows if r and r[1] == kind]


def corpus_json(rel: str) -> Any:
    return json.loads((CORPUS / rel).read_text(encoding="utf-8"))


def suite_json(rel: str) -> Any:
    return json.loads((SUITE / rel).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="rest-smoke-") as tmp:
            yield f"sqlite:///{tmp}/cdr.db"
        return
    admin_url = make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database="postgres")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = PG_PREFIX + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def server(db_url: str, log: Path, profile: str = "default") -> Iterator[str]:
    """``cdr serve`` on ``db_url`` (``profile`` "default": as a user starts it, no option and no
    ``CDR_VALIDATION_PROFILE``); yields the base URL once /health answers."""
    port = free_port()
    cdr = str(Path(sys.executable).parent / "cdr")
    option = [] if profile == "default" else ["--validation-profile", profile]
    env = {k: v for k, v in os.environ.items() if k != "CDR_VALIDATION_PROFILE"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [cdr, "serve", "--port", str(port), "--db", db_url, *option],
            stdout=out,
            stderr=out,
            env=env,
        )
        try:
            root = f"http://127.0.0.1:{port}"
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError(f"cdr serve exited with {proc.returncode}; see {log}")
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(root + "/health", timeout=2).status_code == 200:
                        break
                time.sleep(0.2)
            yield root + BASE
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------------------------------------- client


class Client:
    """requests against the openEHR base URL, recording checks into ``results``."""

    def __init__(self, base: str, results: Results) -> None:
        self.base = base
        self.results = results
        self.http = requests.Session()
        self.area = ""

    def __call__(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {}) or {}
        return self.http.request(method, self.base + path, headers=headers, timeout=120, **kw)

    def check(self, case: str, ok: bool, expected: object = "", got: object = "") -> bool:
        return self.results.add(self.area, case, ok, expected, got)

    def status(self, case: str, r: requests.Response, *expected: int) -> bool:
        got = f"{r.status_code} {r.text[:300]}" if r.status_code not in expected else r.status_code
        return self.check(case, r.status_code in expected, "/".join(map(str, expected)), got)

    def error_body(self, case: str, r: requests.Response) -> None:
        """Error answers carry the one JSON shape with a message (docs/errors.md)."""
        try:
            body = r.json()
        except ValueError:
            self.check(case + " error body is JSON", False, "json", r.text[:200])
            return
        self.check(
            case + " error body shape",
            isinstance(body, dict) and {"message", "status", "details", "validationErrors"} <= set(body),
            "error shape",
            body,
        )

    # helpers -------------------------------------------------------------------------------------

    def new_ehr(self, status: dict[str, Any] | None = None) -> str:
        r = self("POST", "/ehr", json=status) if status is not None else self("POST", "/ehr")
        if r.status_code != 201:
            raise RuntimeError(f"cannot create an EHR: {r.status_code} {r.text[:300]}")
        return str(r.headers["Location"]).rstrip("/").rsplit("/", 1)[1]

    def upload(self, opt: bytes) -> requests.Response:
        return self("POST", "/definition/template/adl1.4", data=opt, headers={"Content-Type": XML})


def etag(r: requests.Response) -> str:
    return str(r.headers.get("ETag", "")).strip('"')


def subject_status(subject: str | None = None, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = suite_json("ehr/valid/000_ehr_status.json")
    doc["subject"]["external_ref"]["id"]["value"] = subject or str(uuid.uuid4())
    doc.update(over)
    return doc


def opt_template_id(data: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    for el in root:
        if el.tag.rsplit("}", 1)[-1] == "template_id":
            for v in el:
                if v.tag.rsplit("}", 1)[-1] == "value":
                    return (v.text or "").strip()
    return None


# ---------------------------------------------------------------------------------------------- areas


def templates(c: Client) -> dict[str, str]:
    """Upload every corpus OPT; the template ids that loaded, with the web template tree id of each."""
    c.area = "TEMPLATE"
    loaded: dict[str, str] = {}
    seen: dict[str, bytes] = {}
    for rel, _tid in sorted(index("opt")):
        data = (CORPUS / rel).read_bytes()
        tid = opt_template_id(data)
        broken = "/invalid_templates/" in rel
        r = c.upload(data)
        if broken:
            c.status(f"broken OPT refused: {rel}", r, 400, 409)
            continue
        if tid in seen:
            # the same template id again: 409 whatever the content (EHRbase: no overwrite)
            c.status(f"duplicate template id {tid} -> 409: {rel}", r, 409)
            continue
        if c.status(f"upload {rel}", r, 201) and tid:
            seen[tid] = data
            loaded[tid] = ""
    c.status(
        "upload as application/json -> 415",
        c("POST", "/definition/template/adl1.4", data=b"<x/>", headers={"Content-Type": JSON}),
        415,
    )
    r = c("GET", "/definition/template/adl1.4")
    if c.status("list templates", r, 200):
        ids = {t.get("template_id") for t in r.json()}
        c.check("list has every uploaded template", set(loaded) <= ids, len(loaded), len(ids & set(loaded)))
    for tid in sorted(loaded):
        q = requests.utils.quote(tid, safe="")
        r = c("GET", f"/definition/template/adl1.4/{q}", headers={"Accept": XML})
        if c.status(f"get OPT {tid}", r, 200):
            c.check(f"get OPT {tid} is the OPT", opt_template_id(r.content) == tid, tid, r.text[:100])
        r = c("GET", f"/definition/template/adl1.4/{q}", headers={"Accept": WT})
        if c.status(f"web template {tid}", r, 200):
            loaded[tid] = str(r.json().get("tree", {}).get("id", ""))
        r = c("GET", f"/definition/template/adl1.4/{q}/example", params={"format": "JSON"})
        c.status(f"example JSON {tid}", r, 200)
    c.status("get unknown template -> 404", c("GET", "/definition/template/adl1.4/no.such.template"), 404)
    return loaded


def example_roundtrip(c: Client, loaded: dict[str, str]) -> None:
    """The examples of every template in every format commit back (201) and read back unchanged."""
    c.area = "TEMPLATE example commit"
    ehr = c.new_ehr()
    for tid in sorted(loaded):
        q = requests.utils.quote(tid, safe="")
        for fmt, ctype in (("JSON", JSON), ("XML", XML), ("FLAT", FLAT), ("STRUCTURED", STRUCTURED)):
            ex = c("GET", f"/definition/template/adl1.4/{q}/example", params={"format": fmt})
            if not c.status(f"{fmt} example of {tid}", ex, 200):
                continue
            r = c(
                "POST",
                f"/ehr/{ehr}/composition",
                data=ex.content,
                headers={
                    "Content-Type": ctype,
                    "openEHR-TEMPLATE_ID": tid,
                    "Prefer": "return=representation",
                },
            )
            if not c.status(f"commit {fmt} example of {tid}", r, 201) or fmt != "JSON":
                continue
            back = c("GET", f"/ehr/{ehr}/composition/{etag(r)}", headers={"Accept": JSON})
            if c.status(f"read JSON example of {tid}", back, 200):
                diff = json_diff(ex.json(), back.json())
                c.check(f"JSON example round-trip {tid}", not diff, "no difference", diff[:5])


def _drop_uid(node: Any) -> Any:
    """A FLAT/STRUCTURED/canonical JSON document without its uid keys (``uid``, ``_uid``, ``.../_uid``)."""
    if isinstance(node, dict):
        kept = (k for k in node if k not in ("uid", "_uid") and not k.endswith("/_uid"))
        return {k: _drop_uid(node[k]) for k in kept}
    if isinstance(node, list):
        return [_drop_uid(v) for v in node]
    return node


def without_uid(data: bytes, ctype: str) -> bytes:
    """The composition without the uid it brings: the server then gives it an object id of its own."""
    if ctype == XML:
        return re.sub(rb"<uid\b[^>]*>.*?</uid>", b"", data, count=1, flags=re.S)
    top = json.loads(data)
    if ctype == JSON:
        top.pop("uid", None)
        return json.dumps(top).encode()
    return json.dumps(_drop_uid(top)).encode()


def compositions(c: Client, loaded: dict[str, str]) -> None:
    """Every corpus composition of an uploaded template: commit, read back in every format."""
    trees: dict[str, list[str]] = {}
    for tid, tree in loaded.items():
        trees.setdefault(tree, []).append(tid)
    kinds = (
        ("composition/canonical_json", JSON),
        ("composition/canonical_xml", XML),
        ("composition/flat", FLAT),
        ("composition/structured", STRUCTURED),
    )
    for kind, ctype in kinds:
        c.area = f"COMPOSITION corpus {kind.split('/')[1]}"
        for rel, named in sorted(index(kind)):
            # FLAT/STRUCTURED name only their tree id, which several templates may share: try each
            candidates = trees.get(named[5:], []) if named.startswith("tree:") else [named]
            candidates = [t for t in candidates if t in loaded]
            if not candidates or "invalid" in rel.lower() or "ecisflat" in rel:
                continue
            data = (CORPUS / rel).read_bytes()
            if any(mark in data for mark in PLACEHOLDERS):
                continue  # ids the suites fill in before they commit
            if ctype == XML and b"<version" in data[:400].lower():
                continue  # VERSION<COMPOSITION> wrappers, not compositions
            ehr = c.new_ehr()  # files with a fixed uid must not meet each other
            for tid in candidates:
                headers = {
                    "Content-Type": ctype,
                    "Accept": ctype,
                    "openEHR-TEMPLATE_ID": tid,
                    "Prefer": "return=representation",
                }
                r = c("POST", f"/ehr/{ehr}/composition", data=data, headers=headers)
                if r.status_code == 409 and "already in use" in r.text:
                    # an object id names one object in the system: corpus files that share a fixed uid
                    # (FLAT files of one template, canonical copies) commit once with it, then without it
                    r = c("POST", f"/ehr/{ehr}/composition", data=without_uid(data, ctype), headers=headers)
                if r.status_code == 201:
                    break
            if not c.status(f"commit {rel}", r, 201):
                continue
            uid = etag(r)
            c.check(f"ETag equals body uid {rel}", uid and uid in r.text, uid, r.text[:120])
            for _, accept in kinds:
                g = c(
                    "GET",
                    f"/ehr/{ehr}/composition/{uid}",
                    headers={"Accept": accept, "openEHR-TEMPLATE_ID": tid},
                )
                c.status(f"read {rel} as {accept}", g, 200)
            if ctype == JSON:
                g = c("GET", f"/ehr/{ehr}/composition/{uid}", headers={"Accept": JSON})
                if g.status_code == 200:
                    sent, back = json.loads(data), g.json()
                    ignored = ignored_pointers(r)
                    diff = [d for d in json_diff(sent, back) if d.split(" ")[0].split(":")[0] not in ignored]
                    c.check(f"canonical JSON round-trip {rel}", not diff, "no difference", diff[:5])
            if ctype == XML:
                g = c("GET", f"/ehr/{ehr}/composition/{uid}", headers={"Accept": XML})
                if g.status_code == 200:
                    diff = xml_diff(data, g.content)
                    c.check(f"canonical XML round-trip {rel}", not diff, "no difference", diff[:5])


IGNORED_KEYS = {"uid", "_type"}


def json_diff(sent: Any, back: Any, path: str = "") -> list[str]:
    """Leaf values present in ``sent`` but different or absent in ``back`` (uid and _type aside)."""
    out: list[str] = []
    if isinstance(sent, dict) and isinstance(back, dict):
        for k, v in sent.items():
            if k in IGNORED_KEYS or v is None or v == [] or v == {}:
                continue
            if k not in back:
                out.append(f"{path}/{k} missing")
                continue
            out += json_diff(v, back[k], f"{path}/{k}")
    elif isinstance(sent, list) and isinstance(back, list):
        if len(sent) != len(back):
            return [f"{path} length {len(sent)} != {len(back)}"]
        for i, (a, b) in enumerate(zip(sent, back, strict=True)):
            out += json_diff(a, b, f"{path}/{i}")
    elif sent != back and not _same_number(sent, back) and not same_instant(sent, back):
        out.append(f"{path}: {sent!r} != {back!r}")
    return out


def ignored_pointers(r: requests.Response) -> set[str]:
    """JSON pointers the server said it skipped (``Cdr-Ignored-Attributes``, URI-fragment encoded)."""
    raw = r.headers.get("Cdr-Ignored-Attributes", "")
    return {requests.utils.unquote(p.strip().lstrip("#")) for p in raw.split(",") if p.strip()}


def same_instant(a: Any, b: Any) -> bool:
    """ISO 8601 date/times equal but for spelling (basic/extended, ',' or '.', '+00:00' or 'Z')."""
    if not (isinstance(a, str) and isinstance(b, str)):
        return False

    def norm(v: str) -> str:
        v = v.replace(",", ".").replace("-", "").replace(":", "")
        for utc in ("+0000", "Z"):
            v = v.removesuffix(utc) + "Z" if v.endswith(utc) else v
        return v

    return norm(a) == norm(b)


def _same_number(a: Any, b: Any) -> bool:
    try:
        return isinstance(a, (int, float, str)) and float(a) == float(b)
    except (TypeError, ValueError):
        return False


def xml_diff(sent: bytes, back: bytes) -> list[str]:
    """Text leaves of the sent XML that are absent from the answer (uid aside)."""

    def leaves(data: bytes) -> list[tuple[str, str]]:
        root = ElementTree.fromstring(data)
        out: list[tuple[str, str]] = []

        def walk(el: ElementTree.Element, path: str) -> None:
            tag = el.tag.rsplit("}", 1)[-1]
            here = f"{path}/{tag}"
            if tag == "uid" or tag in XML_NOT_RM:
                return
            kids = list(el)
            if not kids and (el.text or "").strip():
                out.append((here, (el.text or "").strip()))
            for k in kids:
                walk(k, here)

        walk(root, "")
        return out

    got = leaves(back)
    remaining = list(got)
    missing = []
    for leaf in leaves(sent):
        match = next((g for g in remaining if g[0] == leaf[0] and same_instant(g[1], leaf[1])), None)
        if leaf in remaining:
            remaining.remove(leaf)
        elif match is not None:
            remaining.remove(match)
        else:
            missing.append(f"{leaf[0]} = {leaf[1]!r} missing")
    return missing


def ehr_area(c: Client) -> None:
    c.area = "EHR"
    valid = sorted(p for p in (SUITE / "ehr" / "valid").glob("*.json") if "ecis" not in p.name)
    for f in valid:
        doc = json.loads(f.read_text(encoding="utf-8"))
        if "external_ref" in doc.get("subject", {}):
            doc["subject"]["external_ref"]["id"]["value"] = str(uuid.uuid4())
        r = c("POST", "/ehr", json=doc, headers={"Prefer": "return=representation"})
        if c.status(f"POST /ehr {f.name}", r, 201):
            body = r.json()
            c.check(
                f"representation {f.name}", {"ehr_id", "system_id", "ehr_status"} <= set(body), "keys", body
            )
            ehr_id = body["ehr_id"]["value"]
            s = c("GET", f"/ehr/{ehr_id}/ehr_status")
            if c.status(f"GET ehr_status {f.name}", s, 200):
                got = s.json()
                c.check(
                    f"flags echoed {f.name}",
                    (got["is_modifiable"], got["is_queryable"])
                    == (doc["is_modifiable"], doc["is_queryable"]),
                    doc["is_modifiable"],
                    got,
                )
                if "other_details" in doc:
                    diff = json_diff(doc["other_details"], got.get("other_details"))
                    c.check(f"other_details round-trip {f.name}", not diff, "same", diff)
        # PUT with the same body on a new id
        if "external_ref" in doc.get("subject", {}):
            doc["subject"]["external_ref"]["id"]["value"] = str(uuid.uuid4())
        r = c("PUT", f"/ehr/{uuid.uuid4()}", json=doc)
        c.status(f"PUT /ehr/{{new}} {f.name}", r, 201)
    for f in sorted((SUITE / "ehr" / "invalid").glob("*.json")):
        body = f.read_bytes()
        r = c("POST", "/ehr", data=body, headers={"Content-Type": JSON})
        if c.status(f"POST /ehr invalid {f.name}", r, 400):
            c.error_body(f"POST /ehr invalid {f.name}", r)
        r = c("PUT", f"/ehr/{uuid.uuid4()}", data=body, headers={"Content-Type": JSON})
        c.status(f"PUT /ehr invalid {f.name}", r, 400)
    r = c("POST", "/ehr", data=b"{}", headers={"Content-Type": JSON})
    c.status("POST /ehr {} -> 400", r, 400)
    # header variants
    for name, headers in (
        ("no headers", {}),
        ("Prefer minimal", {"Prefer": "return=minimal"}),
        ("XML content type, no body", {"Content-Type": XML}),
        ("Accept XML", {"Accept": XML}),
    ):
        r = c("POST", "/ehr", headers=headers)
        if c.status(f"POST /ehr {name}", r, 201):
            c.check(
                f"POST /ehr {name} Location", "/ehr/" in r.headers.get("Location", ""), "Location", r.headers
            )
            c.check(f"POST /ehr {name} no body", not r.content, "empty", r.text[:100])
            c.check(f"POST /ehr {name} ETag", bool(r.headers.get("ETag")), "ETag", r.headers)
    r = c("POST", "/ehr", headers={"Prefer": "return=representation", "Accept": XML})
    if c.status("POST /ehr representation as XML", r, 201):
        c.check(
            "XML EHR body",
            r.headers.get("Content-Type", "").startswith(XML),
            XML,
            r.headers.get("Content-Type"),
        )
    r = c("POST", "/ehr", headers={"Prefer": "return=representation"})
    if c.status("POST /ehr no body representation", r, 201):
        ehr = r.json()["ehr_id"]["value"]
        s = c("GET", f"/ehr/{ehr}/ehr_status").json()
        c.check("default flags true", s["is_queryable"] and s["is_modifiable"], True, s)
    new = str(uuid.uuid4())
    c.status("PUT /ehr/{new}", c("PUT", f"/ehr/{new}"), 201)
    c.status("PUT /ehr/{same} -> 409", c("PUT", f"/ehr/{new}"), 409)
    subj = str(uuid.uuid4())
    c.status("POST subject once", c("POST", "/ehr", json=subject_status(subj)), 201)
    c.status("POST same subject -> 409", c("POST", "/ehr", json=subject_status(subj)), 409)
    r = c("GET", "/ehr", params={"subject_id": subj, "subject_namespace": "patients"})
    c.status("GET /ehr?subject_id", r, 200)
    r = c("GET", "/ehr", params={"subject_id": str(uuid.uuid4()), "subject_namespace": "patients"})
    c.status("GET /ehr?unknown subject -> 404", r, 404)
    c.status("GET /ehr/{random} -> 404", c("GET", f"/ehr/{uuid.uuid4()}"), 404)
    c.status("PUT /ehr/abcdefghij -> 400", c("PUT", "/ehr/abcdefghij"), 400)
    c.status("GET /ehr/abcdefghij -> 400", c("GET", "/ehr/abcdefghij"), 400)
    r = c("GET", f"/ehr/{new}")
    if c.status("GET /ehr/{id}", r, 200):
        c.check("GET ehr has ehr_id", r.json().get("ehr_id", {}).get("value") == new, new, r.json())


def ehr_status_area(c: Client) -> None:
    c.area = "EHR_STATUS"
    ehr = c.new_ehr()
    r = c("GET", f"/ehr/{ehr}/ehr_status")
    c.status("GET ehr_status", r, 200)
    v1 = etag(r)
    status = r.json()
    c.check("ehr_status ETag ends ::1", v1.endswith("::1"), "::1", v1)
    c.check("ehr_status Last-Modified", bool(r.headers.get("Last-Modified")), "header", r.headers)
    after_create = datetime.now(UTC)
    time.sleep(1.1)
    status["is_queryable"] = False
    r = c("PUT", f"/ehr/{ehr}/ehr_status", json=status)
    if c.status("PUT without If-Match -> 400", r, 400):
        c.error_body("PUT without If-Match", r)
    r = c("PUT", f"/ehr/{ehr}/ehr_status", json=status, headers={"If-Match": f"{uuid.uuid4()}::cdr::1"})
    c.status("PUT with foreign If-Match -> 412", r, 412)
    r = c(
        "PUT",
        f"/ehr/{ehr}/ehr_status",
        json=status,
        headers={"If-Match": v1, "Prefer": "return=representation"},
    )
    if c.status("PUT with If-Match -> 200", r, 200):
        body = r.json()
        c.check("PUT body is EHR_STATUS", body.get("_type") == "EHR_STATUS", "EHR_STATUS", body.get("_type"))
        c.check("PUT uid ::2", body.get("uid", {}).get("value", "").endswith("::2"), "::2", body.get("uid"))
        c.check("PUT ETag = uid", etag(r) == body.get("uid", {}).get("value"), body.get("uid"), etag(r))
    v2 = etag(r)
    r = c("PUT", f"/ehr/{ehr}/ehr_status", json=status, headers={"If-Match": f'"{v1}"'})
    c.status("PUT with stale quoted If-Match -> 412", r, 412)
    r = c("PUT", f"/ehr/{ehr}/ehr_status", json=status, headers={"If-Match": f'"{v2}"'})
    c.status("PUT with quoted If-Match -> 200/204", r, 200, 204)
    v3 = etag(r)
    c.check("minimal PUT ETag ::3", v3.endswith("::3"), "::3", v3)
    r = c("PUT", f"/ehr/{ehr}/ehr_status", data=b"{}", headers={"If-Match": v3, "Content-Type": JSON})
    c.status("PUT invalid EHR_STATUS -> 400", r, 400)
    vo = v1.split("::")[0]
    r = c("GET", f"/ehr/{ehr}/versioned_ehr_status")
    if c.status("versioned_ehr_status", r, 200):
        b = r.json()
        c.check("versioned uid", b.get("uid", {}).get("value") == vo, vo, b.get("uid"))
        c.check("owner_id", b.get("owner_id", {}).get("id", {}).get("value") == ehr, ehr, b.get("owner_id"))
    r = c("GET", f"/ehr/{ehr}/versioned_ehr_status/revision_history")
    if c.status("revision_history", r, 200):
        items = r.json().get("items", [])
        c.check("history 3 items", len(items) == 3, 3, len(items))
        if items:
            c.check("history oldest first", items[0]["version_id"]["value"].endswith("::1"), "::1", items[0])
            types = [i["audits"][0]["change_type"]["value"] for i in items]
            c.check("change types", types == ["creation", "modification", "modification"], "", types)
    r = c("GET", f"/ehr/{ehr}/versioned_ehr_status/version")
    if c.status("version latest", r, 200):
        b = r.json()
        c.check("latest ::3", b.get("uid", {}).get("value", "").endswith("::3"), "::3", b.get("uid"))
        c.check(
            "lifecycle complete",
            b.get("lifecycle_state", {}).get("value") == "complete",
            "",
            b.get("lifecycle_state"),
        )
        c.check(
            "preceding_version_uid",
            b.get("preceding_version_uid", {}).get("value") == v2,
            v2,
            b.get("preceding_version_uid"),
        )
        c.check(
            "data.is_queryable false", b.get("data", {}).get("is_queryable") is False, False, b.get("data")
        )
    at = (after_create + timedelta(milliseconds=200)).isoformat()
    r = c("GET", f"/ehr/{ehr}/versioned_ehr_status/version", params={"version_at_time": at})
    if c.status("version_at_time just after creation", r, 200):
        c.check("at time -> ::1", r.json()["uid"]["value"].endswith("::1"), "::1", r.json()["uid"])
    past = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    c.status(
        "version_at_time 7 days ago -> 404",
        c("GET", f"/ehr/{ehr}/versioned_ehr_status/version", params={"version_at_time": past}),
        404,
    )
    future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    c.status(
        "version_at_time future -> 200",
        c("GET", f"/ehr/{ehr}/versioned_ehr_status/version", params={"version_at_time": future}),
        200,
    )
    c.status(
        "version_at_time without T -> 400",
        c(
            "GET",
            f"/ehr/{ehr}/versioned_ehr_status/version",
            params={"version_at_time": "2024-01-01 10:00:00.000"},
        ),
        400,
    )
    c.status(
        "ehr_status?version_at_time future",
        c("GET", f"/ehr/{ehr}/ehr_status", params={"version_at_time": future}),
        200,
    )
    c.status(
        "ehr_status?version_at_time past -> 404",
        c("GET", f"/ehr/{ehr}/ehr_status", params={"version_at_time": past}),
        404,
    )
    c.status(
        "ehr_status?version_at_time garbage -> 400",
        c("GET", f"/ehr/{ehr}/ehr_status", params={"version_at_time": "yesterday"}),
        400,
    )
    # a date-only and a Z-suffixed instant are ISO 8601 too
    zulu = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    c.status(
        "version_at_time with Z",
        c("GET", f"/ehr/{ehr}/versioned_ehr_status/version", params={"version_at_time": zulu}),
        200,
    )
    c.status(
        "version ::4 -> 404", c("GET", f"/ehr/{ehr}/versioned_ehr_status/version/{vo}::cdr.local::4"), 404
    )
    host = v1.split("::")[1]
    c.status("version ::2 by uid", c("GET", f"/ehr/{ehr}/versioned_ehr_status/version/{vo}::{host}::2"), 200)
    c.status(
        "version ::-2 -> 400", c("GET", f"/ehr/{ehr}/versioned_ehr_status/version/{vo}::{host}::-2"), 400
    )
    c.status(
        "version ::2.0 -> 400", c("GET", f"/ehr/{ehr}/versioned_ehr_status/version/{vo}::{host}::2.0"), 400
    )
    c.status("ehr_status/{version uid}", c("GET", f"/ehr/{ehr}/ehr_status/{v2}"), 200)
    c.status(
        "ehr_status/{other vo uid} -> 404", c("GET", f"/ehr/{ehr}/ehr_status/{uuid.uuid4()}::{host}::1"), 404
    )
    c.status("GET /ehr/{random}/ehr_status -> 404", c("GET", f"/ehr/{uuid.uuid4()}/ehr_status"), 404)
    c.status(
        "versioned_ehr_status random EHR -> 404", c("GET", f"/ehr/{uuid.uuid4()}/versioned_ehr_status"), 404
    )
    # is_modifiable=false blocks compositions but not the status itself
    status["is_modifiable"] = False
    r = c("PUT", f"/ehr/{ehr}/ehr_status", json=status, headers={"If-Match": v3})
    c.status("set is_modifiable false", r, 200, 204)


def composition_area(c: Client) -> None:
    c.area = "COMPOSITION"
    nested = SUITE / "compositions" / "CANONICAL_JSON" / "nested.en.v1__full_without_links.json"
    ehr = c.new_ehr()
    body = nested.read_bytes()
    r = c(
        "POST",
        f"/ehr/{ehr}/composition",
        data=body,
        headers={
            "Content-Type": JSON,
            "Prefer": "return=representation",
            "openEHR-VERSION.lifecycle_state": "complete",
        },
    )
    if not c.status("create nested JSON", r, 201):
        return
    v1 = etag(r)
    b = r.json()
    c.check("ETag == uid", v1 == b["uid"]["value"], b["uid"]["value"], v1)
    c.check("ETag unquoted value", r.headers["ETag"].strip('"') == v1, "", r.headers["ETag"])
    c.check(
        "template id",
        b["archetype_details"]["template_id"]["value"] == "nested.en.v1",
        "",
        b["archetype_details"],
    )
    c.check(
        "Location",
        r.headers.get("Location", "").endswith(f"/ehr/{ehr}/composition/{v1}")
        or r.headers.get("Location", "").endswith(f"/ehr/{ehr}/composition/{v1.split('::')[0]}"),
        v1,
        r.headers.get("Location"),
    )
    c.check("Last-Modified", bool(r.headers.get("Last-Modified")), "", r.headers)
    r = c("POST", f"/ehr/{ehr}/composition", data=body, headers={"Content-Type": JSON})
    if c.status("create minimal", r, 201):
        c.check("minimal no body", not r.content, "", r.text[:100])
    xmlp = SUITE / "compositions" / "CANONICAL_XML" / "nested.en.v1__full_without_links.xml"
    if xmlp.exists():
        r = c(
            "POST",
            f"/ehr/{ehr}/composition",
            data=xmlp.read_bytes(),
            headers={"Content-Type": XML, "Accept": JSON, "Prefer": "return=representation"},
        )
        c.status("create nested XML accept JSON", r, 201)
    for rel, code in (
        ("CANONICAL_JSON/nested.en.v1__invalid_wrong_structure.json", 400),
        ("CANONICAL_JSON/nested.en.v1__invalid_opt_doesnt_exist.json", 422),
        ("CANONICAL_XML/nested.en.v1__invalid_wrong_structure.xml", 400),
        ("CANONICAL_XML/nested.en.v1__invalid_opt_doesnt_exist.xml", 422),
    ):
        p = SUITE / "compositions" / rel
        if not p.exists():
            continue
        ctype = XML if rel.endswith(".xml") else JSON
        r = c("POST", f"/ehr/{ehr}/composition", data=p.read_bytes(), headers={"Content-Type": ctype})
        if c.status(f"{rel} -> {code}", r, code):
            c.error_body(rel, r)
    c.status(
        "commit to unknown EHR -> 404",
        c("POST", f"/ehr/{uuid.uuid4()}/composition", data=body, headers={"Content-Type": JSON}),
        404,
    )
    c.status(
        "commit text/plain -> 415",
        c("POST", f"/ehr/{ehr}/composition", data=body, headers={"Content-Type": "text/plain"}),
        415,
    )
    c.status(
        "commit Accept image/png -> 406",
        c(
            "POST",
            f"/ehr/{ehr}/composition",
            data=body,
            headers={"Content-Type": JSON, "Accept": "image/png", "Prefer": "return=representation"},
        ),
        406,
    )
    c.status(
        "commit unparsable JSON -> 400",
        c("POST", f"/ehr/{ehr}/composition", data=b"{nope", headers={"Content-Type": JSON}),
        400,
    )
    vo = v1.split("::")[0]
    host = v1.split("::")[1]
    # read
    c.status("GET by version uid", c("GET", f"/ehr/{ehr}/composition/{v1}"), 200)
    c.status("GET by vo id", c("GET", f"/ehr/{ehr}/composition/{vo}"), 200)
    c.status("GET foobar -> 404/400", c("GET", f"/ehr/{ehr}/composition/foobar"), 404, 400)
    c.status("GET random -> 404", c("GET", f"/ehr/{ehr}/composition/{uuid.uuid4()}"), 404)
    c.status("GET in other EHR -> 404", c("GET", f"/ehr/{c.new_ehr()}/composition/{vo}"), 404)
    c.status("GET random EHR -> 404", c("GET", f"/ehr/{uuid.uuid4()}/composition/{vo}"), 404)
    c.status("GET ::3 -> 404", c("GET", f"/ehr/{ehr}/composition/{vo}::{host}::3"), 404)
    # update
    doc = json.loads(body)
    doc["name"]["value"] = "modified value"
    c.status("PUT without If-Match -> 400", c("PUT", f"/ehr/{ehr}/composition/{vo}", json=doc), 400)
    c.status(
        "PUT stale If-Match -> 412",
        c("PUT", f"/ehr/{ehr}/composition/{vo}", json=doc, headers={"If-Match": f"{vo}::{host}::7"}),
        412,
    )
    r = c(
        "PUT",
        f"/ehr/{ehr}/composition/{vo}",
        json=doc,
        headers={"If-Match": v1, "Prefer": "return=representation"},
    )
    if c.status("PUT -> 200", r, 200):
        c.check("PUT body updated", r.json()["name"]["value"] == "modified value", "", r.json()["name"])
        c.check("PUT uid ::2", etag(r).endswith("::2"), "::2", etag(r))
    v2 = etag(r)
    r = c("PUT", f"/ehr/{ehr}/composition/{v2}", json=doc, headers={"If-Match": f'"{v2}"'})
    c.status("PUT at version uid with quoted If-Match", r, 200)
    v3 = etag(r)
    c.status(
        "PUT unknown composition -> 404",
        c("PUT", f"/ehr/{ehr}/composition/{uuid.uuid4()}", json=doc, headers={"If-Match": v1}),
        404,
    )
    other = (
        suite_json("compositions/CANONICAL_JSON/persistent_minimal.en.v1__full.json")
        if (SUITE / "compositions/CANONICAL_JSON/persistent_minimal.en.v1__full.json").exists()
        else None
    )
    if other is not None:
        r = c("PUT", f"/ehr/{ehr}/composition/{vo}", json=other, headers={"If-Match": v3})
        c.status("PUT other template -> 400", r, 400)
    r = c("GET", f"/ehr/{ehr}/composition/{vo}")
    c.check("latest is v3", etag(r) == v3, v3, etag(r))
    # versioned composition
    r = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}")
    if c.status("versioned_composition", r, 200):
        c.check("owner", r.json()["owner_id"]["id"]["value"] == ehr, ehr, r.json()["owner_id"])
    c.status(
        "versioned_composition foobar -> 404/400",
        c("GET", f"/ehr/{ehr}/versioned_composition/foobar"),
        404,
        400,
    )
    c.status(
        "versioned_composition random -> 404",
        c("GET", f"/ehr/{ehr}/versioned_composition/{uuid.uuid4()}"),
        404,
    )
    r = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/revision_history")
    if c.status("revision_history", r, 200):
        items = r.json()["items"]
        c.check("3 items", len(items) == 3, 3, len(items))
        tc = [i["audits"][0]["time_committed"]["value"] for i in items]
        c.check("time_committed with zone", all(t.endswith("Z") or t[-6] in "+-" for t in tc), "zone", tc)
    r = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version/{v2}")
    if c.status("version by uid", r, 200):
        c.check(
            "version by uid preceding",
            r.json()["preceding_version_uid"]["value"] == v1,
            v1,
            r.json().get("preceding_version_uid"),
        )
    c.status(
        "version ::-2 -> 400",
        c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version/{vo}::{host}::-2"),
        400,
    )
    c.status(
        "version ::2.0 -> 400",
        c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version/{vo}::{host}::2.0"),
        400,
    )
    c.status(
        "version ::9 -> 404", c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version/{vo}::{host}::9"), 404
    )
    c.status(
        "version of other vo -> 404/400",
        c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version/{uuid.uuid4()}::{host}::1"),
        404,
        400,
    )
    c.status(
        "version_at_time no T -> 400",
        c(
            "GET",
            f"/ehr/{ehr}/versioned_composition/{vo}/version",
            params={"version_at_time": "2024-01-01 10:00:00"},
        ),
        400,
    )
    past = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    c.status(
        "version_at_time past -> 404",
        c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version", params={"version_at_time": past}),
        404,
    )
    # delete
    c.status("DELETE old version -> 409/412", c("DELETE", f"/ehr/{ehr}/composition/{v1}"), 409, 412)
    r = c("DELETE", f"/ehr/{ehr}/composition/{v3}")
    if c.status("DELETE latest -> 204", r, 204):
        c.check("DELETE ETag", bool(etag(r)) and etag(r).endswith("::4"), "::4", r.headers.get("ETag"))
    c.status("GET deleted version uid -> 204", c("GET", f"/ehr/{ehr}/composition/{etag(r)}"), 204)
    c.status("GET deleted vo -> 204", c("GET", f"/ehr/{ehr}/composition/{vo}"), 204)
    c.status("GET earlier version after delete -> 200", c("GET", f"/ehr/{ehr}/composition/{v2}"), 200)
    c.status("DELETE again -> 400/409", c("DELETE", f"/ehr/{ehr}/composition/{etag(r)}"), 400, 409)
    c.status("DELETE random -> 404", c("DELETE", f"/ehr/{ehr}/composition/{uuid.uuid4()}::{host}::1"), 404)
    r = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/revision_history")
    if r.status_code == 200:
        types = [i["audits"][0]["change_type"]["value"] for i in r.json()["items"]]
        c.check("change types with deleted", types[-1] == "deleted", "deleted", types)
    # is_modifiable=false
    ehr2 = c.new_ehr(subject_status(is_modifiable=False))
    c.status(
        "commit to non-modifiable -> 409",
        c("POST", f"/ehr/{ehr2}/composition", data=body, headers={"Content-Type": JSON}),
        409,
    )


def format_area(c: Client) -> None:
    c.area = "FLAT/STRUCTURED ?format"
    flat = SUITE / "compositions" / "FLAT" / "family_history__.json"
    flat2 = SUITE / "compositions" / "FLAT" / "family_history.v2__.json"
    if not flat.exists():
        return
    ehr = c.new_ehr()
    r = c(
        "POST",
        f"/ehr/{ehr}/composition",
        data=flat.read_bytes(),
        params={"format": "FLAT", "templateId": "family_history"},
        headers={"Content-Type": JSON, "Prefer": "return=representation"},
    )
    if not c.status("commit ?format=FLAT", r, 201):
        return
    c.check(
        "FLAT answer has _uid", "family_history/_uid" in r.json(), "family_history/_uid", list(r.json())[:5]
    )
    # EHRbase's migrated EHRSCAPE suite expects its own header on composition answers
    c.check(
        "EHRBase-Template-ID",
        r.headers.get("EHRBase-Template-ID") == "family_history",
        "family_history",
        r.headers.get("EHRBase-Template-ID"),
    )
    v1 = etag(r)
    c.check(
        "Location",
        r.headers.get("Location", "").split("/composition/")[-1].split("::")[0] == v1.split("::")[0],
        v1,
        r.headers.get("Location"),
    )
    vo = v1.split("::")[0]
    for fmt in ("FLAT", "JSON", "XML", "STRUCTURED"):
        g = c("GET", f"/ehr/{ehr}/composition/{vo}", params={"format": fmt})
        c.status(f"GET ?format={fmt}", g, 200)
        if fmt == "STRUCTURED" and g.status_code == 200:
            c.check("STRUCTURED _uid", "_uid" in json.dumps(g.json()), "_uid", g.text[:100])
    if flat2.exists():
        r = c(
            "PUT",
            f"/ehr/{ehr}/composition/{vo}",
            data=flat2.read_bytes(),
            params={"format": "FLAT", "templateId": "family_history"},
            headers={"Content-Type": JSON, "If-Match": v1, "Prefer": "return=representation"},
        )
        if c.status("PUT ?format=FLAT", r, 200):
            c.check("PUT FLAT ::2", etag(r).endswith("::2"), "::2", etag(r))
    # client-supplied uid honoured
    given = f"{uuid.uuid4()}::cdr.local::1"
    doc = json.loads(flat.read_text(encoding="utf-8"))
    doc["family_history/_uid"] = given
    r = c(
        "POST",
        f"/ehr/{ehr}/composition",
        json=doc,
        params={"format": "FLAT", "templateId": "family_history"},
        headers={"Prefer": "return=representation"},
    )
    if c.status("FLAT with _uid", r, 201):
        c.check("given uid honoured", etag(r).split("::")[0] == given.split("::")[0], given, etag(r))
    # consult record round trip keeps media data
    consult = SUITE / "compositions" / "FLAT" / "consult_record__.json"
    if consult.exists():
        sent = json.loads(consult.read_text(encoding="utf-8"))
        media = {k: v for k, v in sent.items() if "media_file" in k and k.endswith("|data")}
        r = c(
            "POST",
            f"/ehr/{ehr}/composition",
            json=sent,
            params={"format": "FLAT", "templateId": "EHRN-ABDM-OPConsultRecord.v2.0"},
        )
        if c.status("consult_record FLAT", r, 201):
            vo2 = etag(r).split("::")[0]
            for fmt in ("FLAT", "JSON", "XML", "STRUCTURED"):
                g = c("GET", f"/ehr/{ehr}/composition/{vo2}", params={"format": fmt})
                if c.status(f"consult_record ?format={fmt}", g, 200):
                    for v in media.values():
                        c.check(f"media data kept in {fmt}", str(v)[:40] in g.text, "data", g.text[:80])


def contribution_area(c: Client) -> None:
    c.area = "CONTRIBUTION"
    ehr = c.new_ehr()
    valid = SUITE / "contributions" / "valid" / "minimal"
    r = c(
        "POST",
        f"/ehr/{ehr}/contribution",
        data=(valid / "minimal_evaluation.contribution.json").read_bytes(),
        headers={"Content-Type": JSON, "Prefer": "return=representation"},
    )
    if c.status("minimal_evaluation contribution", r, 201):
        b = r.json()
        c.check("1 version", len(b.get("versions", [])) == 1, 1, b.get("versions"))
        cuid = b["uid"]["value"]
        c.status("GET contribution", c("GET", f"/ehr/{ehr}/contribution/{cuid}"), 200)
        c.check("Location", cuid in r.headers.get("Location", ""), cuid, r.headers.get("Location"))
    r = c(
        "POST",
        f"/ehr/{c.new_ehr()}/contribution",
        data=(valid / "minimal_evaluation.contribution.json").read_bytes(),
        headers={"Content-Type": JSON},
    )
    if c.status("minimal contribution minimal", r, 201):
        c.check("minimal no body", not r.content, "", r.text[:100])
    for f in sorted(valid.glob("*.json")):
        text = f.read_text(encoding="utf-8")
        if "replaceme" in text or "CONTRIBUTION_CREATE_DTO" in text:
            continue  # placeholders the suites fill in, or EHRbase's own DTO type
        e = c.new_ehr()
        r = c("POST", f"/ehr/{e}/contribution", data=f.read_bytes(), headers={"Content-Type": JSON})
        # files that modify or delete need an earlier version; a creation-only file must commit
        text = f.read_text(encoding="utf-8")
        if "preceding_version_uid" not in text and '"modification"' not in text and '"deleted"' not in text:
            c.status(f"valid {f.name}", r, 201)
        else:
            c.status(f"valid {f.name} (needs earlier versions)", r, 201, 400, 404, 409, 412)
    for name in (
        "multiple_valid_and_invalid_compos.json",
        "no_versions.json",
        "ref_to_non_existent_OPT.json",
    ):
        e = c.new_ehr()
        r = c(
            "POST",
            f"/ehr/{e}/contribution",
            data=(SUITE / "contributions" / "invalid" / name).read_bytes(),
            headers={"Content-Type": JSON},
        )
        if c.status(f"invalid {name} -> 400", r, 400):
            c.error_body(name, r)
            if name == "no_versions.json":
                c.check(
                    "message Versions must not be empty",
                    "must not be empty" in r.json()["message"],
                    "Versions must not be empty",
                    r.json()["message"],
                )
        q = c(
            "POST",
            "/query/aql",
            json={"q": f"SELECT c/uid/value FROM EHR e[ehr_id/value='{e}'] CONTAINS COMPOSITION c"},
        )
        if q.status_code == 200:
            c.check(f"nothing committed after {name}", q.json()["rows"] == [], [], q.json()["rows"])
    c.status("GET random contribution -> 404", c("GET", f"/ehr/{ehr}/contribution/{uuid.uuid4()}"), 404)
    c.status(
        "GET random EHR contribution -> 404",
        c("GET", f"/ehr/{uuid.uuid4()}/contribution/{uuid.uuid4()}"),
        404,
    )
    e = c.new_ehr(subject_status(is_modifiable=False))
    r = c(
        "POST",
        f"/ehr/{e}/contribution",
        data=(valid / "minimal_evaluation.contribution.json").read_bytes(),
        headers={"Content-Type": JSON},
    )
    c.status("non-modifiable EHR -> 409", r, 409)
    # persistent: creation then modification, then a second creation -> 400
    per = SUITE / "contributions" / "valid" / "minimal_persistent"
    e = c.new_ehr()
    r = c(
        "POST",
        f"/ehr/{e}/contribution",
        data=(per / "minimal_persistent.contribution.json").read_bytes(),
        headers={"Content-Type": JSON, "Prefer": "return=representation"},
    )
    if c.status("persistent creation", r, 201):
        vid = r.json()["versions"][0]["id"]["value"]
        mod = json.loads(
            (per / "minimal_persistent.contribution.modification.json").read_text(encoding="utf-8")
        )
        for v in mod["versions"]:
            v["preceding_version_uid"] = {"_type": "OBJECT_VERSION_ID", "value": vid}
        r = c("POST", f"/ehr/{e}/contribution", json=mod, headers={"Prefer": "return=representation"})
        if c.status("persistent modification", r, 201):
            c.check("::2", "::2" in json.dumps(r.json()["versions"]), "::2", r.json()["versions"])
        bad = suite_json(
            "contributions/invalid/minimal_persistent/minimal_persistent.contribution.modification.json"
        )
        bad["versions"][0]["preceding_version_uid"]["value"] = vid
        r = c("POST", f"/ehr/{e}/contribution", json=bad)
        c.status("creation with a preceding version -> 400", r, 400)


def directory_area(c: Client) -> None:
    c.area = "DIRECTORY"
    d = SUITE / "directory"
    ehr = c.new_ehr()
    c.status("GET no directory -> 404", c("GET", f"/ehr/{ehr}/directory"), 404)
    c.status(
        "PUT no directory -> 412",
        c(
            "PUT",
            f"/ehr/{ehr}/directory",
            data=(d / "empty_directory.json").read_bytes(),
            headers={"Content-Type": JSON, "If-Match": f"{uuid.uuid4()}::x::1"},
        ),
        412,
    )
    c.status(
        "DELETE no directory -> 412",
        c("DELETE", f"/ehr/{ehr}/directory", headers={"If-Match": f"{uuid.uuid4()}::x::1"}),
        412,
    )
    r = c(
        "POST",
        f"/ehr/{ehr}/directory",
        data=(d / "subfolders_in_directory.json").read_bytes(),
        headers={"Content-Type": JSON, "Prefer": "return=representation"},
    )
    if not c.status("create directory", r, 201):
        return
    v1 = etag(r)
    c.check("ETag", v1.endswith("::1"), "::1", v1)
    c.status(
        "second create -> 409",
        c(
            "POST",
            f"/ehr/{ehr}/directory",
            data=(d / "empty_directory.json").read_bytes(),
            headers={"Content-Type": JSON},
        ),
        409,
    )
    for path, name in (
        ("emergency", "emergency"),
        ("emergency/episode_x", "episode_x"),
        ("/emergency/episode_x/summary_compo_x", "summary_compo_x"),
        ("emergency/episode_y", "episode_y"),
    ):
        g = c("GET", f"/ehr/{ehr}/directory", params={"path": path})
        if c.status(f"path {path}", g, 200):
            c.check(
                f"path {path} name", g.json().get("name", {}).get("value") == name, name, g.json().get("name")
            )
        g = c("GET", f"/ehr/{ehr}/directory/{v1}", params={"path": path})
        c.status(f"version path {path}", g, 200)
    c.status("random path -> 404", c("GET", f"/ehr/{ehr}/directory", params={"path": "no/such/folder"}), 404)
    time.sleep(1.1)
    r = c(
        "PUT",
        f"/ehr/{ehr}/directory",
        data=(d / "update" / "2_add_subfolders.json").read_bytes(),
        headers={"Content-Type": JSON, "If-Match": v1, "Prefer": "return=representation"},
    )
    if c.status("update -> 200", r, 200):
        b = r.json()
        c.check("history", b["folders"][0]["name"]["value"] == "history", "history", b["folders"][0]["name"])
        c.check("::2", etag(r).endswith("::2"), "::2", etag(r))
    v2 = etag(r)
    c.status(
        "update stale -> 412",
        c(
            "PUT",
            f"/ehr/{ehr}/directory",
            data=(d / "update" / "3_add_items.json").read_bytes(),
            headers={"Content-Type": JSON, "If-Match": v1},
        ),
        412,
    )
    r = c(
        "PUT",
        f"/ehr/{ehr}/directory",
        data=(d / "update" / "3_add_items.json").read_bytes(),
        headers={"Content-Type": JSON, "If-Match": v2},
    )
    c.status("update 3 (minimal)", r, 200, 204)
    v3 = etag(r)
    c.check("::3", v3.endswith("::3"), "::3", v3)
    for v in (v1, v2, v3):
        c.status(f"GET by version {v[-3:]}", c("GET", f"/ehr/{ehr}/directory/{v}"), 200)
    c.status(
        "version_at_time now",
        c("GET", f"/ehr/{ehr}/directory", params={"version_at_time": datetime.now(UTC).isoformat()}),
        200,
    )
    c.status(
        "version_at_time no T -> 400",
        c("GET", f"/ehr/{ehr}/directory", params={"version_at_time": "2024-01-01 10:00"}),
        400,
    )
    r = c("DELETE", f"/ehr/{ehr}/directory", headers={"If-Match": v3})
    c.status("delete -> 204", r, 204)
    for v in (v1, v2, v3):
        c.status(f"GET by version after delete {v[-3:]}", c("GET", f"/ehr/{ehr}/directory/{v}"), 200)
    c.status("GET after delete -> 404/204", c("GET", f"/ehr/{ehr}/directory"), 404, 204)
    c.status(
        "delete unknown EHR -> 404",
        c("DELETE", f"/ehr/{uuid.uuid4()}/directory", headers={"If-Match": v3}),
        404,
    )
    c.status(
        "create unknown EHR -> 404",
        c(
            "POST",
            f"/ehr/{uuid.uuid4()}/directory",
            data=(d / "empty_directory.json").read_bytes(),
            headers={"Content-Type": JSON},
        ),
        404,
    )
    e = c.new_ehr(subject_status(is_modifiable=False))
    c.status(
        "create non-modifiable -> 409",
        c(
            "POST",
            f"/ehr/{e}/directory",
            data=(d / "empty_directory.json").read_bytes(),
            headers={"Content-Type": JSON},
        ),
        409,
    )
    for f in sorted(d.glob("*.json")):
        e = c.new_ehr()
        r = c("POST", f"/ehr/{e}/directory", data=f.read_bytes(), headers={"Content-Type": JSON})
        c.status(f"create {f.name}", r, 201)
    r = c("POST", f"/ehr/{c.new_ehr()}/directory", data=b"{}", headers={"Content-Type": JSON})
    c.status("create {} -> 400", r, 400)


def stored_query_area(c: Client) -> None:
    c.area = "STORED QUERY"
    ehr = c.new_ehr()
    nested = SUITE / "compositions" / "CANONICAL_JSON" / "nested.en.v1__full_without_links.json"
    r = c("POST", f"/ehr/{ehr}/composition", data=nested.read_bytes(), headers={"Content-Type": JSON})
    uid = etag(r)
    name = f"org.openehr.smoke{uuid.uuid4().hex[:6]}::compositions"
    aql = (
        "SELECT c/uid/value AS COMPOSITION_UID_VALUE FROM EHR e CONTAINS COMPOSITION c "
        f"WHERE e/ehr_id/value = '{ehr}'"
    )
    c.status(
        "PUT text/plain",
        c("PUT", f"/definition/query/{name}", data=aql.encode(), headers={"Content-Type": "text/plain"}),
        200,
    )
    r = c("GET", f"/definition/query/{name}")
    if c.status("GET list", r, 200):
        b = r.json()
        c.check(
            "version 1.0.0", b and b[0].get("version") == "1.0.0" and b[0].get("type") == "AQL", "1.0.0", b
        )
    c.status(
        "PUT 1.2.3",
        c(
            "PUT",
            f"/definition/query/{name}/1.2.3",
            data=aql.encode(),
            headers={"Content-Type": "text/plain"},
        ),
        200,
    )
    c.status(
        "PUT 1.2.3 again -> 409",
        c(
            "PUT",
            f"/definition/query/{name}/1.2.3",
            data=aql.encode(),
            headers={"Content-Type": "text/plain"},
        ),
        409,
    )
    c.status("GET 1.2.3", c("GET", f"/definition/query/{name}/1.2.3"), 200)
    c.status("GET unknown version -> 404", c("GET", f"/definition/query/{name}/9.9.9"), 404)
    c.status("GET unknown name -> 404", c("GET", "/definition/query/org.none::x/1.2.3"), 404)
    c.status("DELETE -> 405", c("DELETE", f"/definition/query/{name}/1.2.3"), 405)
    c.status(
        "invalid AQL -> 400",
        c("PUT", f"/definition/query/{name}x", data=b"SELECT FROM", headers={"Content-Type": "text/plain"}),
        400,
    )
    c.status("GET all", c("GET", "/definition/query"), 200)
    for method in ("GET", "POST"):
        r = c(method, f"/query/{name}")
        if c.status(f"{method} /query/name", r, 200):
            b = r.json()
            c.check(
                f"{method} name", b.get("name") in (f"{name}/1.2.3", f"{name}/1.0.0"), name, b.get("name")
            )
            c.check(
                f"{method} column",
                b["columns"][0] == {"path": "c/uid/value", "name": "COMPOSITION_UID_VALUE"},
                "",
                b["columns"],
            )
            c.check(f"{method} row", b["rows"] and b["rows"][0][0] == uid, uid, b["rows"])
        r = c(method, f"/query/{name}/1.0.0")
        if c.status(f"{method} /query/name/1.0.0", r, 200):
            c.check(
                f"{method} versioned name", r.json().get("name") == f"{name}/1.0.0", "", r.json().get("name")
            )
    c.status("unknown stored query -> 404", c("GET", "/query/org.none::nothing"), 404)
    # /query/aql REST-level
    c.area = "QUERY"
    r = c(
        "POST",
        "/query/aql",
        json={
            "q": "SELECT c/uid/value FROM COMPOSITION c WHERE c/uid/value = $u",
            "query_parameters": {"u": uid},
        },
    )
    if c.status("POST aql with parameter", r, 200):
        meta = r.json()["meta"]
        c.check(
            "meta keys",
            {"_created", "_dry_run", "_executed_aql", "_generator", "_schema_version", "_type", "resultsize"}
            == set(meta),
            "keys",
            meta,
        )
        c.check("rows", r.json()["rows"] == [[uid]], uid, r.json()["rows"])
    r = c("GET", "/query/aql", params={"q": "SELECT e/ehr_id/value FROM EHR e"})
    if c.status("GET aql", r, 200):
        c.check("_href", "_href" in r.json()["meta"], "_href", r.json()["meta"])
    r = c("POST", "/query/aql", json={"q": "SELECT e/ehr_id/value FROM EHR e LIMIT 1", "fetch": 1})
    c.status("LIMIT + fetch -> 422", r, 422)
    r = c("POST", "/query/aql", json={"q": "SELECT e/ehr_id/value FROM EHR e", "offset": 1})
    c.status("offset without fetch -> 422", r, 422)
    c.status("bad AQL -> 400", c("POST", "/query/aql", json={"q": "SELEC nothing"}), 400)


def admin_area(c: Client) -> None:
    c.area = "ADMIN"
    ehr = c.new_ehr()
    nested = SUITE / "compositions" / "CANONICAL_JSON" / "nested.en.v1__full_without_links.json"
    r = c("POST", f"/ehr/{ehr}/composition", data=nested.read_bytes(), headers={"Content-Type": JSON})
    vo = etag(r).split("::")[0]
    c.status("delete template in use -> 422", c("DELETE", "/admin/template/nested.en.v1"), 422)
    tpl = SUITE / "valid_templates" / "nested" / "nested.opt"
    if tpl.exists():
        c.status(
            "replace template in use -> 422",
            c("PUT", "/admin/template/nested.en.v1", data=tpl.read_bytes(), headers={"Content-Type": XML}),
            422,
        )
    r = c("DELETE", f"/admin/ehr/{ehr}")
    c.status("delete EHR -> 204", r, 204)
    c.status("GET deleted EHR -> 404", c("GET", f"/ehr/{ehr}"), 404)
    c.status("GET deleted EHR composition -> 404", c("GET", f"/ehr/{ehr}/composition/{vo}"), 404)
    c.status("delete EHR again -> 404", c("DELETE", f"/admin/ehr/{ehr}"), 404)
    c.status("delete unknown template -> 404", c("DELETE", "/admin/template/no.such.template"), 404)
    test_event = SUITE / "valid_templates" / "all_types" / "test_event.opt"
    if test_event.exists():
        c.status("delete unused template", c("DELETE", "/admin/template/test_event"), 200, 204)
        c.status("re-upload deleted template", c.upload(test_event.read_bytes()), 201)
        r = c.upload(test_event.read_bytes())
        if c.status("upload again -> 409", r, 409):
            c.check(
                "409 message", "already exists" in r.json().get("message", ""), "already exists", r.json()
            )


def headers_area(c: Client) -> None:
    c.area = "HEADERS"
    ehr = c.new_ehr()
    nested = SUITE / "compositions" / "CANONICAL_JSON" / "nested.en.v1__full_without_links.json"
    r = c(
        "POST",
        f"/ehr/{ehr}/composition",
        data=nested.read_bytes(),
        headers={
            "Content-Type": JSON,
            "openEHR-VERSION": 'lifecycle_state.code_string="532"',
            "openEHR-AUDIT_DETAILS": 'committer.name="Dr. Smoke", description.value="smoke test"',
        },
    )
    if c.status("commit with openEHR-VERSION and AUDIT_DETAILS", r, 201):
        vo = etag(r).split("::")[0]
        h = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/revision_history").json()
        audit = h["items"][0]["audits"][0]
        c.check("committer name", audit.get("committer", {}).get("name") == "Dr. Smoke", "Dr. Smoke", audit)
        v = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/version").json()
        c.check(
            "lifecycle 532",
            v["lifecycle_state"]["defining_code"]["code_string"] == "532",
            "532",
            v["lifecycle_state"],
        )
    r = c(
        "POST",
        f"/ehr/{ehr}/composition",
        data=nested.read_bytes(),
        headers={"Content-Type": JSON, "openEHR-AUDIT_DETAILS.committer": 'name="Dr. Old"'},
    )
    if c.status("commit with 1.0.3 audit spelling", r, 201):
        vo = etag(r).split("::")[0]
        h = c("GET", f"/ehr/{ehr}/versioned_composition/{vo}/revision_history").json()
        c.check(
            "1.0.3 committer",
            h["items"][0]["audits"][0]["committer"].get("name") == "Dr. Old",
            "Dr. Old",
            h["items"][0]["audits"][0]["committer"],
        )
    g = c("GET", f"/ehr/{ehr}/composition/{vo}")
    c.check("GET ETag quoted", g.headers.get("ETag", "").startswith('"'), '"..."', g.headers.get("ETag"))
    c.check("GET Last-Modified", bool(g.headers.get("Last-Modified")), "", g.headers)
    c.check("GET Location", bool(g.headers.get("Location")), "", g.headers)
    r = c(
        "POST",
        "/ehr",
        headers={"X-Forwarded-Host": "example.com", "X-Forwarded-Port": "333", "X-Forwarded-Proto": "https"},
    )
    c.check(
        "X-Forwarded-Host/Port/Proto from loopback shape Location",
        r.headers.get("Location", "").startswith("https://example.com:333/openehr/v1/ehr/"),
        "https://example.com:333/openehr/v1/ehr/...",
        r.headers.get("Location"),
    )
    c.status("OPTIONS base", c("OPTIONS", ""), 200)
    c.status("unsupported method -> 405", c("PATCH", f"/ehr/{ehr}"), 405)


def run_all(base: str) -> Results:
    results = Results()
    c = Client(base, results)
    steps: list[Callable[[Client], Any]] = [ehr_area, ehr_status_area]
    for step in steps:
        guarded(c, step)
    loaded: dict[str, str] = {}
    try:
        loaded = templates(c)
    except Exception as exc:  # a crash of one area is a failure; the sweep goes on
        c.check("area crashed", False, "", repr(exc))
    for area in (
        admin_area,
        lambda cl: compositions(cl, loaded),
        lambda cl: example_roundtrip(cl, loaded),
        composition_area,
        format_area,
        contribution_area,
        directory_area,
        stored_query_area,
        headers_area,
    ):
        guarded(c, area)
    return results


def guarded(c: Client, step: Callable[[Client], Any]) -> None:
    try:
        step(c)
    except Exception as exc:  # a crash of one area is a failure; the sweep goes on
        c.check(f"area crashed in {getattr(step, '__name__', 'step')}", False, "", repr(exc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", action="append", choices=["sqlite", "postgres"], help="repeatable; default both"
    )
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument(
        "--profile",
        choices=["default", "strict", "ehrbase"],
        default="default",
        help="the server's validation profile (default: none named, as cdr serve starts)",
    )
    parser.add_argument("--base", help="an already running server's openEHR base URL instead of starting one")
    parser.add_argument(
        "--known",
        type=Path,
        default=KNOWN,
        help="the failures that are corpus data, one 'area | case' a line: exit 0 when exactly these fail",
    )
    parser.add_argument("--write-known", action="store_true", help="rewrite --known with this run's failures")
    args = parser.parse_args(argv)
    if not (CORPUS / "INDEX.tsv").is_file():
        print(f"corpus not found at {CORPUS} (set CDR_CORPUS)", file=sys.stderr)
        return 2
    report: dict[str, Any] = {}
    if args.base:
        report["external"] = run_all(args.base.rstrip("/")).summary()
    for kind in args.db or ["sqlite", "postgres"]:
        with (
            tempfile.TemporaryDirectory() as tmp,
            database(kind) as url,
            server(url, Path(tmp) / "serve.log", args.profile) as base,
        ):
            report[kind] = run_all(base).summary()
    known = set(args.known.read_text(encoding="utf-8").splitlines()) if args.known.is_file() else set()
    seen: set[str] = set()
    unexpected = 0
    for kind, summary in report.items():
        print(f"== {kind}: {summary['passed']} passed, {summary['failed']} failed")
        for area, row in summary["areas"].items():
            print(f"   {area:40s} {row['passed']:5d} passed {row['failed']:4d} failed")
        keys = [known_key(f) for f in summary["failures"]]
        for f, key in zip(summary["failures"], keys, strict=True):
            mark = "known" if key in known else "FAIL"
            unexpected += key not in known
            print(f"   {mark} [{f['area']}] {f['case']}: expected {f['expected']}, got {f['got']}")
        for key in sorted(known - set(keys)):
            print(f"   PASSES NOW (was known to fail): {key}")
        seen.update(keys)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.write_known:
        args.known.write_text("".join(f"{key}\n" for key in sorted(seen)), encoding="utf-8")
    print(f"{unexpected} failure(s) beyond the {len(known)} known ones ({args.known.name})")
    return 1 if unexpected else 0


def known_key(failure: dict[str, Any]) -> str:
    """A failure as it is pinned in the known list: its area and case (not the answer, which holds ids)."""
    return f"{failure['area']} | {failure['case']}"


if __name__ == "__main__":
    sys.exit(main())
