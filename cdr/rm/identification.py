"""BASE support.identification: identifiers of objects and references to them.

Every identifier keeps its ``value`` as the string that was sent; the typed accessors split it the way the
spec defines the syntax (``OBJECT_VERSION_ID`` is ``object_id::creating_system_id::version_tree_id``), and
:mod:`cdr.rm.invariants` reports values that do not follow it.
"""

from __future__ import annotations

import re
from typing import ClassVar

from cdr.numerals import is_digits
from cdr.rm.base import RMObject, mandatory, optional


class ObjectId(RMObject):
    """Ancestor of all identifiers; ``value`` is the identifier in its string form."""

    rm_abstract: ClassVar[bool] = True

    value: str | None = mandatory()


class UidBasedId(ObjectId):
    """An identifier with a UID root (UUID, ISO OID or internet id) and an optional ``::extension``."""

    rm_abstract: ClassVar[bool] = True

    @property
    def root(self) -> str:
        """The UID part, before the first ``::``."""
        return (self.value or "").split("::", 1)[0]

    @property
    def extension(self) -> str:
        """Everything after the first ``::`` (empty when there is none)."""
        parts = (self.value or "").split("::", 1)
        return parts[1] if len(parts) == 2 else ""


class HierObjectId(UidBasedId):
    """Globally unique id of a versioned object or other entity: ``root[::extension]``."""


class ObjectVersionId(UidBasedId):
    """Id of one version: ``object_id::creating_system_id::version_tree_id``."""

    def _parts(self) -> list[str]:
        return (self.value or "").split("::")

    @property
    def object_id(self) -> str:
        """The versioned object's id (a UID)."""
        return self._parts()[0]

    @property
    def creating_system_id(self) -> str:
        """The system that created this version."""
        parts = self._parts()
        return parts[1] if len(parts) > 1 else ""

    @property
    def version_tree_id(self) -> str:
        """``trunk_version[.branch_number.branch_version]``, e.g. ``"1"`` or ``"1.2.1"``."""
        parts = self._parts()
        return parts[2] if len(parts) > 2 else ""

    @property
    def trunk_version(self) -> int | None:
        """The trunk version number, or ``None`` when the version tree id is malformed."""
        head = self.version_tree_id.split(".", 1)[0]
        return int(head) if is_digits(head) else None


ARCHETYPE_ID_PATTERN = re.compile(
    r"^(?:(?P<namespace>[a-zA-Z][\w.-]*)::)?"
    r"(?P<rm_originator>[a-zA-Z]\w*)-(?P<rm_name>[a-zA-Z]\w*)-(?P<rm_entity>[a-zA-Z]\w*)"
    r"\.(?P<concept>[a-zA-Z]\w*(?:-\w+)*)"
    r"\.(?P<version>v[0-9]+(?:\.[0-9]+){0,2}(?:-(?:rc|alpha|beta)(?:\.[0-9]+)?)?)$"
)
"""``rm_originator-rm_name-rm_entity.concept[-specialisation].vN``, e.g. ``openEHR-EHR-OBSERVATION.bp.v1``."""


class ArchetypeId(ObjectId):
    """Id of an archetype, ``openEHR-EHR-OBSERVATION.blood_pressure.v2``."""

    def _match(self) -> re.Match[str] | None:
        return ARCHETYPE_ID_PATTERN.match(self.value or "")

    @property
    def rm_entity(self) -> str | None:
        """The RM class the archetype constrains (``OBSERVATION``), ``None`` when the id is malformed."""
        m = self._match()
        return m.group("rm_entity") if m else None

    @property
    def concept_id(self) -> str | None:
        """The concept part, including any specialisation (``blood_pressure``)."""
        m = self._match()
        return m.group("concept") if m else None

    @property
    def version_id(self) -> str | None:
        """The version part without the ``v`` (``"2"``)."""
        m = self._match()
        return m.group("version")[1:] if m else None


class TemplateId(ObjectId):
    """Id of an operational template; free text in ADL 1.4."""


class TerminologyId(ObjectId):
    """Id of a terminology, ``name`` or ``name(version)`` (``SNOMED-CT(2003)``)."""

    @property
    def name(self) -> str:
        """The terminology name without the version."""
        return (self.value or "").split("(", 1)[0]

    @property
    def version_id(self) -> str:
        """The version in parentheses, empty when none is given."""
        value = self.value or ""
        if "(" in value and value.endswith(")"):
            return value[value.index("(") + 1 : -1]
        return ""


class GenericId(ObjectId):
    """An identifier from a scheme the RM does not model (``scheme`` names it, e.g. ``"oid"``)."""

    scheme: str | None = mandatory()


class ObjectRef(RMObject):
    """Reference to an object in another service (``namespace``) of a given ``type``."""

    id: ObjectId | None = mandatory()
    namespace: str | None = mandatory(description="Service or namespace, e.g. 'local', 'demographic'.")
    type: str | None = mandatory(description="Type of the referenced object, e.g. 'VERSIONED_COMPOSITION'.")


class PartyRef(ObjectRef):
    """Reference to a party in a demographic (or other identity) service."""


class AccessGroupRef(ObjectRef):
    """Reference to an access group in an access control service."""


class LocatableRef(ObjectRef):
    """Reference to a LOCATABLE inside a version, by ``id`` (an OBJECT_VERSION_ID) and ``path``."""

    path: str | None = optional("Path of the LOCATABLE inside the top-level object.")
