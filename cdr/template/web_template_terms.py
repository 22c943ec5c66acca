"""The openEHR terminology rubrics a web template shows as labels (English, as EHRbase gives them).

Only the groups that web template inputs enumerate are listed: composition category, ISM states and
transitions, event math functions and null flavours. Codes and rubrics are from the openEHR terminology
(``openehr_terminology.xml``, group ids in the comments).
"""

from __future__ import annotations

_RUBRICS: dict[str, str] = {
    # composition category
    "431": "persistent", "433": "event", "435": "episodic", "451": "report",
    # instruction states
    "524": "initial", "526": "planned", "527": "postponed", "528": "cancelled", "529": "scheduled",
    "245": "active", "530": "suspended", "531": "aborted", "532": "completed", "533": "expired",
    # instruction transitions
    "535": "initiate", "536": "plan step", "537": "postpone", "538": "restore", "166": "cancel",
    "542": "postponed step", "539": "schedule", "540": "start", "541": "do", "543": "active step",
    "544": "suspend", "545": "suspended step", "546": "resume", "547": "abort", "548": "finish",
    "549": "time out", "550": "notify aborted", "551": "notify completed", "552": "notify cancelled",
    "553": "scheduled step", "554": "start", "555": "cancel", "556": "initial step",
    # event math function
    "144": "maximum", "145": "minimum", "146": "mean", "147": "change", "148": "total", "149": "variation",
    "150": "decrease", "151": "increase", "521": "mode", "522": "median", "640": "actual",
    "267": "point in time",
    # null flavours
    "253": "unknown", "271": "no information", "272": "masked", "273": "not applicable",
}


def openehr_rubric(code: str) -> str | None:
    """The English rubric of an openEHR terminology code, or ``None`` when not listed here."""
    return _RUBRICS.get(code)
