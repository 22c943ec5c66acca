"""One node of a web template and its JSON, keys in the order EHRbase writes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdr.template.web_template_inputs import Json


@dataclass(slots=True, eq=False)
class WebTemplateNode:
    """One node of the web template tree; :meth:`to_json` writes it with EHRbase's key order."""

    rm_type: str
    aql_path: str
    min: int
    max: int
    name: str | None = None
    localized_name: str | None = None
    node_id: str | None = None
    localized_names: dict[str, str] = field(default_factory=dict)
    localized_descriptions: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    children: list[WebTemplateNode] = field(default_factory=list)
    inputs: list[Json] = field(default_factory=list)
    in_context: bool = False
    proportion_types: list[str] = field(default_factory=list)
    cardinalities: list[tuple[int, int, list[WebTemplateNode]]] = field(default_factory=list)
    id: str = ""
    id_base: str | None = None  # when the id is not derived from the name (``quantity_value``)

    def to_json(self) -> Json:
        out: Json = {"id": self.id}
        if self.name is not None:
            out["name"] = self.name
        if self.localized_name is not None:
            out["localizedName"] = self.localized_name
        out["rmType"] = self.rm_type
        if self.node_id:
            out["nodeId"] = self.node_id
        out["min"] = self.min
        out["max"] = self.max
        if self.cardinalities:
            out["cardinalities"] = [
                {"min": lo, "max": hi, "ids": [n.id for n in nodes]} for lo, hi, nodes in self.cardinalities
            ]
        if self.localized_names:
            out["localizedNames"] = dict(self.localized_names)
        if self.localized_descriptions:
            out["localizedDescriptions"] = dict(self.localized_descriptions)
        if self.aql_path:
            out["aqlPath"] = self.aql_path
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        if self.inputs:
            out["inputs"] = self.inputs
        if self.in_context:
            out["inContext"] = True
        if self.proportion_types:
            out["proportionTypes"] = list(self.proportion_types)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out
