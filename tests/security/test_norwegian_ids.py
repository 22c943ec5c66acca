"""Norwegian person identifiers: published examples, numbers built by the issuers' algorithm, failures."""

from __future__ import annotations

import random
from datetime import date

import pytest

from cdr.errors import InvalidInput
from cdr.security.norwegian_ids import (
    CheckRule,
    IdKind,
    birth_date,
    century,
    is_valid_person_id,
    namespace_kind,
    parse_person_id,
    validate_subject_id,
)

# --- an independent generator: the check digits as the issuers describe computing them -------------------


def _check_digit(digits: str, weights: tuple[int, ...], offset: int = 0) -> int | None:
    """``{11, 12, 13, 14} - (weighted sum mod 11)`` per Skatteetaten; 11+ wraps to 0-3; 10 is unusable."""
    k = 11 + offset - sum(int(c) * w for c, w in zip(digits, weights)) % 11
    if k > 10:
        k -= 11
    return None if k == 10 else k


def make_number(ddmmyy: str, individual: int, k1_offset: int = 0) -> str | None:
    """A full number from date digits and individual number, or None when a check digit would be 10."""
    first9 = f"{ddmmyy}{individual:03d}"
    k1 = _check_digit(first9, (3, 7, 6, 1, 8, 9, 4, 5, 2), k1_offset)
    if k1 is None:
        return None
    k2 = _check_digit(first9 + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return None if k2 is None else f"{first9}{k1}{k2}"


def first_usable(ddmmyy: str, individuals: range, k1_offset: int = 0) -> str:
    for individual in individuals:
        number = make_number(ddmmyy, individual, k1_offset)
        if number is not None:
            return number
    raise AssertionError(f"no usable individual number for {ddmmyy}")


# --- published examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "rule", "born"),
    [
        # Skatteetaten's worked examples for the 2032 rule (one classic K1, one with remainder 1).
        ("02013299997", IdKind.FNR, CheckRule.CLASSIC, date(2032, 1, 2)),
        ("30108299920", IdKind.FNR, CheckRule.CLASSIC, date(1982, 10, 30)),
        ("30108299939", IdKind.FNR, CheckRule.RULE_2032, None),
        # Check digit 0 from remainder 0 (11 - 0 = 11 -> 0), a known pitfall of validators.
        ("11111598403", IdKind.FNR, CheckRule.CLASSIC, date(2015, 11, 11)),
        ("23114048690", IdKind.FNR, CheckRule.CLASSIC, date(1940, 11, 23)),
        # 1800s series (individual 500-749, year >= 54).
        ("31129956715", IdKind.FNR, CheckRule.CLASSIC, date(1899, 12, 31)),
    ],
)
def test_published_numbers(value: str, kind: IdKind, rule: CheckRule, born: date | None) -> None:
    parsed = parse_person_id(value)
    assert (parsed.kind, parsed.check_rule, parsed.birth_date, parsed.synthetic) == (kind, rule, born, False)


def test_the_2032_rule_admits_four_first_check_digits_and_no_more() -> None:
    numbers = [make_number("150150", 123, k1_offset) for k1_offset in range(5)]
    assert None not in numbers  # for this date and individual number no check digit comes out as 10
    assert [is_valid_person_id(n) for n in numbers if n] == [True, True, True, True, False]
    assert [parse_person_id(n).check_rule for n in numbers[:4] if n] == [CheckRule.CLASSIC] + [
        CheckRule.RULE_2032
    ] * 3


# --- generated numbers of each kind ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ddmmyy", "individuals", "born"),
    [
        ("010100", range(0, 500), date(1900, 1, 1)),
        ("290200", range(500, 1000), date(2000, 2, 29)),  # 2000 is a leap year
        ("150560", range(900, 1000), date(1960, 5, 15)),
        ("010170", range(0, 500), date(1970, 1, 1)),
        ("311275", range(500, 750), date(1875, 12, 31)),
        ("290296", range(0, 500), date(1996, 2, 29)),
    ],
)
def test_generated_fnr_and_century(ddmmyy: str, individuals: range, born: date) -> None:
    parsed = parse_person_id(first_usable(ddmmyy, individuals))
    assert parsed.kind is IdKind.FNR
    assert parsed.birth_date == born


def test_generated_d_number_h_number_and_fhn() -> None:
    dnr = parse_person_id(first_usable("410170", range(0, 500)))  # day 01 + 40
    assert (dnr.kind, dnr.birth_date) == (IdKind.DNR, date(1970, 1, 1))
    hnr = parse_person_id(first_usable("015270", range(0, 500)))  # month 12 + 40
    assert (hnr.kind, hnr.birth_date) == (IdKind.HNR, date(1970, 12, 1))
    fhn = parse_person_id(first_usable("812345", range(0, 1000)))
    assert (fhn.kind, fhn.birth_date) == (IdKind.FHN, None)


def test_generated_test_norge_numbers_are_synthetic() -> None:
    fnr = parse_person_id(first_usable("109155", range(900, 1000)))  # month 11 + 80
    assert (fnr.kind, fnr.synthetic, fnr.birth_date) == (IdKind.FNR, True, date(1955, 11, 10))
    dnr = parse_person_id(first_usable("508101", range(500, 1000)))  # day 10 + 40, month 01 + 80
    assert (dnr.kind, dnr.synthetic, dnr.birth_date) == (IdKind.DNR, True, date(2001, 1, 10))


