"""cdr: an openEHR Clinical Data Repository."""

from cdr.native import use_sources_if_stale

__version__ = "0.1.0"

use_sources_if_stale()  # before any other cdr module is imported: see cdr/native.py
