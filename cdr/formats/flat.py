"""FLAT (simSDT) and STRUCTURED (structSDT) compositions: the public entry points.

Both formats are keyed by the web template ids of the composition's template (EHRbase's simplified formats):

>>> from cdr.formats.flat import flat_to_composition, composition_to_flat  # doctest: +SKIP

* :func:`flat_to_composition` / :func:`composition_to_flat` -- FLAT <-> canonical (:mod:`.flat_reader`,
  :mod:`.flat_writer`);
* :func:`structured_to_composition` / :func:`composition_to_structured` -- STRUCTURED <-> canonical
  (:mod:`.structured`);
* :func:`flat_format_of` tells the simplified formats apart, so that a legacy path-value (ECISFLAT) document
  or a STRUCTURED one sent as FLAT gets a clear error.

Everything that does not fit the template raises :class:`cdr.errors.FormatError` naming the offending key.
"""

from __future__ import annotations

from typing import Any, Literal

from cdr.formats.flat_keys import CTX_PREFIX, ecisflat_reason
from cdr.formats.flat_reader import flat_to_composition
from cdr.formats.flat_writer import composition_to_flat
from cdr.formats.structured import composition_to_structured, structured_to_composition

__all__ = [
    "composition_to_flat",
    "composition_to_structured",
    "flat_format_of",
    "flat_to_composition",
    "structured_to_composition",
]

SimplifiedFormat = Literal["FLAT", "STRUCTURED", "ECISFLAT", "UNKNOWN"]


def flat_format_of(doc: Any) -> SimplifiedFormat:
    """Which simplified format a JSON document is in, judged by the shape of its keys and values."""
    if not isinstance(doc, dict) or not doc:
        return "UNKNOWN"
    if ecisflat_reason(doc) is not None:
        return "ECISFLAT"
    body = {k: v for k, v in doc.items() if not k.startswith(CTX_PREFIX) and k != "ctx"}
    if not body:
        return "UNKNOWN"
    if all("/" not in k and isinstance(v, (dict, list)) for k, v in body.items()):
        return "STRUCTURED"
    if all(
        not isinstance(v, (dict, list)) or (isinstance(v, dict) and set(v) <= {"year", "month", "day"})
        for v in body.values()
    ):
        return "FLAT"
    return "UNKNOWN"
