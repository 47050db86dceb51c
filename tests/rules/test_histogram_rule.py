"""Histogram updates (`h[idx[i]]++`, `h[idx[i]] += w[i]`): compilers leave them scalar because two
lanes may name the same bin; simdlens says conflict detection handles them, keeps them candidates, and
its histogram rewrite verifies through the sandbox (AVX-512: vpconflictd + pointer jumping + scatter;
AVX2: distinct-bin vectors gathered and stored lane by lane, repeats in scalar). Scatters that are not
sums of a bin stay refused."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

HISTOGRAMS = {
    "hist_bytes": """void count(uint32_t *restrict h, const uint8_t *restrict px, int n) {
    for (int i = 0; i < n; i++) h[px[i]]++;
}""",
    "hist_int_weights": """void vote(int32_t *restrict h, const int32_t *restrict bin, const int32_t *restrict w, int n) {
    for (int i = 0; i < n; i++) h[bin[i]] += w[i];
}""",
    "hist_float_weights": """void deposit(float *restrict grid, const int32_t *restrict cell, const float *restrict mass, int n) {
    for (int i = 0; i < n; i++) grid[cell[i]] += mass[i];
}""",
    "hist_scaled_float": """void splat(float *restrict acc, const uint16_t *restrict at, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) acc[at[i]] = acc[at[i]] + a[i] * b[i];
}""",
}
FLOATS = {"hist_float_weights", "hist_scaled_float"}

NOT_HISTOGRAMS = {
    # the bin's new value is not the old one plus a weight: equal lanes cannot be combined by adding
    "scatter_max": """void keep_max(int32_t *restrict h, const int32_t *restrict idx, const int32_t *restrict v, int n) {
    for (int i = 0; i < n; i++) h[idx[i]] = h[idx[i]] * 2 + v[i];
}""",
    # the weight reads the histogram itself
    "reads_other_bin": """void chain(int32_t *restrict h, const int32_t *restrict idx, int n) {
    for (int i = 0; i < n; i++) h[idx[i]] += h[i];
}""",
}


@pytest.mark.parametrize("name", list(HISTOGRAMS))
def test_a_histogram_is_a_candidate_with_the_reason_a_simd_engineer_gives(name: str) -> None:
    _, a, kernel = analyse(name, HISTOGRAMS[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert "histogram" in a.facts
    summary = a.reasons[0]
    assert summary.code == "histogram"
    assert "compilers leave it scalar" in summary.message and "vpconflictd" in summary.message
    assert ("float_reduction" in a.facts) == (name in FLOATS)
    assert kernel is not None


@pytest.mark.parametrize("name", list(NOT_HISTOGRAMS))
def test_other_conflicting_scatters_stay_refused(name: str) -> None:
    _, a, _ = analyse(name, NOT_HISTOGRAMS[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "histogram" not in a.facts


@pytest.fixture(scope="module")
def histograms(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(HISTOGRAMS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(HISTOGRAMS))
def test_the_histogram_rewrite_verifies(histograms: dict[str, CaseResult], name: str, isa: str) -> None:
    case = histograms[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:histogram"
    # AVX-512 adds the weights of equal bins together (float: reassociated); AVX2 stores distinct bins in order
    assert ("_mm512_conflict_epi32" in cand.function) == (isa == "avx512")
    assert any("reassociates floating-point additions" in c for c in cand.caveats) == (isa == "avx512" and name in FLOATS)
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
    assert ("exactly" in result.verdict.detail) == (isa == "avx2" or name not in FLOATS), result.verdict.detail


@needs_compiler
@pytest.mark.sandbox
def test_a_slower_histogram_rewrite_is_not_offered_and_the_stop_says_compilers_leave_it_scalar(
        histograms: dict[str, CaseResult]) -> None:
    """Measurement decides: a verified rewrite slower than -O3 is no win, and the reason must not claim
    that the compiler vectorizes a loop it leaves scalar."""
    from dataclasses import replace

    from simdlens import summary
    from simdlens.core import LoopReport, Measurement, Ratio, SizeMeasurement

    case = histograms["hist_bytes"]
    assert case.analysis is not None
    slow = Ratio(0.4, 0.38, 0.42, 3)
    measured = replace(case.results["avx2"], measurement=Measurement(
        (SizeMeasurement(4096, "L1", vs_scalar=slow, vs_user_flags=slow, vs_native_autovec=slow),),
        "gcc 12", "cpu", ("-O2",), "2026-12-07"))
    loop = LoopReport(case.analysis, case.kernel, (measured,))
    assert not summary.ranked_wins(loop)
    stopped = summary.stop(loop)
    assert stopped is not None and stopped.stage == "benchmark"
    assert "compilers leave this loop scalar" in stopped.reason and "0.40x" in stopped.reason
    assert "already vectorizes" not in stopped.reason
