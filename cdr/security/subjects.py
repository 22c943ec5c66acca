"""Patient identity at EHR creation: subject ids in the Norwegian namespaces must be real, valid numbers.

Two EHRs for one person, or one EHR for two, is a patient-safety risk, so a fødselsnummer, D-nummer,
H-nummer or FH-nummer with a wrong check digit or impossible date is refused (400) where the EHR_STATUS is
checked. Test-Norge numbers are synthetic and refused unless ``CDR_ALLOW_SYNTHETIC_IDS`` is on (test
environments); the variable is read per call so that a deployment cannot forget to pass it through.
"""

from __future__ import annotations

import os

from cdr.errors import InvalidInput
from cdr.security.norwegian_ids import validate_subject_id

ALLOW_SYNTHETIC = "CDR_ALLOW_SYNTHETIC_IDS"


def synthetic_ids_allowed() -> bool:
    return os.environ.get(ALLOW_SYNTHETIC, "").strip().lower() in ("1", "true", "yes", "on")


def subject_id_problem(namespace: str, subject_id: str) -> str | None:
    """Why ``subject_id`` cannot be a subject in ``namespace``, or ``None`` (also for other namespaces).

    >>> subject_id_problem("fnr", "13116900217") is not None
    True
    >>> subject_id_problem("demografi.kommune.example", "anything") is None
    True
    """
    try:
        validate_subject_id(namespace, subject_id, allow_synthetic=synthetic_ids_allowed())
    except InvalidInput as exc:
        return exc.message
    return None
