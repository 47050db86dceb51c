"""Fixtures for the rule-engine tests.

`verified` analyses every loop of `rule_loops.py` like a user's file, asks the rule engine for AVX2 and
AVX-512 candidates, and verifies them all through the sandbox once per session (one `verify` call per
kernel, two kernels at a time), so the per-case tests only look results up.
"""

from __future__ import annotations

import asyncio

import pytest
import rule_loops
from rules_support import ISAS, CaseResult, analyse

from simdlens.config import SandboxSettings, Settings
from simdlens.core import Kernel
from simdlens.rules import propose
from simdlens.sandbox import Sandbox


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


def verify_cases(cases: list[tuple[str, str]], rule_settings: Settings) -> dict[str, CaseResult]:
    out: dict[str, CaseResult] = {}
    work = []
    for name, code in cases:
        source, a, kernel = analyse(name, code)
        case = CaseResult(name, a, kernel)
        out[name] = case
        if kernel is None:
            continue
        candidates = []
        for isa in ISAS:
            proposal = propose(a, kernel, isa, rule_settings, source=source)
            case.notes[isa] = proposal.notes
            candidates += proposal.candidates
        if candidates:
            work.append((case, kernel, tuple(candidates)))

    async def main() -> None:
        async with Sandbox(rule_settings) as sandbox:
            async def one(case: CaseResult, kernel: Kernel, candidates: tuple) -> None:  # type: ignore[type-arg]
                for r in await sandbox.verify(kernel, candidates, bench=False):
                    case.results[r.candidate.isa] = r

            await asyncio.gather(*(one(*w) for w in work))

    asyncio.run(main())
    return out
