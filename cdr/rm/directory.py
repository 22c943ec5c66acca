"""RM common.directory: folders organising references to versioned objects of an EHR."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdr.rm.archetyped import Locatable
from cdr.rm.change_control import VersionedObject

if TYPE_CHECKING:
    from cdr.rm.data_structures import ItemStructure
    from cdr.rm.identification import ObjectRef


class Folder(Locatable):
    """A folder of sub-folders and references to versioned objects (usually compositions)."""

    folders: list[Folder] | None = None
    items: list[ObjectRef] | None = None
    details: ItemStructure | None = None


class VersionedFolder(VersionedObject):
    """Versioned container of an EHR's directory (root folder)."""
