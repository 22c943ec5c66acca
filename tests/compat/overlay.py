"""What we change in the ITS-REST 1.0.3 OpenAPI documents before checking the server against them.

The YAML files are CC BY-ND: they are read in place from the corpus and never edited; every change is made
to the loaded dictionary here, and each has a reason. Two kinds:

* ``SPEC_FIXES``: places where the document contradicts the openEHR specifications it describes (the
  overview's own rules, or the RM). Only these relax a check.
* ``SPEED``: the request body of the COMPOSITION writes is not generated from the (recursive, 400-type)
  Composition schema, which costs about a second per example; the test sends real compositions instead
  (see ``test_openapi.py``). The responses are still checked against the full schema.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Spec = dict[str, Any]
_REF = re.compile(r'"\$ref": "#/components/schemas/([^"]+)"')
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

GENERAL_STATUSES = {
    "400": "Bad request: a malformed id, parameter or header (overview, 'HTTP status codes')",
    "406": "Not acceptable: no representation the client accepts (overview, 'Content negotiation')",
    "415": "Unsupported media type: a body type the service does not read (overview, 'Content negotiation')",
}


@dataclass(frozen=True, slots=True)
class Fix:
    """One documented change to the loaded spec."""

    name: str
    reason: str
    apply: Callable[[Spec], None]


def _operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _general_statuses(spec: Spec) -> None:
    for _path, _method, op in _operations(spec):
        for status, text in GENERAL_STATUSES.items():
            if status == "415" and "requestBody" not in op:
                continue
            op["responses"].setdefault(status, {"description": text})


def _hier_object_id(spec: Spec) -> None:
    schema = spec["components"]["schemas"].get("HierObjectId")
    if schema is not None:
        schema["properties"]["value"].pop("format", None)


def _archetyped_type(spec: Spec) -> None:
    schema = spec["components"]["schemas"].get("Archetyped")
    if schema is not None:
        schema.setdefault("properties", {})["_type"] = {"type": "string", "enum": ["ARCHETYPED"]}


def _discriminated_types(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    keys: dict[str, list[str]] = {}
    for schema in schemas.values():
        discriminator = schema.get("discriminator") or {}
        if discriminator.get("propertyName") != "_type":
            continue
        for key, ref in (discriminator.get("mapping") or {}).items():
            keys.setdefault(ref.rsplit("/", 1)[1], []).append(key)
    for name, values in keys.items():
        prop = (schemas.get(name, {}).get("properties") or {}).get("_type")
        if prop is not None and "enum" not in prop:
            prop["enum"] = sorted(set(values))


def _proportion_type(spec: Spec) -> None:
    schema = spec["components"]["schemas"].get("UMDvProportion")
    if schema is not None and "semantic_type" in schema["properties"]:
        schema["properties"]["type"] = schema["properties"].pop("semantic_type")
        schema["required"] = ["type" if r == "semantic_type" else r for r in schema["required"]]


def _deleted_version_data(spec: Spec) -> None:
    schema = spec["components"]["schemas"].get("UMOriginalVersion")
    if schema is not None:
        schema["required"] = [r for r in schema["required"] if r != "data"]


def _localized_texts(spec: Spec) -> None:
    for schema in spec["components"]["schemas"].values():
        if schema.get("required") == ["sl"]:
            schema.pop("required")
            schema["additionalProperties"] = {"type": "string"}


def _range_numbers(spec: Spec) -> None:
    schema = spec["components"]["schemas"].get("Range")
    if schema is not None:
        for bound in ("min", "max"):
            schema["properties"][bound] = {"type": "number"}


def _reachable(schemas: dict[str, Any], name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in schemas:
            continue
        seen.add(current)
        text = json.dumps(schemas[current])
        todo.extend(_REF.findall(text))
    return seen


def _web_template_required(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    if "WebTemplate" in schemas:
        for name in _reachable(schemas, "WebTemplate"):
            schemas[name].pop("required", None)


def _directory_conflict(spec: Spec) -> None:
    op = spec["paths"].get("/ehr/{ehr_id}/directory", {}).get("post")
    if op is not None:
        op["responses"].setdefault("409", {"description": "the EHR has a directory already"})


def _read_only_ehr(spec: Spec) -> None:
    for path, method, op in _operations(spec):
        writes = method in ("post", "put", "delete") and path.startswith("/ehr/{ehr_id}/")
        if writes and not path.startswith("/ehr/{ehr_id}/ehr_status"):
            op["responses"].setdefault("409", {"description": "the EHR does not allow modification"})


SPEC_FIXES = (
    Fix(
        "general status codes",
        "The overview's 'HTTP status codes' section lists 400, 406 and 415 for every resource (malformed "
        "requests, content negotiation, unreadable body types) and says particular responses only nuance "
        "them; the per-operation lists leave them out (e.g. 400 for a malformed version uid on GET "
        "/ehr/{ehr_id}/ehr_status/{version_uid}, which EHRbase answers 400 too).",
        _general_statuses,
    ),
    Fix(
        "HIER_OBJECT_ID value",
        "HierObjectId.value has format uuid, but the RM's HIER_OBJECT_ID is a UUID, ISO_OID or INTERNET_ID, "
        "and EHR.system_id is the system's name ('test.cdr', EHRbase's 'local.ehrbase.org'), never a UUID.",
        _hier_object_id,
    ),
    Fix(
        "ARCHETYPED _type",
        "Archetyped is the only schema with additionalProperties false, and it does not list _type, which "
        "ITS-JSON allows on every object and which canonical JSON writers (ours, archie's) put there.",
        _archetyped_type,
    ),
    Fix(
        "discriminated _type",
        "ItemSingle/ItemList/ItemTable/ItemTree, Element/Cluster and Composition/EhrStatus give _type only a "
        "default, so an ITEM_TREE is valid under several branches of UItemStructure's oneOf and any real "
        "composition fails; the discriminator mapping says which branch a _type selects, so each mapped "
        "schema's _type is pinned to its mapping key.",
        _discriminated_types,
    ),
    Fix(
        "DV_PROPORTION type",
        "UMDvProportion requires 'semantic_type', but the RM attribute (and ITS-JSON's name for it) is "
        "'type' (the proportion kind); real DV_PROPORTIONs fail the schema as written.",
        _proportion_type,
    ),
    Fix(
        "deleted version data",
        "UMOriginalVersion requires data, but a logical deletion is a version without data (RM "
        "ORIGINAL_VERSION.data is 0..1; ITS-REST answers 204 for its COMPOSITION), so the VERSION of a "
        "deleted composition has none.",
        _deleted_version_data,
    ),
    Fix(
        "web template localized texts",
        "LocalizedNames1/2, LocalizedLabels and LocalizedDescriptions require a property 'sl' (Slovenian: "
        "the schemas were derived from an example web template); these maps take any language code.",
        _localized_texts,
    ),
    Fix(
        "web template ranges",
        "Range.min/max are int32 (from an example of 0..1000), but a web template's validation ranges bound "
        "DV_QUANTITY magnitudes and DV_PROPORTION numerators, which are reals (EHRbase sends 0.0).",
        _range_numbers,
    ),
    Fix(
        "web template required members",
        "The WebTemplate schemas were derived from one example web template: every member that example has "
        "is required (localizedDescriptions on every node, 'sl' labels, ...), though web template nodes "
        "carry them only where the template has them; the types are kept, the required lists dropped.",
        _web_template_required,
    ),
    Fix(
        "directory 409",
        "POST /ehr/{ehr_id}/directory lists no 409 although an EHR has at most one directory "
        "(RM EHR.directory); the overview gives 409 to 'a duplicate or a conflict' and EHRbase answers a "
        "second POST with 409.",
        _directory_conflict,
    ),
    Fix(
        "read-only EHR 409",
        "The writes of COMPOSITION, DIRECTORY and CONTRIBUTION list no 409, but an EHR whose EHR_STATUS has "
        "is_modifiable false accepts no new versions (RM EHR_STATUS.is_modifiable); the overview gives 409 "
        "to 'a conflict' and EHRbase answers such writes with 409 ('does not allow modification'). Only "
        "EHR_STATUS stays writable: it is how an EHR becomes modifiable again.",
        _read_only_ehr,
    ),
)

PREFER_MINIMAL = (
    "A 200/201 answer without a body is what 'Prefer: return=minimal' (the default) asks for (overview, "
    "'Prefer' header), but the operations declare their body's media type unconditionally: for such answers "
    "the Content-Type and body-schema checks are not run (status code and headers still are)."
)

COMPOSITION_WRITES = (
    ("/ehr/{ehr_id}/composition", "post"),
    ("/ehr/{ehr_id}/composition/{uid_based_id}", "put"),
)


def _composition_bodies(spec: Spec) -> None:
    for path, method in COMPOSITION_WRITES:
        op = spec["paths"][path][method]
        op["requestBody"]["content"] = {"application/json": {"schema": {"type": "object"}}}


SPEED = Fix(
    "composition bodies",
    "Real compositions (valid, invalid and generated ones) are sent instead of bodies generated from the "
    "Composition schema, which costs about a second per example.",
    _composition_bodies,
)


def load(path: Path, *, speed: bool = True) -> Spec:
    """The spec at ``path`` with every fix applied (and the speed change unless ``speed`` is false)."""
    spec: Spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    for fix in SPEC_FIXES:
        fix.apply(spec)
    if speed and any(p in spec["paths"] for p, _m in COMPOSITION_WRITES):
        SPEED.apply(spec)
    return spec