def test_random_generated_numbers_all_validate() -> None:
    rng = random.Random(20321)
    checked = 0
    while checked < 300:
        born = date.fromordinal(rng.randint(date(1900, 1, 1).toordinal(), date(2030, 12, 31).toordinal()))
        individual = rng.randint(0, 499) if born.year < 2000 else rng.randint(500, 999)
        number = make_number(born.strftime("%d%m%y"), individual)
        if number is None:
            continue
        assert birth_date(number) == born, number
        checked += 1


def test_every_single_digit_error_is_caught() -> None:
    number = first_usable("240594", range(100, 500))
    for position in range(11):
        for replacement in "0123456789":
            if replacement == number[position]:
                continue
            mutated = number[:position] + replacement + number[position + 1 :]
            try:
                parsed = parse_person_id(mutated)
            except InvalidInput:
                continue
            # A changed K1 may still satisfy the 2032 rule; nothing else may pass.
            assert position == 9 and parsed.check_rule is CheckRule.RULE_2032, mutated


# --- invalid numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0201329999", "11 digits"),
        ("020132999970", "11 digits"),
        ("0201329999a", "11 digits"),
        ("02013 99997", "11 digits"),
        ("٠٢٠١٣٢٩٩٩٩٧", "11 digits"),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("02013299998", "second check digit"),
        ("30108299963", "first check digit"),  # K1 remainder 4: outside even the 2032 rule
    ],
)
def test_malformed_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_person_id(value)


@pytest.mark.parametrize(
    ("ddmmyy", "individuals"),
    [
        ("290201", range(0, 500)),  # 1901 is not a leap year
        ("290200", range(0, 500)),  # nor is 1900
        ("310460", range(0, 500)),  # 31 April
        ("001070", range(0, 500)),  # day 00
        ("011370", range(0, 500)),  # month 13
        ("320170", range(0, 500)),  # day 32
        ("721270", range(0, 500)),  # D-nummer day 32
        ("015370", range(0, 500)),  # H-nummer month 13
        ("019370", range(0, 500)),  # Test-Norge month 13
    ],
)
def test_impossible_dates(ddmmyy: str, individuals: range) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        parse_person_id(first_usable(ddmmyy, individuals))


def test_d_number_and_h_number_together_is_refused() -> None:
    with pytest.raises(InvalidInput, match="both a D-nummer"):
        parse_person_id(first_usable("414170", range(0, 500)))


def test_health_sector_numbers_only_follow_the_classic_rule() -> None:
    with pytest.raises(InvalidInput, match="first check digit"):
        parse_person_id(first_usable("015270", range(0, 500), k1_offset=1))
    with pytest.raises(InvalidInput, match="first check digit"):
        parse_person_id(first_usable("912345", range(0, 1000), k1_offset=2))


def test_century_is_unknown_outside_the_series_and_under_the_2032_rule() -> None:
    assert century(800, 45) is None
    assert parse_person_id(first_usable("010145", range(750, 900))).birth_date is None
    assert parse_person_id(first_usable("010145", range(0, 500), k1_offset=3)).birth_date is None
    # Without a century, 29 February is accepted where the two-digit year is a leap year in some century.
    assert parse_person_id(first_usable("290244", range(750, 900))).birth_date is None
    with pytest.raises(InvalidInput, match="does not exist"):
        parse_person_id(first_usable("290245", range(750, 900)))


# --- subject namespaces ---------------------------------------------------------------------------------

FNR = first_usable("240594", range(100, 500))
DNR = first_usable("640594", range(100, 500))
HNR = first_usable("244594", range(100, 500))
FHN = first_usable("912345", range(0, 1000))
SYNTHETIC = first_usable("248594", range(100, 500))


@pytest.mark.parametrize(
    ("namespace", "value", "kind"),
    [
        ("fnr", FNR, IdKind.FNR),
        ("no.fnr", FNR, IdKind.FNR),
        ("FNR", FNR, IdKind.FNR),
        ("2.16.578.1.12.4.1.4.1", FNR, IdKind.FNR),
        ("urn:oid:2.16.578.1.12.4.1.4.1", FNR, IdKind.FNR),
        ("dnr", DNR, IdKind.DNR),
        ("2.16.578.1.12.4.1.4.2", DNR, IdKind.DNR),
        ("hnr", HNR, IdKind.HNR),
        ("fhn", FHN, IdKind.FHN),
        ("2.16.578.1.12.4.1.4.3", FHN, IdKind.FHN),
    ],
)
def test_subject_ids_in_their_namespace(namespace: str, value: str, kind: IdKind) -> None:
    parsed = validate_subject_id(namespace, value)
    assert parsed is not None and parsed.kind is kind


@pytest.mark.parametrize(
    ("namespace", "value", "message"),
    [
        ("fnr", DNR, "must be a fødselsnummer, but .* is a D-nummer"),
        ("dnr", FNR, "must be a D-nummer"),
        ("2.16.578.1.12.4.1.4.3", HNR, "must be a felles hjelpenummer"),
        ("fnr", FNR[:-1] + str((int(FNR[-1]) + 1) % 10), "not a valid fødselsnummer.*check digit"),
        ("fnr", "1234", "not a valid fødselsnummer.*11 digits"),
        ("fnr", SYNTHETIC, "synthetic Test-Norge"),
    ],
)
def test_subject_ids_refused(namespace: str, value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_subject_id(namespace, value)


def test_synthetic_subjects_when_allowed() -> None:
    parsed = validate_subject_id("fnr", SYNTHETIC, allow_synthetic=True)
    assert parsed is not None and parsed.synthetic


def test_other_namespaces_are_not_ours() -> None:
    assert namespace_kind("local.patients") is None
    assert validate_subject_id("local.patients", "anything at all") is None
