"""Parse cache keyed by the query text.

Applications send the same few queries again and again (stored queries, dashboards), and an ANTLR parse in
Python costs milliseconds; the AST is immutable, so one parsed :class:`aql.ast.Query` can be shared by every
caller and thread. Failed parses are not cached: the error is raised again each time.
"""

from __future__ import annotations

from functools import lru_cache

from aql.ast import Query
from aql.parser import parse_uncached

CACHE_SIZE = 1024


@lru_cache(maxsize=CACHE_SIZE)
def cached_parse(text: str) -> Query:
    """:func:`aql.parser.parse_uncached` memoised on the exact text; least recently used entries go first."""
    return parse_uncached(text)


def clear() -> None:
    """Empty the cache (tests, or after changing what parsing means)."""
    cached_parse.cache_clear()


def info() -> tuple[int, int, int]:
    """(hits, misses, current size) of the cache."""
    stats = cached_parse.cache_info()
    return stats.hits, stats.misses, stats.currsize
