"""Example compositions from any operational template: minimal, maximal, and seeded random series.

What EHRbase's ``GET /definition/template/adl1.4/{id}/example`` gives, and the engine for synthetic
benchmark data:

* :func:`minimal_example`: only what the template and the RM make mandatory (plus the event context a
  non-persistent composition carries and a value in every ELEMENT present);
* :func:`maximal_example`: every optional node once, repeating nodes up to ``max_repeats`` and repeated
  ELEMENTs showing each of their value types;
* :func:`generate`: ``count`` compositions with values drawn inside the constraints, reproducible by seed.

All three carry the RM context of a real composition: language, territory, composer, category, context
(start time, setting), archetype details with the template id at the root, names from the template's terms in
its language, ENTRY language, encoding and subject (PARTY_SELF), event times after the history origin, ISM
transitions that can lead into the state of each careflow step. :class:`ExampleGenerator` keeps the compiled
plan of one template (see :mod:`.example_plan`); the functions share one per template and settings.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from cdr.errors import CdrError
from cdr.rm.base import RMObject
from cdr.template.aom import OperationalTemplate
from cdr.template.example_draw import DEFAULT_START, Draw, ExampleSettings, Mode
from cdr.template.example_plan import Node, compile_plan

__all__ = [
    "DEFAULT_START",
    "FORMATS",
    "ExampleGenerator",
    "ExampleSettings",
    "Mode",
    "generate",
    "generator_for",
    "maximal_example",
    "minimal_example",
    "to_format",
]

FORMATS = ("json", "xml", "flat", "structured")


class ExampleGenerator:
    """The compiled generation plan of one template, with the settings it was compiled for."""

    __slots__ = ("language", "opt", "plan", "settings")

    def __init__(self, opt: OperationalTemplate, settings: ExampleSettings | None = None) -> None:
        self.opt = opt
        self.settings = settings or ExampleSettings()
        self.language = self._language()
        self.plan: Node = compile_plan(
            opt, self.language, self.settings.rm_version, self.settings.reference_codes
        )

    def _language(self) -> str:
        wanted = self.settings.language
        if wanted and wanted in self.opt.languages:
            return wanted
        return wanted or self.opt.default_language

    def make(self, mode: Mode, rng: random.Random | None = None) -> RMObject:
        """One composition in ``mode`` (``rng`` is used by RANDOM only)."""
        draw = Draw(mode, self.settings, self.language, rng)
        made = self.plan.make(draw, 0)
        if not isinstance(made, RMObject):
            raise CdrError(f"template {self.opt.template_id} produced no RM object")
        return made

    def minimal(self) -> RMObject:
        return self.make(Mode.MINIMAL)

    def maximal(self) -> RMObject:
        return self.make(Mode.MAXIMAL)

    def generate(self, count: int, seed: int = 0) -> Iterator[RMObject]:
        """``count`` random compositions; the same seed gives the same series."""
        rng = random.Random(seed)
        for _ in range(count):
            yield self.make(Mode.RANDOM, rng)


_CACHE: OrderedDict[tuple[int, ExampleSettings], ExampleGenerator] = OrderedDict()
CACHE_SIZE = 32


def generator_for(opt: OperationalTemplate, settings: ExampleSettings | None = None) -> ExampleGenerator:
    """The (cached) generator of a template: the plan is compiled once per template and settings."""
    settings = settings or ExampleSettings()
    key = (id(opt), settings)
    found = _CACHE.get(key)
    if found is not None and found.opt is opt:
        _CACHE.move_to_end(key)
        return found
    generator = ExampleGenerator(opt, settings)
    _CACHE[key] = generator
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return generator


def minimal_example(opt: OperationalTemplate, settings: ExampleSettings | None = None) -> RMObject:
    """The smallest composition the template and the RM allow (deterministic)."""
    return generator_for(opt, settings).minimal()


def maximal_example(opt: OperationalTemplate, settings: ExampleSettings | None = None) -> RMObject:
    """A composition with every optional node of the template present (deterministic)."""
    return generator_for(opt, settings).maximal()


def generate(
    opt: OperationalTemplate, count: int, seed: int = 0, settings: ExampleSettings | None = None
) -> Iterator[RMObject]:
    """``count`` compositions with random values inside the template's constraints, reproducible by seed."""
    return generator_for(opt, settings).generate(count, seed)


def to_format(comp: RMObject, fmt: str, opt: OperationalTemplate | None = None) -> Any:
    """``comp`` in a wire format: ``json`` (canonical, a dict), ``xml`` (canonical, bytes), or the web
    template formats ``flat`` and ``structured`` (dicts; they need the template ``opt``)."""
    fmt = fmt.lower()
    if fmt == "json":
        from cdr.formats.canonical_json import to_json

        return to_json(comp)
    if fmt == "xml":
        from cdr.formats.canonical_xml import to_xml

        return to_xml(comp)
    if fmt in ("flat", "structured"):
        if opt is None:
            raise CdrError(f"the {fmt.upper()} format needs the template")
        return _web_template_format(comp, fmt, opt)
    raise CdrError(f"unknown example format {fmt!r}; known: {', '.join(FORMATS)}")


def _web_template_format(comp: RMObject, fmt: str, opt: OperationalTemplate) -> Any:
    from cdr.formats.flat import composition_to_flat, composition_to_structured
    from cdr.rm import Composition

    if not isinstance(comp, Composition):
        raise CdrError(f"the {fmt.upper()} format is defined for compositions only")
    if fmt == "flat":
        return composition_to_flat(comp, opt)
    return composition_to_structured(comp, opt)
