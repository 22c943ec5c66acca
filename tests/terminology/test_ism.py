"""The openEHR standard Instruction State Machine."""

from __future__ import annotations

import pytest

from cdr.terminology import ism
from cdr.terminology import openehr_terms as terms


def test_state_and_transition_codes_are_the_terminologys() -> None:
    assert set(ism.STATES.values()) == set(terms.codes("instruction states"))
    assert set(ism.TRANSITIONS.values()) == set(terms.codes("instruction transitions"))
    for name, code in ism.STATES.items():
        assert terms.rubric(code, "instruction states") == name
    for name, code in ism.TRANSITIONS.items():
        assert terms.rubric(code, "instruction transitions") == name.replace("_", " ")


@pytest.mark.parametrize(
    ("src", "move", "dst"),
    [
        ("initial", "initiate", "planned"),
        ("initial", "start", "active"),
        ("initial", "do", "completed"),
        ("planned", "plan_step", "planned"),
        ("planned", "postpone", "postponed"),
        ("postponed", "restore", "planned"),
        ("postponed", "postponed step", "postponed"),
        ("planned", "schedule", "scheduled"),
        ("scheduled", "scheduled_step", "scheduled"),
        ("scheduled", "start", "active"),
        ("planned", "start", "active"),
        ("planned", "cancel", "cancelled"),
        ("active", "active_step", "active"),
        ("active", "suspend", "suspended"),
        ("suspended", "resume", "active"),
        ("suspended", "abort", "aborted"),
        ("active", "abort", "aborted"),
        ("active", "finish", "completed"),
        ("active", "time_out", "expired"),
        ("expired", "notify_completed", "completed"),
        ("expired", "notify_aborted", "aborted"),
        ("expired", "notify_cancelled", "cancelled"),
        ("526", "540", "245"),
    ],
)
def test_allowed(src: str, move: str, dst: str) -> None:
    assert ism.ism_transition_allowed(src, move, dst)
    assert ism.ism_target(src, move) == ism.state_code(dst)


@pytest.mark.parametrize(
    ("src", "move", "dst"),
    [
        ("planned", "finish", "completed"),  # finish needs ACTIVE
        ("active", "start", "active"),
        ("active", "restore", "planned"),
        ("suspended", "finish", "completed"),
        ("planned", "start", "completed"),  # right transition, wrong target
        ("postponed", "start", "active"),
        ("expired", "resume", "active"),
        ("initial", "finish", "completed"),
        ("completed", "start", "active"),
        ("planned", "no such move", "planned"),
        ("nowhere", "start", "active"),
        ("planned", "start", "nowhere"),
    ],
)
def test_refused(src: str, move: str, dst: str) -> None:
    assert not ism.ism_transition_allowed(src, move, dst)


def test_terminal_states_have_no_way_out() -> None:
    for state in ("cancelled", "aborted", "completed"):
        assert ism.is_terminal_state(state)
        assert ism.state_code(state) not in ism.MACHINE
    assert not ism.is_terminal_state("expired")
    assert set(ism.MACHINE[ism.STATES["expired"]].values()) == ism.TERMINAL_STATES


def test_every_state_is_reachable_and_every_transition_used() -> None:
    reached = {dst for moves in ism.MACHINE.values() for dst in moves.values()}
    assert reached == set(ism.STATES.values()) - {ism.STATES["initial"]}
    used = {t for moves in ism.MACHINE.values() for t in moves}
    assert used == set(ism.TRANSITIONS.values())


def test_step_transitions_loop() -> None:
    for state in ("planned", "postponed", "scheduled", "active", "suspended"):
        step = "plan_step" if state == "planned" else f"{state}_step"
        assert ism.ism_target(state, step) == ism.STATES[state]


def test_transition_consistent_with_current_state() -> None:
    assert ism.ism_transition_consistent("548", "532")  # finish -> completed
    assert ism.ism_transition_consistent("do", "completed")
    assert not ism.ism_transition_consistent("finish", "planned")
    assert not ism.ism_transition_consistent("999", "532")
    assert ism.ism_transitions_into("initial") == frozenset()


def test_names() -> None:
    assert ism.state_name("245") == "active"
    assert ism.transition_name("166") == "cancel"
    assert ism.state_code("Completed") == "532"
    assert ism.transition_code("time out") == "549"
    assert ism.state_code("548") is None
