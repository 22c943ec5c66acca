"""ACTION.ism_transition against the template's alternatives (:mod:`cdr.template.validation.ism`).

Each case is the SDK's valid ISM document (``ism_vaild_transition.json``: careflow step at0012, *cancelled*
after *cancel*) with the ISM_TRANSITION changed in the test. The careflow step's text is left to the FLAT
reader, which takes it from the template, as EHRbase's FLAT reader does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdr.template.issues import IssueCode, ValidationIssue
from tests.corpus import CORPUS, require_corpus
from tests.template.validation_corpus import opt

OPT = "ehrbase-openEHR_SDK/test-data/operationaltemplate/test-ism.vitagroup.de.v1.opt"
FLAT = "ehrbase-openEHR_SDK/test-data/composition/flat/simSDT/ism_vaild_transition.json"
KEY = "test-ism.vitagroup.de.v1/medication_management/ism_transition/"
ISM = "/content[openEHR-EHR-ACTION.medication.v1]/ism_transition"
C = IssueCode


def issues_with(
    step: str, state: str, transition: str | None, step_text: str | None = None
) -> list[ValidationIssue]:
    """Validate the valid document with its ISM_TRANSITION replaced (``transition`` None: left out).

    ``step_text`` is set on the composition after reading: the FLAT reader, like EHRbase's, relabels a listed
    code with the template's text, so a wrong text can only reach the validator through canonical data.
    """
    require_corpus()
    from cdr.formats.flat import flat_to_composition
    from cdr.template.validation import validate

    flat: dict[str, Any] = {
        k: v
        for k, v in json.loads((CORPUS / FLAT).read_text(encoding="utf-8")).items()
        if not k.startswith(KEY)
    }
    flat |= {KEY + "careflow_step|code": step, KEY + "careflow_step|terminology": "local"}
    flat |= {KEY + "current_state|code": state, KEY + "current_state|terminology": "openehr"}
    if transition is not None:
        flat |= {KEY + "transition|code": transition, KEY + "transition|terminology": "openehr"}
    template = opt(OPT)
    composition = flat_to_composition(flat, template)
    if step_text is not None:
        (action,) = composition.content or []
        action.ism_transition.careflow_step.value = step_text  # type: ignore[attr-defined]
    return validate(composition, template)


def codes_at(issues: list[ValidationIssue]) -> set[tuple[IssueCode, str]]:
    return {(i.code, i.path) for i in issues}


@pytest.mark.corpus
def test_valid_step_state_and_transition() -> None:
    assert issues_with("at0012", "528", "166") == []


@pytest.mark.corpus
def test_step_and_state_of_different_alternatives_without_transition_are_accepted() -> None:
    # at0109 leads into planned (526); with no transition EHRbase does not pair step and state
    assert issues_with("at0109", "528", None) == []


@pytest.mark.corpus
def test_step_and_state_of_different_alternatives_with_transition_are_refused() -> None:
    # cancel does lead into cancelled, but the template says at0109 leads into planned
    issues = issues_with("at0109", "528", "166")
    assert codes_at(issues) == {(C.ISM_TRANSITION_INVALID, ISM + "/careflow_step")}
    assert "526 (planned)" in issues[0].message and "528 (cancelled)" in issues[0].message


@pytest.mark.corpus
def test_transition_must_lead_into_current_state() -> None:
    # start leads into active, not cancelled; the pairing at0012/cancelled itself is right
    assert codes_at(issues_with("at0012", "528", "540")) == {(C.ISM_TRANSITION_INVALID, ISM + "/transition")}


@pytest.mark.corpus
def test_both_the_machine_and_the_pairing_are_reported() -> None:
    # the SDK's ismTransitionWithInvalidCurrentState: at0109 (planned), active, after cancel
    assert codes_at(issues_with("at0109", "245", "166")) == {
        (C.ISM_TRANSITION_INVALID, ISM + "/transition"),
        (C.ISM_TRANSITION_INVALID, ISM + "/careflow_step"),
    }


@pytest.mark.corpus
def test_careflow_step_must_be_one_of_the_action() -> None:
    issues = issues_with("at9999", "528", None, step_text="Some other step")
    assert codes_at(issues) == {(C.CODE_NOT_ALLOWED, ISM + "/careflow_step/defining_code")}
    # one issue naming the careflow steps of every alternative, not those of one of them
    assert "at0012 (Medication course cancelled)" in issues[0].message and "at0109" in issues[0].message


@pytest.mark.corpus
def test_current_state_must_be_one_some_careflow_step_leads_into() -> None:
    # expired (533) is a state of the ISM, but no careflow step of this ACTION leads into it
    issues = issues_with("at0012", "533", None)
    assert codes_at(issues) == {(C.CODE_NOT_ALLOWED, ISM + "/current_state/defining_code")}
    assert "245" in issues[0].message and "532" in issues[0].message


@pytest.mark.corpus
def test_careflow_step_text_must_be_its_term() -> None:
    # the nearest alternative is the one listing the code: its term is expected, not another's code list
    issues = issues_with("at0012", "528", "166", step_text="Medication recommended")
    assert codes_at(issues) == {(C.TERM_TEXT_MISMATCH, ISM + "/careflow_step/value")}
    assert "Medication course cancelled" in issues[0].message


@pytest.mark.corpus
def test_an_invalid_current_state_is_named_in_ehrbase_words() -> None:
    """EHRbase's COMPOSITION suite looks for "IsmTransition contains invalid current_state" in the 422."""
    for issues in (issues_with("at0109", "245", "166"), issues_with("at0012", "533", None)):
        assert any(i.message.startswith("IsmTransition contains invalid current_state: ") for i in issues)
    assert not any("invalid current_state" in i.message for i in issues_with("at0012", "528", "540"))
