"""Loops written with run-time strides (BLAS's `x[i*incx]` and `ix += incx`, a pointer stepped by `incx`,
NumPy's `char *` walks read as `*(float *)ip1` and stepped by a byte stride) get a multiversioned rewrite:
the contiguous vector loop when every stride is its unit (`incx == 1`, `is1 == 4`), the user's loop for any
other stride. The sandbox runs both paths (the driver gives a stride its unit in even-seed cases and other
multiples of it, of either sign and 0, in odd ones) and says how many cases ran each; a guard that lets a
wrong stride into the vector loop, or a fallback that is not the user's loop, fails."""

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

from simdlens.core import LoopVerdict, Status

AXPY_MUL = ("void axpy(int n, float a, const float *x, int incx, float *y, int incy)\n"
            "{ for (int i = 0; i < n; i++) y[i * incy] += a * x[i * incx]; }")
AXPY_IDX = ("void axpy(int n, float a, const float *x, int incx, float *y, int incy)\n"
            "{ int ix = 0, iy = 0;\n"
            "  for (int i = 0; i < n; i++) { y[iy] += a * x[ix]; ix += incx; iy += incy; } }")
SCAL_WALK = ("void scal(int n, double a, double *x, int incx)\n"
             "{ for (int i = 0; i < n; i++) { *x *= a; x += incx; } }")
UFUNC = ("typedef long npy_intp;\n"
         "void add(char **args, const npy_intp *dimensions, const npy_intp *steps)\n"
         "{ char *ip1 = args[0], *ip2 = args[1], *op1 = args[2];\n"
         "  npy_intp is1 = steps[0], is2 = steps[1], os1 = steps[2], n = dimensions[0], i;\n"
         "  for (i = 0; i < n; i++, ip1 += is1, ip2 += is2, op1 += os1) {\n"
         "    const float in1 = *(float *)ip1; const float in2 = *(float *)ip2;\n"
         "    *(float *)op1 = in1 + in2; } }")
SQUARE_BYTES = ("void square(char *ip, char *op, long n)\n"
                "{ for (long i = 0; i < n; i++, ip += sizeof(double), op += sizeof(double)) {\n"
                "    const double v = *(double *)ip; *(double *)op = v * v; } }")


@pytest.mark.parametrize(("name", "code", "guard"), [
    ("axpy", AXPY_MUL, "incx == 1 && incy == 1"),
    ("axpy", AXPY_IDX, "incx == 1 && incy == 1"),
    ("scal", SCAL_WALK, "incx == 1"),
    ("add", UFUNC, "is1 == 4 && is2 == 4 && os1 == 4"),
])
def test_a_runtime_stride_is_a_check_and_the_rewrite_is_guarded_by_its_unit(name: str, code: str, guard: str) -> None:
    _, analysis, _ = analyse(name, code)
    assert analysis.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS, analysis.reasons
    assert "runtime_stride" in analysis.facts
    stride = next(r.message for r in analysis.reasons if r.code == "runtime_stride")
    assert "known only at run time" in stride and "your loop otherwise" in stride
    _, cand = one_candidate(name, code)
    assert f"if (({guard}) && (" in cand.function  # the vector code runs only under the unit strides
    assert any(f"only when {guard}" in c for c in cand.caveats)
    edit = max(cand.edits, key=lambda e: len(e.new_text)).new_text
    assert f"({guard})" in edit and "_mm256_" in edit


def test_a_byte_walk_by_a_constant_size_reads_whole_elements() -> None:
    """`ip += sizeof(double)` read as `*(double *)ip`: a contiguous walk of doubles, no guard needed."""
    kernel, cand = kernel_candidate("square", SQUARE_BYTES)
    assert "_mm256_loadu_pd(&((double *)(ip))[" in cand.function
    assert not any("only when" in c for c in cand.caveats)  # no stride guard, only the overlap test
    assert dict(kernel.views) == {"ip": 8, "op": 8}  # the harness keeps the byte buffers aligned to doubles


