"""Fixtures for the model tests (helpers live in modelkit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from modelkit import FAKE_TABLES, ScriptedServer

from simdlens.model.client import reset_shared_state
from simdlens.model.intrinsics import IntrinsicSet


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (random port), and fresh model health."""
    s = ScriptedServer()
    reset_shared_state()
    yield s
    s.close()
    reset_shared_state()


@pytest.fixture
def avx2() -> IntrinsicSet:
    """A small fake AVX2 table (with an AVX-512 table beside it, for 'outside the ISA' checks)."""
    return IntrinsicSet.from_tables("avx2", FAKE_TABLES)
