"""Unpack / expand (`if (m[i]) out[i] = packed[j++];`, optionally `else out[i] = v;`), the inverse of a
pack: compilers leave it scalar; simdlens calls it a candidate, and its rewrite (AVX2: a masked load of
exactly the selected count and a permutation from pdep; AVX-512: vexpand) verifies, the counter's final
value included. Shapes it does not cover keep their reasons."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.analysis.ir import Expand, Pack
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

EXPANDS = {
    "float_flags": """void expand(float *restrict out, const float *restrict packed, const uint8_t *restrict m, int n) {
    int j = 0;
    for (int i = 0; i < n; i++)
        if (m[i])
            out[i] = packed[j++];
}""",
    "int_with_fill_counter_returned": """int unpack(int32_t *restrict coef, const int32_t *restrict level, const uint8_t *restrict sig, int n) {
    int next = 0;
    for (int i = 0; i < n; i++) {
        if (sig[i]) {
            coef[i] = level[next];
            next++;
        } else {
            coef[i] = -1;
        }
    }
    return next;
}""",
    "double_compare_fill_from_array": """long restore(double *restrict s, const double *restrict kept, const double *restrict x, const double *restrict old, long j, int n) {
    for (int i = 0; i < n; i++) {
        if (x[i] > 0.0)
            s[i] = kept[j++];
        else
            s[i] = old[i];
    }
    return j;
}""",
    # TSVC's form: the counter steps first, so the element read is the one after it (in place on `a`)
    "tsvc_counter_stepped_first": """int expand_in_place(float *restrict a, const float *restrict b, int n) {
    int j = -1;
    for (int i = 0; i < n; i++) {
        if (a[i] > 0.0f) {
            j++;
            a[i] = b[j];
        }
    }
    return j;
}""",
    "prefix_increment": """int refill(double *restrict d, const double *restrict e, const double *restrict c, int n) {
    int j = -1;
    for (int i = 0; i < n; i++)
        if (c[i] > 0.0)
            d[i] = e[++j];
    return j;
}""",
}

# The packing twin of TSVC's form: `{ j++; a[j] = b[i]; }` writes one past the counter.
PACKS = {
    "tsvc_pack_stepped_first": """int keep_positive(float *restrict a, const float *restrict b, int n) {
    int j = -1;
    for (int i = 0; i < n; i++) {
        if (b[i] > 0.0f) {
            j++;
            a[j] = b[i];
        }
    }
    return j;
}""",
}

# Packing the elements of a matrix (the inner loop of a row nest, the counter carried across rows): over a
# global 2-D array (TSVC s343's shape), and through pointers the analysis cannot separate, where the
# rewrite checks at run time that the counter's elements (at most one per iteration from its entry value)
# do not overlap the matrix.
PACKS_2D = {
    "matrix_global": """#define N 64
float aa[N][N], flat[N * N];
int keep_positive_2d(void) {
    int k = -1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (aa[i][j] > (float)0.) {
                k++;
                flat[k] = aa[i][j];
            }
    return k;
}""",
    "rows_through_pointers": """int pack_rows(const float *m, int rows, int cols, float *out, float t) {
    int n = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            if (m[r * cols + c] > t) out[n++] = m[r * cols + c];
    return n;
}""",
}

NOT_EXPANDS = {
    # the counter is read elsewhere in the body: not a plain expand
    "counter_read": """void f(float *restrict out, const float *restrict packed, const uint8_t *restrict m, int *restrict at, int n) {
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (m[i])
            out[i] = packed[j++];
        at[i] = j;
    }
}""",
}


def test_an_expand_is_a_candidate_that_says_why() -> None:
    _, a, kernel = analyse("float_flags", EXPANDS["float_flags"])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.reasons[0].code == "expand" and "compilers leave it scalar" in a.reasons[0].message
    assert a.loop is not None and isinstance(a.loop.body[0], Expand)
    assert kernel is not None


@pytest.mark.parametrize("name", list(NOT_EXPANDS))
def test_other_uses_of_the_counter_are_not_an_expand(name: str) -> None:
    _, a, _ = analyse(name, NOT_EXPANDS[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert a.loop is None or not any(isinstance(s, Expand) for s in a.loop.body)


def test_a_counter_stepped_first_reads_the_element_after_it() -> None:
    _, a, kernel = analyse("tsvc", EXPANDS["tsvc_counter_stepped_first"])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and isinstance(a.loop.body[0], Expand) and a.loop.body[0].lead == 1
    assert kernel is not None and any(f.lo == "(j + 1)" for f in kernel.footprints), kernel.footprints


def test_a_pack_stepped_first_is_a_candidate_that_says_why() -> None:
    _, a, kernel = analyse("pack", PACKS["tsvc_pack_stepped_first"])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.reasons[0].code == "pack" and "compilers leave it scalar" in a.reasons[0].message
    assert a.loop is not None and isinstance(a.loop.body[0], Pack) and a.loop.body[0].lead == 1
    assert kernel is not None


@pytest.fixture(scope="module")
def expands(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases([*EXPANDS.items(), *PACKS.items(), *PACKS_2D.items()], rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(EXPANDS))
def test_the_expand_rewrite_verifies(expands: dict[str, CaseResult], name: str, isa: str) -> None:
    case = expands[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:expand"
    assert ("_pdep_u64" if isa == "avx2" else "expandloadu") in result.candidate.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(PACKS))
def test_the_pack_stepped_first_verifies(expands: dict[str, CaseResult], name: str, isa: str) -> None:
    case = expands[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:compress"
    assert "a[j + 1]" in result.candidate.function or "&a[j + 1]" in result.candidate.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(PACKS_2D))
def test_a_matrix_pack_verifies(expands: dict[str, CaseResult], name: str, isa: str) -> None:
    case = expands[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:compress"
    if name == "rows_through_pointers":  # the overlap check bounds out[] by the counter's entry value
        assert "&out[(0) + (n)]" in result.candidate.function, result.candidate.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"