@pytest.mark.parametrize(("code", "why"), [
    # the counter with and without the stride: not one strided walk
    ("void f(int n, const float *x, int incx, float *y)\n{ for (int i = 0; i < n; i++) y[i] = x[i * incx + i]; }",
     "index"),
    ("void f(int n, float *x, int incx)\n{ for (int i = 0; i < n; i++) { *x++ *= 2.0f; x += incx; } }",
     "variable_step"),
    ("void f(char *p, long s, long n, float *o)\n"
     "{ for (long i = 0; i < n; i++, p += s) o[i] = *(float *)p + (float)*p; }", "variable_step"),
    # beside a contiguous walk a stride is most often a leading dimension (a matrix column): read as before
    ("void f(double *restrict col, const double *restrict M, int rows, int ld)\n"
     "{ for (int r = 0; r < rows; r++) col[r] = M[r * ld]; }", "column"),
    # one stride, two units: `s == 4` for the byte walk, `s == 1` for the element subscript
    ("void f(const char *p, long s, const float *x, float *o, long n)\n"
     "{ for (long i = 0; i < n; i++, p += s) o[i] = *(const float *)p + x[i * s]; }", "variable_step"),
])
def test_strides_that_no_unit_guard_describes_are_refused(code: str, why: str) -> None:
    _, analysis, _ = analyse("f", code)
    if why == "variable_step":
        assert analysis.verdict == LoopVerdict.NOT_VECTORIZABLE
        assert any(r.code == "variable_step" for r in analysis.reasons), analysis.reasons
    else:
        assert not any(r.code == "runtime_stride" for r in analysis.reasons)


@needs_compiler
def test_the_sandbox_runs_both_paths_and_a_wrong_guard_or_fallback_fails(tmp_path: Path) -> None:
    require_host("avx2")
    work = [kernel_candidate(name, code) for name, code in (
        ("axpy", AXPY_MUL), ("axpy", AXPY_IDX), ("scal", SCAL_WALK), ("add", UFUNC), ("square", SQUARE_BYTES))]
    kernel, good = work[0]
    # a guard that lets other positive strides into the contiguous vector loop
    loose = replace(good, function=good.function.replace("incx == 1 && incy == 1", "incx >= 1 && incy >= 1"))
    # a fallback that is not the user's loop: wrong whenever a stride is not 1
    else_at = good.function.rindex("else {")
    broken = replace(good, function=good.function[:else_at] + "else { }\n}\n")
    results = verify_briefly([*work, (kernel, loose), (kernel, broken)], tmp_path)
    for status, detail in results[:4]:
        assert status == Status.VERIFIED, detail
        units, others = map(int, re.search(r"\((\d+) at unit strides, the vector path; (\d+) at other", detail).groups())
        assert units >= 20 and others >= 20, detail  # both paths, at every size the plan tests
    assert results[4][0] == Status.VERIFIED and "unit strides" not in results[4][1], results[4]
    assert results[5][0] == Status.MISMATCH, results[5]
    assert results[6][0] == Status.MISMATCH, results[6]


MAIN = """
#include <stdio.h>
#include <string.h>
void axpy(int n, float a, const float *x, int incx, float *y, int incy);
void original(int n, float a, const float *x, int incx, float *y, int incy);
int main(void)
{
    static float x[4000], y1[4000], y2[4000];
    static const int incs[] = {1, 2, -1, 0, 3, -2};
    int bad = 0;
    for (int j = 0; j < 4000; j++) x[j] = (float)(j % 37) - 9.0f;
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            for (int n = 0; n <= 300; n += 23) {
                int ix = incs[a], iy = incs[b];  /* BLAS passes the end of a negative walk's range */
                const float *xs = x + 1000 + (ix < 0 ? -ix * (n - 1) : 0);
                for (int j = 0; j < 4000; j++) y1[j] = y2[j] = (float)(j % 11);
                axpy(n, 1.5f, xs, ix, y1 + 1000 + (iy < 0 ? -iy * (n - 1) : 0), iy);
                original(n, 1.5f, xs, ix, y2 + 1000 + (iy < 0 ? -iy * (n - 1) : 0), iy);
                if (memcmp(y1, y2, sizeof y1) != 0) { printf("incx=%d incy=%d n=%d differ\\n", ix, iy, n); bad = 1; }
            }
    return bad;
}
"""


@needs_compiler
def test_the_edited_file_matches_the_original_at_unit_and_other_strides(tmp_path: Path) -> None:
    require_host("avx2")
    source, cand = one_candidate("axpy", AXPY_MUL)
    run = run_edited_against_original(tmp_path, "avx2", "axpy", source, cand.edits, AXPY_MUL, MAIN)
    assert run.returncode == 0, run.stdout[:2000]
