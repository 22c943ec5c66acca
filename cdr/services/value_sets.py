"""Codes of external value sets (C_CODE_REFERENCE) checked against the configured FHIR terminology server.

The template validator lists these codes instead of judging them (it has no server and stays pure, see
:mod:`cdr.template.validation.coded`); a write asks the server about each, as EHRbase does with its external
terminology validation switched on. A code the server says is not in the set is an issue of the
composition (``CODE_NOT_IN_VALUE_SET``, 422 like every template violation; 400 inside a CONTRIBUTION, as
EHRbase answers there). A code the server could not judge (down, timing out, an unknown value set) goes in
unchecked with a warning in the log, unless ``fail_on_error`` is set: then the write is refused with 503 and
nothing is committed, so unverified codes never enter the record.

Without a configured server (the default) the codes are not checked at all, as in EHRbase by default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cdr.services.errors import Issue, TerminologyUnavailable
from cdr.template.validation import ExternalCode
from cdr.terminology.fhir import FhirTerminologyServer, binding_of

log = logging.getLogger(__name__)

CODE_NOT_IN_VALUE_SET = "CODE_NOT_IN_VALUE_SET"
UNCHECKED = "TERMINOLOGY_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class ExternalTerminology:
    """The terminology server writes are checked against, and whether a code it cannot judge refuses the
    write (``fail_on_error``) or goes in unchecked."""

    server: FhirTerminologyServer
    fail_on_error: bool = False


def check_external_codes(terminology: ExternalTerminology, codes: Sequence[ExternalCode]) -> list[Issue]:
    """The issues of ``codes`` (empty when the server knows every one); raises
    :class:`TerminologyUnavailable` for codes it could not judge when ``fail_on_error`` is set."""
    issues: list[Issue] = []
    unchecked: list[Issue] = []
    for code in codes:
        binding = binding_of(code.reference_set_uri)
        if binding is None:
            continue  # not a FHIR value set: nothing to ask
        verdict = terminology.server.validate_code(binding, code.terminology_id, code.code)
        named = f"code {code.terminology_id}::{code.code}"
        if verdict.valid is False:
            because = f" ({verdict.message})" if verdict.message else ""
            message = f"{named} is not in the {binding}{because}"
            issues.append(Issue(code.path, CODE_NOT_IN_VALUE_SET, message, code.constraint_path or None))
        elif verdict.valid is None:
            message = f"{named} could not be checked against the {binding}: {verdict.message}"
            unchecked.append(Issue(code.path, UNCHECKED, message, code.constraint_path or None))
    if unchecked and terminology.fail_on_error:
        listed = "; ".join(f"{i.path}: {i.message}" for i in unchecked)
        message = f"the terminology server could not check every code: {listed}"
        raise TerminologyUnavailable(message, unchecked)
    for issue in unchecked:
        log.warning("committed unchecked: %s: %s", issue.path, issue.message)
    return issues
