"""The examples in the security modules' docstrings run and hold."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from cdr.security import helseid, norwegian_ids, passwords
from cdr.services import directory


@pytest.mark.parametrize("module", [helseid, norwegian_ids, passwords, directory], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
