"""The invariant registry: how checks are declared, looked up along the class hierarchy and run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from cdr.rm.base import RMObject, rm_fields


@dataclass(frozen=True, slots=True)
class Invariant:
    """A broken invariant: its spec name, what is wrong, and the attribute it concerns ("" for the node)."""

    name: str
    message: str
    attribute: str = ""


Check = Callable[[RMObject], Iterator[Invariant]]
_CHECKS: dict[type[RMObject], list[Check]] = {}


def _invariants(cls: type[RMObject]) -> Callable[[Check], Check]:
    """Register a generator of broken invariants for ``cls`` (and, through :func:`check`, its subclasses)."""

    def register(fn: Check) -> Check:
        _CHECKS.setdefault(cls, []).append(fn)
        return fn

    return register


@cache
def _checks_for(cls: type[RMObject]) -> tuple[Check, ...]:
    """The checks of ``cls`` and its ancestors, most general first."""
    return tuple(fn for klass in reversed(cls.__mro__) for fn in _CHECKS.get(klass, ()))


def check(obj: RMObject) -> list[Invariant]:
    """The invariants ``obj`` breaks (its own attributes only; children are checked when visited)."""
    return [inv for fn in _checks_for(type(obj)) for inv in fn(obj)]


def missing_mandatory(obj: RMObject) -> list[str]:
    """Names of the RM-mandatory attributes of ``obj`` that are absent (``None``)."""
    values = obj.__dict__
    return [f.name for f in rm_fields(type(obj)) if f.required and values.get(f.name) is None]


def _empty_list(obj: RMObject, attribute: str, name: str) -> Iterator[Invariant]:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of optional lists."""
    if getattr(obj, attribute) == []:
        yield Invariant(name, f"{attribute} must be absent or non-empty", attribute)


def _empty_string(obj: RMObject, attribute: str, name: str) -> Iterator[Invariant]:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of strings."""
    if getattr(obj, attribute) == "":
        yield Invariant(name, f"{attribute} must not be empty", attribute)
