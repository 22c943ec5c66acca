"""The modules mypyc may compile to C extensions, and the guard that keeps those true to their sources.

A commit walks every RM object of a composition several times (parse, validation, canonical form,
decomposition); those loops are Python's slowest kind of code, and compiled by mypyc from the same typed
sources they take about a third less CPU (docs/benchmarks.md). ``scripts/compile`` builds them in place
(``setup.py``, ``CDR_COMPILE=1``); ``pip install`` alone builds none, and everything works without them.

Python imports an extension before a ``.py`` of the same name, so an extension built from an older text of
its source would run old code: the build records what it compiled (:data:`MANIFEST`). The compiled modules
call each other natively, so one stale module makes the whole group untrustworthy:
:func:`use_sources_if_stale` then has *every* ``cdr`` module load from source (slower, never wrong) and says
so once. ``CDR_PURE_PYTHON=1`` asks for the same on purpose (the suite's pure-Python run).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED = (
    "cdr/formats/canonical_json.py",
    "cdr/formats/canonical_form.py",
    "cdr/storage/decompose.py",
    "cdr/storage/leaf_values.py",
    "cdr/rm/data_types/iso8601.py",
    "cdr/rm/instances.py",
    "cdr/memo.py",
    "cdr/template/aom.py",
    "cdr/rm/invariants/",
    "cdr/template/validation/",
)
"""Sources given to mypyc (files, and directories for every module in them), relative to the project root."""

GROUP_LIBRARY = "native__mypyc"
"""The compiled modules' shared library (mypyc group ``cdr.native``), beside this module."""

MANIFEST = "cdr/native_manifest.json"
"""Written by the build next to the extensions: the SHA-256 of each source they were compiled from."""

_ROOT = Path(__file__).resolve().parent.parent
_EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def compiled_sources(root: Path = _ROOT) -> list[Path]:
    """The ``.py`` files :data:`COMPILED` names (those that exist under ``root``)."""
    out: list[Path] = []
    for entry in COMPILED:
        path = root / entry
        out.extend(sorted(path.glob("*.py")) if entry.endswith("/") else [path] if path.is_file() else [])
    return out


def _extension_of(source: Path) -> Path | None:
    for suffix in _EXTENSION_SUFFIXES:
        candidate = source.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


def source_digests(root: Path = _ROOT) -> dict[str, str]:
    """SHA-256 of each listed source, by path relative to ``root`` (what :data:`MANIFEST` records)."""
    return {
        source.relative_to(root).as_posix(): hashlib.sha256(source.read_bytes()).hexdigest()
        for source in compiled_sources(root)
    }


def _built_from(root: Path) -> dict[str, str]:
    try:
        recorded = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def stale_extensions(root: Path = _ROOT) -> list[str]:
    """Sources whose extension is missing while others exist, or was built from other text (empty when none
    are compiled, or all are current). By content: file times say nothing after a copy or a checkout."""
    sources = compiled_sources(root)
    extensions = [_extension_of(source) for source in sources]
    if not any(extensions):
        return []
    built, digests = _built_from(root), source_digests(root)
    changed = [
        name
        for (name, digest), ext in zip(digests.items(), extensions, strict=True)
        if ext is None or built.get(name) != digest
    ]
    return changed + sorted(
        set(built) - set(digests)
    )  # compiled then, no longer listed: its extension lingers


def up_to_date(root: Path = _ROOT) -> bool:
    """Whether every listed module has an extension built from its present source."""
    return all(_extension_of(source) for source in compiled_sources(root)) and not stale_extensions(root)


def orphan_extensions(root: Path = _ROOT) -> list[Path]:
    """Extensions under ``root``'s ``cdr`` of modules no longer listed (an earlier build's): Python would
    still import them ahead of their sources, so the build deletes them."""
    listed = {source.with_suffix("") for source in compiled_sources(root)}
    extensions = {p for p in (root / "cdr").rglob("*.so") if p.name.endswith(_EXTENSION_SUFFIXES)}
    return sorted(
        path
        for path in extensions
        if path.parent / path.name.split(".", 1)[0] not in listed
        and path.name.split(".", 1)[0] != GROUP_LIBRARY
    )


def compiled_modules() -> list[str]:
    """The ``cdr`` modules loaded now from an extension (what a running server uses)."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith("cdr.") and str(getattr(module, "__file__", "")).endswith(_EXTENSION_SUFFIXES)
    )


class _SourcesOnly(importlib.abc.MetaPathFinder):
    """Finds ``cdr`` modules as their ``.py`` sources, never as extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("cdr.") or path is None:
            return None
        name = fullname.rpartition(".")[2]
        for directory in path:
            package = Path(directory) / name
            if (package / "__init__.py").is_file():  # a package's __init__ may be compiled too
                return importlib.util.spec_from_file_location(
                    fullname, package / "__init__.py", submodule_search_locations=[str(package)]
                )
            if (source := package.with_suffix(".py")).is_file():
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def use_sources_if_stale() -> None:
    """Load every ``cdr`` module from source when asked to (``CDR_PURE_PYTHON=1``) or when an extension is
    out of date; called once, by ``cdr/__init__.py``, before any other ``cdr`` module is imported."""
    if any(isinstance(finder, _SourcesOnly) for finder in sys.meta_path):
        return
    if os.environ.get("CDR_PURE_PYTHON") == "1":
        sys.meta_path.insert(0, _SourcesOnly())
        return
    stale = stale_extensions()
    if stale:
        sys.meta_path.insert(0, _SourcesOnly())
        warnings.warn(
            f"compiled modules do not match their sources ({', '.join(stale[:3])}"
            f"{', ...' if len(stale) > 3 else ''}): running all of cdr as Python; "
            "./scripts/compile rebuilds them",
            RuntimeWarning,
            stacklevel=2,
        )
