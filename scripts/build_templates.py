"""Build the operational templates and test compositions that cdr ships.

One description of the municipal vital-signs / NEWS2 template (Norwegian municipal care: home care, nursing
homes, GPs) produces two OPT 1.4 files, one with template language nb and one with en, so that the two never
drift apart. The same description drives the test compositions under ``tests/data/``: the valid ones are built
from clinical scenarios, and each invalid one is the normal scenario with exactly one mutation whose expected
validation issue (code and data path) is written beside it.

Archetype ids, at-codes and term meanings are facts from the CKM archetypes; the constraints, the Norwegian
terms and all data are ours. Run ``python scripts/build_templates.py`` after changing anything here; the
generated files are committed and ``tests/test_shipped_data.py`` checks them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
COMPOSITIONS = REPO / "tests" / "data" / "compositions"
EHR_STATUS = REPO / "tests" / "data" / "ehr_status"

NS = "http://schemas.openehr.org/v1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"  # slot assertions type their leaf as xs:string
UNBOUNDED = None  # upper bound of an open interval

# ---------------------------------------------------------------------------------------------------------
# Terms: code -> (en text, en description, nb text, nb description), per archetype
# ---------------------------------------------------------------------------------------------------------

Term = tuple[str, str, str, str]
INTERNAL: Term = ("Tree", "@ internal @", "Tre", "@ internal @")

ENCOUNTER = "openEHR-EHR-COMPOSITION.encounter.v1"
RESPIRATION = "openEHR-EHR-OBSERVATION.respiration.v1"
PULSE_OXIMETRY = "openEHR-EHR-OBSERVATION.pulse_oximetry.v1"
INSPIRED_OXYGEN = "openEHR-EHR-CLUSTER.inspired_oxygen.v1"
BLOOD_PRESSURE = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
PULSE = "openEHR-EHR-OBSERVATION.pulse.v1"
BODY_TEMPERATURE = "openEHR-EHR-OBSERVATION.body_temperature.v2"
ACVPU = "openEHR-EHR-OBSERVATION.acvpu.v1"
NEWS2 = "openEHR-EHR-OBSERVATION.news2.v1"

TERMS: dict[str, dict[str, Term]] = {
    ENCOUNTER: {
        # at0000 is renamed to the template's name, as template tools do for the root archetype
        "at0000": (
            "Municipal vital signs and NEWS2",
            "Vital signs and NEWS2 early warning score recorded in municipal health and care services.",
            "Kommunale vitalparametre og NEWS2",
            "Vitalparametre og NEWS2-skår registrert i kommunale helse- og omsorgstjenester.",
        ),
        "at0001": INTERNAL,
        "at0002": (
            "Extension",
            "Additional information required to extend the model with local content.",
            "Tilleggsinformasjon",
            "Ytterligere informasjon som trengs for å utvide modellen med lokalt innhold.",
        ),
    },
    RESPIRATION: {
        "at0000": (
            "Respiration",
            "The observed characteristics of spontaneous breathing.",
            "Respirasjon",
            "Observerte egenskaper ved spontan respirasjon.",
        ),
        "at0001": ("history", "@ internal @", "historikk", "@ internal @"),
        "at0002": ("Any event", "Generic event.", "Uspesifisert hendelse", "Generell hendelse."),
        "at0003": ("List", "@ internal @", "Liste", "@ internal @"),
        "at0004": ("Rate", "Rate of respiration.", "Frekvens", "Respirasjonsfrekvens."),
        "at0022": ("List", "@ internal @", "Liste", "@ internal @"),
        "at0057": INTERNAL,
    },
    PULSE_OXIMETRY: {
        "at0000": (
            "Pulse oximetry",
            "Blood oxygen and related measurements, measured by pulse oximetry.",
            "Pulsoksymetri",
            "Oksygenmetning i blodet og relaterte målinger, målt med pulsoksymetri.",
        ),
        "at0001": ("Event Series", "@ internal @", "Hendelsesserie", "@ internal @"),
        "at0002": (
            "Any event",
            "Default, unspecified point in time or interval event.",
            "Uspesifisert hendelse",
            "Standard, uspesifisert tidspunkt eller tidsintervall.",
        ),
        "at0003": INTERNAL,
        "at0006": (
            "SpO₂",
            "The saturation of oxygen in the peripheral blood, measured via pulse oximetry.",
            "SpO₂",
            "Oksygenmetningen i perifert blod, målt med pulsoksymetri.",
        ),
        "at0007": ("List", "@ internal @", "Liste", "@ internal @"),
        "at0014": INTERNAL,
        "at0015": (
            "Inspired oxygen",
            "Details of the amount of oxygen available to the subject at the time of observation.",
            "Inspirert oksygen",
            "Detaljer om mengden oksygen tilgjengelig for individet på tidspunktet for observasjonen.",
        ),
    },
    INSPIRED_OXYGEN: {
        "at0000": (
            "Inspired oxygen",
            "The amount of oxygen being delivered to the patient.",
            "Inspirert oksygen",
            "Mengden oksygen som gis til pasienten.",
        ),
        "at0051": (
            "Flow rate",
            "Oxygen flow rate given to an individual.",
            "Oksygenstrøm",
            "Oksygenstrømmen som gis til individet.",
        ),
        "at0054": (
            "Method of oxygen delivery",
            "The method used to deliver the oxygen.",
            "Administrasjonsmåte",
            "Metoden som brukes for å gi oksygen.",
        ),
        "at0057": (
            "On air",
            "The patient is breathing room air, without supplemental oxygen.",
            "Romluft",
            "Pasienten puster romluft, uten tilført oksygen.",
        ),
    },
    BLOOD_PRESSURE: {
        "at0000": (
            "Blood pressure",
            "The local measurement of arterial blood pressure.",
            "Blodtrykk",
            "Lokal måling av arterielt blodtrykk.",
        ),
        "at0001": ("History", "History structural node.", "Historikk", "Strukturelt element for historikk."),
        "at0003": ("blood pressure", "@ internal @", "blodtrykk", "@ internal @"),
        "at0004": (
            "Systolic",
            "Peak systemic arterial blood pressure, measured in the contraction phase of the heart cycle.",
            "Systolisk",
            "Høyeste systemiske arterielle blodtrykk, målt i hjertesyklusens kontraksjonsfase.",
        ),
        "at0005": (
            "Diastolic",
            "Minimum systemic arterial blood pressure, measured in the relaxation phase of the heart cycle.",
            "Diastolisk",
            "Laveste systemiske arterielle blodtrykk, målt i hjertesyklusens avslapningsfase.",
        ),
        "at0006": (
            "Any event",
            "Default, unspecified point in time or interval event.",
            "Uspesifisert hendelse",
            "Standard, uspesifisert tidspunkt eller tidsintervall.",
        ),
        "at0007": ("state structure", "@ internal @", "tilstandsstruktur", "@ internal @"),
        "at0008": (
            "Position",
            "The position of the individual at the time of measurement.",
            "Kroppsstilling",
            "Individets kroppsstilling under målingen.",
        ),
        "at0011": ("Tree", "List structure.", "Tre", "Listestruktur."),
        "at0033": (
            "Comment",
            "Additional narrative about the measurement, not captured in other fields.",
            "Kommentar",
            "Ytterligere fritekst om målingen, som ikke er registrert i andre felt.",
        ),
        "at1000": ("Standing", "Standing at the time of measurement.", "Stående", "Stående under målingen."),
        "at1001": ("Sitting", "Sitting at the time of measurement.", "Sittende", "Sittende under målingen."),
        "at1002": (
            "Reclining",
            "Reclining at the time of measurement.",
            "Halvsittende",
            "Halvsittende (tilbakelent) under målingen.",
        ),
        "at1003": (
            "Lying",
            "Lying flat at the time of measurement.",
            "Liggende",
            "Flatt liggende under målingen.",
        ),
        "at1025": (
            "Device",
            "Details about the device used to measure the blood pressure.",
            "Apparat",
            "Detaljer om apparatet som ble brukt til å måle blodtrykket.",
        ),
    },
    PULSE: {
        "at0000": (
            "Pulse/Heart beat",
            "The rate and associated attributes for a pulse or heart beat.",
            "Puls/hjerteslag",
            "Frekvens og tilhørende egenskaper for puls eller hjerteslag.",
        ),
        "at0001": ("structure", "@ internal @", "struktur", "@ internal @"),
        "at0002": ("history", "@ internal @", "historikk", "@ internal @"),
        "at0003": (
            "Any event",
            "Default, unspecified point in time or interval event.",
            "Uspesifisert hendelse",
            "Standard, uspesifisert tidspunkt eller tidsintervall.",
        ),
        "at0004": (
            "Rate",
            "The rate, measured in beats per minute.",
            "Frekvens",
            "Frekvensen, i slag per minutt.",
        ),
        "at1026": (
            "Pulse rate",
            "The pulse rate, measured in beats per minute.",
            "Pulsfrekvens",
            "Pulsfrekvensen, i slag per minutt.",
        ),
        "at1027": (
            "Heart rate",
            "The heart rate, measured in beats per minute.",
            "Hjertefrekvens",
            "Hjertefrekvensen, i slag per minutt.",
        ),
    },
    BODY_TEMPERATURE: {
        "at0000": (
            "Body temperature",
            "A measurement of the body temperature, a surrogate for the core body temperature.",
            "Kroppstemperatur",
            "Måling av kroppstemperaturen, som et surrogat for kjernetemperaturen.",
        ),
        "at0001": INTERNAL,
        "at0002": ("History", "@ internal @", "Historikk", "@ internal @"),
        "at0003": (
            "Any event",
            "Default, unspecified point in time or interval event.",
            "Uspesifisert hendelse",
            "Standard, uspesifisert tidspunkt eller tidsintervall.",
        ),
        "at0004": (
            "Temperature",
            "The measured body temperature.",
            "Temperatur",
            "Den målte kroppstemperaturen.",
        ),
    },
    ACVPU: {
        "at0000": (
            "ACVPU scale",
            "Simple scale used to measure and record an individual's level of consciousness.",
            "ACVPU-skala",
            "Enkel skala for å måle og registrere et individs bevissthetsnivå.",
        ),
        "at0001": ("Event Series", "@ internal @", "Hendelsesserie", "@ internal @"),
        "at0002": (
            "Any point in time event",
            "Default, unspecified point in time event.",
            "Uspesifisert tidspunkt",
            "Standard, uspesifisert tidspunkt.",
        ),
        "at0003": INTERNAL,
        "at0004": (
            "ACVPU",
            "The assessment of the patient's level of consciousness.",
            "ACVPU",
            "Vurdering av pasientens bevissthetsnivå.",
        ),
        "at0005": ("Alert", "Fully awake.", "Våken", "Helt våken."),
        "at0006": (
            "Voice",
            "Any verbal, motor or eye response to a voice stimulus.",
            "Reagerer på tiltale",
            "Verbal, motorisk eller øyerespons på tiltale.",
        ),
        "at0007": (
            "Pain",
            "Any verbal, motor or eye response to a pain stimulus.",
            "Reagerer på smerte",
            "Verbal, motorisk eller øyerespons på smertestimulus.",
        ),
        "at0008": (
            "Unresponsive",
            "No response to voice or pain stimuli.",
            "Ingen respons",
            "Ingen respons på tiltale eller smertestimulus.",
        ),
        "at0015": (
            "Confusion",
            "A new onset or worsening confusion, delirium or other altered mentation.",
            "Nyoppstått forvirring",
            "Nyoppstått eller forverret forvirring, delirium eller annen endret mental status.",
        ),
    },
    NEWS2: {
        "at0000": (
            "NEWS2 Score",
            "A simple assessment score used to identify clinical deterioration in a patient.",
            "NEWS2-skår",
            "Enkel skår for å oppdage klinisk forverring hos en pasient.",
        ),
        "at0001": ("Event Series", "@ internal @", "Hendelsesserie", "@ internal @"),
        "at0002": (
            "Any point in time event",
            "Default, unspecified point in time event.",
            "Uspesifisert tidspunkt",
            "Standard, uspesifisert tidspunkt.",
        ),
        "at0003": INTERNAL,
        "at0004": (
            "Systolic blood pressure",
            "Category for the systolic blood pressure measurement.",
            "Systolisk blodtrykk",
            "Kategori for målt systolisk blodtrykk.",
        ),
        "at0005": ("Pulse", "Category for the pulse measurement.", "Puls", "Kategori for målt puls."),
        "at0006": (
            "Respiration rate",
            "Category for the respiratory rate measurement.",
            "Respirasjonsfrekvens",
            "Kategori for målt respirasjonsfrekvens.",
        ),
        "at0007": (
            "Temperature",
            "Range category for the body temperature measurement.",
            "Temperatur",
            "Kategori for målt kroppstemperatur.",
        ),
        "at0008": (
            "Consciousness",
            "Category for the observed conscious state, using the ACVPU scale.",
            "Bevissthetsnivå",
            "Kategori for observert bevissthetsnivå etter ACVPU-skalaen.",
        ),
        "at0010": (
            "≤40",
            "Pulse less than or equal to 40 beats/min.",
            "≤40",
            "Puls 40 slag/min eller lavere.",
        ),
        "at0011": (
            "111-130",
            "Pulse between 111 and 130 beats/min.",
            "111-130",
            "Puls mellom 111 og 130 slag/min.",
        ),
        "at0012": ("41-50", "Pulse between 41 and 50 beats/min.", "41-50", "Puls mellom 41 og 50 slag/min."),
        "at0013": ("51-90", "Pulse between 51 and 90 beats/min.", "51-90", "Puls mellom 51 og 90 slag/min."),
        "at0014": (
            "111-219",
            "Systolic pressure between 111 and 219 mmHg.",
            "111-219",
            "Systolisk trykk 111-219 mmHg.",
        ),
        "at0015": (
            "101-110",
            "Systolic pressure between 101 and 110 mmHg.",
            "101-110",
            "Systolisk trykk 101-110 mmHg.",
        ),
        "at0016": (
            "91-100",
            "Systolic pressure between 91 and 100 mmHg.",
            "91-100",
            "Systolisk trykk 91-100 mmHg.",
        ),
        "at0017": (
            "≤90",
            "Systolic pressure less than or equal to 90 mmHg.",
            "≤90",
            "Systolisk trykk 90 mmHg eller lavere.",
        ),
        "at0018": (
            "12-20",
            "Respiratory rate between 12 and 20 /min.",
            "12-20",
            "Respirasjonsfrekvens 12-20 /min.",
        ),
        "at0019": (
            "9-11",
            "Respiratory rate between 9 and 11 /min.",
            "9-11",
            "Respirasjonsfrekvens 9-11 /min.",
        ),
        "at0020": (
            "21-24",
            "Respiratory rate between 21 and 24 /min.",
            "21-24",
            "Respirasjonsfrekvens 21-24 /min.",
        ),
        "at0021": (
            "≤8",
            "Respiratory rate less than or equal to 8 /min.",
            "≤8",
            "Respirasjonsfrekvens 8 /min eller lavere.",
        ),
        "at0022": (
            "36.1-38.0",
            "Body temperature between 36.1 and 38.0 °C.",
            "36,1-38,0",
            "Temperatur 36,1-38,0 °C.",
        ),
        "at0023": (
            "35.1-36.0",
            "Body temperature between 35.1 and 36.0 °C.",
            "35,1-36,0",
            "Temperatur 35,1-36,0 °C.",
        ),
        "at0024": (
            "Alert",
            "The patient is alert; scored as 0 points.",
            "Våken",
            "Pasienten er våken; gir 0 poeng.",
        ),
        "at0025": (
            "C, V, P or U",
            "Newly confused, responds only to voice or pain, or unresponsive; scored as 3 points.",
            "C, V, P eller U",
            "Nyoppstått forvirring, reagerer kun på tiltale eller smerte, eller ingen respons; gir 3 poeng.",
        ),
        "at0028": (
            "Total score",
            "The sum of points assigned for each of the component variables.",
            "Totalskår",
            "Summen av poengene for hver av delparametrene.",
        ),
        "at0029": (
            "SpO₂ Scale 1",
            "Category for the oxygen saturation measurement.",
            "SpO₂ skala 1",
            "Kategori for målt oksygenmetning.",
        ),
        "at0030": ("≥96", "Oxygen saturation 96% or higher.", "≥96", "Oksygenmetning 96 % eller høyere."),
        "at0031": ("94-95", "Oxygen saturation between 94% and 95%.", "94-95", "Oksygenmetning 94-95 %."),
        "at0032": ("92-93", "Oxygen saturation between 92% and 93%.", "92-93", "Oksygenmetning 92-93 %."),
        "at0033": ("≤91", "Oxygen saturation 91% or lower.", "≤91", "Oksygenmetning 91 % eller lavere."),
        "at0034": (
            "Air or oxygen?",
            "Is the patient receiving supplemental oxygen?",
            "Luft eller oksygen?",
            "Får pasienten tilført oksygen?",
        ),
        "at0036": ("Air", "The patient is breathing room air.", "Luft", "Pasienten puster romluft."),
        "at0037": (
            "Oxygen",
            "The patient is receiving supplemental oxygen.",
            "Oksygen",
            "Pasienten får tilført oksygen.",
        ),
        "at0038": (
            "≥39.1",
            "Body temperature 39.1 °C or higher.",
            "≥39,1",
            "Temperatur 39,1 °C eller høyere.",
        ),
        "at0039": (
            "≤35.0",
            "Body temperature 35.0 °C or lower.",
            "≤35,0",
            "Temperatur 35,0 °C eller lavere.",
        ),
        "at0045": INTERNAL,
        "at0056": (
            "Clinical risk category",
            "Overall category representing the urgency and scale of the clinical response required.",
            "Klinisk risikokategori",
            "Samlet kategori for hvor raskt og omfattende den kliniske responsen bør være.",
        ),
        "at0057": ("Low", "Ward-based response.", "Lav", "Respons i avdelingen."),
        "at0058": ("Low-medium", "Urgent ward-based response.", "Lav-middels", "Rask respons i avdelingen."),
        "at0059": ("Medium", "Key threshold for urgent response.", "Middels", "Terskel for rask respons."),
        "at0060": ("High", "Urgent or emergency response.", "Høy", "Akutt respons."),
        "at0061": (
            "≤83",
            "Oxygen saturation 83% or lower (scale 2).",
            "≤83",
            "Oksygenmetning 83 % eller lavere (skala 2).",
        ),
        "at0064": (
            "≥25",
            "Respiratory rate 25 /min or higher.",
            "≥25",
            "Respirasjonsfrekvens 25 /min eller høyere.",
        ),
        "at0065": ("≥131", "Pulse 131 beats/min or higher.", "≥131", "Puls 131 slag/min eller høyere."),
        "at0066": (
            "38.1-39.0",
            "Body temperature between 38.1 and 39.0 °C.",
            "38,1-39,0",
            "Temperatur 38,1-39,0 °C.",
        ),
        "at0067": (
            "≥220",
            "Systolic pressure 220 mmHg or higher.",
            "≥220",
            "Systolisk trykk 220 mmHg eller høyere.",
        ),
        "at0068": (
            "91-110",
            "Pulse between 91 and 110 beats/min.",
            "91-110",
            "Puls mellom 91 og 110 slag/min.",
        ),
    },
}


def text(archetype: str, code: str, lang: str) -> str:
    """The term text of an at-code in one language."""
    en, _, nb, _ = TERMS[archetype][code]
    return nb if lang == "nb" else en


# ---------------------------------------------------------------------------------------------------------
# Constraint model: just enough of AOM 1.4 to describe the template and write it as OPT XML
# ---------------------------------------------------------------------------------------------------------

Interval = tuple[int, int | None]


@dataclass
class CObject:
    """A C_OBJECT: ``kind`` is its xsi:type; ``body`` builds the kind-specific XML after node_id."""

    kind: str
    rm_type: str
    node_id: str = ""
    occurrences: Interval = (1, 1)
    attributes: list[CAttribute] = field(default_factory=list)
    archetype_id: str = ""  # set on C_ARCHETYPE_ROOT
    body: Callable[[etree._Element], None] | None = None


@dataclass
class CAttribute:
    name: str
    children: list[CObject]
    existence: Interval = (1, 1)
    cardinality: Interval | None = None  # set for C_MULTIPLE_ATTRIBUTE


def obj(rm_type: str, node_id: str = "", occ: Interval = (1, 1), *attrs: CAttribute) -> CObject:
    return CObject("C_COMPLEX_OBJECT", rm_type, node_id, occ, list(attrs))


def root(archetype_id: str, occ: Interval, *attrs: CAttribute) -> CObject:
    rm_type = archetype_id.split("-")[2].split(".")[0]
    return CObject("C_ARCHETYPE_ROOT", rm_type, "at0000", occ, list(attrs), archetype_id=archetype_id)


def single(name: str, *children: CObject, existence: Interval = (1, 1)) -> CAttribute:
    return CAttribute(name, list(children), existence)


def multiple(
    name: str, *children: CObject, card: Interval = (0, None), existence: Interval = (0, 1)
) -> CAttribute:
    return CAttribute(name, list(children), existence, card)


def element(code: str, *values: CObject, occ: Interval = (0, 1), name: CObject | None = None) -> CObject:
    attrs = [single("value", *values, existence=(0, 1))]
    if name is not None:
        attrs.insert(0, single("name", name))
    return obj("ELEMENT", code, occ, *attrs)


def _sub(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if value is not None:
        el.text = value
    return el


def _interval(parent: etree._Element, tag: str, iv: tuple[Any, Any], fmt: Callable[[Any], str] = str) -> None:
    lo, hi = iv
    el = _sub(parent, tag)
    _sub(el, "lower_included", "true" if lo is not None else "false")
    _sub(el, "upper_included", "true" if hi is not None else "false")
    _sub(el, "lower_unbounded", "false" if lo is not None else "true")
    _sub(el, "upper_unbounded", "false" if hi is not None else "true")
    if lo is not None:
        _sub(el, "lower", fmt(lo))
    if hi is not None:
        _sub(el, "upper", fmt(hi))


def _code_phrase(parent: etree._Element, tag: str, terminology: str, code: str) -> None:
    el = _sub(parent, tag)
    _sub(_sub(el, "terminology_id"), "value", terminology)
    _sub(el, "code_string", code)


def primitive(
    rm_type: str, item_type: str, fill: Callable[[etree._Element], None], occ: Interval = (1, 1)
) -> CObject:
    def body(el: etree._Element) -> None:
        item = _sub(el, "item")
        item.set(f"{{{XSI}}}type", item_type)
        fill(item)

    return CObject("C_PRIMITIVE_OBJECT", rm_type, "", occ, body=body)


def code_phrase(terminology: str, codes: list[str]) -> CObject:
    """A C_CODE_PHRASE; an empty code list admits any code of the terminology."""

    def body(el: etree._Element) -> None:
        _sub(_sub(el, "terminology_id"), "value", terminology)
        for code in codes:
            _sub(el, "code_list", code)

    return CObject("C_CODE_PHRASE", "CODE_PHRASE", body=body)


def coded_text(terminology: str, codes: list[str]) -> CObject:
    return obj("DV_CODED_TEXT", "", (1, 1), single("defining_code", code_phrase(terminology, codes)))


def dv_text() -> CObject:
    return obj("DV_TEXT")


def dv_boolean() -> CObject:
    def fill(item: etree._Element) -> None:
        _sub(item, "true_valid", "true")
        _sub(item, "false_valid", "true")

    return obj("DV_BOOLEAN", "", (1, 1), single("value", primitive("BOOLEAN", "C_BOOLEAN", fill)))


def dv_count(lo: int, hi: int) -> CObject:
    def fill(item: etree._Element) -> None:
        _interval(item, "range", (lo, hi))

    return obj("DV_COUNT", "", (1, 1), single("magnitude", primitive("INTEGER", "C_INTEGER", fill)))


def dv_proportion(lo: float, hi: float, kinds: list[int]) -> CObject:
    def numerator(item: etree._Element) -> None:
        _interval(item, "range", (lo, hi), repr)

    def kind(item: etree._Element) -> None:
        for k in kinds:
            _sub(item, "list", str(k))

    return obj(
        "DV_PROPORTION",
        "",
        (1, 1),
        single("numerator", primitive("REAL", "C_REAL", numerator)),
        single("type", primitive("INTEGER", "C_INTEGER", kind)),
    )


def dv_date_time(pattern: str) -> CObject:
    def fill(item: etree._Element) -> None:
        _sub(item, "pattern", pattern)

    return obj("DV_DATE_TIME", "", (1, 1), single("value", primitive("DATE_TIME", "C_DATE_TIME", fill)))


def dv_quantity(property_code: str, *units: tuple[str, float, float, int]) -> CObject:
    """A C_DV_QUANTITY; each unit is (units, min, max, precision)."""

    def body(el: etree._Element) -> None:
        _code_phrase(el, "property", "openehr", property_code)
        for unit, lo, hi, precision in units:
            item = _sub(el, "list")
            _interval(item, "magnitude", (lo, hi), repr)
            _interval(item, "precision", (precision, precision))
            _sub(item, "units", unit)

    return CObject("C_DV_QUANTITY", "DV_QUANTITY", body=body)


def dv_ordinal(archetype: str, lang: str, *values: tuple[int, str]) -> CObject:
    """A C_DV_ORDINAL; each symbol carries its term text, which DV_CODED_TEXT requires in ITS-XML."""

    def body(el: etree._Element) -> None:
        for value, code in values:
            item = _sub(el, "list")
            _sub(item, "value", str(value))
            symbol = _sub(item, "symbol")
            _sub(symbol, "value", text(archetype, code, lang))
            _code_phrase(symbol, "defining_code", "local", code)

    return CObject("C_DV_ORDINAL", "DV_ORDINAL", body=body)


def slot(rm_type: str, code: str, occ: Interval, pattern: str) -> CObject:
    def body(el: etree._Element) -> None:
        inc = _sub(el, "includes")
        _sub(inc, "string_expression", f"archetype_id/value matches {{/{pattern}/}}")
        expr = _sub(inc, "expression")
        expr.set(f"{{{XSI}}}type", "EXPR_BINARY_OPERATOR")
        _sub(expr, "type", "Boolean")
        _sub(expr, "operator", "2007")  # matches
        _sub(expr, "precedence_overridden", "false")
        left = _sub(expr, "left_operand")
        left.set(f"{{{XSI}}}type", "EXPR_LEAF")
        _sub(left, "type", "String")
        item = _sub(left, "item", "archetype_id/value")
        item.set(f"{{{XSI}}}type", "xs:string")
        _sub(left, "reference_type", "attribute")
        right = _sub(expr, "right_operand")
        right.set(f"{{{XSI}}}type", "EXPR_LEAF")
        _sub(right, "type", "C_STRING")
        c_string = _sub(right, "item")
        c_string.set(f"{{{XSI}}}type", "C_STRING")
        _sub(c_string, "pattern", pattern)
        _sub(right, "reference_type", "constraint")

    return CObject("ARCHETYPE_SLOT", rm_type, code, occ, body=body)


def observation(
    archetype_id: str,
    occ: Interval,
    history: str,
    event: CObject,
    protocol: CAttribute | None = None,
) -> CObject:
    attrs = [single("data", obj("HISTORY", history, (1, 1), multiple("events", event, card=(1, None))))]
    if protocol is not None:
        attrs.append(protocol)
    return root(archetype_id, occ, *attrs)


def event(
    rm_type: str,
    code: str,
    occ: Interval,
    tree: str,
    *items: CObject,
    state: CAttribute | None = None,
    items_card: Interval = (0, None),
) -> CObject:
    attrs = [single("data", obj("ITEM_TREE", tree, (1, 1), multiple("items", *items, card=items_card)))]
    if state is not None:
        attrs.append(state)
    return obj(rm_type, code, occ, *attrs)


# ---------------------------------------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------------------------------------

SETTINGS = {
    "225": "home",
    "228": "primary medical care",
    "229": "primary nursing care",
    "237": "nursing home care",
}
ONE: Interval = (1, 1)
OPTIONAL: Interval = (0, 1)


def definition(lang: str) -> CObject:
    """The municipal vital signs / NEWS2 template as a constraint tree (``lang`` for embedded term texts)."""
    context = obj(
        "EVENT_CONTEXT",
        "",
        ONE,
        single("start_time", dv_date_time("yyyy-mm-ddTHH:MM:??")),
        single("setting", coded_text("openehr", list(SETTINGS))),
        single(
            "other_context",
            obj("ITEM_TREE", "at0001", ONE, multiple("items", slot("CLUSTER", "at0002", (0, None), ".*"))),
            existence=OPTIONAL,
        ),
    )
    respiration = observation(
        RESPIRATION,
        OPTIONAL,
        "at0001",
        event(
            "EVENT",
            "at0002",
            OPTIONAL,
            "at0003",
            element("at0004", dv_quantity("382", ("/min", 0.0, 200.0, 0))),
        ),
    )
    inspired_oxygen = root(
        INSPIRED_OXYGEN,
        OPTIONAL,
        multiple(
            "items",
            element("at0057", dv_boolean()),
            element("at0051", dv_quantity("126", ("l/min", 0.0, 50.0, 1))),
            element("at0054", coded_text("SNOMED-CT", [])),
            card=(1, None),
            existence=ONE,
        ),
    )
    pulse_oximetry = observation(
        PULSE_OXIMETRY,
        OPTIONAL,
        "at0001",
        event(
            "EVENT",
            "at0002",
            OPTIONAL,
            "at0003",
            element("at0006", dv_proportion(0.0, 100.0, [2])),
            state=single(
                "state",
                obj("ITEM_TREE", "at0014", ONE, multiple("items", inspired_oxygen)),
                existence=OPTIONAL,
            ),
        ),
    )
    blood_pressure = observation(
        BLOOD_PRESSURE,
        OPTIONAL,
        "at0001",
        event(
            "EVENT",
            "at0006",
            OPTIONAL,
            "at0003",
            element("at0004", dv_quantity("125", ("mm[Hg]", 0.0, 1000.0, 0)), occ=ONE),
            element("at0005", dv_quantity("125", ("mm[Hg]", 0.0, 1000.0, 0)), occ=ONE),
            element("at0033", dv_text()),
            state=single(
                "state",
                obj(
                    "ITEM_TREE",
                    "at0007",
                    ONE,
                    multiple(
                        "items",
                        element("at0008", coded_text("local", ["at1000", "at1001", "at1002", "at1003"])),
                    ),
                ),
                existence=OPTIONAL,
            ),
        ),
        protocol=single(
            "protocol",
            obj(
                "ITEM_TREE",
                "at0011",
                ONE,
                multiple(
                    "items",
                    slot("CLUSTER", "at1025", OPTIONAL, r"openEHR-EHR-CLUSTER\.device(-[a-zA-Z0-9_]+)*\.v1"),
                ),
            ),
            existence=OPTIONAL,
        ),
    )
    pulse = observation(
        PULSE,
        OPTIONAL,
        "at0002",
        event(
            "EVENT",
            "at0003",
            OPTIONAL,
            "at0001",
            element(
                "at0004",
                dv_quantity("382", ("/min", 0.0, 300.0, 0)),
                name=coded_text("local", ["at1026", "at1027"]),
            ),
        ),
    )
    body_temperature = observation(
        BODY_TEMPERATURE,
        OPTIONAL,
        "at0002",
        event(
            "EVENT",
            "at0003",
            OPTIONAL,
            "at0001",
            element("at0004", dv_quantity("127", ("Cel", 25.0, 45.0, 1)), occ=ONE),
            items_card=(1, None),
        ),
    )
    acvpu = observation(
        ACVPU,
        OPTIONAL,
        "at0001",
        event(
            "POINT_EVENT",
            "at0002",
            OPTIONAL,
            "at0003",
            element(
                "at0004", coded_text("local", ["at0005", "at0015", "at0006", "at0007", "at0008"]), occ=ONE
            ),
            items_card=(1, None),
        ),
    )
    news2 = observation(
        NEWS2,
        ONE,
        "at0001",
        event(
            "POINT_EVENT",
            "at0002",
            ONE,
            "at0003",
            element(
                "at0006",
                dv_ordinal(
                    NEWS2, lang, (3, "at0021"), (1, "at0019"), (0, "at0018"), (2, "at0020"), (3, "at0064")
                ),
            ),
            element(
                "at0029", dv_ordinal(NEWS2, lang, (3, "at0033"), (2, "at0032"), (1, "at0031"), (0, "at0030"))
            ),
            element("at0034", dv_ordinal(NEWS2, lang, (2, "at0037"), (0, "at0036"))),
            element(
                "at0004",
                dv_ordinal(
                    NEWS2, lang, (3, "at0017"), (2, "at0016"), (1, "at0015"), (0, "at0014"), (3, "at0067")
                ),
            ),
            element(
                "at0005",
                dv_ordinal(
                    NEWS2,
                    lang,
                    (3, "at0010"),
                    (1, "at0012"),
                    (0, "at0013"),
                    (1, "at0068"),
                    (2, "at0011"),
                    (3, "at0065"),
                ),
            ),
            element("at0008", dv_ordinal(NEWS2, lang, (0, "at0024"), (3, "at0025"))),
            element(
                "at0007",
                dv_ordinal(
                    NEWS2, lang, (3, "at0039"), (1, "at0023"), (0, "at0022"), (1, "at0066"), (2, "at0038")
                ),
            ),
            element("at0028", dv_count(0, 20), occ=ONE),
            element("at0056", coded_text("local", ["at0057", "at0058", "at0059", "at0060"])),
            items_card=(1, None),
        ),
    )
    return root(
        ENCOUNTER,
        ONE,
        single("category", coded_text("openehr", ["433"])),
        single("context", context, existence=OPTIONAL),
        multiple(
            "content",
            respiration,
            pulse_oximetry,
            blood_pressure,
            pulse,
            body_temperature,
            acvpu,
            news2,
            card=(1, None),
        ),
    )


@dataclass(frozen=True)
class Variant:
    """One language edition of the template."""

    lang: str
    template_id: str
    uid: str
    filename: str

    @property
    def other(self) -> str:
        return "en" if self.lang == "nb" else "nb"


NB = Variant(
    "nb",
    "kommunal_vitalparametre_news2.nb.v1",
    "3f4c2b1e-8a5d-4e7b-9c1a-6d2e0f7b5a10",
    "kommunal_vitalparametre_news2.nb.opt",
)
EN = Variant(
    "en",
    "municipal_vital_signs_news2.en.v1",
    "9b7e6d5c-4a3f-4b2e-8d1c-0e9f8a7b6c21",
    "municipal_vital_signs_news2.en.opt",
)

DESCRIPTION = {
    "nb": {
        "purpose": "Registrere vitalparametre og NEWS2-skår for tidlig oppdagelse av klinisk forverring "
        "hos brukere av kommunale helse- og omsorgstjenester (hjemmetjeneste, sykehjem, fastlege).",
        "use": "Brukes ved måling av vitalparametre og beregning av NEWS2 i kommunal helse- og "
        "omsorgstjeneste. NEWS2-skår er obligatorisk; de enkelte målingene registreres når de er utført.",
        "misuse": "Ikke beregnet for barn, gravide eller pasienter med kjent hyperkapnisk respirasjonssvikt "
        "(SpO₂ skala 2 er ikke tatt med).",
        "keywords": ["vitalparametre", "NEWS2", "tidlig varsling", "kommune"],
    },
    "en": {
        "purpose": "To record vital signs and the NEWS2 score for early detection of clinical deterioration "
        "in people receiving municipal health and care services (home care, nursing homes, GPs).",
        "use": "Use when vital signs are measured and NEWS2 is calculated in municipal health and care "
        "services. The NEWS2 score is mandatory; individual measurements are recorded when taken.",
        "misuse": "Not intended for children, pregnant women or patients with known hypercapnic respiratory "
        "failure (SpO₂ scale 2 is not included).",
        "keywords": ["vital signs", "NEWS2", "early warning", "municipality"],
    },
}


def _nsmap(xs: bool = False) -> dict[Any, str]:
    """Default namespace openEHR v1, as every OPT and canonical XML document uses.

    Keys are ``Any`` because lxml-stubs type them as ``str`` while lxml takes ``None`` for the default.
    """
    nsmap: dict[Any, str] = {None: NS, "xsi": XSI}
    if xs:
        nsmap["xs"] = XS
    return nsmap


def _language(parent: etree._Element, tag: str, lang: str) -> None:
    _code_phrase(parent, tag, "ISO_639-1", lang)


def _write_object(parent: etree._Element, c: CObject, lang: str) -> None:
    el = _sub(parent, "children")
    el.set(f"{{{XSI}}}type", c.kind)
    _sub(el, "rm_type_name", c.rm_type)
    _interval(el, "occurrences", c.occurrences)
    _sub(el, "node_id", c.node_id)
    for a in c.attributes:
        _write_attribute(el, a, lang)
    if c.body is not None:
        c.body(el)
    if c.archetype_id:
        _write_root_tail(el, c.archetype_id, lang)


def _write_attribute(parent: etree._Element, a: CAttribute, lang: str) -> None:
    el = _sub(parent, "attributes")
    el.set(f"{{{XSI}}}type", "C_MULTIPLE_ATTRIBUTE" if a.cardinality else "C_SINGLE_ATTRIBUTE")
    _sub(el, "rm_attribute_name", a.name)
    _interval(el, "existence", a.existence)
    for child in a.children:
        _write_object(el, child, lang)
    if a.cardinality:
        card = _sub(el, "cardinality")
        _sub(card, "is_ordered", "false")
        _sub(card, "is_unique", "false")
        _interval(card, "interval", a.cardinality)


def _term(parent: etree._Element, tag: str, code: str, term: Term, lang: str) -> None:
    en_text, en_desc, nb_text, nb_desc = term
    el = _sub(parent, tag)
    el.set("code", code)
    _sub(el, "items", nb_text if lang == "nb" else en_text).set("id", "text")
    _sub(el, "items", nb_desc if lang == "nb" else en_desc).set("id", "description")


def _write_root_tail(el: etree._Element, archetype_id: str, lang: str) -> None:
    """archetype_id and the root's term definitions in the template language, as template tools export."""
    _sub(_sub(el, "archetype_id"), "value", archetype_id)
    for code, term in TERMS[archetype_id].items():
        _term(el, "term_definitions", code, term, lang)


