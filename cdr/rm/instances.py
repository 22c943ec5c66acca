"""Whether a value is an RM object, fast: compiled with the validator (see :mod:`cdr.native`).

``isinstance(x, RMObject)`` asks pydantic's metaclass, an ``ABCMeta``: about 500 instructions per call in
compiled code, and the validator asks several times per RM object. Every RM class registers itself in
:data:`~cdr.rm.base.RM_CLASSES`, so the exact type's membership answers the same in one hash look-up.
"""

from __future__ import annotations

from typing import TypeGuard

from cdr.rm.base import RM_CLASSES, RMObject


def is_rm(value: object) -> TypeGuard[RMObject]:
    """``isinstance(value, RMObject)``: the value's class is an RM class."""
    return type(value) in RM_CLASSES
