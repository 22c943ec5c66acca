"""Strings that match a regular expression, for C_STRING patterns in example compositions.

AOM 1.4 C_STRING patterns are regular expressions (in OPTs mostly archetype id patterns such as
``openEHR-EHR-ACTION\\.medication\\.v1`` on ACTIVITY.action_archetype_id, or formats of identifiers). The
generator walks the expression as Python's own parser reads it (:mod:`re._parser`), so that what it
produces is what :func:`re.fullmatch` accepts; every result is checked with ``fullmatch`` before it is
returned.

Without a random source the choice is canonical (first branch, fewest repeats, first character of a class);
with one, branches, repeat counts and characters are drawn from it.
"""

from __future__ import annotations

import random
import re
import string
from functools import lru_cache
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["example_string"]

MAX_EXTRA_REPEATS = 3
"""Unbounded repeats (``*``, ``+``, ``{2,}``) stop this many beyond their minimum."""
_ATTEMPTS = 8

_CATEGORY_CHARS: dict[Any, str] = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_NOT_WORD: "-.:",
}
_PRINTABLE = string.ascii_letters + string.digits + " -_.:"


@lru_cache(maxsize=512)
def _parsed(pattern: str) -> tuple[Any, re.Pattern[str]] | None:
    try:
        return sre_parse.parse(pattern), re.compile(pattern)
    except (re.error, RecursionError):
        return None


def example_string(pattern: str, rng: random.Random | None = None) -> str | None:
    """A string the whole of which matches ``pattern``; ``None`` when none could be made.

    >>> example_string(r"openEHR-EHR-ACTION\\.medication\\.v1")
    'openEHR-EHR-ACTION.medication.v1'
    >>> example_string(r"[A-Z]{2}\\d+")
    'AA0'
    """
    parsed = _parsed(pattern)
    if parsed is None:
        return None
    tree, compiled = parsed
    for attempt in range(_ATTEMPTS):
        chooser = rng if rng is not None or attempt == 0 else random.Random(attempt)
        groups: dict[int, str] = {}
        try:
            text = _emit(tree, chooser, groups)
        except _Unsupported:
            return None
        if compiled.fullmatch(text) is not None:
            return text
    return None


class _Unsupported(Exception):
    """The expression uses a construct the generator does not produce text for."""


def _emit(items: Any, rng: random.Random | None, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in items:
        out.append(_emit_one(op, arg, rng, groups))
    return "".join(out)


def _emit_one(op: Any, arg: Any, rng: random.Random | None, groups: dict[int, str]) -> str:
    if op is sre_constants.LITERAL:
        return chr(arg)
    if op is sre_constants.NOT_LITERAL:
        return next(c for c in _PRINTABLE if ord(c) != arg)
    if op is sre_constants.ANY:
        return rng.choice(string.ascii_letters) if rng else "a"
    if op is sre_constants.IN:
        return _emit_class(arg, rng)
    if op is sre_constants.BRANCH:
        branches = arg[1]
        chosen = rng.choice(branches) if rng else branches[0]
        return _emit(chosen, rng, groups)
    if op is sre_constants.SUBPATTERN:
        group, _add, _del, sub = arg
        text = _emit(sub, rng, groups)
        if group is not None:
            groups[group] = text
        return text
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, _POSSESSIVE):
        low, high, sub = arg
        top = (
            low + MAX_EXTRA_REPEATS if high is sre_constants.MAXREPEAT else min(high, low + MAX_EXTRA_REPEATS)
        )
        count = rng.randint(low, top) if rng else low
        return "".join(_emit(sub, rng, groups) for _ in range(count))
    if op is sre_constants.GROUPREF:
        return groups.get(arg, "")
    if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return ""  # anchors and look-arounds take no text; fullmatch checks the result
    raise _Unsupported(str(op))


_POSSESSIVE = getattr(sre_constants, "POSSESSIVE_REPEAT", object())


def _emit_class(items: list[tuple[Any, Any]], rng: random.Random | None) -> str:
    negated = bool(items) and items[0][0] is sre_constants.NEGATE
    allowed: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            allowed.append(chr(arg))
        elif op is sre_constants.RANGE:
            low, high = arg
            allowed.extend(chr(c) for c in range(low, min(high, low + 61) + 1))
        elif op is sre_constants.CATEGORY:
            allowed.extend(_CATEGORY_CHARS.get(arg, "a"))
    if negated:
        excluded = set(allowed)
        allowed = [c for c in _PRINTABLE if c not in excluded]
    if not allowed:
        raise _Unsupported("empty character class")
    return rng.choice(allowed) if rng else allowed[0]
