"""RM data_types.uri: references to other resources (URI) and to EHR content (``ehr:`` URI)."""

from __future__ import annotations

from cdr.rm.base import mandatory
from cdr.rm.data_types.basic import DataValue


class DvUri(DataValue):
    """A URI (RFC 3986) referring to a resource."""

    value: str | None = mandatory()

    @property
    def scheme(self) -> str:
        """The URI scheme (``"http"``), empty when the value has none."""
        value = self.value or ""
        head, sep, _ = value.partition(":")
        return head if sep else ""


class DvEhrUri(DvUri):
    """A URI with scheme ``ehr`` pointing into an EHR (``ehr://<ehr_id>/<version id>/<path>``)."""
