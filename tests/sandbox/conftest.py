"""Shared fixtures for the sandbox tests: one cache directory (so precompiled headers are built once)
and base settings. Results are computed in batches by session fixtures in the test modules (one
`verify` call per kernel), so the whole directory stays within a few minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simdlens.config import BenchSettings, SandboxSettings, Settings


@pytest.fixture(scope="session")
def sandbox_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("simdlens-cache")


@pytest.fixture(scope="session")
def base_settings(sandbox_cache: Path) -> Settings:
    return Settings(
        cache_dir=str(sandbox_cache), jobs=1,
        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=20.0),
        bench=BenchSettings(sizes=(4096,), processes=3),
    )
