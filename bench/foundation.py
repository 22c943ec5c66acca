"""Foundation benchmarks (issue 2): template loading, web template, parse + validate.

Figures: OPT load of ``Corona_Anamnese.opt`` as a ratio to a bare lxml parse (target <= 5x); web template
build time; canonical JSON parse + model build + validation of the Corona_Anamnese composition as a ratio to
``json.loads`` of the same text and in ms per composition (target <= 3 ms); memory retained per loaded
template.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from bench.harness import compare, measure, ms, retained_bytes

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CDR_CORPUS", REPO.parent / "shared" / "openehr-data"))
CORONA_OPT = CORPUS / "ehrbase-integration-tests/test_data_sets/valid_templates/all_types/Corona_Anamnese.opt"
CORONA_COMPOSITION = CORPUS / "ehrbase-ehrbase/aql-engine-testdata/composition.json"


@dataclass
class Row:
    name: str
    value: str
    baseline: str
    ratio: str
    target: str


def run(rounds: int = 30) -> list[Row]:
    from cdr.formats.canonical_json import parse_json
    from cdr.template import parse_opt
    from cdr.template.validation import validate
    from cdr.template.web_template import build_web_template

    if not CORONA_OPT.is_file():
        raise SystemExit(f"corpus not found at {CORPUS} (set CDR_CORPUS)")
    opt_bytes = CORONA_OPT.read_bytes()
    comp_text = CORONA_COMPOSITION.read_text(encoding="utf-8")
    rows: list[Row] = []

    load, lxml_parse = compare(
        lambda: parse_opt(opt_bytes), lambda: etree.fromstring(opt_bytes), rounds=rounds
    )
    rows.append(
        Row(
            "OPT load (Corona_Anamnese.opt, 1.2 MB)",
            ms(load.p50),
            ms(lxml_parse.p50),
            f"{load.p50 / lxml_parse.p50:.2f}x",
            "<= 5x lxml parse",
        )
    )

    opt = parse_opt(opt_bytes)
    wt = measure(lambda: build_web_template(opt), rounds=rounds)
    rows.append(Row("web template build (Corona_Anamnese)", ms(wt.p50), "-", "-", "-"))

    def parse_and_validate() -> object:
        return validate(parse_json(json.loads(comp_text)), opt)

    issues = parse_and_validate()
    pv, jl = compare(parse_and_validate, lambda: json.loads(comp_text), rounds=rounds * 5, inner=5)
    rows.append(
        Row(
            f"JSON parse + model + validate (Corona composition, {len(comp_text) // 1024} KB)",
            ms(pv.p50),
            ms(jl.p50),
            f"{pv.p50 / jl.p50:.1f}x",
            "<= 3 ms",
        )
    )
    rows.append(Row("  issues reported on that composition", str(len(issues)), "-", "-", "0"))  # type: ignore[arg-type]

    size, _ = retained_bytes(lambda: parse_opt(opt_bytes))
    rows.append(
        Row(
            "memory per loaded template (Corona_Anamnese)",
            f"{size / 1e6:.1f} MB",
            f"{len(opt_bytes) / 1e6:.1f} MB file",
            "-",
            "-",
        )
    )
    return rows
