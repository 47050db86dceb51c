"""Strides and bounds read through memory, as f2c and NumPy write them (issue 14, session 13): f2c's
`ix += *incx;` (every argument is a pointer), NumPy's `ip1 += steps[0]` and `k < dims[0]`, and BLAS level 2's
vector increment beside a contiguous column (`y[iy] += temp * a[i + j*lda]; iy += incy;`). An integer element
read at a constant index through a pointer the loop neither moves nor assigns is a loop-invariant value (a
kernel parameter); a store of the loop that may reach it (an `int *` beside `int *incx`, any `char *`; strict
aliasing separates a `float *`) gets a run-time check in the user's file, as a member read through a pointer
does. The multiversioned rewrite runs its vector loop under `*incx == 1` and the user's loop otherwise."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from rules_support import (
    analyse,
    kernel_candidate,
    needs_compiler,
    one_candidate,
    require_host,
    run_edited_against_original,
    verify_briefly,
)

from simdlens.core import LoopVerdict, ParamRole, Status

F2C_COPY = ("typedef int integer; typedef float real;\n"
            "int scopy_(integer *n, real *sx, integer *incx, real *sy, integer *incy)\n"
            "{ integer i__1; static integer i__, ix, iy;\n"
            "  --sy; --sx; ix = 1; iy = 1; i__1 = *n;\n"
            "  for (i__ = 1; i__ <= i__1; ++i__) { sy[iy] = sx[ix]; ix += *incx; iy += *incy; }\n"
            "  return 0; }")
UFUNC_STEPS = ("typedef long npy_intp;\n"
               "void add(char **args, const npy_intp *dimensions, const npy_intp *steps)\n"
               "{ char *ip1 = args[0], *ip2 = args[1], *op1 = args[2]; npy_intp n = dimensions[0];\n"
               "  for (npy_intp i = 0; i < n; i++, ip1 += steps[0], ip2 += steps[1], op1 += steps[2])\n"
               "    *(float *)op1 = *(float *)ip1 + *(float *)ip2; }")
GEMV_N = ("void gemv(int m, int n, float alpha, const float *a, int lda, const float *x, float *y, int incy)\n"
          "{ for (int j = 0; j < n; j++) { float temp = alpha * x[j]; int iy = 0;\n"
          "    for (int i = 0; i < m; i++) { y[iy] += temp * a[i + j * lda]; iy += incy; } } }")
GEMV_T = ("void gemv(int m, int n, float alpha, const float *a, int lda, const float *x, int incx, float *y)\n"
          "{ for (int j = 0; j < n; j++) { float temp = 0.0f; int ix = 0;\n"
          "    for (int i = 0; i < m; i++) { temp += a[i + j * lda] * x[ix]; ix += incx; }\n"
          "    y[j] += alpha * temp; } }")
DIMS_BOUND = ("typedef long npy_intp;\n"
              "void twice(char **args, const npy_intp *dims)\n"
              "{ const float *ip = (const float *)args[0]; float *op = (float *)args[1];\n"
              "  for (npy_intp k = 0; k < dims[0]; k++) op[k] = ip[k] * 2.0f; }")
INT_COPY = ("void icopy(int n, const int *x, const int *incx, int *y)\n"
            "{ int ix = 0; for (int i = 0; i < n; i++) { y[i] = x[ix]; ix += *incx; } }")


@pytest.mark.parametrize(("name", "code", "guard"), [
    ("scopy_", F2C_COPY, "*incx == 1 && *incy == 1"),
    ("add", UFUNC_STEPS, "steps[0] == 4 && steps[1] == 4 && steps[2] == 4"),
    ("gemv", GEMV_N, "incy == 1"),
    ("gemv", GEMV_T, "incx == 1"),
])
def test_a_stride_read_through_a_pointer_or_beside_a_column_is_guarded_by_its_unit(name: str, code: str,
                                                                                  guard: str) -> None:
    _, analysis, _ = analyse(name, code)
    assert analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS, analysis.reasons
    assert "runtime_stride" in analysis.facts
    _, cand = one_candidate(name, code)
    edit = max(cand.edits, key=lambda e: len(e.new_text)).new_text
    assert f"({guard})" in edit and "_mm256_" in edit  # the user's own spelling in the guard
    assert any(f"only when {guard}" in c for c in cand.caveats)


def test_an_element_bound_is_a_count_parameter_of_the_kernel() -> None:
    """`k < dims[0]`: the kernel once named `dims` without declaring it (the sandbox could not build it)."""
    kernel, _ = kernel_candidate("twice", DIMS_BOUND)
    counts = [p for p in kernel.params if p.role == ParamRole.COUNT]
    assert [p.source for p in counts] == ["dims[0]"]
    assert f"k < {counts[0].name}" in kernel.source and "dims" not in kernel.source.replace(counts[0].name, "")


def test_a_store_that_may_reach_the_stride_gets_a_run_time_check() -> None:
    _, analysis, _ = analyse("icopy", INT_COPY)  # int stores beside `const int *incx`
    assert any(r.code == "may_alias" and "*incx" in r.message for r in analysis.reasons), analysis.reasons
    _, floats, _ = analyse("scopy_", F2C_COPY)  # float stores: strict aliasing separates integer *incx
    assert not any(r.code == "may_alias" and "incx" in r.message for r in floats.reasons), floats.reasons


@pytest.mark.parametrize("code", [
    # the pointer moves: `*incx` differs on each iteration
    "void f(int n, const float *x, const int *incx, float *y)\n"
    "{ int ix = 0; for (int i = 0; i < n; i++) { y[i] = x[ix]; ix += *incx++; } }",
    # the index of the element varies
    "void f(int n, const float *x, const int *incs, float *y)\n"
    "{ int ix = 0; for (int i = 0; i < n; i++) { y[i] = x[ix]; ix += incs[i]; } }",
])
def test_an_element_that_varies_is_no_stride(code: str) -> None:
    _, analysis, _ = analyse("f", code)
    assert not any(r.code == "runtime_stride" for r in analysis.reasons), analysis.reasons


@pytest.mark.parametrize("code", [
    "void f(int m, float *y, const float *x, int *inc)\n"
    "{ int ix = 0; for (int k = 0; k < m; k++) { y[k] = x[ix]; ix += *inc; inc[0] = 2; } }",
    "void f(long n, char *p, long *steps, float *o)\n"
    "{ for (long k = 0; k < n; k++, p += steps[0]) { o[k] = *(float *)p; steps[k & 1] = k; } }",
    "void f(float *y, const float *x, int *n)\n{ for (int k = 0; k < *n; k++) { y[k] = x[k]; if (x[k] < 0) *n = k; } }",
])
def test_a_loop_that_stores_through_the_element_s_pointer_is_refused(code: str) -> None:
    """The loop's own store may change the stride or bound it reads (`inc[0] = 2` after the first iteration)."""
    _, analysis, _ = analyse("f", code)
    assert analysis.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code == "variable_step" and "stores through" in r.message for r in analysis.reasons), analysis.reasons


