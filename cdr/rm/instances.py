"""Whether a value is an RM object, and its RM type name, fast: compiled with the validator (see
:mod:`cdr.native`).

``isinstance(x, RMObject)`` asks pydantic's metaclass, an ``ABCMeta``: about 500 instructions per call in
compiled code, and the validator asks several times per RM object. ``type(x).rm_type`` goes through that
metaclass's Python ``__getattr__`` hook (~4x a dict look-up). Every RM class registers itself in
:data:`~cdr.rm.base.RM_CLASSES` and :data:`~cdr.rm.base.RM_TYPE_NAMES`, so hash look-ups answer the same.
"""

from __future__ import annotations

from typing import TypeGuard

from cdr.rm.base import RM_CLASSES, RM_TYPE_NAMES, RMObject


def is_rm(value: object) -> TypeGuard[RMObject]:
    """``isinstance(value, RMObject)``: the value's class is an RM class."""
    return type(value) in RM_CLASSES


def rm_type_of(obj: RMObject) -> str:
    """``type(obj).rm_type``: the spec name of an RM object's class (``DV_CODED_TEXT``)."""
    return RM_TYPE_NAMES[type(obj)]
