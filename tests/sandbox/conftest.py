"""Shared fixtures for the sandbox tests: compiled results are computed once per session, in batches
(one `verify` call per kernel), so the whole directory stays within a few minutes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from simdlens.config import BenchSettings, SandboxSettings, Settings

T = TypeVar("T")

needs_compiler = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("clang") is None, reason="no C compiler")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


@pytest.fixture(scope="session")
def sandbox_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per session, so precompiled headers are built once."""
    return tmp_path_factory.mktemp("simdlens-cache")


@pytest.fixture(scope="session")
def base_settings(sandbox_cache: Path) -> Settings:
    return Settings(
        cache_dir=str(sandbox_cache), jobs=1,
        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=20.0),
        bench=BenchSettings(sizes=(4096,), processes=3),
    )