@needs_compiler
def test_the_sandbox_verifies_both_paths_of_each_form(tmp_path: Path) -> None:
    require_host("avx2")
    work = [kernel_candidate(name, code) for name, code in (
        ("scopy_", F2C_COPY), ("add", UFUNC_STEPS), ("gemv", GEMV_N), ("gemv", GEMV_T), ("icopy", INT_COPY),
        ("twice", DIMS_BOUND))]
    kernel, good = work[0]
    # other positive strides into the vector loop
    loose = good.function.replace("incx_ == 1 && incy_ == 1", "incx_ >= 1 && incy_ >= 1")
    assert loose != good.function
    results = verify_briefly([*work, (kernel, replace(good, function=loose))], tmp_path)
    for status, detail in results[:5]:
        assert status == Status.VERIFIED, detail
        units, others = map(int, re.search(r"\((\d+) at unit strides, the vector path; (\d+) at other", detail).groups())
        assert units >= 20 and others >= 20, detail
    assert results[5][0] == Status.VERIFIED, results[5]
    assert results[6][0] == Status.MISMATCH, results[6]


MAIN = """
#include <stdio.h>
#include <string.h>
void icopy(int n, const int *x, const int *incx, int *y);
void original(int n, const int *x, const int *incx, int *y);
int main(void)
{
    static int x[4000], y1[4000], y2[4000];
    int bad = 0;
    for (int j = 0; j < 4000; j++) x[j] = j % 3 - 1;  /* what y's copy of the stride becomes */
    for (int inc = -1; inc <= 2; inc++)
        for (int n = 0; n <= 300; n += 23)
            for (int at = -1; at < 40; at += 7) {  /* at >= 0: the stride sits inside y, the loop overwrites it */
                static int own1, own2;
                for (int j = 0; j < 4000; j++) y1[j] = y2[j] = 1;
                own1 = own2 = inc;
                if (at >= 0) y1[at] = y2[at] = inc;
                const int *s1 = at >= 0 ? &y1[at] : &own1, *s2 = at >= 0 ? &y2[at] : &own2;
                icopy(n, x + 2000, s1, y1);
                original(n, x + 2000, s2, y2);
                if (memcmp(y1, y2, sizeof y1) != 0) { printf("inc=%d n=%d at=%d differ\\n", inc, n, at); bad = 1; }
            }
    return bad;
}
"""


@needs_compiler
def test_the_edited_file_matches_the_original_when_the_loop_overwrites_its_stride(tmp_path: Path) -> None:
    """The check keeps the vector loop away from a `y` that holds `*incx`: the user's loop, whose stride
    changes mid-way, runs instead."""
    require_host("avx2")
    source, cand = one_candidate("icopy", INT_COPY)
    run = run_edited_against_original(tmp_path, "avx2", "icopy", source, cand.edits, INT_COPY, MAIN)
    assert run.returncode == 0, run.stdout[:2000]


@pytest.mark.parametrize(("code", "code_word"), [
    # the reference BLAS's non-unit path as f2c writes it: the counter itself steps by the stride
    ("typedef int integer;\nint sscal_(integer *n, float *sa, float *sx, integer *incx)\n"
     "{ integer i__1, i__2, i__, nincx; --sx; nincx = *n * *incx; i__1 = nincx; i__2 = *incx;\n"
     "  for (i__ = 1; i__ <= i__1; i__ += i__2) sx[i__] = *sa * sx[i__]; return 0; }", "variable_step"),
    ("typedef int integer;\nint sscal_(integer *n, float *sa, float *sx, integer *incx)\n"
     "{ integer i__1, i__2, i__, nincx; --sx; nincx = *n * *incx; i__1 = nincx; i__2 = *incx;\n"
     "  for (i__ = 1; i__2 < 0 ? i__ >= i__1 : i__ <= i__1; i__ += i__2) sx[i__] = *sa * sx[i__]; return 0; }",
     "not_counted"),
])
def test_a_counter_stepped_by_the_stride_is_refused_with_its_reason(code: str, code_word: str) -> None:
    _, analysis, _ = analyse("sscal_", code)
    assert analysis.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code == code_word for r in analysis.reasons), analysis.reasons
