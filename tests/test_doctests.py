"""Every example in a docstring of ``cdr`` and ``aql`` runs and holds.

The examples are read from the source files (module, class, function and method docstrings, found with
``ast``) and run in the namespace of the imported module, so a module that the build compiled with mypyc
(whose functions keep no docstrings doctest could find) has its examples run against the compiled code;
the suite's pure-Python run does the same against the sources.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"_generated", "migrations"}  # ANTLR's output; Alembic scripts that run only under Alembic


def _sources() -> list[Path]:
    found = []
    for package in ("cdr", "aql"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if SKIPPED_DIRS.isdisjoint(path.relative_to(ROOT).parts) and ">>>" in path.read_text("utf-8"):
                found.append(path)
    return found


def _docstrings(tree: ast.Module) -> Iterator[tuple[str, str, int]]:
    """(qualified name, docstring, line) of the module and of every class and function in it."""
    if (text := ast.get_docstring(tree, clean=False)) is not None:
        yield "", text, 1

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                if (text := ast.get_docstring(child, clean=False)) is not None:
                    yield name, text, child.lineno
                yield from visit(child, f"{name}.")

    yield from visit(tree, "")


def test_the_sources_have_examples() -> None:
    assert len(_sources()) >= 20


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docstring_examples_hold(path: Path) -> None:
    parts = path.relative_to(ROOT).with_suffix("").parts
    module = importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    attempted = 0
    for name, text, line in _docstrings(ast.parse(path.read_text("utf-8"))):
        if ">>>" not in text:
            continue
        test = parser.get_doctest(text, dict(vars(module)), f"{module.__name__}.{name}", str(path), line)
        runner.run(test)
        attempted += len(test.examples)
    result = runner.summarize(verbose=False)
    assert attempted > 0
    assert result.failed == 0, f"{result.failed} of {attempted} examples in {path.name} failed (above)"