def _archetype_ids(c: CObject) -> Iterator[str]:
    if c.archetype_id:
        yield c.archetype_id
    for a in c.attributes:
        for child in a.children:
            yield from _archetype_ids(child)


def build_opt(variant: Variant) -> etree._ElementTree:
    """The OPT 1.4 document for one language edition."""
    lang = variant.lang
    tpl = etree.Element(f"{{{NS}}}template", nsmap=_nsmap(xs=True))
    _language(tpl, "language", lang)
    desc = _sub(tpl, "description")
    for key, value in (
        ("name", "cdr contributors"),
        ("organisation", "cdr open-source project"),
        ("date", "2024-05-14"),
    ):
        _sub(desc, "original_author", value).set("id", key)
    _sub(desc, "lifecycle_state", "in_development")
    _sub(desc, "other_details", "Apache-2.0").set("id", "licence")
    _sub(desc, "other_details", "scripts/build_templates.py").set("id", "Generated By")
    for details_lang in (lang, variant.other):
        text_ = DESCRIPTION[details_lang]
        details = _sub(desc, "details")
        _language(details, "language", details_lang)
        _sub(details, "purpose", str(text_["purpose"]))
        for keyword in text_["keywords"]:
            _sub(details, "keywords", keyword)
        _sub(details, "use", str(text_["use"]))
        _sub(details, "misuse", str(text_["misuse"]))
        _sub(details, "copyright", "© cdr contributors")
    _sub(_sub(tpl, "uid"), "value", variant.uid)
    _sub(_sub(tpl, "template_id"), "value", variant.template_id)
    _sub(tpl, "concept", text(ENCOUNTER, "at0000", lang))

    tree = definition(lang)
    holder = etree.Element("holder")
    _write_object(holder, tree, lang)
    defn = holder[0]
    defn.tag = f"{{{NS}}}definition"
    del defn.attrib[f"{{{XSI}}}type"]  # the element's declared type is C_ARCHETYPE_ROOT
    tpl.append(defn)

    # Translations: ARCHETYPE_TERM inside the definition has no language, so both languages of every
    # archetype root's terms travel as component ontologies (FLAT_ARCHETYPE_ONTOLOGY, keyed by archetype id).
    for archetype_id in dict.fromkeys(_archetype_ids(tree)):
        onto = _sub(tpl, "component_ontologies")
        onto.set("archetype_id", archetype_id)
        for term_lang in (lang, variant.other):
            defs = _sub(onto, "term_definitions")
            defs.set("language", term_lang)
            for code, term in TERMS[archetype_id].items():
                _term(defs, "items", code, term, term_lang)
    return etree.ElementTree(tpl)


