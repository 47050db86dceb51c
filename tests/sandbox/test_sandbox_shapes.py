"""Kernel shapes the harness drives: 2-D array parameters (`float (*grid)[COLS]`), may-alias pairs of
different element types, and subscript scalars (a dependence distance `k`) whose run-time check must
take both of its paths. Every kernel comes from the analysis of real C, as the rule engine sees it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from sandbox_kernels import cand, make_kernel
from sandbox_testkit import needs_compiler, run

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import FLOAT, INT32, CType
from simdlens.config import Settings
from simdlens.core import CandidateResult, Footprint, Kernel, KernelParam, ParamRole, Status
from simdlens.sandbox import Sandbox, harness

pytestmark = [needs_compiler, pytest.mark.sandbox]

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def corpus_kernel(file: str, function: str) -> Kernel:
    path = CORPUS / file
    fa = analyze_file(path.read_bytes(), str(path), "c")
    loop_id = next(a.site.loop_id for a in fa.analyses if a.site.function == function)
    return fa.kernels[loop_id]


def analysed(source: str) -> Kernel:
    fa = analyze_file(source.encode(), "shapes.c", "c")
    return fa.kernels[fa.analyses[0].site.loop_id]


ROW = corpus_kernel("access.c", "row_of_grid")
COLUMN = corpus_kernel("access.c", "column_of_grid")
ROWS = corpus_kernel("deps.c", "rows_independent")
BYTES = corpus_kernel("access.c", "bytes_alias_anything")
COLUMN_CPP = dataclasses.replace(COLUMN, language="cpp", content_hash="column-of-grid-cpp")  # T (*)[B] from void* in C++
SHIFT = analysed("void shift_add(float *a, int n, int k)\n{\n    for (int i = 0; i < n; i++)\n        a[i + k] = a[i] + 1.0f;\n}\n")

# --- 2-D arrays ------------------------------------------------------------------------------------

ROW_AVX2 = """void simdlens_kernel(float (*grid)[COLS], int32_t r)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    for (int c = 0; c < COLS; c += 8)
        _mm256_storeu_ps(&grid[r][c + LAG], _mm256_mul_ps(_mm256_loadu_ps(&grid[r][c + LAG]), half));
}
"""
COLUMN_AVX2 = """void simdlens_kernel(float *column, const float (*grid)[COLS], int32_t c)
{
    const __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(STRIDE));
    for (int r = 0; r < ROWS; r += 8)
        _mm256_storeu_ps(&column[r], _mm256_i32gather_ps(&grid[r][c], rows, 4));
}
"""
ROWS_AVX2 = """void simdlens_kernel(float (*m2)[N], int32_t j)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int i = 0; i < N; i += 8)
        _mm256_storeu_ps(&m2[j][i], _mm256_add_ps(_mm256_loadu_ps(&m2[SOURCE_ROW][i]), one));
}
"""

# --- different element types that may alias: uint8_t dst, float src -------------------------------

BYTES_AVX2 = """void simdlens_kernel(int32_t n, uint8_t *dst, const float *src)
{
    int i = 0;
    if ((const char *)(dst + n) <= (const char *)src || (const char *)(src + n) <= (const char *)dst) {
        for (; i + 8 <= n; i += 8) {
            int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(src + i), _mm256_setzero_ps(), _CMP_GT_OQ));
            for (int l = 0; l < 8; l++) dst[i + l] = (uint8_t)((m >> l) & 1);
        }
    }
    for (; i < n; i++)
        dst[i] = src[i] > 0.0f;
}
"""

# The original itself loads a float through a misaligned pointer (UB): a candidate that keeps that
# loop must not be blamed for it.
UINT8 = CType("uint8", "uint8_t")
MISALIGNED_SOURCE = ("void simdlens_kernel(float *restrict dst, const uint8_t *restrict src, int n) {\n"
                     "    for (int i = 0; i < n; i++) dst[i] = *(const float *)(src + 4 * i + 1);\n}\n")
MISALIGNED = make_kernel(
    "misaligned_original", MISALIGNED_SOURCE,
    "void simdlens_kernel(float *restrict dst, const uint8_t *restrict src, int n)",
    (KernelParam("dst", "float *restrict dst", ParamRole.OUT, FLOAT, restrict=True),
     KernelParam("src", "const uint8_t *restrict src", ParamRole.IN, UINT8, restrict=True),
     KernelParam("n", "int n", ParamRole.COUNT, INT32)),
    (Footprint("dst", "0", "n - 1"), Footprint("src", "0", "4 * n")),
)
MISALIGNED_AVX2 = """void simdlens_kernel(float *restrict dst, const uint8_t *restrict src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i idx = _mm256_setr_epi32(1, 5, 9, 13, 17, 21, 25, 29);
        _mm256_storeu_ps(dst + i, _mm256_i32gather_ps((const float *)(const void *)(src + 4 * i), idx, 1));
    }
    for (; i < n; i++) dst[i] = *(const float *)(src + 4 * i + 1);
}
"""

# --- a dependence distance known only at run time: a[i + k] = a[i] + 1 ----------------------------

SHIFT_CHECKED = """void simdlens_kernel(int32_t n, float *a, int32_t k)
{
    int i = 0;
    if (k >= LANES) {  /* the distance covers a whole vector: no lane reads what another lane writes */
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(a + i + k, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_set1_ps(VECTOR_ADD)));
        for (; i < n; i++)
            a[i + k] = a[i] + 1.0f;
    } else {  /* the fallback: the original loop */
        for (; i < n; i++)
            a[i + k] = a[i] + FALLBACK_ADD;
    }
}
"""


def shift(lanes: int, vector_add: str = "1.0f", fallback_add: str = "1.0f") -> str:
    return (SHIFT_CHECKED.replace("LANES", str(lanes)).replace("VECTOR_ADD", vector_add)
            .replace("FALLBACK_ADD", fallback_add))


BATCHES: dict[Kernel, dict[str, str]] = {
    ROW: {"row": ROW_AVX2.replace("LAG", "0"), "row_one_past_the_row": ROW_AVX2.replace("LAG", "1")},
    COLUMN: {"column": COLUMN_AVX2.replace("STRIDE", "COLS"), "column_wrong_stride": COLUMN_AVX2.replace("STRIDE", "(COLS - 1)")},
    COLUMN_CPP: {"cpp_column": COLUMN_AVX2.replace("STRIDE", "COLS")},
    ROWS: {"rows": ROWS_AVX2.replace("SOURCE_ROW", "j - 1"), "rows_reads_own_row": ROWS_AVX2.replace("SOURCE_ROW", "j")},
    BYTES: {"bytes": BYTES_AVX2},
    MISALIGNED: {"misaligned_original": MISALIGNED_AVX2},
    SHIFT: {
        "shift": shift(8),
        "shift_vector_bug": shift(8, vector_add="2.0f"),
        "shift_vector_bug_from_64": shift(64, vector_add="2.0f"),
        "shift_fallback_bug": shift(8, fallback_add="2.0f"),
    },
}


@pytest.fixture(scope="session")
def results(base_settings: Settings) -> dict[str, CandidateResult]:
    """Every candidate above, verified once (one verify call per kernel, no timing)."""

    async def go() -> dict[str, CandidateResult]:
        out: dict[str, CandidateResult] = {}
        async with Sandbox(base_settings) as sandbox:
            for kernel, named in BATCHES.items():
                got = await sandbox.verify(kernel, [cand(kernel, "avx2", text) for text in named.values()], bench=False)
                out.update(zip(named, got, strict=True))
        return out

    return run(go)


def test_row_pointer_parameters_get_their_own_type() -> None:
    # (the global grid is an array object: `restrict`, as distinct objects are in the user's file)
    assert harness.param_type(ROW.params[0]).replace(" ", "") == "float(*restrict)[COLS]"
    assert harness.param_type(COLUMN.params[1]).replace(" ", "") == "constfloat(*restrict)[COLS]"
    assert "(*restrict)" in harness.param_type(KernelParam("m", "float (*restrict m)[8]", ParamRole.IN, FLOAT)).replace(" ", "")


@pytest.mark.parametrize("name", ["row", "column", "cpp_column", "rows", "bytes", "shift"])
def test_correct_rewrites_of_these_shapes_are_verified(results: dict[str, CandidateResult], name: str) -> None:
    verdict = results[name].verdict
    assert verdict.status is Status.VERIFIED, verdict.detail


def test_2d_footprints_are_exact_so_a_step_past_the_row_is_caught(results: dict[str, CandidateResult]) -> None:
    verdict = results["row_one_past_the_row"].verdict
    assert verdict.status is Status.SANITIZER and "AddressSanitizer" in verdict.detail and "READ" in verdict.detail, verdict.detail


@pytest.mark.parametrize("name", ["column_wrong_stride", "rows_reads_own_row"])
def test_wrong_2d_rewrites_are_caught(results: dict[str, CandidateResult], name: str) -> None:
    assert results[name].verdict.status in (Status.MISMATCH, Status.SANITIZER), results[name].verdict.detail


def test_overlap_of_a_byte_and_a_float_array_keeps_the_float_pointer_aligned() -> None:
    widths = harness.vector_widths(BYTES, ("avx2",))
    assert [c for c in harness.check_plan(BYTES, ("avx2",)) if c.pair >= 0], "the may-alias pair is tested"
    assert max(widths) == 32  # offsets are counted in floats, whichever array comes first in the pair
    assert "off * align" in harness.driver_source(BYTES, ("a", "b"))


def test_ub_of_the_original_is_blamed_on_the_kernel_not_the_candidate(results: dict[str, CandidateResult]) -> None:
    verdict = results["misaligned_original"].verdict
    assert verdict.status is Status.REJECTED, verdict.detail
    assert "original loop itself failed" in verdict.detail and "UndefinedBehaviorSanitizer" in verdict.detail


def test_subscript_scalars_get_spread_values_other_scalars_stay_small() -> None:
    assert harness.spread_params(SHIFT) == frozenset({"k"})
    assert harness.spread_params(ROW) == frozenset({"r"}) and harness.spread_params(ROWS) == frozenset({"j"})
    assert harness.spread_params(BYTES) == frozenset()  # n is the size
    shifted = analysed("void shr(int *a, int n, int k)\n{\n    for (int i = 0; i < n; i++)\n        a[i + k] = a[i] >> k;\n}\n")
    assert harness.spread_params(shifted) == frozenset()  # a shift count too: 8..127 would be UB


@pytest.mark.parametrize("name", ["shift_vector_bug", "shift_vector_bug_from_64", "shift_fallback_bug"])
def test_both_paths_of_a_run_time_distance_check_are_tested(results: dict[str, CandidateResult], name: str) -> None:
    verdict = results[name].verdict
    assert verdict.status is Status.MISMATCH, verdict.detail
    assert verdict.counterexample is not None and verdict.counterexample.array == "a"
    k = int(re.search(r"\bk = (\d+)", verdict.detail).group(1))  # type: ignore[union-attr]  # the case's k is shown
    assert (k >= 64) if name == "shift_vector_bug_from_64" else (k >= 8) if name == "shift_vector_bug" else (k < 8), verdict.detail
