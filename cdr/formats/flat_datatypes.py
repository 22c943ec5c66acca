"""FLAT codecs of the data value types (RM ``data_types``): the suffixes EHRbase's simSDT format uses.

Each reader takes the bare value and ``|suffix`` values of one node and fills in what the template fixes when
the document leaves it out (the single allowed unit, a local code's term text, an ordinal's value from its
code, the terminology of a code list). Each writer is the exact inverse of its reader, so that
canonical -> FLAT -> canonical is stable: whatever a reader would not restore is written out explicitly.

The codecs live in one module per RM package: :mod:`.flat_text` (texts and codes), :mod:`.flat_quantities`
(ordered and quantified values, intervals, reference ranges), :mod:`.flat_date_time` (dates, times,
durations) and :mod:`.flat_basic` (booleans, states, identifiers, URIs, multimedia, parsables, strings).
Importing this module registers all of them; it also re-exports the value builders the FLAT reader and
writer share.
"""

from __future__ import annotations

from cdr.formats import flat_basic, flat_date_time, flat_quantities  # noqa: F401  (register their codecs)
from cdr.formats.flat_text import code_phrase, coded_text, text_value

__all__ = ["code_phrase", "coded_text", "text_value"]