def opt_files() -> dict[Path, bytes]:
    """The OPT files, path to content, without writing them (tests compare them with the committed ones)."""
    return {
        TEMPLATES / v.filename: etree.tostring(
            build_opt(v), xml_declaration=True, encoding="UTF-8", pretty_print=True, standalone=True
        )
        for v in (NB, EN)
    }


# ---------------------------------------------------------------------------------------------------------
# Compositions (canonical JSON, keys in ITS-XML element order so that XML can be written from them)
# ---------------------------------------------------------------------------------------------------------

LANG = "nb"
Json = dict[str, Any]


def cp(terminology: str, code: str) -> Json:
    return {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
        "code_string": code,
    }


def dv_t(value: str) -> Json:
    return {"_type": "DV_TEXT", "value": value}


def dv_ct(value: str, terminology: str, code: str) -> Json:
    return {"_type": "DV_CODED_TEXT", "value": value, "defining_code": cp(terminology, code)}


def local(archetype: str, code: str) -> Json:
    return dv_ct(text(archetype, code, LANG), "local", code)


def qty(magnitude: float, units: str, precision: int | None = None) -> Json:
    q: Json = {"_type": "DV_QUANTITY", "magnitude": magnitude, "units": units}
    if precision is not None:
        q["precision"] = precision
    return q


