"""The invariant registry: how checks are declared, looked up along the class hierarchy and run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

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


_checks_by_class: dict[type[RMObject], tuple[Check, ...]] = {}
_required_by_class: dict[type[RMObject], tuple[str, ...]] = {}


def _checks_for(cls: type[RMObject]) -> tuple[Check, ...]:
    """The checks of ``cls`` and its ancestors, most general first."""
    checks = _checks_by_class.get(cls)
    if checks is None:
        checks = tuple(fn for klass in reversed(cls.__mro__) for fn in _CHECKS.get(klass, ()))
        _checks_by_class[cls] = checks
    return checks


def check(obj: RMObject) -> list[Invariant]:
    """The invariants ``obj`` breaks (its own attributes only; children are checked when visited)."""
    checks = _checks_by_class.get(type(obj)) or _checks_for(type(obj))
    found: list[Invariant] = []
    for fn in checks:
        found.extend(fn(obj))
    return found


def missing_mandatory(obj: RMObject) -> list[str]:
    """Names of the RM-mandatory attributes of ``obj`` that are absent (``None``), in attribute order."""
    cls = type(obj)
    required = _required_by_class.get(cls)
    if required is None:
        required = _required_by_class[cls] = tuple(f.name for f in rm_fields(cls) if f.required)
    values = obj.__dict__
    return [name for name in required if values[name] is None]


_NONE: tuple[Invariant, ...] = ()


def _empty_list(obj: RMObject, attribute: str, name: str) -> tuple[Invariant, ...]:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of optional lists."""
    if obj.__dict__[attribute] == []:
        return (Invariant(name, f"{attribute} must be absent or non-empty", attribute),)
    return _NONE


def _empty_string(obj: RMObject, attribute: str, name: str) -> tuple[Invariant, ...]:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of strings."""
    if obj.__dict__[attribute] == "":
        return (Invariant(name, f"{attribute} must not be empty", attribute),)
    return _NONE
