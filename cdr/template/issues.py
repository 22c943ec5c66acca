"""Validation issues: what is wrong, where in the data, and which constraint says so.

Validators collect issues instead of raising, so that a client learns every problem in one round trip.
``code`` is a stable enum clients and tests can match on; ``message`` is prose for people.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class IssueCode(StrEnum):
    """Stable identifiers for every kind of validation issue."""

    # structure against the template
    WRONG_TYPE = "WRONG_TYPE"  # RM type does not conform to the constraint's rm_type_name
    REQUIRED = "REQUIRED"  # mandatory attribute (existence 1..1) missing or empty
    NOT_ALLOWED = "NOT_ALLOWED"  # attribute with existence 0..0 present
    OCCURRENCES_TOO_FEW = "OCCURRENCES_TOO_FEW"
    OCCURRENCES_TOO_MANY = "OCCURRENCES_TOO_MANY"
    CARDINALITY_TOO_FEW = "CARDINALITY_TOO_FEW"
    CARDINALITY_TOO_MANY = "CARDINALITY_TOO_MANY"
    NODE_NOT_IN_TEMPLATE = "NODE_NOT_IN_TEMPLATE"  # no constraint matches this node
    ARCHETYPE_NOT_ALLOWED = "ARCHETYPE_NOT_ALLOWED"  # archetype id not admitted by the slot
    ARCHETYPE_ID_MISMATCH = "ARCHETYPE_ID_MISMATCH"
    TEMPLATE_ID_MISMATCH = "TEMPLATE_ID_MISMATCH"
    NAME_MISMATCH = "NAME_MISMATCH"  # template-constrained name not respected
    # data values
    UNIT_NOT_ALLOWED = "UNIT_NOT_ALLOWED"
    MAGNITUDE_OUT_OF_RANGE = "MAGNITUDE_OUT_OF_RANGE"
    PRECISION_MISMATCH = "PRECISION_MISMATCH"
    CODE_NOT_ALLOWED = "CODE_NOT_ALLOWED"
    TERMINOLOGY_MISMATCH = "TERMINOLOGY_MISMATCH"
    TERM_TEXT_MISMATCH = "TERM_TEXT_MISMATCH"
    CODED_TEXT_REQUIRED = "CODED_TEXT_REQUIRED"  # DV_TEXT given where the template requires DV_CODED_TEXT
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"  # ordinal, scale, count, proportion, real, integer
    VALUE_NOT_ALLOWED = "VALUE_NOT_ALLOWED"  # boolean or primitive list constraint
    DATE_TIME_PATTERN = "DATE_TIME_PATTERN"  # partial date/time not allowed by the pattern
    INVALID_DATE_TIME = "INVALID_DATE_TIME"  # not ISO 8601
    DURATION_OUT_OF_RANGE = "DURATION_OUT_OF_RANGE"
    DURATION_FIELD_NOT_ALLOWED = "DURATION_FIELD_NOT_ALLOWED"
    STRING_PATTERN_MISMATCH = "STRING_PATTERN_MISMATCH"
    STRING_NOT_IN_LIST = "STRING_NOT_IN_LIST"
    ISM_TRANSITION_INVALID = "ISM_TRANSITION_INVALID"  # current state / transition / careflow step mismatch
    STATE_NOT_ALLOWED = "STATE_NOT_ALLOWED"  # not a state of the C_DV_STATE machine, or wrong is_terminal
    # the template itself
    UNRESOLVED_REFERENCE = "UNRESOLVED_REFERENCE"  # ARCHETYPE_INTERNAL_REF whose target path names no node
    # reference model
    RM_INVARIANT = "RM_INVARIANT"
    OPENEHR_TERMINOLOGY = "OPENEHR_TERMINOLOGY"  # code not in the openEHR terminology group the RM requires
    OPENEHR_RUBRIC = "OPENEHR_RUBRIC"  # the text of such a code is not its rubric in any language


class ValidationIssue(BaseModel):
    """One thing wrong with an RM object.

    ``path`` is the AQL-style data path of the offending node; ``constraint_path`` the path of the constraint
    in the operational template (empty for RM-only rules).
    """

    model_config = ConfigDict(frozen=True)

    path: str
    code: IssueCode
    message: str
    constraint_path: str = ""