def ordinal(archetype: str, value: int, code: str) -> Json:
    return {"_type": "DV_ORDINAL", "value": value, "symbol": local(archetype, code)}


def elem(archetype: str, code: str, value: Json, name: Json | None = None) -> Json:
    return {
        "_type": "ELEMENT",
        "name": name or dv_t(text(archetype, code, LANG)),
        "archetype_node_id": code,
        "value": value,
    }


def tree(archetype: str, code: str, items: list[Json]) -> Json:
    return {
        "_type": "ITEM_TREE",
        "name": dv_t(text(archetype, code, LANG)),
        "archetype_node_id": code,
        "items": items,
    }


def archetyped(archetype_id: str, template_id: str | None = None) -> Json:
    details: Json = {"_type": "ARCHETYPED", "archetype_id": {"_type": "ARCHETYPE_ID", "value": archetype_id}}
    if template_id:
        details["template_id"] = {"_type": "TEMPLATE_ID", "value": template_id}
    details["rm_version"] = "1.1.0"
    return details


def obs(
    archetype: str,
    history: str,
    event_code: str,
    event_type: str,
    time: str,
    data_tree: str,
    items: list[Json],
    state: Json | None = None,
    protocol: Json | None = None,
) -> Json:
    ev: Json = {
        "_type": event_type,
        "name": dv_t(text(archetype, event_code, LANG)),
        "archetype_node_id": event_code,
        "time": {"_type": "DV_DATE_TIME", "value": time},
        "data": tree(archetype, data_tree, items),
    }
    if state is not None:
        ev["state"] = state
    o: Json = {
        "_type": "OBSERVATION",
        "name": dv_t(text(archetype, "at0000", LANG)),
        "archetype_details": archetyped(archetype),
        "archetype_node_id": archetype,
        "language": cp("ISO_639-1", LANG),
        "encoding": cp("IANA_character-sets", "UTF-8"),
        "subject": {"_type": "PARTY_SELF"},
    }
    if protocol is not None:
        o["protocol"] = protocol
    o["data"] = {
        "_type": "HISTORY",
        "name": dv_t(text(archetype, history, LANG)),
        "archetype_node_id": history,
        "origin": {"_type": "DV_DATE_TIME", "value": time},
        "events": [ev],
    }
    return o


