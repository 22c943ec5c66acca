"""The openEHR standard Instruction State Machine (ISM), from the EHR IM section of that name.

ACTION.ism_transition records the state an ACTIVITY is in after a careflow step (``current_state``,
group "instruction states") and, optionally, the transition that got it there (``transition``, group
"instruction transitions"). States and transitions are named here as the spec names them and coded as
the terminology codes them; every function takes either a code (``"526"``) or an English name
(``"planned"``, ``"plan_step"``, ``"plan step"``).

The spec publishes the machine as a figure. The table below is that figure in data form, cross-checked
against the spec text: CANCELLED, ABORTED and COMPLETED are terminal; EXPIRED is pseudo-terminal and
leaves only to a true terminal state (the ``notify_*`` transitions); PLANNED, POSTPONED, SCHEDULED,
ACTIVE and SUSPENDED each have an ``xxx_step`` loop; ``do`` is ``start`` followed at once by ``finish``;
and a first ACTION may take INITIAL to PLANNED, SCHEDULED or ACTIVE (or straight to COMPLETED by ``do``).

>>> ism_transition_allowed("planned", "start", "active")
True
>>> ism_transition_allowed("526", "548", "532")
False
>>> ism_target("active", "finish")
'532'
>>> sorted(ism_transitions_into("completed")) == sorted(["541", "548", "551"])
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Instruction states (terminology group "instruction states").
STATES: Mapping[str, str] = {
    "initial": "524",
    "planned": "526",
    "postponed": "527",
    "cancelled": "528",
    "scheduled": "529",
    "active": "245",
    "suspended": "530",
    "aborted": "531",
    "completed": "532",
    "expired": "533",
}

# Instruction transitions (terminology group "instruction transitions").
TRANSITIONS: Mapping[str, str] = {
    "initiate": "535",
    "plan_step": "536",
    "postpone": "537",
    "restore": "538",
    "cancel": "166",
    "postponed_step": "542",
    "schedule": "539",
    "scheduled_step": "534",
    "start": "540",
    "do": "541",
    "active_step": "543",
    "suspend": "544",
    "suspended_step": "545",
    "resume": "546",
    "abort": "547",
    "finish": "548",
    "time_out": "549",
    "notify_aborted": "550",
    "notify_completed": "551",
    "notify_cancelled": "552",
}

TERMINAL_STATES = frozenset({STATES["cancelled"], STATES["aborted"], STATES["completed"]})
PSEUDO_TERMINAL_STATES = frozenset({STATES["expired"]})

# from state -> transition -> to state, by name.
_MACHINE: Mapping[str, Mapping[str, str]] = {
    "initial": {
        "initiate": "planned",
        "schedule": "scheduled",
        "start": "active",
        "do": "completed",
    },
    "planned": {
        "plan_step": "planned",
        "postpone": "postponed",
        "schedule": "scheduled",
        "start": "active",
        "do": "completed",
        "cancel": "cancelled",
        "time_out": "expired",
    },
    "postponed": {
        "postponed_step": "postponed",
        "restore": "planned",
        "cancel": "cancelled",
        "time_out": "expired",
    },
    "scheduled": {
        "scheduled_step": "scheduled",
        "postpone": "postponed",
        "start": "active",
        "do": "completed",
        "cancel": "cancelled",
        "time_out": "expired",
    },
    "active": {
        "active_step": "active",
        "suspend": "suspended",
        "abort": "aborted",
        "finish": "completed",
        "time_out": "expired",
    },
    "suspended": {
        "suspended_step": "suspended",
        "resume": "active",
        "abort": "aborted",
        "time_out": "expired",
    },
    "expired": {
        "notify_aborted": "aborted",
        "notify_completed": "completed",
        "notify_cancelled": "cancelled",
    },
}

# The same table in codes: from-state code -> transition code -> to-state code.
MACHINE: Mapping[str, Mapping[str, str]] = {
    STATES[src]: {TRANSITIONS[t]: STATES[dst] for t, dst in moves.items()} for src, moves in _MACHINE.items()
}

_STATE_NAMES = {code: name for name, code in STATES.items()}
_TRANSITION_NAMES = {code: name for name, code in TRANSITIONS.items()}


def _name_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def state_code(state: str) -> str | None:
    """The code of a state given as code or English name; None when it is no ISM state."""
    return state if state in _STATE_NAMES else STATES.get(_name_key(state))


def transition_code(transition: str) -> str | None:
    """The code of a transition given as code or English name; None when it is no ISM transition."""
    return transition if transition in _TRANSITION_NAMES else TRANSITIONS.get(_name_key(transition))


def state_name(state: str) -> str | None:
    code = state_code(state)
    return _STATE_NAMES[code] if code else None


def transition_name(transition: str) -> str | None:
    code = transition_code(transition)
    return _TRANSITION_NAMES[code] if code else None


def ism_target(from_state: str, transition: str) -> str | None:
    """The state code that ``transition`` leads to from ``from_state``; None when not allowed."""
    src, move = state_code(from_state), transition_code(transition)
    if src is None or move is None:
        return None
    return MACHINE.get(src, {}).get(move)


def ism_transition_allowed(from_state: str, transition: str, to_state: str) -> bool:
    """Whether the ISM allows ``transition`` from ``from_state`` and lands in ``to_state``."""
    dst = state_code(to_state)
    return dst is not None and ism_target(from_state, transition) == dst


def ism_transitions_into(to_state: str) -> frozenset[str]:
    """Codes of the transitions that can end in ``to_state`` (from some state)."""
    dst = state_code(to_state)
    return frozenset(t for moves in MACHINE.values() for t, target in moves.items() if target == dst)


def ism_transition_consistent(transition: str, current_state: str) -> bool:
    """Whether an ISM_TRANSITION's ``transition`` can have produced its ``current_state``.

    This is the check one ACTION allows on its own, without knowing the Activity's previous state.
    """
    move = transition_code(transition)
    return move is not None and move in ism_transitions_into(current_state)


def is_terminal_state(state: str) -> bool:
    """CANCELLED, ABORTED and COMPLETED: nothing leaves them."""
    return state_code(state) in TERMINAL_STATES
