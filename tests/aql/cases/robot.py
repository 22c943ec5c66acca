"""Just enough of Robot Framework's variable syntax to replay the EHRbase AQL manifest in-process.

The manifest (``DERIVED_aql_cases.json``) keeps queries, CSV cells and expected files as Robot source text:
``${ehr_id}``, ``${resp_json['uid']['value']}``, ``${versions[0]['id']['value']}``, ``${TRUE}``. Values may be
callables, evaluated on first use.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BUILTINS: dict[str, Any] = {"empty": "", "space": " ", "true": True, "false": False, "none": None}
_ACCESSOR = re.compile(r"""\.json\(\)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))\s*\]""")
_ESCAPES = re.compile(r"(\\+)(n|r|t|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})?")


class Unresolved(Exception):
    """A ``${variable}`` the scope does not define."""


def norm(name: str) -> str:
    """Robot variable names ignore case, spaces and underscores."""
    return name.strip().removeprefix("${").removesuffix("}").lower().replace(" ", "").replace("_", "")


def unescape(text: str) -> str:
    r"""Robot's unescaping of source text: '\\' -> '\', '\n' -> newline, any other '\c' -> 'c'."""

    def repl(m: re.Match[str]) -> str:
        slashes, seq = m.groups()
        half, odd = divmod(len(slashes), 2)
        out = "\\" * half
        if not odd or seq is None:
            return out + (seq or "")
        if seq in "nrt":
            return out + {"n": "\n", "r": "\r", "t": "\t"}[seq]
        return out + chr(int(seq[1:], 16))

    return _ESCAPES.sub(repl, text) if "\\" in text else text


class Variables:
    """A Robot-like variable scope with an optional parent."""

    def __init__(self, parent: Variables | None = None) -> None:
        self.values: dict[str, Any] = {}
        self.parent = parent

    def set(self, name: str, value: Any) -> None:
        self.values[norm(name)] = value

    def raw(self, key: str) -> Any:
        if key in self.values:
            value = self.values[key]
            if callable(value):
                value = self.values[key] = value()
            return value
        if self.parent is not None:
            return self.parent.raw(key)
        raise Unresolved(key)

    def lookup(self, body: str) -> Any:
        body = body.strip()
        if re.fullmatch(r"-?\d+", body):
            return int(body)
        cut = min([i for i in (body.find("["), body.find(".")) if i >= 0], default=len(body))
        base, rest = body[:cut], body[cut:]
        if not rest and norm(base) in _BUILTINS:
            return _BUILTINS[norm(base)]
        value = self.raw(norm(base))
        pos = 0
        while pos < len(rest):
            m = _ACCESSOR.match(rest, pos)
            if not m:
                raise Unresolved(body)
            if m.group(0) != ".json()":
                key = m.group(1) if m.group(1) is not None else m.group(2)
                try:
                    value = value[int(m.group(3))] if m.group(3) is not None else value[key]
                except (KeyError, IndexError, TypeError):
                    raise Unresolved(body) from None
            pos = m.end()
        return value


def _next_variable(text: str, start: int) -> tuple[int, int] | None:
    i = start
    while (i := text.find("${", i)) >= 0:
        k = i
        while k > 0 and text[k - 1] == "\\":
            k -= 1
        if (i - k) % 2:
            i += 2
            continue
        depth = 0
        for j in range(i + 1, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return i, j + 1
        return None
    return None


def interpolate(text: str, scope: Variables, robot_source: bool) -> tuple[str, set[str]]:
    """Replace ``${...}``; unknown ones stay as written and are returned. ``robot_source`` unescapes."""
    out: list[str] = []
    missing: set[str] = set()
    pos = 0
    while span := _next_variable(text, pos):
        start, end = span
        literal = text[pos:start]
        out.append(unescape(literal) if robot_source else literal)
        inner, inner_missing = interpolate(text[start + 2 : end - 1], scope, False)
        try:
            if inner_missing:
                raise Unresolved(min(inner_missing))
            value = scope.lookup(inner)
            out.append(value if isinstance(value, str) else str(value))
        except Unresolved as exc:
            out.append(text[start:end])
            missing.add(str(exc))
        pos = end
    out.append(unescape(text[pos:]) if robot_source else text[pos:])
    return "".join(out), missing


def evaluate(text: str, scope: Variables) -> Any:
    """A Robot argument: a lone ``${var}`` keeps its object, anything else becomes a string."""
    text = re.sub(r"\$\{([^{}]+)\}((?:\[[^\]]*\])+)", r"${\1\2}", text)
    span = _next_variable(text, 0)
    if span == (0, len(text)):
        return scope.lookup(interpolate(text[2:-1], scope, False)[0])
    value, missing = interpolate(text, scope, True)
    if missing:
        raise Unresolved(min(missing))
    return value


def as_received(query: str) -> str:
    """The query as the EHRbase server got it: the body was built by string concatenation, so backslashes
    were read as JSON escapes."""
    if "\\" not in query and '"' not in query:
        return query
    return json.loads(f'"{query}"')
