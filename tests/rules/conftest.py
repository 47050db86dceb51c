"""Fixtures for the rule-engine tests.

`verified` analyses every loop of `rule_loops.py` like a user's file, asks the rule engine for AVX2 and
AVX-512 candidates, and verifies them all through the sandbox once per session (one `verify` call per
kernel, two kernels at a time), so the per-case tests only look results up.
"""

from __future__ import annotations

import pytest
import rule_loops
from rules_support import CaseResult, verify_cases

from simdlens.config import SandboxSettings, Settings


@pytest.fixture(scope="session")
def rule_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cache = tmp_path_factory.mktemp("simdlens-rules-cache")
    return Settings(cache_dir=str(cache), jobs=2, sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0))


@pytest.fixture(scope="session")
def verified(rule_settings: Settings) -> dict[str, CaseResult]:
    """The default cases: every family on the default element types, and the special idioms."""
    return verify_cases([*rule_loops.matrix_cases(full=False), *rule_loops.SPECIAL.items()], rule_settings)


@pytest.fixture(scope="session")
def verified_full(rule_settings: Settings) -> dict[str, CaseResult]:
    """The rest of the family x element type matrix (slow tests)."""
    return verify_cases(rule_loops.matrix_cases(full=True), rule_settings)
