"""Tests of the AQL engine, and the corpus queries they share.

The spec listings come from ``DERIVED_aql_spec_listings.txt`` (each block headed by ``-- <file>:<line>``);
the EHRbase cases from ``DERIVED_aql_cases.json``, whose queries still hold Robot Framework variables. We
substitute ``${name}`` (always inside quotes there) with a fixed UUID and Robot's escaped ``\\$`` with ``$``,
which changes no syntax.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from tests.corpus import CORPUS, corpus_available

LISTINGS = "openEHR-specifications-QUERY/DERIVED_aql_spec_listings.txt"
CASES = "ehrbase-integration-tests/DERIVED_aql_cases.json"
ROBOT_VALUE = "7d44b88c-4199-4bad-97dc-d78268e01398"


@dataclass(frozen=True)
class CorpusQuery:
    """One query of the corpus: where it comes from, its text, and the manifest case's tags."""

    source: str
    text: str
    tags: tuple[str, ...] = ()


@cache
def spec_listings() -> tuple[CorpusQuery, ...]:
    """Every listing of the AQL spec and its examples document, keyed ``docs/<file>.adoc:<line>``."""
    if not corpus_available():
        return ()
    text = (CORPUS / LISTINGS).read_text(encoding="utf-8")
    out = []
    for block in re.split(r"\n(?=-- docs/)", text)[1:]:
        header, body = block.split("\n", 1)
        out.append(CorpusQuery(header.removeprefix("-- "), body.strip()))
    return tuple(out)


def _robot(text: str) -> str:
    return re.sub(r"\$\{\w+\}", ROBOT_VALUE, text.replace("\\$", "$"))


@cache
def ehrbase_queries() -> tuple[CorpusQuery, ...]:
    """Every ``query`` and ``query_in_expected_file`` of the EHRbase manifest, keyed ``<suite>#<n>``."""
    if not corpus_available():
        return ()
    manifest = json.loads((CORPUS / CASES).read_text(encoding="utf-8"))
    out = []
    for suite in manifest["suites"]:
        name = suite["suite"].removeprefix("AQL_TESTS/").removesuffix(".robot")
        for n, case in enumerate(suite["cases"], 1):
            tags = tuple(case.get("tags", ()))
            if "query" in case:
                out.append(CorpusQuery(f"{name}#{n}", _robot(case["query"]), tags))
            if "query_in_expected_file" in case:
                out.append(CorpusQuery(f"{name}#{n}/expected", _robot(case["query_in_expected_file"]), tags))
    return tuple(out)
