"""JSON text in and out, fast: orjson where it can, the standard library where orjson refuses.

Compositions are read and written as tens of kilobytes of JSON on every request; the standard library's
encoder and decoder were a quarter of a read's CPU. orjson gives the same documents (compact separators,
non-ASCII kept as UTF-8, key order kept) several times faster. It refuses integers beyond 64 bits, which
no RM attribute can hold but a malformed body may, so encoding falls back to :mod:`json` for those; and it
reads such integers as floats: request bodies go through :mod:`cdr.formats.canonical_json`, whose reader
refuses them in integer attributes, and this decoder serves stored, already validated documents.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # an integer beyond 64 bits, or a type orjson does not know
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps_text(value: Any) -> str:
    """Compact JSON text of ``value``, non-ASCII kept (the stored form of every JSON column)."""
    return dumps_bytes(value).decode("utf-8")


def loads(text: str | bytes) -> Any:
    """The value of a stored JSON document."""
    return orjson.loads(text)