@dataclass
class Vitals:
    """One set of measurements; None leaves the observation out."""

    time: str
    setting: str = "229"
    respiration: int | None = None
    spo2: float | None = None
    on_air: bool | None = None
    oxygen_flow: float | None = None
    bp: tuple[int, int] | None = None
    position: str = "at1001"
    bp_comment: str | None = None
    pulse: int | None = None
    temperature: float | None = None
    acvpu: str | None = None
    news2: dict[str, tuple[int, str]] = field(default_factory=dict)
    news2_total: int = 0
    risk: str | None = None


def composition(v: Vitals, composer: str = "Sykepleier Hjemmetjenesten") -> Json:
    """A canonical JSON COMPOSITION of the nb template for one set of vitals."""
    content: list[Json] = []
    if v.respiration is not None:
        content.append(
            obs(
                RESPIRATION,
                "at0001",
                "at0002",
                "POINT_EVENT",
                v.time,
                "at0003",
                [elem(RESPIRATION, "at0004", qty(float(v.respiration), "/min", 0))],
            )
        )
    if v.spo2 is not None:
        state = None
        if v.on_air is not None:
            oxygen_items = [elem(INSPIRED_OXYGEN, "at0057", {"_type": "DV_BOOLEAN", "value": v.on_air})]
            if v.oxygen_flow is not None:
                oxygen_items.append(elem(INSPIRED_OXYGEN, "at0051", qty(v.oxygen_flow, "l/min", 1)))
                oxygen_items.append(
                    elem(INSPIRED_OXYGEN, "at0054", dv_ct("Nesekateter", "SNOMED-CT", "336623009"))
                )
            cluster = {
                "_type": "CLUSTER",
                "name": dv_t(text(INSPIRED_OXYGEN, "at0000", LANG)),
                "archetype_details": archetyped(INSPIRED_OXYGEN),
                "archetype_node_id": INSPIRED_OXYGEN,
                "items": oxygen_items,
            }
            state = tree(PULSE_OXIMETRY, "at0014", [cluster])
        proportion = {
            "_type": "DV_PROPORTION",
            "numerator": v.spo2,
            "denominator": 100.0,
            "type": 2,
            "precision": 0,
        }
        content.append(
            obs(
                PULSE_OXIMETRY,
                "at0001",
                "at0002",
                "POINT_EVENT",
                v.time,
                "at0003",
                [elem(PULSE_OXIMETRY, "at0006", proportion)],
                state=state,
            )
        )
    if v.bp is not None:
        items = [
            elem(BLOOD_PRESSURE, "at0004", qty(float(v.bp[0]), "mm[Hg]", 0)),
            elem(BLOOD_PRESSURE, "at0005", qty(float(v.bp[1]), "mm[Hg]", 0)),
        ]
        if v.bp_comment:
            items.append(elem(BLOOD_PRESSURE, "at0033", dv_t(v.bp_comment)))
        state = tree(
            BLOOD_PRESSURE, "at0007", [elem(BLOOD_PRESSURE, "at0008", local(BLOOD_PRESSURE, v.position))]
        )
        content.append(
            obs(BLOOD_PRESSURE, "at0001", "at0006", "POINT_EVENT", v.time, "at0003", items, state=state)
        )
    if v.pulse is not None:
        content.append(
            obs(
                PULSE,
                "at0002",
                "at0003",
                "POINT_EVENT",
                v.time,
                "at0001",
                [elem(PULSE, "at0004", qty(float(v.pulse), "/min", 0), name=local(PULSE, "at1026"))],
            )
        )
    if v.temperature is not None:
        content.append(
            obs(
                BODY_TEMPERATURE,
                "at0002",
                "at0003",
                "POINT_EVENT",
                v.time,
                "at0001",
                [elem(BODY_TEMPERATURE, "at0004", qty(v.temperature, "Cel", 1))],
            )
        )
    if v.acvpu is not None:
        content.append(
            obs(
                ACVPU,
                "at0001",
                "at0002",
                "POINT_EVENT",
                v.time,
                "at0003",
                [elem(ACVPU, "at0004", local(ACVPU, v.acvpu))],
            )
        )
    news_items = [elem(NEWS2, code, ordinal(NEWS2, *score)) for code, score in v.news2.items()]
    news_items.append(elem(NEWS2, "at0028", {"_type": "DV_COUNT", "magnitude": v.news2_total}))
    if v.risk is not None:
        news_items.append(elem(NEWS2, "at0056", local(NEWS2, v.risk)))
    content.append(obs(NEWS2, "at0001", "at0002", "POINT_EVENT", v.time, "at0003", news_items))
    return {
        "_type": "COMPOSITION",
        "name": dv_t(text(ENCOUNTER, "at0000", LANG)),
        "archetype_details": archetyped(ENCOUNTER, NB.template_id),
        "archetype_node_id": ENCOUNTER,
        "language": cp("ISO_639-1", LANG),
        "territory": cp("ISO_3166-1", "NO"),
        "category": dv_ct("event", "openehr", "433"),
        "composer": {"_type": "PARTY_IDENTIFIED", "name": composer},
        "context": {
            "_type": "EVENT_CONTEXT",
            "start_time": {"_type": "DV_DATE_TIME", "value": v.time},
            "setting": dv_ct(SETTINGS[v.setting], "openehr", v.setting),
        },
        "content": content,
    }


