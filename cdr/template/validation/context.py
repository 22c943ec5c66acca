"""The state of one validation run: the template, the profile, the composition's language, and the issues
collected."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdr.template.aom import OperationalTemplate
from cdr.template.issues import IssueCode, ValidationIssue
from cdr.template.validation.datapath import DataPath, render
from cdr.template.validation.profile import STRICT, ValidationProfile


@dataclass(frozen=True, slots=True)
class ExternalCode:
    """A code the template binds to an external value set (a C_CODE_REFERENCE's ``reference_set_uri``): only a
    terminology server can tell whether it belongs, so the walk lists it for the caller to ask one."""

    path: str
    reference_set_uri: str
    terminology_id: str
    code: str
    constraint_path: str


@dataclass(slots=True)
class Context:
    """Passed down the walk; ``language`` is the data's language (for term texts), ``profile`` the departures
    from the strict rules that this run allows (:mod:`.profile`), ``issues`` the result, ``external`` (when
    the caller gives a list) the codes of external value sets met on the way."""

    opt: OperationalTemplate | None
    language: str | None = None
    profile: ValidationProfile = STRICT
    issues: list[ValidationIssue] = field(default_factory=list)
    external: list[ExternalCode] | None = None

    def add(
        self, path: DataPath | str | None, code: IssueCode, message: str, constraint_path: str = ""
    ) -> None:
        text = path if isinstance(path, str) else render(path)
        self.issues.append(
            ValidationIssue(path=text, code=code, message=message, constraint_path=constraint_path)
        )


def interval_text(
    lower: object, upper: object, lower_included: bool = True, upper_included: bool = True
) -> str:
    """``1..5``, ``0..*``, ``>0..<100``: an interval the way ADL writes it."""
    lo = "*" if lower is None else ("" if lower_included else ">") + _num(lower)
    hi = "*" if upper is None else ("" if upper_included else "<") + _num(upper)
    return f"{lo}..{hi}"


def _num(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
