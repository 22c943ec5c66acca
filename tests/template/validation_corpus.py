"""Shared helpers for the validator tests: corpus OPTs and compositions, loaded once per session."""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from pathlib import Path

from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import parse_xml
from cdr.rm.base import RMObject
from cdr.template import load_opt
from cdr.template.aom import OperationalTemplate
from cdr.template.issues import ValidationIssue
from cdr.template.validation import validate
from tests.corpus import CORPUS, index_rows


@cache
def opt(path: str) -> OperationalTemplate:
    return load_opt(CORPUS / path)


def read_composition(path: str | Path) -> RMObject:
    p = CORPUS / path
    if p.suffix == ".xml":
        return parse_xml(p.read_bytes())
    return parse_json(json.loads(p.read_text(encoding="utf-8")))


@cache
def opts_by_template_id() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for row in index_rows():
        if row["kind"] == "opt" and "invalid_templates/" not in row["path"]:
            out[row["template_id"]].append(row["path"])
    return dict(out)


def canonical_compositions_with_template() -> list[str]:
    """Canonical JSON/XML compositions whose template_id has an OPT in the corpus."""
    known = opts_by_template_id()
    paths = [
        r["path"]
        for r in index_rows()
        if r["kind"] in ("composition/canonical_json", "composition/canonical_xml")
        and r["template_id"] in known
    ]
    return paths or ["<corpus absent>"]


def validate_against_best(path: str, obj: RMObject) -> tuple[str, list[ValidationIssue]]:
    """Validate against every corpus OPT with the composition's template_id; keep the one fitting best.

    Several OPTs share a template_id in the corpus (versions of one template); a composition is judged
    against the one it was written for, which is the one it breaks least.
    """
    template_id = next(r["template_id"] for r in index_rows() if r["path"] == path)
    best: tuple[str, list[ValidationIssue]] | None = None
    for candidate in opts_by_template_id()[template_id]:
        issues = validate(obj, opt(candidate))
        if best is None or len(issues) < len(best[1]):
            best = (candidate, issues)
        if not issues:
            break
    assert best is not None
    return best
