"""The code sets of the openEHR terminology: self-defining codes used in CODE_PHRASE attributes.

Seven code sets: ISO 3166-1 countries, ISO 639-1 languages, IANA character sets and media types (the
"external" ones), and openEHR's compression algorithms, integrity check algorithms and normal statuses.
Each is found by its openEHR id (``"languages"``, ``"media types"``) or by the terminology id that a
CODE_PHRASE carries (``"ISO_639-1"``, ``"IANA_media-types"``).

Language tags, media types and character sets compare case-insensitively (RFC 5646, RFC 6838, IANA);
the others exactly.

>>> code_set("ISO_639-1").has("en")
True
>>> code_set("countries").has("DE")
True
>>> code_set("media types").has("application/pdf")
True
>>> code_set("languages").has("xx")
False
>>> is_language_tag("de-AT")
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from cdr.errors import CdrError
from cdr.once import once


class UnknownCodeSet(CdrError):
    """A code set name that is not in the openEHR terminology."""


@dataclass(frozen=True, slots=True)
class CodeSet:
    """One code set; ``has`` is a set lookup."""

    code_set_id: str
    external_id: str
    issuer: str
    case_sensitive: bool
    codes: tuple[str, ...]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    _index: frozenset[str] = field(default=frozenset(), repr=False)

    def _key(self, code: str) -> str:
        return code if self.case_sensitive else code.lower()

    def has(self, code: str) -> bool:
        return self._key(code) in self._index

    def description(self, code: str) -> str | None:
        """The code's description where the terminology gives one (countries, languages)."""
        if self.case_sensitive:
            return self.descriptions.get(code)
        wanted = code.lower()
        return next((d for c, d in self.descriptions.items() if c.lower() == wanted), None)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.has(code)

    def __len__(self) -> int:
        return len(self.codes)


@lru_cache(maxsize=1024)  # asked for every CODE_PHRASE a commit validates; the names are few
def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@once
def _load() -> dict[str, CodeSet]:
    text = resources.files("cdr.terminology").joinpath("data/code_sets.json").read_text("utf-8")
    sets: dict[str, CodeSet] = {}
    for ident, body in json.loads(text)["code_sets"].items():
        case_sensitive = bool(body["case_sensitive"])
        codes = tuple(body["codes"])
        index = frozenset(codes if case_sensitive else (c.lower() for c in codes))
        code_set_obj = CodeSet(
            ident,
            body["external_id"],
            body["issuer"],
            case_sensitive,
            codes,
            body.get("descriptions", {}),
            index,
        )
        sets[ident] = code_set_obj
        sets[_key(body["external_id"])] = code_set_obj
    return sets


def code_set(name: str) -> CodeSet:
    """The code set with openEHR id or external (terminology) id ``name``; raises :class:`UnknownCodeSet`."""
    found = _load().get(_key(name))
    if found is None:
        raise UnknownCodeSet(f"no openEHR code set {name!r}")
    return found


def code_set_for_terminology(terminology_id: str) -> CodeSet | None:
    """The code set a CODE_PHRASE's ``terminology_id`` names, or None when it names none."""
    return _load().get(_key(terminology_id))


def code_set_ids() -> tuple[str, ...]:
    """The openEHR ids of every code set."""
    return tuple(dict.fromkeys(cs.code_set_id for cs in _load().values()))


def is_language_tag(tag: str) -> bool:
    """Whether ``tag`` is a listed language, or a listed language followed by an ISO 3166-1 region.

    The openEHR languages code set is RFC 5646 tags built from ISO 639-1 and ISO 3166-1 alpha-2, but
    only lists a selection of regional variants; ``de-DE`` is as valid as the listed ``de-at``.
    """
    languages = code_set("languages")
    if languages.has(tag):
        return True
    primary, sep, region = tag.partition("-")
    return bool(sep) and languages.has(primary) and code_set("countries").has(region.upper())
