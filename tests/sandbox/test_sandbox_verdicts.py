"""Hand-written candidates, right and wrong, each caught with the verdict a user needs to see."""

from __future__ import annotations

import dataclasses

import pytest
from sandbox_kernels import (
    FMAX,
    FMAX_AVX2,
    FMAX_NAN_BUG,
    FSUM,
    FSUM_AVX2,
    GUARDED,
    GUARDED_UNCONDITIONAL_LOAD_BUG,
    INC,
    INC_OVERLAP_BUG,
    INC_OVERLAP_SAFE,
    ISUM,
    ISUM_AVX512,
    SAXPY,
    SAXPY_AVX2,
    SAXPY_AVX512,
    SAXPY_COMPILE_ERROR,
    SAXPY_CRASH,
    SAXPY_FMA,
    SAXPY_REMAINDER_BUG,
    STENCIL,
    STENCIL_AVX2,
    STENCIL_READS_BEFORE_START_BUG,
    U8ADD,
    U8ADD_AVX2,
    U8ADD_SATURATING_BUG,
    UMAX,
    UMAX_AVX2,
    UMAX_SIGNED_BUG,
    cand,
)
from sandbox_testkit import needs_compiler, run

from simdlens.config import Settings
from simdlens.core import CandidateResult, Status
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import HostCpu, host_cpu

pytestmark = [needs_compiler, pytest.mark.sandbox]

# The same loop as a C++ file with a `static` kernel: C++ compilers, C linkage wrapper, restrict.
SAXPY_CPP = dataclasses.replace(SAXPY, language="cpp", preamble="#include <cstdint>\n#include <vector>", content_hash="saxpy-cpp",
                                source=SAXPY.source.replace("void simdlens_kernel", "static void simdlens_kernel"))

BATCHES = {
    SAXPY: {
        "saxpy_avx2": cand(SAXPY, "avx2", SAXPY_AVX2),
        "saxpy_avx512": cand(SAXPY, "avx512", SAXPY_AVX512),
        "saxpy_fma_declared": cand(SAXPY, "avx2", SAXPY_FMA, caveats=("uses FMA contraction",)),
        "saxpy_fma_undeclared": cand(SAXPY, "avx2", SAXPY_FMA),
        "saxpy_remainder_bug": cand(SAXPY, "avx2", SAXPY_REMAINDER_BUG),
        "saxpy_compile_error": cand(SAXPY, "avx2", SAXPY_COMPILE_ERROR),
        "saxpy_crash": cand(SAXPY, "avx2", SAXPY_CRASH),
    },
    UMAX: {"umax_avx2": cand(UMAX, "avx2", UMAX_AVX2), "umax_signed_bug": cand(UMAX, "avx2", UMAX_SIGNED_BUG)},
    U8ADD: {"u8add_avx2": cand(U8ADD, "avx2", U8ADD_AVX2), "u8add_saturating_bug": cand(U8ADD, "avx2", U8ADD_SATURATING_BUG)},
    GUARDED: {"guarded_load_bug": cand(GUARDED, "avx2", GUARDED_UNCONDITIONAL_LOAD_BUG)},
    INC: {"inc_overlap_safe": cand(INC, "avx2", INC_OVERLAP_SAFE), "inc_overlap_bug": cand(INC, "avx2", INC_OVERLAP_BUG)},
    FMAX: {"fmax_avx2": cand(FMAX, "avx2", FMAX_AVX2), "fmax_nan_bug": cand(FMAX, "avx2", FMAX_NAN_BUG)},
    ISUM: {"isum_avx512": cand(ISUM, "avx512", ISUM_AVX512)},
    FSUM: {"fsum_declared": cand(FSUM, "avx2", FSUM_AVX2, caveats=("reassociates floating-point additions",)),
           "fsum_undeclared": cand(FSUM, "avx2", FSUM_AVX2)},
    STENCIL: {"stencil_avx2": cand(STENCIL, "avx2", STENCIL_AVX2),
              "stencil_underflow_bug": cand(STENCIL, "avx2", STENCIL_READS_BEFORE_START_BUG)},
    SAXPY_CPP: {"cpp_saxpy_avx2": cand(SAXPY_CPP, "avx2", SAXPY_AVX2),
                "cpp_saxpy_remainder_bug": cand(SAXPY_CPP, "avx2", SAXPY_REMAINDER_BUG)},
}


