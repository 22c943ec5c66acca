"""Build cdr's compact openEHR terminology data from the openEHR terminology XML.

Input: a checkout (or a copy of the ``computable/XML`` folder) of the openEHR ``specifications-TERM``
repository (https://github.com/openEHR/specifications-TERM), the definitive computable form of the
openEHR Support Terminology:

* ``computable/XML/<lang>/openehr_terminology.xml``   vocabularies (groups) and the openEHR code sets,
  one file per language (``en`` is the reference; ``es``, ``ja``, ``pt`` and ``zh`` are translations);
* ``computable/XML/openehr_external_terminologies.xml``  ISO 3166-1, ISO 639-1, IANA character sets and
  media types.

Output (committed; the runtime never reads XML): ``cdr/terminology/data/openehr_terminology.json`` and
``cdr/terminology/data/code_sets.json``.

Usage::

    python scripts/build_terminology.py --source /tmp/specifications-TERM --revision <commit or tag>

Translations are matched to English groups by ``openehr_id``, then by English group name, then (older
files name groups in their own language) by the overlap of concept ids. Rubrics that a translation
marks as untranslated (``*episodic(en)``, ``Pace (en)``) are dropped, so lookups fall back to English.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "cdr" / "terminology" / "data"
REFERENCE_LANGUAGE = "en"
UNTRANSLATED = re.compile(r"^\*.*\(en\)$|\s\(en\)$")
# IETF and ISO say these code sets compare case-insensitively (RFC 5646, RFC 6838, IANA charsets).
CASE_INSENSITIVE = {"languages", "media_types", "character_sets"}


def normalise(name: str) -> str:
    """Group or code-set name to identifier form: ``"composition category"`` -> ``composition_category``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_groups(root: ET.Element) -> list[dict[str, Any]]:
    groups = []
    for group in root.iter("group"):
        concepts = [(c.attrib["id"].strip(), c.attrib["rubric"].strip()) for c in group.iter("concept")]
        groups.append(
            {
                "openehr_id": group.attrib.get("openehr_id", ""),
                "name": group.attrib.get("name", ""),
                "concepts": concepts,
            }
        )
    return groups


def read_code_sets(root: ET.Element) -> dict[str, dict[str, Any]]:
    sets: dict[str, dict[str, Any]] = {}
    for codeset in root.iter("codeset"):
        ident = normalise(codeset.attrib["openehr_id"])
        codes = [c.attrib["value"].strip() for c in codeset.iter("code")]
        descriptions = {
            c.attrib["value"].strip(): c.attrib["description"].strip()
            for c in codeset.iter("code")
            if c.attrib.get("description")
        }
        entry: dict[str, Any] = {
            "external_id": codeset.attrib["external_id"],
            "issuer": codeset.attrib.get("issuer", ""),
            "case_sensitive": ident not in CASE_INSENSITIVE,
            "codes": list(dict.fromkeys(codes)),
        }
        if descriptions:
            entry["descriptions"] = descriptions
        sets[ident] = entry
    return sets


def match_group(group: dict[str, Any], reference: dict[str, dict[str, Any]]) -> str | None:
    """The English group id a translated group corresponds to."""
    for key in (group["openehr_id"], group["name"]):
        if key and normalise(key) in reference:
            return normalise(key)
    ids = {code for code, _ in group["concepts"]}
    best, best_score = None, 0.0
    for gid, ref in reference.items():
        ref_ids = set(ref["codes"])
        score = len(ids & ref_ids) / len(ids | ref_ids) if ids | ref_ids else 0.0
        if score > best_score:
            best, best_score = gid, score
    return best if best_score > 0.5 else None


def build(source: Path, revision: str) -> tuple[dict[str, Any], dict[str, Any]]:
    xml_dir = source / "computable" / "XML" if (source / "computable").is_dir() else source
    language_files = sorted(xml_dir.glob("*/openehr_terminology.xml"))
    english = xml_dir / REFERENCE_LANGUAGE / "openehr_terminology.xml"
    if english not in language_files:
        raise SystemExit(f"no {english}")
    en_root = ET.parse(english).getroot()

    groups: dict[str, dict[str, Any]] = {}
    for group in read_groups(en_root):
        gid = normalise(group["openehr_id"] or group["name"])
        groups[gid] = {
            "name": group["name"],
            "codes": [code for code, _ in group["concepts"]],
            "rubrics": {REFERENCE_LANGUAGE: [rubric for _, rubric in group["concepts"]]},
        }

    languages = [REFERENCE_LANGUAGE]
    for path in language_files:
        lang = path.parent.name  # the folder, not the root attribute (zh's file says language="en")
        if lang == REFERENCE_LANGUAGE:
            continue
        languages.append(lang)
        for group in read_groups(ET.parse(path).getroot()):
            gid_found = match_group(group, groups)
            if gid_found is None:
                print(f"warning: {lang}: group {group['name']!r} matches no English group", file=sys.stderr)
                continue
            translated = {
                code: rubric for code, rubric in group["concepts"] if not UNTRANSLATED.search(rubric)
            }
            if translated:
                target = groups[gid_found]
                target["rubrics"][lang] = [translated.get(code) for code in target["codes"]]

    code_sets = read_code_sets(en_root)
    external = xml_dir / "openehr_external_terminologies.xml"
    code_sets.update(read_code_sets(ET.parse(external).getroot()))

    provenance = {
        "repository": "https://github.com/openEHR/specifications-TERM",
        "revision": revision,
        "release": en_root.attrib.get("version", ""),
        "date": en_root.attrib.get("date", ""),
    }
    terminology = {"source": provenance, "languages": languages, "groups": groups}
    return terminology, {"source": provenance, "code_sets": code_sets}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="specifications-TERM checkout")
    parser.add_argument("--revision", default="unknown", help="commit or tag of the source, for provenance")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    terminology, code_sets = build(args.source, args.revision)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in (("openehr_terminology.json", terminology), ("code_sets.json", code_sets)):
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
        (args.out / name).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out / name} ({len(text)} chars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
