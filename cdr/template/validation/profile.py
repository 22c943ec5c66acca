"""Validation profiles: ``strict`` (the AOM), and ``ehrbase`` for data EHRbase accepts against the AOM.

A profile is a set of named departures from the strict rules, each one a flag with its evidence, so that
what a profile allows is listed in one place and can be tested one by one. ``strict`` departs from
nothing. ``ehrbase`` reproduces EHRbase's acceptance only where that acceptance is known from its sources
and from data its own test suites commit (docs/conformance.md, "Validation", lists every departure and the
candidates that were rejected).

``ehrbase`` is what the server and ``cdr import`` accept unless told otherwise (:data:`DEFAULT`):
applications and conformance suites written against EHRbase, the de-facto reference, commit such data, and
a server that refused it could not even load their fixtures. A site that wants the AOM to the letter sets
``VALIDATION_PROFILE=strict``. The validator itself (the function :func:`~cdr.template.validation.validate`
and ``cdr validate``, the modeller's check) stays with the AOM unless given a profile: it reports a value of
another type, which ``--profile ehrbase`` shows the server would accept.

>>> profile_named("ehrbase").foreign_element_value, profile_named("ehrbase").item_version_uid
(True, True)
>>> profile_named("strict") is STRICT
True
>>> DEFAULT is EHRBASE
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ValidationProfile:
    """What a validation run accepts beyond the AOM; every field is one departure, off in ``strict``."""

    name: str
    foreign_element_value: bool = False
    """Accept an ELEMENT.value whose RM type is not the one data value type the template allows.

    EHRbase (openEHR_SDK ``ValidationWalker``) walks the web template, not the AOM: ``ItemExtractor``
    filters the data at a node by RM type only where several nodes share the path (a choice), and the
    walker then picks the checks by the *data's* type (``getValidator(rmObject)``). A value of another
    type under a single-type node is therefore never compared with the node's type. EHRbase's own AQL
    suites load such data (``all_types_systematic_tests*.json``: a DV_TEXT where ``test_all_types.opt``
    allows only DV_URI). The value is then held to the RM only.

    Not covered, because EHRbase rejects them too: DV_TEXT where the template wants DV_CODED_TEXT (its
    ``DvTextValidator``: "Expected a DV_CODED_TEXT but got DV_TEXT"), and any value under a DV_INTERVAL
    constraint (the walker descends into interval bounds and ``ItemExtractor`` throws on a value that is
    not an interval).
    """

    item_version_uid: bool = False
    """Accept the ``uid`` of an object inside the composition (an entry, a cluster) that is an
    OBJECT_VERSION_ID whose value is not ``object_id::creating_system_id::version_tree_id``.

    The lexical form is the BASE specification's, but archie (whose RM validator EHRbase runs) declares no
    invariant on OBJECT_VERSION_ID: its ``value`` is a plain string, and the parts are read only on demand.
    EHRbase's COMPOSITION suite commits ``composition_feeder_audit_in_element.json``, whose OBSERVATION has
    the uid ``{"_type": "OBJECT_VERSION_ID", "value": "<a bare UUID>"}``. Such an item uid names no version
    this repository keeps, so nothing reads its parts. The composition's own ``uid`` stays checked: it is
    the version's uid.
    """


STRICT = ValidationProfile("strict")
EHRBASE = ValidationProfile("ehrbase", foreign_element_value=True, item_version_uid=True)

DEFAULT = EHRBASE
"""The profile of the server and ``cdr import`` when no setting names one."""

PROFILES: dict[str, ValidationProfile] = {p.name: p for p in (STRICT, EHRBASE)}
"""Every profile by the name settings and command-line options use."""


def profile_named(name: str) -> ValidationProfile:
    """The profile called ``name`` (case-insensitive); :class:`ValueError` naming the choices otherwise."""
    found = PROFILES.get(name.strip().lower())
    if found is None:
        raise ValueError(f"unknown validation profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return found
