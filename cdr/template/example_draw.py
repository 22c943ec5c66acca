"""Settings of the example generator and the state one composition is drawn with.

Three modes share one engine: MINIMAL and MAXIMAL are deterministic (canonical choices, no random source),
RANDOM draws every choice from a seeded :class:`random.Random`, so that a seed reproduces a whole series.
:class:`Draw` is the per-composition state: the mode, the random source and the clock that keeps the times
of one composition consistent (context start, history origin, event times after it).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["DEFAULT_START", "Draw", "ExampleSettings", "Mode"]

DEFAULT_START = dt.datetime(2024, 3, 18, 9, 30, tzinfo=dt.UTC)
"""Start time of examples when none is given: fixed, so that examples and seeded series are reproducible."""

TERRITORIES = {
    "en": "GB",
    "de": "DE",
    "nb": "NO",
    "nn": "NO",
    "no": "NO",
    "sv": "SE",
    "da": "DK",
    "fi": "FI",
    "nl": "NL",
    "fr": "FR",
    "es": "ES",
    "pt": "BR",
    "it": "IT",
    "ja": "JP",
    "zh": "CN",
    "ar": "SA",
    "sl": "SI",
    "ca": "ES",
    "ru": "RU",
    "pl": "PL",
}
"""Territory used with a template language when none is given (the country the language is most used in
among openEHR users; the template does not say)."""


class Mode(Enum):
    """What to put in a composition: the least, the most, or a random selection within the template."""

    MINIMAL = "minimal"
    MAXIMAL = "maximal"
    RANDOM = "random"


@dataclass(frozen=True, slots=True)
class ExampleSettings:
    """Choices the template does not make.

    ``language`` defaults to the template language (names and term texts follow it where the template has
    it); ``territory`` to the usual country of that language. ``max_repeats`` caps how often a node that
    may repeat is present (MAXIMAL uses it, or more where an ELEMENT has more value types to show; RANDOM
    draws 1..max_repeats). ``optional_rate`` is the chance that RANDOM includes an optional node.
    ``spread_days`` is how far before ``start_time`` RANDOM places a composition. ``reference_codes`` gives,
    for a C_CODE_REFERENCE's value set URI, a code of that set as ``(uri, terminology id, code, text)``
    (a terminology server's answer; without one such a node gets code "1").
    """

    language: str | None = None
    territory: str | None = None
    composer_name: str = "Dr. Kari Nordmann"
    health_care_facility: str = "Example Hospital"
    start_time: dt.datetime = DEFAULT_START
    max_repeats: int = 2
    optional_rate: float = 0.6
    spread_days: int = 365
    rm_version: str = "1.1.0"
    event_step: dt.timedelta = field(default=dt.timedelta(minutes=5))
    reference_codes: tuple[tuple[str, str, str, str], ...] = ()

    def territory_for(self, language: str) -> str:
        if self.territory:
            return self.territory
        return TERRITORIES.get(language.split("-", 1)[0].lower(), "US")


class Draw:
    """The state one composition is generated with.

    ``moment`` is the start of the composition's context; events follow it ``settings.event_step`` apart
    (``next_event_time``), values of the past (dates of onset and the like) lie before it.
    """

    __slots__ = ("event_index", "language", "mode", "moment", "rich", "rng", "settings", "stack", "territory")

    def __init__(
        self,
        mode: Mode,
        settings: ExampleSettings,
        language: str,
        rng: random.Random | None = None,
    ) -> None:
        self.mode = mode
        self.settings = settings
        self.language = language
        self.territory = settings.territory_for(language)
        self.rng = rng if mode is Mode.RANDOM else None
        self.rich = mode is Mode.MAXIMAL
        self.event_index = 0
        self.stack: list[int] = []
        start = settings.start_time.replace(microsecond=0)
        if self.rng is not None and settings.spread_days > 0:
            start -= dt.timedelta(seconds=self.rng.randrange(settings.spread_days * 86400))
        self.moment = start

    def next_event_time(self) -> dt.datetime:
        """The time of the next EVENT: the first at ``moment``, each later one a step after the previous."""
        index = self.event_index
        self.event_index += 1
        step = self.settings.event_step
        if self.rng is not None:
            step = step * (0.5 + self.rng.random())
        return (self.moment + index * step).replace(microsecond=0)

    def past(self) -> dt.datetime:
        """A moment for values of the past (onset, last dose): ``moment`` itself unless drawing at random."""
        if self.rng is None:
            return self.moment
        return self.moment - dt.timedelta(seconds=self.rng.randrange(3 * 365 * 86400))

    def later(self) -> dt.datetime:
        """A moment after ``moment`` (end times, expiry): an hour later unless drawing at random."""
        hours = 1 if self.rng is None else self.rng.randint(1, 72)
        return self.moment + dt.timedelta(hours=hours)