@pytest.fixture(scope="session")
def results(base_settings: Settings) -> dict[str, CandidateResult]:
    """Every candidate above, verified once (one verify call per kernel, no timing)."""

    async def go() -> dict[str, CandidateResult]:
        out: dict[str, CandidateResult] = {}
        async with Sandbox(base_settings) as sandbox:
            for kernel, named in BATCHES.items():
                got = await sandbox.verify(kernel, list(named.values()), bench=False)
                out.update(zip(named, got, strict=True))
        return out

    return run(go)


def _runs(isa: str) -> bool:
    return host_cpu().runs(isa)


@pytest.mark.parametrize("name", ["saxpy_avx2", "umax_avx2", "u8add_avx2", "inc_overlap_safe", "fmax_avx2", "cpp_saxpy_avx2",
                                  "stencil_avx2"])
def test_correct_avx2_rewrites_are_verified(results: dict[str, CandidateResult], name: str) -> None:
    if not _runs("avx2"):
        pytest.skip("host lacks AVX2")
    verdict = results[name].verdict
    assert verdict.status == Status.VERIFIED, verdict
    assert "agree with the original exactly" in verdict.detail


@pytest.mark.parametrize("name", ["saxpy_avx512", "isum_avx512"])
def test_correct_avx512_rewrites_are_verified(results: dict[str, CandidateResult], name: str) -> None:
    if not _runs("avx512"):
        pytest.skip("host lacks AVX-512")
    assert results[name].verdict.status == Status.VERIFIED, results[name].verdict


def test_fma_contraction_passes_only_when_declared(results: dict[str, CandidateResult]) -> None:
    declared, undeclared = results["saxpy_fma_declared"].verdict, results["saxpy_fma_undeclared"].verdict
    assert declared.status == Status.VERIFIED and "tolerance" in declared.detail
    assert undeclared.status == Status.MISMATCH  # an unannounced rounding change is a change


def test_reassociated_float_sum_passes_only_when_declared(results: dict[str, CandidateResult]) -> None:
    declared, undeclared = results["fsum_declared"].verdict, results["fsum_undeclared"].verdict
    assert declared.status == Status.VERIFIED and "tolerance" in declared.detail, declared
    assert undeclared.status == Status.MISMATCH and undeclared.counterexample is not None
    assert undeclared.counterexample.array == "return"


@pytest.mark.parametrize("name", ["saxpy_remainder_bug", "cpp_saxpy_remainder_bug"])
def test_remainder_bug_is_a_mismatch_at_a_tail_size(results: dict[str, CandidateResult], name: str) -> None:
    v = results[name].verdict
    assert v.status == Status.MISMATCH
    ce = v.counterexample
    assert ce is not None and ce.array == "y" and ce.size % 8 != 0 and ce.overlap is None
    assert ce.expected != ce.got
    assert f"size {ce.size}, seed {ce.seed}" in v.detail


def test_signed_compare_on_unsigned_data_is_a_mismatch(results: dict[str, CandidateResult]) -> None:
    v = results["umax_signed_bug"].verdict
    assert v.status == Status.MISMATCH and v.counterexample is not None
    # The wrong lane picked the smaller unsigned value: one of them had the high bit set.
    assert max(int(v.counterexample.expected), int(v.counterexample.got)) >= 2**31
    assert int(v.counterexample.expected) > int(v.counterexample.got)


def test_saturating_instead_of_wrapping_add_is_a_mismatch(results: dict[str, CandidateResult]) -> None:
    v = results["u8add_saturating_bug"].verdict
    assert v.status == Status.MISMATCH and v.counterexample is not None
    assert v.counterexample.got == "255" and v.counterexample.array == "c"


