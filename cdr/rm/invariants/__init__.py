"""RM class invariants, checked one node at a time and returned as data.

:func:`check` runs, for one RM object, the invariants of its class and of all its ancestors, under the names
the RM specification gives them (``Valid_denominator``, ``Limits_consistent``...). It never raises and never
descends into children: the validator walks the tree, calls it on every node and turns the results into
``RM_INVARIANT`` issues. :func:`missing_mandatory` lists the mandatory attributes a node lacks (readers are
lenient and leave them ``None``).

Invariants that need the openEHR terminology (composition category, event context setting, ISM states,
null flavours, change types...) are not here: the validator checks them against :mod:`cdr.terminology`.
"""

from __future__ import annotations

from cdr.rm.invariants import common, data_types, structure
from cdr.rm.invariants.common import is_valid_uid
from cdr.rm.invariants.core import Invariant, check, missing_mandatory

__all__ = ["Invariant", "check", "common", "data_types", "is_valid_uid", "missing_mandatory", "structure"]