NORMAL = Vitals(
    time="2024-05-14T08:30:00+02:00",
    setting="229",
    respiration=16,
    spo2=97.0,
    on_air=True,
    bp=(128, 78),
    position="at1001",
    bp_comment="Målt på venstre arm etter fem minutters hvile.",
    pulse=72,
    temperature=36.8,
    acvpu="at0005",
    news2={
        "at0006": (0, "at0018"),
        "at0029": (0, "at0030"),
        "at0034": (0, "at0036"),
        "at0004": (0, "at0014"),
        "at0005": (0, "at0013"),
        "at0008": (0, "at0024"),
        "at0007": (0, "at0022"),
    },
    news2_total=0,
    risk="at0057",
)

HIGH_RISK = Vitals(
    time="2024-05-15T02:10:00+02:00",
    setting="237",
    respiration=26,
    spo2=90.0,
    on_air=False,
    oxygen_flow=2.0,
    bp=(88, 52),
    position="at1003",
    bp_comment="Blek og klam, nyoppstått forvirring. Lege tilkalt.",
    pulse=124,
    temperature=39.4,
    acvpu="at0015",
    news2={
        "at0006": (3, "at0064"),
        "at0029": (3, "at0033"),
        "at0034": (2, "at0037"),
        "at0004": (3, "at0017"),
        "at0005": (2, "at0011"),
        "at0008": (3, "at0025"),
        "at0007": (2, "at0038"),
    },
    news2_total=18,
    risk="at0060",
)

