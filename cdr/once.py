"""One-time loads that threads share.

``functools.cache`` does not lock: two threads that ask at the same moment both compute, and each keeps
the object it built while the cache holds one of them. For data whose objects are compared by identity,
or are simply large, the first requests of a freshly started server process (several threads at once)
must all get the same object: :func:`once` computes under a lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def once(load: Callable[[], T]) -> Callable[[], T]:
    """``load()`` computed on the first call, under a lock, and that one result returned ever after (from
    ``functools.cache``, whose look-up is C: the code sets are asked for on every CODE_PHRASE validated)."""
    lock = threading.Lock()
    done: list[T] = []

    @functools.wraps(load)
    def locked() -> T:
        with lock:  # a thread that missed the cache together with another finds its result here
            if not done:
                done.append(load())
            return done[0]

    return functools.cache(locked)
