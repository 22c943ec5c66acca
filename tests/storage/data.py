"""Test data for the storage tests: the shipped compositions and OPTs, and corpus files by kind."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from cdr.formats.canonical_json import parse_json, to_json
from tests.corpus import CORPUS, corpus_files, require_corpus

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "tests" / "data"
TEMPLATES = REPO / "templates"
CORONA = "ehrbase-ehrbase/aql-engine-testdata/composition.json"
IT = "ehrbase-integration-tests/test_data_sets"
SDK = "ehrbase-openEHR_SDK/test-data"
NOT_RM_JSON = {f"{SDK}/composition/canonical_json/rawdb_composition.json"}  # a database dump, not ITS-JSON

CORPUS_COMPOSITIONS = [p for p in corpus_files("composition/canonical_json") if p not in NOT_RM_JSON]


def shipped(name: str) -> dict[str, Any]:
    """A composition shipped in ``tests/data/compositions`` as canonical JSON (``_type`` everywhere)."""
    return canonical(json.loads((SHIPPED / "compositions" / name).read_text(encoding="utf-8")))


def canonical(doc: dict[str, Any], rm_type: str | None = None) -> dict[str, Any]:
    """A document as the canonical JSON writer puts it (``_type`` everywhere, unknown attributes dropped)."""
    return to_json(parse_json(doc, rm_type, strict=False))


@cache
def corpus_json(rel: str) -> bytes:
    return (require_corpus() / rel).read_bytes()


def corpus_document(rel: str, rm_type: str | None = None) -> dict[str, Any]:
    return canonical(json.loads(corpus_json(rel)), rm_type)


def corpus_glob(*patterns: str) -> list[str]:
    """Corpus files matching glob patterns (a placeholder id when the corpus is absent)."""
    if not (CORPUS / "INDEX.tsv").is_file():
        return ["<corpus absent>"]
    return sorted(str(p.relative_to(CORPUS)) for pattern in patterns for p in CORPUS.glob(pattern))