MINIMAL = Vitals(time="2024-05-16T14:00:00+02:00", setting="228", news2_total=1)

BP = f"/content[{BLOOD_PRESSURE}]/data[at0001]/events[at0006]/data[at0003]"
TEMP = f"/content[{BODY_TEMPERATURE}]/data[at0002]/events[at0003]/data[at0001]"
NEWS = f"/content[{NEWS2}]/data[at0001]/events[at0002]/data[at0003]"
RESP = f"/content[{RESPIRATION}]/data[at0001]/events[at0002]/data[at0003]"
PULSE_P = f"/content[{PULSE}]/data[at0002]/events[at0003]/data[at0001]"
OXIMETRY = f"/content[{PULSE_OXIMETRY}]/data[at0001]/events[at0002]"
OXYGEN = f"{OXIMETRY}/state[at0014]/items[{INSPIRED_OXYGEN}]"


def _content(c: Json, archetype_id: str) -> Json:
    return next(o for o in c["content"] if o["archetype_node_id"] == archetype_id)


def _items(c: Json, archetype_id: str) -> list[Json]:
    items: list[Json] = _content(c, archetype_id)["data"]["events"][0]["data"]["items"]
    return items


def _item(c: Json, archetype_id: str, code: str) -> Json:
    return next(i for i in _items(c, archetype_id) if i["archetype_node_id"] == code)


@dataclass(frozen=True)
class Invalid:
    """An invalid composition: the normal one with one mutation and the issues it must raise."""

    name: str
    why: str
    mutate: Callable[[Json], None]
    issues: list[tuple[str, str]]
    status: int = 422
    """The REST answer: 422 for a template violation, 400 for a value that cannot be read."""


def _set_start_time(value: str) -> Callable[[Json], None]:
    def mutate(c: Json) -> None:
        c["context"]["start_time"]["value"] = value

    return mutate


