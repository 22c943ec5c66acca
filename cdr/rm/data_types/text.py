"""RM data_types.text: plain and coded text, and codes from terminologies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdr.rm.base import RMObject, mandatory, optional
from cdr.rm.data_types.basic import DataValue

if TYPE_CHECKING:
    from cdr.rm.data_types.uri import DvUri
    from cdr.rm.identification import TerminologyId


class CodePhrase(RMObject):
    """A code from a terminology: ``terminology_id`` and ``code_string``."""

    terminology_id: TerminologyId | None = mandatory()
    code_string: str | None = mandatory()
    preferred_term: str | None = optional("The term the code stands for, as the terminology gives it.")


class TermMapping(RMObject):
    """A mapping of a text to a code of another terminology, with how well it matches."""

    match: str | None = mandatory(description="'>' broader, '<' narrower, '=' equivalent, '?' unknown.")
    purpose: DvCodedText | None = optional("Why the mapping exists (openEHR group 'term mapping purpose').")
    target: CodePhrase | None = mandatory()


class DvText(DataValue):
    """Plain text, possibly with term mappings; a single line (multi-line text is DV_PARAGRAPH)."""

    value: str | None = mandatory()
    hyperlink: DvUri | None = None
    formatting: str | None = optional("Formatting directives, e.g. CSS-like 'font-weight: bold'.")
    mappings: list[TermMapping] | None = None
    language: CodePhrase | None = optional("Language of the text, where it differs from the enclosing entry.")
    encoding: CodePhrase | None = optional("Character set of the text, where it differs from the entry's.")


class DvCodedText(DvText):
    """Text whose meaning is a code from a terminology (``defining_code``)."""

    defining_code: CodePhrase | None = mandatory()


class DvParagraph(DataValue):
    """A logical composite text: several DV_TEXT items."""

    items: list[DvText] | None = mandatory()
