"""DV_STATE against C_DV_STATE: the value must be a state of the archetype's state machine.

A C_DV_STATE (openEHR Archetype Profile 1.4) holds a STATE_MACHINE whose states are named; a DV_STATE
records one state (``value``, a DV_CODED_TEXT) and whether it is terminal (``is_terminal``). One value says
nothing about the order of states over versions, so what can be checked on a single document is:

* the state is one of the machine's states, matched by name against the code (the usual form: the states
  are named by the archetype's at-codes) or else the text of ``value``;
* ``is_terminal`` agrees with the kind of that state (TERMINAL_STATE or NON_TERMINAL_STATE).

EHRbase checks a DV_STATE's value only as a coded text (its DvStateValidator); the state machine is the AOM
rule, and a template that defines one means it. No corpus template has a C_DV_STATE.
"""

from __future__ import annotations

from cdr.rm.base import RMObject
from cdr.template.aom import CDvState, State
from cdr.template.issues import IssueCode
from cdr.template.validation.context import Context
from cdr.template.validation.datapath import DataPath, child


def _state_of(c: CDvState, code: str | None, text: str | None) -> State | None:
    by_name = {s.name: s for s in c.states}
    return by_name.get(code or "") or by_name.get(text or "")


def check_state(obj: RMObject, c: CDvState, path: DataPath | None, ctx: Context) -> None:
    """Report a DV_STATE whose state the machine does not have, or whose terminal flag is wrong."""
    if not c.states:
        return
    d = obj.__dict__
    value = d.get("value")
    if not isinstance(value, RMObject):
        return  # reported as REQUIRED by the RM rules
    text = value.__dict__.get("value")
    phrase = value.__dict__.get("defining_code")
    code = phrase.__dict__.get("code_string") if isinstance(phrase, RMObject) else None
    found = _state_of(c, code, text if isinstance(text, str) else None)
    if found is None:
        names = ", ".join(s.name for s in c.states)
        ctx.add(
            child(path, "value", value),
            IssueCode.STATE_NOT_ALLOWED,
            f"state {code or text!r} is not a state of the template's state machine ({names})",
            c.path,
        )
        return
    terminal = d.get("is_terminal")
    if isinstance(terminal, bool) and terminal != found.terminal:
        kind = "terminal" if found.terminal else "not terminal"
        ctx.add(
            child(path, "is_terminal"),
            IssueCode.STATE_NOT_ALLOWED,
            f"is_terminal is {str(terminal).lower()} but state {found.name!r} is {kind}",
            c.path,
        )