def _drop_total(c: Json) -> None:
    items = _items(c, NEWS2)
    items[:] = [i for i in items if i["archetype_node_id"] != "at0028"]


def _duplicate_oximetry(c: Json) -> None:
    index = next(i for i, o in enumerate(c["content"]) if o["archetype_node_id"] == PULSE_OXIMETRY)
    second = copy.deepcopy(c["content"][index])
    second["data"]["events"][0]["data"]["items"][0]["value"]["numerator"] = 96.0
    c["content"].insert(index + 1, second)


def _respiration_as_count(c: Json) -> None:
    _item(c, RESPIRATION, "at0004")["value"] = {"_type": "DV_COUNT", "magnitude": 16}


def _pulse_name_text(c: Json) -> None:
    _item(c, PULSE, "at0004")["name"] = dv_t("Puls")


def _oxygen_local_code(c: Json) -> None:
    cluster = _content(c, PULSE_OXIMETRY)["data"]["events"][0]["state"]["items"][0]
    cluster["items"].append(elem(INSPIRED_OXYGEN, "at0054", dv_ct("Nesekateter", "local", "at0099")))


INVALID = [
    Invalid(
        "invalid_unit_not_allowed",
        "Systolic pressure in kPa; the template admits mm[Hg] only.",
        lambda c: _item(c, BLOOD_PRESSURE, "at0004")["value"].update(
            magnitude=17.1, units="kPa", precision=1
        ),
        [("UNIT_NOT_ALLOWED", f"{BP}/items[at0004]/value")],
    ),
    Invalid(
        "invalid_magnitude_out_of_range",
        "Body temperature 47.5 °C; the template range is 25.0..45.0 Cel.",
        lambda c: _item(c, BODY_TEMPERATURE, "at0004")["value"].update(magnitude=47.5),
        [("MAGNITUDE_OUT_OF_RANGE", f"{TEMP}/items[at0004]/value")],
    ),
    Invalid(
        "invalid_code_not_in_list",
        "NEWS2 clinical risk category coded at0061, an archetype code (a SpO₂ scale 2 band) outside the list "
        "at0057..at0060.",
        lambda c: _item(c, NEWS2, "at0056").update(value=local(NEWS2, "at0061")),
        [("CODE_NOT_ALLOWED", f"{NEWS}/items[at0056]/value/defining_code")],
    ),
    Invalid(
        "invalid_missing_mandatory",
        "NEWS2 without its total score, which the template makes mandatory (1..1).",
        _drop_total,
        [("OCCURRENCES_TOO_FEW", f"{NEWS}/items[at0028]")],
    ),
    Invalid(
        "invalid_occurrences_exceeded",
        "Two pulse oximetry observations; the template allows at most one.",
        _duplicate_oximetry,
        [("OCCURRENCES_TOO_MANY", f"/content[{PULSE_OXIMETRY}]")],
    ),
    Invalid(
        "invalid_wrong_rm_type",
        "Respiration rate as DV_COUNT where the template requires DV_QUANTITY.",
        _respiration_as_count,
        [("WRONG_TYPE", f"{RESP}/items[at0004]/value")],
    ),
    Invalid(
        "invalid_bad_date_time",
        "Context start_time is not an ISO 8601 date-time (month 13, hour 25): malformed input rather than a "
        "template violation, 400 as EHRbase answers.",
        _set_start_time("2024-13-45T25:00:00+02:00"),
        [("INVALID_DATE_TIME", "/context/start_time/value")],
        status=400,
    ),
    Invalid(
        "invalid_date_time_pattern",
        "Context start_time without minutes; the template pattern yyyy-mm-ddTHH:MM:?? requires them.",
        _set_start_time("2024-05-14T08+02:00"),
        [("DATE_TIME_PATTERN", "/context/start_time/value")],
    ),
    Invalid(
        "invalid_count_out_of_range",
        "NEWS2 total score 23; the template range is 0..20.",
        lambda c: _item(c, NEWS2, "at0028")["value"].update(magnitude=23),
        [("VALUE_OUT_OF_RANGE", f"{NEWS}/items[at0028]/value/magnitude")],
    ),
    Invalid(
        "invalid_proportion_out_of_range",
        "SpO₂ 104 %; the numerator range is 0..100.",
        lambda c: _item(c, PULSE_OXIMETRY, "at0006")["value"].update(numerator=104.0),
        [("VALUE_OUT_OF_RANGE", f"{OXIMETRY}/data[at0003]/items[at0006]/value/numerator")],
    ),
    Invalid(
        "invalid_name_not_coded",
        "Pulse rate element named with free text; the template constrains its name to at1026/at1027.",
        _pulse_name_text,
        [("CODED_TEXT_REQUIRED", f"{PULSE_P}/items[at0004]/name")],
    ),
    Invalid(
        "invalid_terminology_mismatch",
        "Method of oxygen delivery coded in local terms; the template requires SNOMED-CT.",
        _oxygen_local_code,
        [("TERMINOLOGY_MISMATCH", f"{OXYGEN}/items[at0054]/value/defining_code")],
    ),
]


def _xml_value(parent: etree._Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _xml_value(parent, tag, item)
        return
    el = _sub(parent, tag)
    if isinstance(value, dict):
        _xml_fill(el, value)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def _xml_fill(el: etree._Element, obj_: Json) -> None:
    for key, value in obj_.items():
        if key == "_type":
            el.set(f"{{{XSI}}}type", value)
        elif key == "archetype_node_id":
            el.set(key, value)
        else:
            _xml_value(el, key, value)


def to_xml(c: Json, root_tag: str) -> bytes:
    """Canonical XML (ITS-XML) of a canonical JSON object whose keys are in XSD element order."""
    root_el = etree.Element(f"{{{NS}}}{root_tag}", nsmap=_nsmap())
    _xml_fill(root_el, {k: v for k, v in c.items() if k != "_type"})
    return etree.tostring(root_el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


EHR_STATUS_DOC: Json = {
    "_type": "EHR_STATUS",
    "name": dv_t("EHR-status"),
    "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
    "subject": {
        "_type": "PARTY_SELF",
        "external_ref": {
            "_type": "PARTY_REF",
            "id": {
                "_type": "GENERIC_ID",
                "value": "5e0d7a51-2c6b-4f0e-9a3d-8b1c7f4e2a90",
                "scheme": "kommune-pasient-id",
            },
            "namespace": "demografi.kommune.example",
            "type": "PERSON",
        },
    },
    "is_queryable": True,
    "is_modifiable": True,
}


def composition_files() -> dict[Path, bytes]:
    """The composition and EHR_STATUS files, path to content, without writing them."""
    out: dict[Path, bytes] = {}
    valid = {"valid_normal": NORMAL, "valid_high_risk": HIGH_RISK, "valid_minimal": MINIMAL}
    for name, vitals in valid.items():
        c = composition(vitals)
        out[COMPOSITIONS / f"{name}.json"] = _json(c)
        out[COMPOSITIONS / "xml" / f"{name}.xml"] = to_xml(c, "composition")
    for case in INVALID:
        c = composition(NORMAL)
        case.mutate(c)
        out[COMPOSITIONS / f"{case.name}.json"] = _json(c)
        expected: Json = {"description": case.why}
        if case.status != 422:
            expected["status"] = case.status
        expected["issues"] = [{"code": code, "path": p} for code, p in case.issues]
        out[COMPOSITIONS / f"{case.name}.expected.json"] = _json(expected)
    out[EHR_STATUS / "ehr_status_nb.json"] = _json(EHR_STATUS_DOC)
    return out


def main() -> None:
    for path, content in {**opt_files(), **composition_files()}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
