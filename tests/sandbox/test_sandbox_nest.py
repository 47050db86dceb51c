"""An inner loop is timed in its nest: the user's outer loop around the original inner loop vs around
the candidate, at sizes named by the elements the whole nest runs."""

from __future__ import annotations

import pytest
from sandbox_kernels import cand
from sandbox_testkit import needs_compiler, run

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import CandidateResult, Kernel, Status
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

pytestmark = [needs_compiler, pytest.mark.sandbox,
              pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")]

SOURCE = b"""\
void rows_rect(int *restrict out, const int *restrict in, int rows, int cols) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[r * cols + c] = in[r * cols + c] + 1;
}
"""


def _inner_kernel() -> Kernel:
    fa = analyze_file(SOURCE, "rows.c", "c")
    (kernel,) = (fa.kernels[a.site.loop_id] for a in fa.analyses if a.site.loop_id in fa.kernels)
    assert kernel.nest is not None
    return kernel


def test_a_nested_loop_is_timed_in_its_nest(base_settings: Settings) -> None:
    kernel = _inner_kernel()
    # the original inner loop as its own "rewrite": verified, and timed around the user's outer loop
    candidate = cand(kernel, "avx2", kernel.source)

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(kernel, [candidate], bench=True, quick=True)

    (result,) = run(go)
    assert result.verdict.status is Status.VERIFIED, result.verdict.detail
    assert "timed in its loop nest" in result.verdict.detail
    m = result.measurement
    assert m is not None
    (size,) = m.sizes
    assert size.n == 4096 and size.label == "L1"  # 64 rows x 64 columns: named by the elements of the nest
    assert size.vs_native_autovec is not None and size.vs_native_autovec.runs >= base_settings.bench.processes


def test_an_undecided_measurement_is_measured_again_by_a_fresh_batch(base_settings: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox_kernels import SAXPY, SAXPY_AVX2

    from simdlens import summary

    asked: list[int] = []

    def undecided_once(m: object) -> bool:  # the first batch cannot decide, the second can
        asked.append(1)
        return len(asked) == 1

    monkeypatch.setattr(summary, "undecided", undecided_once)
    messages: list[str] = []

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings) as sandbox:
            return await sandbox.verify(SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2)], bench=True, quick=True,
                                        on_progress=lambda p: messages.append(p.message))

    (result,) = run(go)
    assert result.verdict.status is Status.VERIFIED and result.measurement is not None
    assert len(asked) == 2  # judged after each batch: once undecided, then decided
    assert any("measuring 1 candidate(s) again" in m for m in messages), messages
    (size,) = result.measurement.sizes
    # the fresh batch joins the first: the rewrite is judged on 2K processes but the slowest, never on a lucky
    # batch alone
    assert size.vs_native_autovec is not None and size.vs_native_autovec.runs == 2 * base_settings.bench.processes - 1