def test_unconditional_load_past_a_guard_is_a_sanitizer_finding(results: dict[str, CandidateResult]) -> None:
    v = results["guarded_load_bug"].verdict
    assert v.status == Status.SANITIZER, v
    assert "heap-buffer-overflow" in v.detail and "READ" in v.detail


def test_read_below_a_footprint_that_starts_at_minus_one_is_a_sanitizer_finding(results: dict[str, CandidateResult]) -> None:
    v = results["stencil_underflow_bug"].verdict
    assert v.status == Status.SANITIZER and "heap-buffer-overflow" in v.detail, v


def test_rewrite_that_breaks_on_overlapping_pointers_is_a_mismatch_with_the_overlap(results: dict[str, CandidateResult]) -> None:
    v = results["inc_overlap_bug"].verdict
    assert v.status == Status.MISMATCH
    assert v.counterexample is not None and v.counterexample.overlap is not None and v.counterexample.overlap != 0
    assert "overlapping" in v.detail


def test_nan_unsafe_max_is_a_mismatch(results: dict[str, CandidateResult]) -> None:
    v = results["fmax_nan_bug"].verdict
    assert v.status == Status.MISMATCH and v.counterexample is not None
    # A NaN either reaches the result or wipes the lane that held the maximum.
    assert v.counterexample.array == "return" and v.counterexample.expected != v.counterexample.got
    assert "nan" not in v.counterexample.expected.lower()  # the original never returns NaN here


def test_compile_error_points_into_the_candidate_function(results: dict[str, CandidateResult]) -> None:
    v = results["saxpy_compile_error"].verdict
    assert v.status == Status.COMPILE_ERROR
    first = v.diagnostics[0]
    assert first.line == 3 and first.column > 0 and "undeclared_thing" in first.message
    assert v.detail.startswith("line 3:")


def test_crashing_candidate_is_a_crash_with_where(results: dict[str, CandidateResult]) -> None:
    v = results["saxpy_crash"].verdict
    assert v.status == Status.CRASH, v
    assert "SEGV" in v.detail and "size" in v.detail


def test_candidate_for_an_isa_the_host_lacks_is_compiled_not_run(base_settings: Settings) -> None:
    no_avx512 = HostCpu("test CPU without AVX-512", frozenset({"sse4_2", "avx", "avx2", "fma"}))

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings, host=no_avx512) as sandbox:
            broken512 = cand(SAXPY, "avx512", SAXPY_AVX512.replace("_mm512_mul_ps(va,", "_mm512_mul_ps(vq,"))
            return await sandbox.verify(SAXPY, [cand(SAXPY, "avx512", SAXPY_AVX512), broken512, cand(SAXPY, "avx2", SAXPY_AVX2)], bench=False)

    ok512, broken512, ok2 = run(go)
    assert ok512.verdict.status == Status.UNSUPPORTED_CPU
    assert "avx512" in ok512.verdict.detail and ok512.measurement is None
    assert broken512.verdict.status == Status.COMPILE_ERROR  # compiled, so its errors still show
    if _runs("avx2"):
        assert ok2.verdict.status == Status.VERIFIED


def test_candidate_needing_an_extension_the_host_lacks_is_compiled_not_run(base_settings: Settings) -> None:
    """An AVX-512 candidate that also needs VBMI2 on an AVX-512 host without VBMI2: compiled, never run."""
    import dataclasses

    base = frozenset({"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"})
    no_vbmi2 = HostCpu("test CPU with AVX-512 but no VBMI2", base)

    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(base_settings, host=no_vbmi2) as sandbox:
            needs_vbmi2 = dataclasses.replace(cand(SAXPY, "avx512", SAXPY_AVX512), flags=("-mavx512vbmi2",))
            return await sandbox.verify(SAXPY, [needs_vbmi2], bench=False)

    (result,) = run(go)
    assert result.verdict.status == Status.UNSUPPORTED_CPU
    assert "avx512_vbmi2" in result.verdict.detail and result.measurement is None
