"""Shared helpers of the FLAT / STRUCTURED tests: templates by web template root id or template id."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from cdr.formats.flat_schema import flat_schema
from cdr.template.aom import OperationalTemplate
from cdr.template.opt_parser import load_opt
from tests.corpus import CORPUS, index_rows


@cache
def opt_at(path: str) -> OperationalTemplate:
    return load_opt(CORPUS / path)


@cache
def opts_by_root_id() -> dict[str, list[str]]:
    """Web template root id (the first FLAT step) -> corpus OPT paths with that root."""
    out: dict[str, list[str]] = {}
    for row in index_rows():
        if row["kind"] != "opt" or "invalid_templates" in row["path"]:
            continue
        out.setdefault(flat_schema(opt_at(row["path"])).root.id, []).append(row["path"])
    return out


@cache
def opt_by_template_id() -> dict[str, str]:
    out: dict[str, str] = {}
    for row in index_rows():
        if row["kind"] == "opt" and "invalid_templates" not in row["path"]:
            out.setdefault(row["template_id"], row["path"])
    return out


def load(path: str) -> Any:
    return json.loads(Path(CORPUS / path).read_text(encoding="utf-8"))


def root_id(doc: dict[str, Any]) -> str:
    for key in doc:
        if key != "ctx" and not key.startswith("ctx/"):
            return key.split("/")[0].split("|")[0].split(":")[0]
    return ""


def candidates(doc: dict[str, Any], name: str) -> list[str]:
    """OPTs whose root id matches, the one whose file name best matches the document's first."""
    found = opts_by_root_id().get(root_id(doc), [])
    stem = name.lower().split("__")[0].split(".")[0].replace("-", "_").replace(" ", "_")

    def score(path: str) -> int:
        opt_stem = Path(path).stem.lower().replace("-", "_").replace(" ", "_")
        common = 0
        for a, b in zip(stem, opt_stem):
            if a != b:
                break
            common += 1
        return -common

    return sorted(found, key=score)
