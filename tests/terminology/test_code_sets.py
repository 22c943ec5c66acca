"""The openEHR code sets: ISO 639-1, ISO 3166-1, IANA and openEHR's own."""

from __future__ import annotations

import pytest

from cdr.terminology import code_set, code_set_for_terminology, code_set_ids, is_language_tag
from cdr.terminology.code_sets import UnknownCodeSet


def test_all_code_sets_present_by_both_names() -> None:
    expected = {
        "languages": "ISO_639-1",
        "countries": "ISO_3166-1",
        "character_sets": "IANA_character-sets",
        "media_types": "IANA_media-types",
        "compression_algorithms": "openehr_compression_algorithms",
        "integrity_check_algorithms": "openehr_integrity_check_algorithms",
        "normal_statuses": "openehr_normal_statuses",
    }
    assert set(code_set_ids()) == set(expected)
    for ident, external in expected.items():
        assert code_set(ident) is code_set(external)
        assert code_set(ident.replace("_", " ")) is code_set(ident)
        assert code_set(ident).external_id == external


@pytest.mark.parametrize(
    ("name", "code", "present"),
    [
        ("ISO_639-1", "en", True),
        ("ISO_639-1", "de", True),
        ("ISO_639-1", "nb", True),
        ("ISO_639-1", "en-GB", True),
        ("ISO_639-1", "EN", True),
        ("ISO_639-1", "xx", False),
        ("ISO_639-1", "eng", False),
        ("ISO_3166-1", "DE", True),
        ("ISO_3166-1", "UY", True),
        ("ISO_3166-1", "SS", True),
        ("ISO_3166-1", "de", False),
        ("ISO_3166-1", "XX", False),
        ("IANA_character-sets", "UTF-8", True),
        ("IANA_character-sets", "utf-8", True),
        ("IANA_character-sets", "ISO-10646-UTF-1", True),
        ("IANA_character-sets", "UTF8", False),
        ("IANA_media-types", "application/pdf", True),
        ("IANA_media-types", "application/dicom", True),
        ("IANA_media-types", "video/H261", True),
        ("IANA_media-types", "Image/JPEG", True),
        ("IANA_media-types", "application/x-nonsense", False),
        ("openehr_compression_algorithms", "gzip", True),
        ("openehr_compression_algorithms", "bzip2", False),
        ("openehr_integrity_check_algorithms", "SHA-256", True),
        ("openehr_integrity_check_algorithms", "SHA-512/256", True),
        ("openehr_integrity_check_algorithms", "MD5", False),
        ("openehr_normal_statuses", "N", True),
        ("openehr_normal_statuses", "HHH", True),
        ("openehr_normal_statuses", "n", False),
        ("openehr_normal_statuses", "HHHH", False),
    ],
)
def test_membership(name: str, code: str, present: bool) -> None:
    assert code_set(name).has(code) is present
    assert (code in code_set(name)) is present


def test_descriptions() -> None:
    assert code_set("countries").description("DE") == "GERMANY"
    assert code_set("languages").description("en-GB") == "English (United Kingdom)"
    assert code_set("countries").description("XX") is None


def test_sizes_are_the_published_ones() -> None:
    assert len(code_set("countries")) == 250
    assert len(code_set("normal statuses")) == 7
    assert len(code_set("character sets")) == 14


def test_terminology_id_lookup() -> None:
    assert code_set_for_terminology("ISO_639-1") is code_set("languages")
    assert code_set_for_terminology("openehr") is None
    assert code_set_for_terminology("SNOMED-CT") is None
    assert code_set_for_terminology("Unicode") is None


def test_unknown_code_set_refused() -> None:
    with pytest.raises(UnknownCodeSet):
        code_set("setting")


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("en", True),
        ("de-AT", True),
        ("de-DE", True),
        ("pt-br", True),
        ("xx-DE", False),
        ("de-XX", False),
        ("", False),
    ],
)
def test_language_tags(tag: str, valid: bool) -> None:
    assert is_language_tag(tag) is valid
