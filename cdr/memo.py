"""Bounded memos of pure functions of a string, for the commit path's per-node checks.

Archetype node ids, terminology ids and timestamps repeat within a composition and across commits, and each
check of one was a regular-expression match (with a datetime built, for timestamps): ~3% of a commit's CPU.
A memo answers a repeat with one dict look-up; it is emptied when full, so odd input cannot grow it without
bound. Compiled with the validator (see :mod:`cdr.native`): its lookup is a C call there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

LIMIT = 4096
"""Entries a memo keeps before it starts over."""


class StringMemo(Generic[V]):
    """``fn(text)`` for strings, remembered (``fn`` must be pure)."""

    def __init__(self, fn: Callable[[str], V], limit: int = LIMIT) -> None:
        self.fn = fn
        self.limit = limit
        self.known: dict[str, V] = {}

    def __call__(self, text: str) -> V:
        known = self.known
        if text in known:
            return known[text]
        value = self.fn(text)
        if len(known) >= self.limit:
            known.clear()
        known[text] = value
        return value
