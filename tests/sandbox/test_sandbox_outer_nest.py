"""An outer-loop rewrite replaces the whole nest, so the whole nest is what is timed: the user's nest
(constant bounds: its real size, every element it runs) against the rewrite and -O3 -march=native."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sandbox_testkit import needs_compiler, run

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import CandidateResult, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

pytestmark = [needs_compiler, pytest.mark.sandbox,
              pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")]

SOURCE = b"""\
#define LEN_2D 256
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D];
void sweep(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}
"""


def test_the_whole_nest_is_timed_at_its_real_size(base_settings: Settings) -> None:
    fa = analyze_file(SOURCE, "sweep.c", "c")
    outer = fa.analyses[0]
    kernel = fa.kernels[outer.site.loop_id]
    assert kernel.size_param is None and kernel.nest is None  # constant bounds: one size, the nest itself
    candidates = propose(outer, kernel, "avx2", base_settings, source=SOURCE).candidates

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(kernel, candidates, bench=True, quick=True)

    results = run(go)
    assert {r.candidate.origin for r in results} == {"rules:interchange", "rules:outer_loop"}
    for result in results:
        assert result.verdict.status is Status.VERIFIED, result.verdict.detail
        m = result.measurement
        assert m is not None
        (size,) = m.sizes
        assert size.n == 256 * 255 and size.real  # every element the nest runs, at the size the code uses
        assert size.vs_native_autovec is not None and size.vs_native_autovec.runs >= base_settings.bench.processes


TRIANGLE = b"""\
#define LEN_2D 256
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D];
void below(int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            aa[j][i] = aa[j - 1][i] * 0.5f + bb[j][i];
}
"""


def test_a_triangle_is_verified_over_the_triangle_and_a_rewrite_that_skips_its_own_rows_is_caught(
        base_settings: Settings) -> None:
    fa = analyze_file(TRIANGLE, "below.c", "c")
    outer = fa.analyses[0]
    kernel = fa.kernels[outer.site.loop_id]
    assert kernel.size_param == "n" and kernel.size_max == 256
    candidates = propose(outer, kernel, "avx2", base_settings, source=TRIANGLE).candidates
    (good,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    (swapped,) = [c for c in candidates if c.origin == "rules:interchange"]
    # each lane's rows above the shared ones left out: the sizes the harness tests must show it
    bad = replace(good, origin="rules:wrong", function=good.function.replace("j < j_from; j++)", "j < j_from && 0; j++)"))
    assert bad.function != good.function

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(kernel, (good, swapped, bad), bench=False)

    results = {r.candidate.origin: r.verdict.status for r in run(go)}
    assert results == {"rules:outer_loop": Status.VERIFIED, "rules:interchange": Status.VERIFIED,
                       "rules:wrong": Status.MISMATCH}
