"""Fixtures for the cache tests."""

from __future__ import annotations

import pytest

from simdlens.config import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(cache_dir=str(tmp_path / "cache"))
