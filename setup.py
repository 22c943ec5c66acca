"""Setuptools entry for the optional mypyc build of the commit path's hot modules (``scripts/compile``).

``pip install`` builds the pure-Python package, as always. With ``CDR_COMPILE=1`` the modules that
``cdr/native.py`` lists are also compiled to C extensions from the same sources (in place with
``build_ext --inplace``, or into the wheel), and ``cdr/native_manifest.json`` records the text they were
compiled from, so that an extension never runs in place of a source that has changed since.
"""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

_DIGESTS: dict[str, str] = {}


def _native() -> dict[str, object]:
    """cdr/native.py's names, read without importing cdr (only when compiling: a dependency-only install
    has no sources yet)."""
    return runpy.run_path(os.path.join("cdr", "native.py"))


class _BuildExt(build_ext):
    """build_ext that records the compiled sources once the extensions are built."""

    def run(self) -> None:
        super().run()
        if not self.extensions:
            return
        native = _native()
        if (
            self.inplace
        ):  # an earlier build's extension of a module no longer compiled would still be imported
            orphans = native["orphan_extensions"]
            assert callable(orphans)
            for path in orphans(Path.cwd()):
                path.unlink()
        text = json.dumps(_DIGESTS, indent=1, sort_keys=True) + "\n"
        manifest = str(native["MANIFEST"])
        targets = [Path(manifest)]
        if not self.inplace:
            targets.append(Path(self.build_lib) / manifest)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _extensions() -> list[object]:
    if os.environ.get("CDR_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    native = _native()
    digests = native["source_digests"]
    assert callable(digests)
    _DIGESTS.update(digests(Path.cwd()))  # the text mypyc reads next
    compiled = native["COMPILED"]
    assert isinstance(compiled, tuple)
    # one group: the modules call each other as C functions; its shared library is cdr/native__mypyc*.so
    return list(mypycify(list(compiled), opt_level="3", group_name="cdr.native"))


setup(ext_modules=_extensions(), cmdclass={"build_ext": _BuildExt})
