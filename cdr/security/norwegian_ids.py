"""Norwegian person identifiers: fødselsnummer, D-nummer, H-nummer, felles hjelpenummer, Test-Norge.

Every EHR in a Norwegian municipality is keyed by one of these, so a typo in a subject id is a patient
safety problem (two EHRs for one person, or one EHR for two). We check the structure the issuers define,
which catches every single-digit error and most transpositions, and we never guess.

The facts, from Skatteetaten (folkeregisteret), Direktoratet for e-helse ("Identifikatorer for
personer") and Norsk helsenett:

- **fødselsnummer** (fnr): ``DDMMYY`` + three individual digits + two check digits K1, K2. The weighted
  sum of the first nine digits with 3 7 6 1 8 9 4 5 2, plus K1, is 0 modulo 11; the weighted sum of the
  first ten with 5 4 3 2 7 6 5 4 3 2, plus K2, is 0 modulo 11 (a check digit that would have to be 10
  makes the number unusable).
- **the 2032 rule**: numbers issued from 1 January 2032 may have a K1 for which that first sum is 0, 1,
  2 or 3 modulo 11 (four possible K1 per birth date and individual number); K2 is computed as before.
  Such numbers no longer tell the century, and the individual number no longer tells sex. Existing
  numbers keep their rule, so readers must accept both.
- **century** (numbers issued before 2032): individual number 000-499 means 1900-1999; 500-749 with a
  year of 54 or more means 1854-1899; 500-999 with a year under 40 means 2000-2039; 900-999 with a year
  of 40 or more means 1940-1999.
- **D-nummer** (dnr): like a fnr with 4 added to the first digit of the day (41-71).
- **H-nummer** (hnr): a hjelpenummer internal to one health organisation, like a fnr with 40 added to
  the month (41-52); every other fnr rule applies. NAV's synthetic test numbers use the same +40, so
  they read as H-nummer.
- **felles hjelpenummer** (fhn): Norsk helsenett's shared hjelpenummer, eleven digits starting with 8 or
  9 with the two fnr check digits; the rest is random and carries no birth date.
- **Test-Norge** (Skatteetaten's synthetic population, also used by Norsk helsenett's test
  environments): a fnr or D-nummer with 80 added to the month (81-92), valid check digits. Real people
  never have one.

OIDs used in Norwegian health messaging and FHIR profiles (code system 8116): ``2.16.578.1.12.4.1.4.1``
fødselsnummer, ``.2`` D-nummer, ``.3`` felles hjelpenummer (FHN). An H-nummer is organisation-internal
and has no national OID.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from cdr.errors import InvalidInput

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

# Remainders of (weighted first nine digits + K1) mod 11 that each rule accepts.
_CLASSIC_K1_REMAINDERS = frozenset({0})
_RULE_2032_K1_REMAINDERS = frozenset({0, 1, 2, 3})

_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")

OID_FNR = "2.16.578.1.12.4.1.4.1"
OID_DNR = "2.16.578.1.12.4.1.4.2"
OID_FHN = "2.16.578.1.12.4.1.4.3"


class IdKind(StrEnum):
    """Which kind of person identifier a number is."""

    FNR = "fnr"
    DNR = "dnr"
    HNR = "hnr"
    FHN = "fhn"


class CheckRule(StrEnum):
    """Which K1 rule a number satisfies: the one before 2032, or only the wider one from 2032."""

    CLASSIC = "classic"
    RULE_2032 = "2032"


class PersonId(BaseModel):
    """A structurally valid Norwegian person identifier and what its digits say.

    ``birth_date`` is derived the pre-2032 way and is ``None`` where the digits cannot tell the century
    (numbers that only satisfy the 2032 rule, individual numbers outside the pre-2032 series for that year)
    or carry no date at all (fhn). For numbers issued from 2032 the Folkeregister's birth date is the
    authority.
    """

    model_config = ConfigDict(frozen=True)

    value: str
    kind: IdKind
    synthetic: bool
    check_rule: CheckRule
    birth_date: date | None


def _digits(value: str) -> list[int]:
    return [ord(c) - 48 for c in value]


def k1_remainder(value: str) -> int:
    """``(weighted first nine digits + K1) mod 11``: 0 under the classic rule, 0-3 under the 2032 rule."""
    d = _digits(value)
    return (sum(w * x for w, x in zip(K1_WEIGHTS, d)) + d[9]) % 11


def k2_holds(value: str) -> bool:
    """Whether K2 (the eleventh digit) checks out against the first ten digits; unchanged by the 2032 rule."""
    d = _digits(value)
    return (sum(w * x for w, x in zip(K2_WEIGHTS, d)) + d[10]) % 11 == 0


def century(individual: int, yy: int) -> int | None:
    """The century (1800, 1900, 2000) the pre-2032 series give for an individual number and two-digit year.

    >>> century(123, 85), century(600, 10), century(600, 70), century(950, 45), century(800, 45)
    (1900, 2000, 1800, 1900, None)
    """
    if individual <= 499:
        return 1900
    if yy < 40:
        return 2000
    if individual >= 900:
        return 1900
    if individual <= 749 and yy >= 54:
        return 1800
    return None


def _date_exists(day: int, month: int, yy: int, full_year: int | None) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if full_year is not None:
        return day <= calendar.monthrange(full_year, month)[1]
    # Century unknown: 29 February exists if the two-digit year is a leap year in some century (00: 2000).
    if month == 2:
        return day <= (29 if yy % 4 == 0 else 28)
    return day <= calendar.monthrange(2001, month)[1]


def parse_person_id(value: str) -> PersonId:
    """Read an eleven-digit Norwegian person identifier, or raise :class:`InvalidInput` saying what is wrong.

    Accepts fødselsnummer, D-nummer (day + 40), H-nummer (month + 40), felles hjelpenummer (first digit 8
    or 9) and Test-Norge numbers (month + 80, marked ``synthetic``); fnr and D-nummer under either check
    rule, the health-sector numbers (H-nummer, fhn) under the classic rule only, since their issuers follow
    it.
    """
    if not isinstance(value, str) or not _ELEVEN_DIGITS.fullmatch(value):
        raise InvalidInput("a Norwegian person identifier has exactly 11 digits (0-9), without spaces")
    if not k2_holds(value):
        raise InvalidInput(f"{value}: check digits do not match (second check digit)")
    remainder = k1_remainder(value)
    first = int(value[0])
    if first >= 8:
        if remainder not in _CLASSIC_K1_REMAINDERS:
            raise InvalidInput(f"{value}: check digits do not match (first check digit)")
        return PersonId(
            value=value, kind=IdKind.FHN, synthetic=False, check_rule=CheckRule.CLASSIC, birth_date=None
        )

    day, month, yy, individual = int(value[0:2]), int(value[2:4]), int(value[4:6]), int(value[6:9])
    kind = IdKind.FNR
    if day > 40:
        kind, day = IdKind.DNR, day - 40
    synthetic = False
    if month > 80:
        synthetic, month = True, month - 80
    elif month > 40:
        if kind is IdKind.DNR:
            raise InvalidInput(
                f"{value}: a number cannot be both a D-nummer (day + 40) and an H-nummer (month + 40)"
            )
        kind, month = IdKind.HNR, month - 40

    accepted = _CLASSIC_K1_REMAINDERS if kind is IdKind.HNR else _RULE_2032_K1_REMAINDERS
    if remainder not in accepted:
        raise InvalidInput(f"{value}: check digits do not match (first check digit)")
    rule = CheckRule.CLASSIC if remainder in _CLASSIC_K1_REMAINDERS else CheckRule.RULE_2032

    base = None if rule is CheckRule.RULE_2032 else century(individual, yy)
    full_year = None if base is None else base + yy
    if not _date_exists(day, month, yy, full_year):
        shown = f"{day:02d}.{month:02d}.{full_year if full_year is not None else f'..{yy:02d}'}"
        raise InvalidInput(f"{value}: the birth date {shown} does not exist")
    birth = date(full_year, month, day) if full_year is not None else None
    return PersonId(value=value, kind=kind, synthetic=synthetic, check_rule=rule, birth_date=birth)


def is_valid_person_id(value: str) -> bool:
    """Whether ``value`` is a structurally valid person identifier of any kind (:func:`parse_person_id`)."""
    try:
        parse_person_id(value)
    except InvalidInput:
        return False
    return True


def birth_date(value: str) -> date | None:
    """The birth date a fnr, D-, H- or Test-Norge number encodes, where its digits tell the century."""
    return parse_person_id(value).birth_date


# EHR subject namespaces we recognise, each with the kinds it admits. Names are compared case-insensitively;
# an OID may come bare or as ``urn:oid:...``.
_NAMESPACE_KINDS: dict[str, IdKind] = {
    "fnr": IdKind.FNR,
    "no.fnr": IdKind.FNR,
    OID_FNR: IdKind.FNR,
    "dnr": IdKind.DNR,
    "no.dnr": IdKind.DNR,
    OID_DNR: IdKind.DNR,
    "fhn": IdKind.FHN,
    "no.fhn": IdKind.FHN,
    OID_FHN: IdKind.FHN,
    "hnr": IdKind.HNR,
    "no.hnr": IdKind.HNR,
}

_KIND_NAMES = {
    IdKind.FNR: "fødselsnummer",
    IdKind.DNR: "D-nummer",
    IdKind.HNR: "H-nummer",
    IdKind.FHN: "felles hjelpenummer",
}

SUBJECT_NAMESPACES = frozenset(_NAMESPACE_KINDS) | frozenset(
    f"urn:oid:{oid}" for oid in (OID_FNR, OID_DNR, OID_FHN)
)


def namespace_kind(namespace: str) -> IdKind | None:
    """The identifier kind an EHR subject namespace stands for, or ``None`` for a namespace not ours."""
    key = namespace.strip().lower()
    key = key.removeprefix("urn:oid:")
    return _NAMESPACE_KINDS.get(key)


def validate_subject_id(namespace: str, subject_id: str, *, allow_synthetic: bool = False) -> PersonId | None:
    """Check an EHR subject id against its namespace; ``None`` for namespaces that are not person ids.

    Raises :class:`InvalidInput` when the namespace is one of ours (``fnr``/``no.fnr``/OID ...4.1,
    ``dnr``/...4.2, ``fhn``/...4.3, ``hnr``) and the id is malformed, of another kind than the namespace
    says, or a Test-Norge number while ``allow_synthetic`` is false (production must not mix synthetic and
    real people).
    """
    kind = namespace_kind(namespace)
    if kind is None:
        return None
    try:
        parsed = parse_person_id(subject_id)
    except InvalidInput as exc:
        raise InvalidInput(
            f"subject id in namespace {namespace!r} is not a valid {_KIND_NAMES[kind]}: {exc.message}"
        ) from exc
    if parsed.kind is not kind:
        raise InvalidInput(
            f"subject id in namespace {namespace!r} must be a {_KIND_NAMES[kind]}, "
            f"but {subject_id} is a {_KIND_NAMES[parsed.kind]}"
        )
    if parsed.synthetic and not allow_synthetic:
        raise InvalidInput(
            f"subject id {subject_id} is a synthetic Test-Norge number (month + 80); this server does not "
            "accept synthetic identities"
        )
    return parsed
