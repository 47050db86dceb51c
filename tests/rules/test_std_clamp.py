"""`std::clamp(g[i], lo, hi)` with run-time bounds: the harness also tries lo > hi (undefined by the
standard, `hi` in the user's libstdc++ build), so the rewrite must compute it exactly as libstdc++ does,
`std::min(std::max(v, lo), hi)`; it verifies against the user's own loop (it mismatched as `v < lo ? lo : ...`)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from rules_support import require_host

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

SOURCE = b"""#include <algorithm>
void clip_grad(float *g, int n, float lo, float hi)
{
    for (int i = 0; i < n; ++i)
        g[i] = std::clamp(g[i], lo, hi);
}

void clip_int(int *o, const int *v, int n, int lo, int hi)
{
    for (int i = 0; i < n; ++i)
        o[i] = std::clamp(v[i], lo, hi);
}
"""


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_clamp_with_run_time_bounds_verifies(rule_settings: Settings) -> None:
    require_host("avx2")
    fa = analyze_file(SOURCE, "/tmp/clip.cpp", "cpp")

    async def run() -> dict[str, Status]:
        out = {}
        async with Sandbox(rule_settings) as sandbox:
            for a in fa.analyses:
                kernel = fa.kernels.get(a.site.loop_id)
                assert kernel is not None, a.reasons
                proposal = propose(a, kernel, "avx2", rule_settings, source=SOURCE)
                assert proposal.candidates, proposal.notes
                results = await sandbox.verify(kernel, proposal.candidates, bench=False)
                out[a.site.function] = results[0].verdict.status
                assert results[0].verdict.status is Status.VERIFIED, results[0].verdict.detail
        return out

    assert set(asyncio.run(run())) == {"clip_grad", "clip_int"}
