"""The openEHR Support Terminology: vocabulary groups, their codes and rubrics in each provided language.

Data comes from ``data/openehr_terminology.json``, built by ``scripts/build_terminology.py`` from the
openEHR ``specifications-TERM`` XML (TERM 3.0.0: English plus es, ja, pt and zh translations). It is
loaded once, on first use.

Groups are named as the terminology names them, in either form: the ``openehr_id``
(``"composition_category"``) or the display name (``"composition category"``). A code may belong to
several groups (253 "unknown" is in four; 532 is "complete" as a version lifecycle state but
"completed" as an instruction state), so rubric lookups always take the group.

Languages the terminology does not provide (de, nb, ru, ...) fall back to English, as EHRbase does.

>>> rubric("433", "composition category")
'event'
>>> rubric("433", "composition_category", "es")
'evento'
>>> rubric("433", "composition_category", "de")
'event'
>>> rubric_matches("225", "setting", "hogar", "es")
True
>>> has_code("instruction states", "999")
False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from cdr.errors import CdrError
from cdr.once import once

REFERENCE_LANGUAGE = "en"
TERMINOLOGY_ID = "openehr"

# Names used elsewhere for the same groups: RM constants (Group_id_ism_states) and EHRbase's spellings.
_ALIASES = {
    "ism_states": "instruction_states",
    "ism_transitions": "instruction_transitions",
    "participation_modes": "participation_mode",
    "null_flavour": "null_flavours",
    "event_math_functions": "event_math_function",
    "change_type": "audit_change_type",
    "composition_categories": "composition_category",
    "settings": "setting",
}


class UnknownGroup(CdrError):
    """A group name that is not in the openEHR terminology."""


@dataclass(frozen=True, slots=True)
class Group:
    """One vocabulary group: its codes in terminology order and rubrics per language."""

    group_id: str
    name: str
    codes: tuple[str, ...]
    rubrics: Mapping[str, Mapping[str, str]]  # language -> code -> rubric (translated terms only)

    def has(self, code: str) -> bool:
        return code in self.rubrics[REFERENCE_LANGUAGE]

    def rubric(self, code: str, language: str = REFERENCE_LANGUAGE) -> str | None:
        """The rubric in ``language``, falling back to English when not translated or not provided."""
        translated = self.rubrics.get(primary_language(language), {}).get(code)
        return translated if translated is not None else self.rubrics[REFERENCE_LANGUAGE].get(code)

    def code_for(self, text: str, language: str | None = None) -> str | None:
        """The code whose rubric is ``text`` (in ``language``, or in any language when None)."""
        langs = [primary_language(language)] if language else list(self.rubrics)
        for lang in langs:
            for code, rubric_text in self.rubrics.get(lang, {}).items():
                if rubric_text == text:
                    return code
        return None


@dataclass(frozen=True, slots=True)
class _Terminology:
    languages: tuple[str, ...]
    groups: Mapping[str, Group]
    groups_of_code: Mapping[str, tuple[str, ...]]
    source: Mapping[str, str]


def primary_language(language: str) -> str:
    """The ISO 639-1 primary subtag of a language tag: ``"en-GB"`` -> ``"en"``."""
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


def group_key(group: str) -> str:
    """Normalise a group name or id to the ``openehr_id`` form, resolving known aliases."""
    key = re.sub(r"[\s\-]+", "_", group.strip().lower())
    return _ALIASES.get(key, key)


@once
def _load() -> _Terminology:
    text = resources.files("cdr.terminology").joinpath("data/openehr_terminology.json").read_text("utf-8")
    raw = json.loads(text)
    groups: dict[str, Group] = {}
    groups_of_code: dict[str, list[str]] = {}
    for gid, body in raw["groups"].items():
        codes = tuple(body["codes"])
        rubrics = {
            lang: {code: r for code, r in zip(codes, values, strict=True) if r is not None}
            for lang, values in body["rubrics"].items()
        }
        groups[gid] = Group(gid, body["name"], codes, rubrics)
        for code in codes:
            groups_of_code.setdefault(code, []).append(gid)
    return _Terminology(
        languages=tuple(raw["languages"]),
        groups=groups,
        groups_of_code={code: tuple(gids) for code, gids in groups_of_code.items()},
        source=raw["source"],
    )


def group(group_id_or_name: str) -> Group:
    """The group named ``group_id_or_name``; raises :class:`UnknownGroup` when there is none."""
    found = _load().groups.get(group_key(group_id_or_name))
    if found is None:
        raise UnknownGroup(f"no openEHR terminology group {group_id_or_name!r}")
    return found


def group_ids() -> tuple[str, ...]:
    """Every group id, in terminology order."""
    return tuple(_load().groups)


def languages() -> tuple[str, ...]:
    """Languages the openEHR terminology provides rubrics in (English first)."""
    return _load().languages


def provides_language(language: str) -> bool:
    return primary_language(language) in _load().languages


def source() -> Mapping[str, str]:
    """Where the data came from (repository, revision, release, date)."""
    return _load().source


def codes(group_id_or_name: str) -> tuple[str, ...]:
    """The codes of a group, in terminology order."""
    return group(group_id_or_name).codes


def has_code(group_id_or_name: str, code: str) -> bool:
    """True when ``code`` is in the group (RM ``has_code_for_group_id``); False for unknown groups too."""
    found = _load().groups.get(group_key(group_id_or_name))
    return found is not None and found.has(code)


def has_any_code(code: str) -> bool:
    """True when ``code`` is in some group."""
    return code in _load().groups_of_code


def group_of(code: str) -> tuple[str, ...]:
    """Ids of every group containing ``code`` (empty when none)."""
    return _load().groups_of_code.get(code, ())


def rubric(code: str, group_id_or_name: str, language: str = REFERENCE_LANGUAGE) -> str | None:
    """The rubric of ``code`` in the group, in ``language`` or else English; None if the code is not there."""
    found = _load().groups.get(group_key(group_id_or_name))
    return found.rubric(code, language) if found is not None else None


def rubrics(code: str, group_id_or_name: str) -> dict[str, str]:
    """Every translated rubric of ``code`` in the group, by language."""
    found = group(group_id_or_name)
    return {lang: terms[code] for lang, terms in found.rubrics.items() if code in terms}


def rubric_matches(code: str, group_id_or_name: str, text: str, language: str = REFERENCE_LANGUAGE) -> bool:
    """Whether ``text`` is the rubric expected for ``code`` in a document written in ``language``.

    The expected rubric is the one in that language where the terminology translates the code, else the
    English one: a German composition carries English rubrics, a Spanish one Spanish rubrics.
    """
    expected = rubric(code, group_id_or_name, language)
    return expected is not None and expected == text


def is_acceptable_rubric(code: str, group_id_or_name: str, text: str) -> bool:
    """Whether ``text`` is the rubric of ``code`` in the group in any language the terminology provides."""
    found = _load().groups.get(group_key(group_id_or_name))
    return found is not None and any(terms.get(code) == text for terms in found.rubrics.values())


def code_for_rubric(group_id_or_name: str, text: str, language: str | None = None) -> str | None:
    """The code whose rubric is ``text`` in the group (any language when ``language`` is None)."""
    return group(group_id_or_name).code_for(text, language)
