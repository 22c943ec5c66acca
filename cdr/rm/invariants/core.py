"""The invariant registry: how checks are declared, looked up along the class hierarchy and run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from cdr.rm.base import RMObject, rm_fields


@dataclass(frozen=True, slots=True)
class Invariant:
    """A broken invariant: its spec name, what is wrong, and the attribute it concerns ("" for the node)."""

    name: str
    message: str
    attribute: str = ""


Check = Callable[[RMObject, list[Invariant]], None]
"""A registered check: appends the invariants ``obj`` breaks to the list it is given (one list per object,
no generator per check: a generator object per check and object was a third of the invariants' cost)."""
_CHECKS: dict[type[RMObject], list[Check]] = {}


R = TypeVar("R", bound=RMObject)


def _invariants(
    cls: type[R],
) -> Callable[[Callable[[R, list[Invariant]], None]], Callable[[R, list[Invariant]], None]]:
    """Register a check of ``cls`` (and, through :func:`check`, its subclasses).

    The check is typed with ``cls`` itself: :func:`check` hands it only instances of ``cls``, so it needs
    no ``isinstance`` of its own (compiled, an ``assert isinstance`` per check was an ABC instance check
    per object)."""

    def register(fn: Callable[[R, list[Invariant]], None]) -> Callable[[R, list[Invariant]], None]:
        _CHECKS.setdefault(cls, []).append(cast(Check, fn))
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
        fn(obj, found)
    return found


def missing_mandatory(obj: RMObject) -> list[str]:
    """Names of the RM-mandatory attributes of ``obj`` that are absent (``None``), in attribute order."""
    cls = type(obj)
    required = _required_by_class.get(cls)
    if required is None:
        required = _required_by_class[cls] = tuple(f.name for f in rm_fields(cls) if f.required)
    values = obj.__dict__
    return [name for name in required if values[name] is None]


def _empty_list(obj: RMObject, attribute: str, name: str, out: list[Invariant]) -> None:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of optional lists."""
    if obj.__dict__[attribute] == []:
        out.append(Invariant(name, f"{attribute} must be absent or non-empty", attribute))


def _empty_string(obj: RMObject, attribute: str, name: str, out: list[Invariant]) -> None:
    """The common ``X_valid: x /= Void implies not x.is_empty`` invariant of strings."""
    if obj.__dict__[attribute] == "":
        out.append(Invariant(name, f"{attribute} must not be empty", attribute))
