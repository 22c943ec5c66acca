"""Parsed operational templates, cached: parsing an OPT costs far more than validating a composition.

The cache key is the template id *and* its upload time, so a template replaced through the admin API is
parsed again on first use and a stale parse is never served by :meth:`TemplateRegistry.get`. The commit
path asks :meth:`TemplateRegistry.cached` instead, which skips that look-up (a statement per commit): it
validates against the parse it holds and its write transaction confirms the upload time under the
template row's lock (:class:`StaleTemplate` when another process replaced the template meanwhile).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from cdr.errors import Conflict, NotFound
from cdr.services.errors import UnknownTemplate
from cdr.storage.templates import TemplateStore
from cdr.template import OperationalTemplate, parse_opt

CACHE_SIZE = 64


class TemplateRegistry:
    """Uploaded templates as :class:`OperationalTemplate` objects, least recently used evicted first."""

    def __init__(self, store: TemplateStore, size: int = CACHE_SIZE) -> None:
        self.store = store
        self.size = size
        self._cache: OrderedDict[str, tuple[dt.datetime, OperationalTemplate]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, template_id: str) -> OperationalTemplate:
        """The parsed template; :class:`UnknownTemplate` (422) if it was never uploaded.

        Data naming an unknown template is unprocessable content, not a missing resource, hence not 404.
        """
        return self.checked(template_id)[0]

    def checked(self, template_id: str) -> tuple[OperationalTemplate, dt.datetime]:
        """The parsed template and its upload time, the cache checked against the database."""
        try:
            record = self.store.get(template_id)
        except NotFound:
            raise UnknownTemplate(f"template {template_id!r} has not been uploaded") from None
        with self._lock:
            found = self._cache.get(template_id)
            if found is not None and found[0] == record.uploaded:
                self._cache.move_to_end(template_id)
                return found[1], found[0]
        opt = parse_opt(self.store.opt(template_id).encode("utf-8"))
        with self._lock:
            self._cache[template_id] = (record.uploaded, opt)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return opt, record.uploaded

    def cached(self, template_id: str) -> tuple[OperationalTemplate, dt.datetime]:
        """The parse this process holds and its upload time, without asking the database (as
        :meth:`checked` when it holds none): for a caller that confirms the upload time where it writes."""
        with self._lock:
            found = self._cache.get(template_id)
            if found is not None:
                self._cache.move_to_end(template_id)
                return found[1], found[0]
        return self.checked(template_id)

    def forget(self, template_id: str) -> None:
        with self._lock:
            self._cache.pop(template_id, None)


class StaleTemplate(Conflict):
    """The template was replaced after the data was validated against it (409 if it happens twice)."""
