"""FLAT benchmarks (issue 3): FLAT -> canonical + validation against canonical JSON parse + validation,
and the example generator's rate (the engine for synthetic benchmark data).

Both sides start from the JSON text of the same composition (the FLAT text is written from the canonical one
by our own writer first) and end with the validated COMPOSITION, so the ratio is what reading FLAT costs over
reading canonical JSON. Target: <= 1.5x. Compositions: the shipped ``valid_normal.json`` (NEWS2 vital signs,
Norwegian template) and a corpus one (``compo_corona.json``, Corona_Anamnese, ~100 FLAT keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.foundation import CORPUS, REPO, Row
from bench.harness import compare, measure, ms

NEWS2_OPT = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
NEWS2_COMPOSITION = REPO / "tests" / "data" / "compositions" / "valid_normal.json"
CORONA_OPT = CORPUS / "ehrbase-integration-tests/test_data_sets/valid_templates/all_types/Corona_Anamnese.opt"
CORONA_COMPOSITION = CORPUS / "ehrbase-openEHR_SDK/test-data/composition/canonical_json/compo_corona.json"

TARGET = 1.5


def _cases() -> list[tuple[str, Path, Path]]:
    cases = [("valid_normal.json (NEWS2)", NEWS2_OPT, NEWS2_COMPOSITION)]
    if CORONA_OPT.is_file() and CORONA_COMPOSITION.is_file():
        cases.append(("compo_corona.json (Corona_Anamnese)", CORONA_OPT, CORONA_COMPOSITION))
    return cases


def run(rounds: int = 30) -> list[Row]:
    from cdr.formats.canonical_json import parse_json
    from cdr.formats.flat import composition_to_flat, flat_to_composition
    from cdr.rm import Composition
    from cdr.template import parse_opt
    from cdr.template.validation import validate

    rows: list[Row] = []
    for label, opt_path, comp_path in _cases():
        opt = parse_opt(opt_path.read_bytes())
        canonical_text = comp_path.read_text(encoding="utf-8")
        composition = parse_json(json.loads(canonical_text))
        assert isinstance(composition, Composition)
        flat_text = json.dumps(composition_to_flat(composition, opt))

        def from_flat(text: str = flat_text, template: object = opt) -> object:
            return validate(flat_to_composition(json.loads(text), template), template)  # type: ignore[arg-type]

        def from_canonical(text: str = canonical_text, template: object = opt) -> object:
            return validate(parse_json(json.loads(text)), template)  # type: ignore[arg-type]

        issues = from_flat()
        flat, canonical = compare(from_flat, from_canonical, rounds=rounds * 3, inner=3)
        ratio = flat.p50 / canonical.p50
        rows.append(
            Row(
                f"FLAT -> canonical + validate, {label}, {len(json.loads(flat_text))} keys",
                ms(flat.p50),
                ms(canonical.p50),
                f"{ratio:.2f}x",
                f"<= {TARGET}x canonical JSON parse + validate",
            )
        )
        rows.append(Row(f"  issues reported ({label})", str(len(issues)), "-", "-", "0"))  # type: ignore[arg-type]
    return rows + example_rows(rounds)


def example_rows(rounds: int = 30) -> list[Row]:
    """Synthetic data rate: random NEWS2 compositions per second, alone and written as canonical JSON."""
    from cdr.formats.canonical_json import to_json
    from cdr.template import parse_opt
    from cdr.template.example import generate
    from cdr.template.validation import validate

    opt = parse_opt(NEWS2_OPT.read_bytes())
    batch, samples = 200, max(3, rounds // 5)

    def drain(step: Callable[[Any], object], seed: int) -> None:
        # streamed, as bulk loading uses it: keeping every composition alive would time the garbage collector
        for composition in generate(opt, batch, seed=seed):
            step(composition)

    plain = measure(lambda: drain(lambda c: c, 1), rounds=samples)
    written = measure(lambda: drain(to_json, 2), rounds=samples)
    checked = measure(lambda: drain(lambda c: validate(c, opt), 3), rounds=samples)
    rate = "example generation, NEWS2 template (compositions/s)"
    return [
        Row(rate, f"{batch / plain.p50:,.0f}/s", "-", "-", "-"),
        Row("  generation + to_json", f"{batch / written.p50:,.0f}/s", "-", "-", "-"),
        Row("  generation + validation", f"{batch / checked.p50:,.0f}/s", "-", "-", "-"),
    ]
