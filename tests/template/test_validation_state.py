"""DV_STATE against a C_DV_STATE state machine (:mod:`cdr.template.validation.state`).

No corpus or shipped template has a C_DV_STATE, so the machine is built here: *planned* leads to *done*
(terminal), named by at-codes as archetypes name them.
"""

from __future__ import annotations

import pytest

from cdr.rm.data_types.basic import DvState
from cdr.rm.data_types.text import CodePhrase, DvCodedText
from cdr.rm.identification import TerminologyId
from cdr.template.aom import CDvState, State, Transition
from cdr.template.issues import IssueCode
from cdr.template.validation.context import Context
from cdr.template.validation.state import check_state

MACHINE = CDvState(
    "DV_STATE",
    states=[
        State("at0001", [Transition("finish", next_state="at0002")], terminal=False),
        State("at0002", terminal=True),
    ],
    path="/data[at0003]/items[at0004]/value",
)


def state(code: str, text: str, terminal: bool) -> DvState:
    phrase = CodePhrase(terminology_id=TerminologyId(value="local"), code_string=code)
    return DvState(value=DvCodedText(value=text, defining_code=phrase), is_terminal=terminal)


def issues(value: DvState) -> list[tuple[IssueCode, str]]:
    ctx = Context(None)
    check_state(value, MACHINE, None, ctx)
    return [(i.code, i.path) for i in ctx.issues]


@pytest.mark.parametrize(("code", "terminal"), [("at0001", False), ("at0002", True)])
def test_states_of_the_machine_are_accepted(code: str, terminal: bool) -> None:
    assert issues(state(code, "any text", terminal)) == []


def test_state_outside_the_machine() -> None:
    assert issues(state("at0009", "lost", False)) == [(IssueCode.STATE_NOT_ALLOWED, "/value")]


def test_terminal_flag_must_match_the_state() -> None:
    assert issues(state("at0002", "done", False)) == [(IssueCode.STATE_NOT_ALLOWED, "/is_terminal")]
    assert issues(state("at0001", "planned", True)) == [(IssueCode.STATE_NOT_ALLOWED, "/is_terminal")]
