"""The openEHR vocabulary groups: codes, rubrics per language, fallbacks and refusals."""

from __future__ import annotations

import pytest

from cdr.terminology import openehr_terms as terms

# (group, code, English rubric) facts from the openEHR Support Terminology (TERM 3.0.0).
SPEC_FACTS = [
    ("composition category", "431", "persistent"),
    ("composition category", "451", "episodic"),
    ("composition category", "433", "event"),
    ("composition category", "815", "report"),
    ("setting", "225", "home"),
    ("setting", "238", "other care"),
    ("null flavours", "271", "no information"),
    ("null flavours", "253", "unknown"),
    ("null flavours", "272", "masked"),
    ("null flavours", "273", "not applicable"),
    ("instruction states", "524", "initial"),
    ("instruction states", "526", "planned"),
    ("instruction states", "527", "postponed"),
    ("instruction states", "528", "cancelled"),
    ("instruction states", "529", "scheduled"),
    ("instruction states", "245", "active"),
    ("instruction states", "530", "suspended"),
    ("instruction states", "531", "aborted"),
    ("instruction states", "532", "completed"),
    ("instruction states", "533", "expired"),
    ("instruction transitions", "548", "finish"),
    ("instruction transitions", "166", "cancel"),
    ("participation function", "253", "unknown"),
    ("participation mode", "193", "not specified"),
    ("participation mode", "216", "face-to-face communication"),
    ("audit change type", "249", "creation"),
    ("audit change type", "251", "modification"),
    ("audit change type", "523", "deleted"),
    ("version lifecycle state", "532", "complete"),
    ("version lifecycle state", "553", "incomplete"),
    ("attestation reason", "240", "signed"),
    ("attestation reason", "648", "witnessed"),
    ("term mapping purpose", "671", "research study"),
    ("subject relationship", "0", "self"),
    ("subject relationship", "10", "mother"),
    ("event math function", "146", "mean"),
    ("property", "382", "Frequency"),
    ("property", "125", "Pressure"),
]


@pytest.mark.parametrize(("group", "code", "text"), SPEC_FACTS)
def test_spec_rubrics(group: str, code: str, text: str) -> None:
    assert terms.has_code(group, code)
    assert terms.rubric(code, group) == text
    assert terms.rubric_matches(code, group, text, "en")


def test_group_ids_and_names_are_interchangeable() -> None:
    assert terms.codes("composition category") == terms.codes("composition_category")
    assert terms.group("ism_states") is terms.group("instruction states")
    assert terms.group("Instruction-Transitions").group_id == "instruction_transitions"


def test_languages_provided() -> None:
    assert terms.languages()[0] == "en"
    assert set(terms.languages()) == {"en", "es", "ja", "pt", "zh"}
    assert terms.provides_language("pt-BR")
    assert not terms.provides_language("de")


def test_translations() -> None:
    assert terms.rubric("433", "composition category", "es") == "evento"
    assert terms.rubric("431", "composition category", "pt") == "persistente"
    assert terms.rubric("433", "composition category", "ja") == "イベント"
    assert terms.rubric("433", "composition category", "zh") == "事件类"
    assert terms.rubric("225", "setting", "es-UY") == "hogar"
    assert terms.rubrics("225", "setting") == {
        "en": "home",
        "es": "hogar",
        "ja": "居宅",
        "pt": "domiciliar",
        "zh": "住所",
    }


def test_untranslated_terms_fall_back_to_english() -> None:
    # pt marks 451 as "*episodic(en)" and es has no 815 at all: both fall back to English.
    assert "pt" not in terms.rubrics("451", "composition category")
    assert terms.rubric("451", "composition category", "pt") == "episodic"
    assert terms.rubric("815", "composition category", "es") == "report"
    assert terms.rubric_matches("451", "composition category", "episodic", "pt")


def test_languages_without_translation_expect_english() -> None:
    assert terms.rubric_matches("433", "composition category", "event", "de")
    assert terms.rubric_matches("238", "setting", "other care", "ru")
    assert not terms.rubric_matches("433", "composition category", "Ereignis", "de")


def test_rubric_must_match_the_documents_language() -> None:
    assert terms.rubric_matches("433", "composition category", "evento", "es")
    assert not terms.rubric_matches("433", "composition category", "event", "es")
    assert terms.is_acceptable_rubric("433", "composition category", "event")
    assert terms.is_acceptable_rubric("433", "composition category", "evento")
    assert not terms.is_acceptable_rubric("433", "composition category", "persistent")


def test_code_in_several_groups_has_a_rubric_per_group() -> None:
    assert set(terms.group_of("532")) == {"version_lifecycle_state", "instruction_states"}
    assert terms.rubric("532", "version lifecycle state") == "complete"
    assert terms.rubric("532", "instruction states") == "completed"
    assert {"null_flavours", "participation_function", "subject_relationship", "audit_change_type"} <= set(
        terms.group_of("253")
    )


def test_code_for_rubric() -> None:
    assert terms.code_for_rubric("setting", "home") == "225"
    assert terms.code_for_rubric("setting", "hogar") == "225"
    assert terms.code_for_rubric("setting", "hogar", "en") is None
    assert terms.code_for_rubric("setting", "nowhere") is None


@pytest.mark.parametrize(
    ("group", "code"),
    [
        ("composition category", "435"),  # the pre-1.0.2 code for episodic, retired
        ("composition category", "434"),
        ("setting", "226"),
        ("instruction states", "525"),
        ("null flavours", "999"),
        ("setting", ""),
        ("setting", "home"),
    ],
)
def test_unknown_codes_refused(group: str, code: str) -> None:
    assert not terms.has_code(group, code)
    assert terms.rubric(code, group) is None
    assert not terms.rubric_matches(code, group, "home")
    assert not terms.is_acceptable_rubric(code, group, "home")


def test_code_outside_its_group_is_refused() -> None:
    assert terms.has_code("setting", "225")
    assert not terms.has_code("composition category", "225")
    assert terms.group_of("99999") == ()
    assert not terms.has_any_code("99999")


def test_unknown_group_refused() -> None:
    assert not terms.has_code("no such group", "433")
    assert terms.rubric("433", "no such group") is None
    with pytest.raises(terms.UnknownGroup):
        terms.group("no such group")
    with pytest.raises(terms.UnknownGroup):
        terms.codes("countries")  # a code set, not a vocabulary group


def test_every_code_has_an_english_rubric_and_no_untranslated_markers() -> None:
    for gid in terms.group_ids():
        grp = terms.group(gid)
        assert grp.codes, gid
        assert len(set(grp.codes)) == len(grp.codes), gid
        for code in grp.codes:
            assert grp.rubrics["en"][code], (gid, code)
        for lang, by_code in grp.rubrics.items():
            assert set(by_code) <= set(grp.codes), (gid, lang)
            assert not any(r.endswith("(en)") for r in by_code.values()), (gid, lang)


def test_provenance_recorded() -> None:
    src = terms.source()
    assert src["repository"].endswith("openEHR/specifications-TERM")
    assert src["release"] == "3.0.0"
