"""Response documents built from service results: EHR, VERSIONED_OBJECT, REVISION_HISTORY, ORIGINAL_VERSION,
template lists. All are canonical JSON, so that the XML writer can render them too."""

from __future__ import annotations

from typing import Any

from cdr.services.ehr import EhrView
from cdr.services.versions import VersionedObjectView
from cdr.storage import TemplateRecord, VersionRecord
from cdr.storage.records import instant_text, object_ref

VERSIONED_TYPES = {
    "COMPOSITION": "VERSIONED_COMPOSITION",
    "EHR_STATUS": "VERSIONED_EHR_STATUS",
    "FOLDER": "VERSIONED_FOLDER",
}


def date_time(moment: Any) -> dict[str, Any]:
    return {"_type": "DV_DATE_TIME", "value": instant_text(moment)}


def ehr_document(view: EhrView) -> dict[str, Any]:
    """The EHR resource: ids, the current EHR_STATUS version, the EHR_ACCESS and directory, time created
    (ITS-REST EHR: ``ehr_access`` is an OBJECT_REF to the VERSIONED_EHR_ACCESS)."""
    ehr = view.ehr
    doc: dict[str, Any] = {
        "_type": "EHR",
        "system_id": {"_type": "HIER_OBJECT_ID", "value": ehr.system_id},
        "ehr_id": {"_type": "HIER_OBJECT_ID", "value": str(ehr.ehr_id)},
        "time_created": date_time(ehr.time_created),
        "ehr_status": object_ref(view.status.uid, "EHR_STATUS", "OBJECT_VERSION_ID"),
    }
    if ehr.ehr_access_id is not None:
        doc["ehr_access"] = object_ref(ehr.ehr_access_id, "EHR_ACCESS")
    if ehr.directory_id is not None:
        doc["directory"] = object_ref(ehr.directory_id, "FOLDER")
    return doc


def versioned_object_document(view: VersionedObjectView) -> dict[str, Any]:
    return {
        "_type": VERSIONED_TYPES[view.kind],
        "uid": {"_type": "HIER_OBJECT_ID", "value": str(view.vo_id)},
        "owner_id": object_ref(view.ehr_id, "EHR"),
        "time_created": date_time(view.time_created),
    }


def revision_history_document(versions: list[VersionRecord]) -> dict[str, Any]:
    return {
        "_type": "REVISION_HISTORY",
        "items": [
            {
                "_type": "REVISION_HISTORY_ITEM",
                "version_id": {"_type": "OBJECT_VERSION_ID", "value": v.uid},
                "audits": [v.commit_audit.to_json()],
            }
            for v in versions
        ],
    }


def template_document(record: TemplateRecord) -> dict[str, Any]:
    """A template in the list (EHRbase's shape)."""
    return {
        "template_id": record.template_id,
        "concept": record.concept,
        "archetype_id": record.archetype_id,
        "created_timestamp": instant_text(record.uploaded),
    }
