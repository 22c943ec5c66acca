"""RM data_types.encapsulated: content carried as bytes or text in a formalism (images, documents, GTS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import mandatory, optional
from cdr.rm.data_types.basic import DataValue

if TYPE_CHECKING:
    from cdr.rm.data_types.text import CodePhrase
    from cdr.rm.data_types.uri import DvUri


class DvEncapsulated(DataValue):
    """Data in a format not otherwise modelled in openEHR."""

    rm_abstract: ClassVar[bool] = True

    charset: CodePhrase | None = optional("Character set of text content (IANA character sets).")
    language: CodePhrase | None = optional("Language of text content (ISO 639-1).")


class DvMultimedia(DvEncapsulated):
    """Multimedia content, inline (``data``, base64 in JSON) or external (``uri``)."""

    alternate_text: str | None = optional("Text to show in place of the content.")
    uri: DvUri | None = optional("Location of the content when it is not inline.")
    data: str | None = optional("The content itself, base64-encoded.")
    media_type: CodePhrase | None = mandatory(description="IANA media type, e.g. 'image/png'.")
    compression_algorithm: CodePhrase | None = None
    integrity_check: str | None = optional("Binary digest of the data, base64-encoded.")
    integrity_check_algorithm: CodePhrase | None = None
    size: int | None = mandatory(description="Size of the original content in bytes.")
    thumbnail: DvMultimedia | None = None


class DvParsable(DvEncapsulated):
    """Text in a named formalism, e.g. a timing expression or GLIF workflow."""

    value: str | None = mandatory()
    formalism: str | None = mandatory(description="Name of the formalism, e.g. 'GLIF 1.0', 'timing'.")
    size: int | None = optional("Size in bytes of the parsable text (ITS-XML only).")
