"""The benchmark protocol end to end: timed variants, per-process ratios, labels, noise flags."""

from __future__ import annotations

import pytest
from sandbox_kernels import ICOND, ICOND_AVX2, SAXPY, SAXPY_AVX2, SAXPY_REMAINDER_BUG, cand
from sandbox_testkit import needs_compiler, run

from simdlens.config import BenchSettings, Settings
from simdlens.core import CandidateResult, Status
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

pytestmark = [needs_compiler, pytest.mark.sandbox,
              pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")]


def _verify(settings: Settings, kernel, candidates, quick: bool, progress=None) -> tuple[CandidateResult, ...]:  # type: ignore[no-untyped-def]
    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(settings) as sandbox:
            return await sandbox.verify(kernel, candidates, bench=True, quick=quick, on_progress=progress)

    return run(go)


def test_quick_benchmark_times_only_verified_candidates_against_three_baselines(base_settings: Settings) -> None:
    stages: list[str] = []
    good, bad = _verify(base_settings, SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2), cand(SAXPY, "avx2", SAXPY_REMAINDER_BUG)],
                        quick=True, progress=lambda p: stages.append(p.stage))
    assert stages[:2] == ["queued", "started"] and stages.count("check") == 2 and "bench" in stages and stages[-1] == "done"
    assert bad.verdict.status == Status.MISMATCH and bad.measurement is None  # never timed
    assert good.verdict.status == Status.VERIFIED
    m = good.measurement
    assert m is not None and m.compiler.startswith(("gcc", "clang")) and m.cpu == host_cpu().model
    assert m.user_flags[0] == "-O2"
    (size,) = m.sizes  # quick: one size
    assert size.n == 4096 and size.label == "L1"
    assert set(size.ns_per_element) == {"scalar", "user_flags", "native_autovec", "candidate", "candidate_native"}
    assert size.vs_scalar is not None and size.vs_user_flags is not None and size.vs_native_autovec is not None
    # the rewrite is timed built at the user's flags and at -O3 -march=native: the lower ratio per process is judged
    builds = (size.vs_native_user_build, size.vs_native_native_build)
    assert all(b is not None and b.runs == size.vs_native_autovec.runs for b in builds)
    assert size.vs_native_autovec.median <= min(b.median for b in builds if b is not None)
    assert size.vs_native_autovec.lo <= min(b.lo for b in builds if b is not None)
    p = base_settings.bench.processes  # or a re-measured batch pooled with the first, less its slowest process
    assert size.vs_scalar.runs in (p, 2 * p - 1)
    assert size.vs_scalar.lo <= size.vs_scalar.median <= size.vs_scalar.hi
    # 8 floats per instruction against a scalar loop: a real, large speedup.
    assert size.vs_scalar.median > 2.0


@pytest.mark.slow
def test_full_protocol_labels_sizes_and_repeats_within_noise(base_settings: Settings) -> None:
    settings = base_settings.replace(bench=BenchSettings(sizes=(4096, 65536, 1048576), processes=5))
    (result,) = _verify(settings, SAXPY, [cand(SAXPY, "avx2", SAXPY_AVX2)], quick=False)
    m = result.measurement
    assert m is not None
    assert [(s.n, s.label, s.memory_bound) for s in m.sizes] == [(4096, "L1", False), (65536, "L2", False), (1048576, "memory", True)]
    l1 = m.sizes[0].vs_scalar
    assert l1 is not None and l1.runs in (5, 9) and l1.noisy == (l1.spread > 0.10)  # 9: re-measured, pooled


@pytest.mark.slow
def test_branchy_int_loop_is_timed_over_rotating_buffers(base_settings: Settings) -> None:
    settings = base_settings.replace(bench=BenchSettings(sizes=(4096,), processes=5))
    (result,) = _verify(settings, ICOND, [cand(ICOND, "avx2", ICOND_AVX2)], quick=False)
    assert result.verdict.status == Status.VERIFIED
    m = result.measurement
    assert m is not None and m.sizes[0].vs_scalar is not None
    # Branch mispredictions on random signs make the scalar loop slow; the blend has none.
    assert m.sizes[0].vs_scalar.median > 1.5


def test_a_user_build_at_O3_march_native_times_the_rewrite_once(base_settings: Settings) -> None:
    """When the user's flags are -O3 -march=native already, the rewrite built at them is the one both
    baselines are judged against: no second, identical build of it is timed."""
    settings = base_settings.replace(extra_flags=("-O3", "-march=native"))
    (good,) = _verify(settings, ICOND, [cand(ICOND, "avx2", ICOND_AVX2)], quick=True)  # integers: no contraction at -O3 native
    assert good.verdict.status == Status.VERIFIED and good.measurement is not None
    assert good.measurement.user_flags[:1] == ("-O3",) and "-march=native" in good.measurement.user_flags
    (size,) = good.measurement.sizes
    assert set(size.ns_per_element) == {"scalar", "user_flags", "native_autovec", "candidate"}
    assert size.vs_native_user_build is None and size.vs_native_native_build is None
    assert size.vs_native_autovec is not None and size.vs_native_autovec.runs >= base_settings.bench.processes
