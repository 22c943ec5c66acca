"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import CORPUS, require_corpus

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def corpus() -> Path:
    """The shared corpus root (skips, or fails in CI, when absent)."""
    return require_corpus()


@pytest.fixture
def corpus_root() -> Path:
    return CORPUS


@pytest.fixture
def repo_root() -> Path:
    return REPO
