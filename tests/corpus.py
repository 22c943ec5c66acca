"""Access to the shared openEHR corpus, read in place and never copied.

Tests that need it skip with a clear reason where it is absent; with ``CDR_REQUIRE_CORPUS=1`` (set by
``.ci/run``) an absent corpus is an error instead, so CI cannot pass on skipped corpus tests.
"""

from __future__ import annotations

import csv
import os
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CDR_CORPUS", REPO.parent / "shared" / "openehr-data")).resolve()
REASON = f"openEHR corpus not found at {CORPUS} (set CDR_CORPUS)"


def corpus_available() -> bool:
    return (CORPUS / "INDEX.tsv").is_file()


def require_corpus() -> Path:
    """The corpus root; skips the calling test (or fails under CDR_REQUIRE_CORPUS=1) when absent."""
    if corpus_available():
        return CORPUS
    if os.environ.get("CDR_REQUIRE_CORPUS") == "1":
        pytest.fail(REASON)
    pytest.skip(REASON)


@cache
def index_rows() -> list[dict[str, str]]:
    """Rows of INDEX.tsv: path, kind, template_id, bytes, sha1 (empty when the corpus is absent)."""
    if not corpus_available():
        return []
    with open(CORPUS / "INDEX.tsv", encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    reader = csv.reader(lines, delimiter="\t")
    return [
        {"path": r[0], "kind": r[1], "template_id": r[2], "bytes": r[3], "sha1": r[4]} for r in reader if r
    ]


def corpus_files(kind: str) -> list[str]:
    """Relative paths of corpus files of one INDEX kind (``opt``, ``composition/canonical_json``, ...).

    Parametrise with these and call :func:`require_corpus` inside the test; when the corpus is absent a single
    placeholder id is returned so that the test still runs and reports the skip.
    """
    paths = [r["path"] for r in index_rows() if r["kind"] == kind]
    return paths or ["<corpus absent>"]
