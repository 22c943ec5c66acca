"""Use cases with no HTTP in them: what the REST API (and the CLI) do with EHRs, compositions, directories,
contributions and templates.

Every function takes the :class:`~cdr.services.core.Services` container and the
:class:`~cdr.services.context.RequestContext` of the caller (principal, commit metadata, policy, access log),
so that the security layer and the AQL endpoints plug in without changing signatures. Modules: :mod:`.ehr`,
:mod:`.ehr_status`, :mod:`.composition`, :mod:`.directory`, :mod:`.contribution`, :mod:`.definition`,
:mod:`.admin`.
"""

from __future__ import annotations

from cdr.services.context import Action, Principal, RequestContext
from cdr.services.core import Services

__all__ = ["Action", "Principal", "RequestContext", "Services"]
