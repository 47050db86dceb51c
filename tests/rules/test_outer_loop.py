"""A column sweep is rewritten as a nest: the outer loop vectorized across its contiguous counter (the
inner loop inside each vector step), and the same nest interchanged; both verified against the user's
whole nest, no gather or scatter anywhere, and the code action's edit computes what the original does."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from rules_support import apply_edits, build_and_run, needs_compiler, run_edited_against_original

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Candidate, Kernel, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

HEAD = """#define LEN_2D 256
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D];
float x1[LEN_2D], y1[LEN_2D];
"""
SWEEP = HEAD + """void sweep(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}
"""
MVT = HEAD + """void mvt(void) {
    for (int i = 0; i < LEN_2D - 3; i++)
        for (int j = 0; j < LEN_2D; j++)
            x1[i] += aa[j][i] * y1[j];
}
"""
# x1[i] is touched only where the condition holds: masked loads and stores, no register across j
COND = HEAD + """void cond_sum(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            if (aa[j][i] > 2.0f)
                x1[i] += aa[j][i] * 0.5f;
}
"""
MAIN = """
#include <stdio.h>
int main(void)
{
    for (int j = 0; j < LEN_2D; j++) {
        x1[j] = (float)(j %% 7) - 3.0f; y1[j] = (float)(j %% 5) * 0.25f;
        for (int i = 0; i < LEN_2D; i++) { aa[j][i] = (float)((i * 3 + j) %% 11) * 0.5f; bb[j][i] = (float)(i %% 3); }
    }
    %s();
    double sum = 0;
    for (int j = 0; j < LEN_2D; j++) {
        sum += x1[j] * (j + 1);
        for (int i = 0; i < LEN_2D; i++) sum += aa[j][i] * (1 + (i ^ j) %% 5);
    }
    printf("%%.6f\\n", sum);
    return 0;
}
"""


def _proposal(code: str, isa: str = "avx2") -> tuple[bytes, Kernel, tuple[Candidate, ...]]:
    source = code.encode()
    fa = analyze_file(source, "/tmp/outer_nest.c", "c")
    outer = next(a for a in fa.analyses if a.site.depth == 0)
    kernel = fa.kernels[outer.site.loop_id]
    return source, kernel, propose(outer, kernel, isa, Settings(), source=source).candidates


def test_both_formulations_are_proposed_without_gather_or_scatter() -> None:
    for code in (SWEEP, MVT):
        for isa in ("avx2", "avx512"):
            _, _, candidates = _proposal(code, isa)
            assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
            for c in candidates:
                assert not re.search(r"gather|scatter", c.function), c.function


def test_an_element_touched_under_a_condition_is_never_read_or_written_speculatively() -> None:
    _, _, candidates = _proposal(COND)
    (outer,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    inner = outer.function.index("for (int j = 0; j < LEN_2D; j++)")
    assert inner < outer.function.index("_mm256_maskload_ps(&x1[i]") < outer.function.index("_mm256_maskstore_ps(&x1[i]")
    assert "_mm256_loadu_ps(&x1[i])" not in outer.function


def test_the_outer_loop_rewrite_keeps_x_of_i_in_a_register_and_broadcasts_y_of_j() -> None:
    _, _, candidates = _proposal(MVT)
    (outer,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    text = outer.function
    start, inner, end = text.index("_mm256_loadu_ps(&x1[i])"), text.index("for (int j = 0; j < LEN_2D; j++)"), \
        text.index("_mm256_storeu_ps(&x1[i]")
    assert start < inner < text.index("_mm256_set1_ps(y1[j])") < end  # one load and one store of x1 per 8 columns
    assert "for (; i < LEN_2D - 3; i++) {" in text  # the outer loop's last iterations, as the user wrote them
    (swapped,) = [c for c in candidates if c.origin == "rules:interchange"]
    assert swapped.function.index("for (int j = 0; j < LEN_2D; j++) {") < swapped.function.index("int i = 0;")


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_the_edited_file_computes_what_the_original_does(tmp_path: Path) -> None:
    for name, code in (("sweep", SWEEP), ("mvt", MVT), ("cond_sum", COND)):
        source, _, candidates = _proposal(code)
        (tmp_path / "original.c").write_text(code + MAIN % name)
        expected = build_and_run(tmp_path, "avx2", ["original.c"]).stdout
        for c in candidates:
            edited = apply_edits(source, c.edits).decode()
            assert "#if defined(__AVX2__)" in edited and edited.count("for (int i = 0;") == 1  # the #else branch
            (tmp_path / "edited.c").write_text(edited + MAIN % name)
            assert build_and_run(tmp_path, "avx2", ["edited.c"]).stdout == expected, (name, c.origin)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_the_sandbox_verifies_the_rewrites_against_the_users_nest(rule_settings: Settings) -> None:
    kernels = [_proposal(SWEEP)[1:], _proposal(MVT)[1:]]
    sweep_kernel, sweep = kernels[0]
    # a rewrite that reads the row it writes instead of the one before: the nest's reference must catch it
    (outer,) = [c for c in sweep if c.origin == "rules:outer_loop"]
    wrong = Candidate(outer.kernel_hash, outer.isa, "rules:wrong", outer.function.replace("&aa[j - 1][i]", "&aa[j][i]"),
                      outer.edits, flags=outer.flags, type_facts=outer.type_facts)

    async def main() -> list[list[tuple[str, Status]]]:
        async with Sandbox(rule_settings) as sandbox:
            out = []
            for kernel, candidates in [(sweep_kernel, (*sweep, wrong)), kernels[1]]:
                results = await sandbox.verify(kernel, candidates, bench=False)
                out.append([(r.candidate.origin, r.verdict.status) for r in results])
            return out

    sweep_results, mvt_results = asyncio.run(main())
    assert dict(sweep_results) == {"rules:interchange": Status.VERIFIED, "rules:outer_loop": Status.VERIFIED,
                                   "rules:wrong": Status.MISMATCH}
    assert dict(mvt_results) == {"rules:interchange": Status.VERIFIED, "rules:outer_loop": Status.VERIFIED}


def test_a_nest_with_dependent_lanes_gets_no_candidate() -> None:
    code = HEAD + """void skewed(void) {
    for (int i = 0; i < LEN_2D - 1; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i+1] + bb[j][i];
}"""
    fa = analyze_file(code.encode(), "/tmp/skewed.c", "c")
    assert not fa.kernels  # neither the outer loop nor a gather/scatter rewrite of the inner loop


COLUMNS = """#define N 64
void scale_cols(float *a, const float *b) {
    for (int i = 0; i < N - 5; i++)
        for (int j = 0; j < N; j++)
            a[j * N + i] = b[j * N + i] * 2.0f + 1.0f;
}
"""
IN_PLACE_MAIN = """
#include <stdio.h>
#include <stdint.h>
#include <string.h>
void original(float *a, const float *b);
int vector_path(float *a, const float *b);
int main(void)
{
    static float x[3 * N * N], y[3 * N * N];
    int bad = 0;
    for (int shift = -2; shift <= 2; shift++) {
        for (int k = 0; k < 3 * N * N; k++) x[k] = y[k] = (float)(k % 13) - 6.0f;
        scale_cols(x + N * N + shift, x + N * N);
        original(y + N * N + shift, y + N * N);
        if (memcmp(x, y, sizeof x) != 0) { printf("shift=%d differs\\n", shift); bad = 1; }
    }
    /* in place, one element apart, disjoint */
    printf("%d %d %d\\n", vector_path(x + N * N, x + N * N), vector_path(x + N * N + 1, x + N * N),
           vector_path(x, x + N * N));
    return bad;
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_an_in_place_call_of_a_nest_runs_the_vector_code_and_overlaps_fall_back(tmp_path: Path) -> None:
    source, _, candidates = _proposal(COLUMNS)
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    for c in candidates:
        condition = re.search(r"^\s*if \((.*)\)\s*$", c.function, re.M)
        assert condition is not None, c.function
        (tmp_path / "edited.c").write_bytes(apply_edits(source, c.edits))
        (tmp_path / "original.c").write_text(COLUMNS.replace("scale_cols(", "original("))
        (tmp_path / "path.c").write_text(f"#include <stdint.h>\n#define N 64\nint vector_path(float *a, const float *b) "
                                         f"{{ return {condition.group(1)}; }}\n")
        (tmp_path / "main.c").write_text("#define N 64\nvoid scale_cols(float *a, const float *b);\n" + IN_PLACE_MAIN)
        run = build_and_run(tmp_path, "avx2", ("edited.c", "original.c", "path.c", "main.c"))
        assert run.returncode == 0, run.stdout[:2000]
        assert run.stdout.splitlines()[-1] == "1 0 1", (c.origin, run.stdout)


MATMUL = """#define N 128
float A[N][N], B[N][N], C[N][N];
void matmul_ikj(void) {
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++)
            for (int j = 0; j < N; j++)
                C[i][j] += A[i][k] * B[k][j];
}
"""


def test_the_ikj_matrix_product_broadcasts_a_once_and_fuses_over_j() -> None:
    source = MATMUL.encode()
    fa = analyze_file(source, "/tmp/matmul.c", "c")
    inner = fa.analyses[-1]
    kernel = fa.kernels[inner.site.loop_id]
    # timed in its k loop (i is a parameter the harness sets): N x N elements per call
    assert kernel.nest is not None and "for (int k = 0; k < N; k++)" in kernel.nest.source
    (fused,) = propose(inner, kernel, "avx2", Settings(allow_contraction=True), source=source).candidates
    text = fused.function
    assert text.index("const __m256 k3 = _mm256_set1_ps(A[i][k]);") < text.index("for (; left >= 8")
    assert "_mm256_fmadd_ps(k3, B4, C5)" in text and "_mm256_mul_ps" not in text
    (plain,) = propose(inner, kernel, "avx2", Settings(), source=source).candidates
    assert "_mm256_fmadd_ps" not in plain.function  # contraction changes rounding: only when the user allows it


def test_mvt_written_with_i_inner_is_the_inner_loops_rewrite_with_y_of_j_broadcast_once() -> None:
    code = HEAD + """void mvt_rows(void) {
    for (int j = 0; j < LEN_2D; j++)
        for (int i = 0; i < LEN_2D; i++)
            x1[i] += aa[j][i] * y1[j];
}
"""
    source = code.encode()
    fa = analyze_file(source, "/tmp/mvt_rows.c", "c")
    outer, inner = fa.analyses
    assert "outer_nest" not in outer.facts and outer.site.loop_id not in fa.kernels  # not a column sweep
    kernel = fa.kernels[inner.site.loop_id]
    assert kernel.nest is not None  # timed in its j loop
    (cand,) = propose(inner, kernel, "avx2", Settings(), source=source).candidates
    text = cand.function
    assert text.index("_mm256_set1_ps(y1[j])") < text.index("for (; left >= 8")


# triangles and a band: each lane runs its own first or last rows as written, the rows all lanes share vectorized
TRIANGLES = {
    "tri_below": HEAD + """void tri_below(void) {
    for (int i = 0; i < LEN_2D - 5; i++)
        for (int j = i + 1; j < LEN_2D; j++)
            aa[j][i] = aa[j - 1][i] * 0.5f + bb[j][i];
}
""",
    "tri_above": HEAD + """void tri_above(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j <= i; j++)
            x1[i] += aa[j][i] * y1[j];
}
""",
    "band": HEAD + """void band(void) {
    for (int i = 0; i < LEN_2D - 3; i++)
        for (int j = i; j < i + 3; j++)
            aa[j][i] = aa[j][i] + bb[j][i];
}
""",
}


def test_a_triangular_nest_runs_the_shared_rows_as_vectors_or_swaps_its_bounds() -> None:
    _, _, candidates = _proposal(TRIANGLES["tri_below"])
    (swapped,) = [c for c in candidates if c.origin == "rules:interchange"]
    # j's whole range outside; for each j the i whose rows hold it (j >= i + 1: i <= j - 1)
    assert "for (int j = (0) + 1; j < LEN_2D; j++) {" in swapped.function
    assert "const int i_to = ((LEN_2D - 5) < (j) - ((0) + 1) + 1 ? (LEN_2D - 5) : (j) - ((0) + 1) + 1);" \
        in swapped.function
    (outer,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    text = outer.function
    assert not re.search(r"gather|scatter", text + swapped.function)
    assert "const int j_from = (i + 7) + 1;" in text and "const int j_to = LEN_2D;" in text
    # lane k's rows i+k+1 .. i+7 run the user's body with the lane's i, before the vector loop
    assert text.index("int i = i_lane;") < text.index("for (int j = j_from; j < j_to; j++) {")
    _, _, above = _proposal(TRIANGLES["tri_above"])
    text = next(c.function for c in above if c.origin == "rules:outer_loop")
    # j <= i: the rows of lane 0 are shared, each lane's last ones after the vector loop
    assert "const int j_to = (i) + 1;" in text
    assert text.index("for (int j = j_from; j < j_to; j++) {") < text.index("int i = i_lane;")


def _edits_compute_the_same(tmp_path: Path, code: str, main: str, candidates: tuple[Candidate, ...]) -> None:
    """The user's file with each candidate's edits, run with `main`, prints what the original prints."""
    (tmp_path / "original.c").write_text(code + main)
    expected = build_and_run(tmp_path, "avx2", ["original.c"]).stdout
    for c in candidates:
        (tmp_path / "edited.c").write_text(apply_edits(code.encode(), c.edits).decode() + main)
        assert build_and_run(tmp_path, "avx2", ["edited.c"]).stdout == expected, c.origin


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_an_edited_triangular_nest_computes_what_the_original_does(tmp_path: Path) -> None:
    for name, code in TRIANGLES.items():
        _, _, candidates = _proposal(code)
        assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"], name
        _edits_compute_the_same(tmp_path, code, MAIN % name, candidates)


LEADING = """void flat_cols(int n, int m, int ld, float *restrict A, const float *restrict B) {
    for (int i = 0; i < m; i++)
        for (int j = 1; j < n; j++)
            A[j * ld + i] += A[(j - 1) * ld + i] * 0.5f + B[j * ld + i];
}
"""
LEADING_MAIN = """
#include <stdio.h>
#include <string.h>
void flat_cols(int n, int m, int ld, float *restrict A, const float *restrict B);
void original(int n, int m, int ld, float *restrict A, const float *restrict B);
int main(void)
{
    static float x[64 * 64], y[64 * 64], b[64 * 64];
    int bad = 0;
    for (int k = 0; k < 64 * 64; k++) b[k] = (float)(k % 13) - 6.0f;
    /* rows longer than the columns walked (the vector path), and shorter (rows overlap: the user's nest) */
    int shapes[][3] = {{40, 37, 45}, {40, 37, 37}, {40, 37, 20}, {40, 37, 5}, {9, 61, 61}};
    for (int s = 0; s < 5; s++) {
        for (int k = 0; k < 64 * 64; k++) x[k] = y[k] = (float)(k % 7);
        flat_cols(shapes[s][0], shapes[s][1], shapes[s][2], x, b);
        original(shapes[s][0], shapes[s][1], shapes[s][2], y, b);
        if (memcmp(x, y, sizeof x) != 0) { printf("shape %d differs\\n", s); bad = 1; }
    }
    return bad;
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_a_flat_column_with_a_leading_dimension_checks_that_the_columns_fit_in_a_row(tmp_path: Path) -> None:
    source, _, candidates = _proposal(LEADING)
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    for c in candidates:
        assert "if (((long long)(m) <= (long long)(ld)))" in c.function, c.function
        assert "_mm256_loadu_ps(&A[i + ((j - 1) * ld)])" in c.function and not re.search(r"gather|scatter", c.function)
        run = run_edited_against_original(tmp_path, "avx2", "flat_cols", source, c.edits, LEADING, LEADING_MAIN)
        assert run.returncode == 0, (c.origin, run.stdout)


GEMM = HEAD + """void gemm_rows(float alpha, float beta) {
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < LEN_2D - 3; j++) {
            x1[j] *= beta;
            for (int k = 0; k < LEN_2D; k++)
                x1[j] += alpha * aa[i][k] * bb[k][j];
            x1[j] = x1[j] - 1.0f;
        }
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_an_imperfect_nest_keeps_its_statements_around_the_inner_loop(tmp_path: Path) -> None:
    source = GEMM.encode()
    fa = analyze_file(source, "/tmp/gemm_rows.c", "c")
    middle = fa.analyses[1]
    kernel = fa.kernels[middle.site.loop_id]
    candidates = propose(middle, kernel, "avx2", Settings(), source=source).candidates
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    (outer,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    text = outer.function  # x1[j..j+8) in a register: scaled, accumulated over k, decremented, stored once
    assert text.index("_mm256_loadu_ps(&x1[j])") < text.index("for (int k = 0; k < LEN_2D; k++)") \
        < text.index("_mm256_sub_ps") < text.index("_mm256_storeu_ps(&x1[j]")
    _edits_compute_the_same(tmp_path, GEMM, MAIN.replace("%s();", "gemm_rows(0.75f, 1.5f);").replace("%%", "%"),
                            candidates)


DOT_TEMP = HEAD + """void dot_temp(void) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < LEN_2D - 1; j++) {
            float s = x1[j];
            for (int k = 0; k < LEN_2D; k++)
                s += aa[i][k] * bb[k][j];
            y1[j] = s * 0.5f;
        }
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_a_sum_in_a_temporary_of_the_outer_loop_is_kept_in_a_register(tmp_path: Path) -> None:
    source = DOT_TEMP.encode()
    fa = analyze_file(source, "/tmp/dot_temp.c", "c")
    middle = fa.analyses[1]
    (c,) = propose(middle, fa.kernels[middle.site.loop_id], "avx2", Settings(), source=source).candidates
    assert c.origin == "rules:outer_loop"  # the temporary is one value per j: the nest is not distributed
    text = c.function
    assert text.index("_mm256_loadu_ps(&x1[j])") < text.index("for (int k = 0; k < LEN_2D; k++)") \
        < text.index("_mm256_storeu_ps(&y1[j]")
    main = MAIN.replace("%s();", "dot_temp();").replace("%%", "%").replace("sum += x1[j] * (j + 1);",
                                                                            "sum += y1[j] * (j + 1);")
    _edits_compute_the_same(tmp_path, DOT_TEMP, main, (c,))


# PolyBench declares every counter at the top of the function; the caller reads them after the nest here
TOP_COUNTERS = HEAD + """int top_counters(void) {
    int i, j;
    for (i = 0; i < LEN_2D - 3; i++) {
        x1[i] = 0.0f;
        for (j = 0; j < LEN_2D; j++)
            x1[i] += aa[j][i] * y1[j];
    }
    return i * 1000 + j;
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_counters_declared_at_the_top_of_the_function_end_where_the_users_nest_leaves_them(tmp_path: Path) -> None:
    _, kernel, candidates = _proposal(TOP_COUNTERS)
    assert kernel.source.index("int j;") < kernel.source.index("for (i = 0;")  # the reference declares j
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    for c in candidates:
        edit = "".join(e.new_text for e in c.edits)
        assert not re.search(r"\bint [ij]\b", edit), (c.origin, edit)  # the rewrite assigns the user's counters
        assert not re.search(r"gather|scatter", c.function)
    main = MAIN.replace("%s();", 'printf("%%d\\n", top_counters());') % ()
    _edits_compute_the_same(tmp_path, TOP_COUNTERS, main, candidates)


# a triangle with statements before and after its inner loop (cholesky / trmm style)
TRI_AROUND = HEAD + """void tri_around(void) {
    for (int i = 0; i < LEN_2D - 2; i++) {
        x1[i] = bb[1][i] * 2.0f;
        for (int j = i; j < LEN_2D; j++)
            x1[i] += aa[j][i] * y1[j];
        x1[i] = x1[i] * 0.5f - bb[2][i];
    }
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_a_triangle_runs_its_statements_around_before_and_after_every_lanes_rows(tmp_path: Path) -> None:
    _, _, candidates = _proposal(TRI_AROUND)
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    (outer,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    text = outer.function  # the statement before, each lane's own rows, the shared rows, the statement after
    assert text.index("_mm256_storeu_ps(&x1[i]") < text.index("int i = i_lane;") \
        < text.index("for (int j = j_from; j < j_to; j++) {") < text.index("_mm256_sub_ps")
    _edits_compute_the_same(tmp_path, TRI_AROUND, MAIN % "tri_around", candidates)


# m[i] is read after s[i] was reset around the inner loop: called with s == m, the user's nest reads the 0
RESET = """void reset_then_sum(float *s, const float *m, const float *A) {
    for (int i = 0; i < 64; i++) {
        s[i] = 0.0f;
        for (int j = 0; j < 64; j++)
            s[i] += A[j * 64 + i] * m[i];
    }
}
"""


def test_an_in_place_call_is_refused_when_a_statement_around_the_inner_loop_writes_what_it_reads() -> None:
    _, _, candidates = _proposal(RESET)
    assert candidates
    for c in candidates:
        condition = re.search(r"^\s*if \((.*)\)\s*$", c.function, re.M)
        assert condition is not None and "(const float *)(const void *)s" in condition.group(1), c.function
        assert " == " not in condition.group(1), (c.origin, condition.group(1))  # no exact-aliasing path


# syrk's k-j order: every lane over k sums into the same C[i][j]; swapped, a row dot product per j
SYRK = """#define N 64
double C[N][N], A[N][N];
int syrk_rows(int i, int m, double alpha) {
    int j, k;
    j = -7;
    for (k = 0; k < m; k++)
        for (j = 0; j <= i; j++)
            C[i][j] += alpha * A[i][k] * A[j][k];
    return j * 1000 + k;
}
"""
SYRK_MAIN = """
#include <stdio.h>
int main(void)
{
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) { A[r][c] = (double)((r * 7 + c * 3) % 11) * 0.125; C[r][c] = (double)(r - c); }
    int got = syrk_rows(40, 61, 0.5) + syrk_rows(9, 0, 2.0) + syrk_rows(63, 64, -1.0);
    double sum = 0.0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) sum += C[r][c] * (1 + (r ^ c) % 5);
    printf("%d %.6f\\n", got, sum);
    return 0;
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_a_sum_every_lane_shares_is_interchanged_into_row_dot_products(tmp_path: Path) -> None:
    source, kernel, (c,) = _proposal(SYRK)
    assert "float_reduction" in kernel.facts  # the sums are reassociated: said so
    assert c.origin == "rules:interchange" and any("reassociates" in x for x in c.caveats)
    text = c.function  # for each j: 4 accumulators over k, summed into C[i][j] once
    assert text.index("for (j = 0; j <= i; j++) {") < text.index("_mm256_loadu_pd(&A[j][k])") \
        < text.index("C[i][j] = C[i][j] + ")
    # the counters the function declares end where the user's nest leaves them, also when k runs no iteration
    assert "for (k = 0; k < m; k++) for (j = 0; j <= i; j++) { }" in text
    (tmp_path / "original.c").write_text(SYRK + SYRK_MAIN)
    expected = build_and_run(tmp_path, "avx2", ["original.c"]).stdout
    (tmp_path / "edited.c").write_text(apply_edits(source, c.edits).decode() + SYRK_MAIN)
    got = build_and_run(tmp_path, "avx2", ["edited.c"]).stdout
    assert got.split()[0] == expected.split()[0]  # the counters, exactly
    assert abs(float(got.split()[1]) - float(expected.split()[1])) <= 1e-9 * abs(float(expected.split()[1]))


# the inner loop runs only for the columns whose first row is positive (TSVC s275's shape): the guard is
# read once per vector step, the column sweep runs under it, and the row it just stored stays in a register
GUARDED = HEAD + """void guarded_sweep(void) {
    for (int i = 0; i < LEN_2D; i++)
        if (aa[0][i] > 1.0f)
            for (int j = 1; j < LEN_2D; j++)
                aa[j][i] = aa[j-1][i] * 0.5f + bb[j][i];
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_a_guarded_column_sweep_runs_under_its_condition_and_keeps_the_stored_row_in_a_register(tmp_path: Path) -> None:
    fa = analyze_file(GUARDED.encode(), "/tmp/guarded.c", "c")
    outer = next(a for a in fa.analyses if a.site.depth == 0)
    assert outer.loop is not None and outer.loop.inner is not None and outer.verdict.value.startswith("vectorizable")
    _, _, candidates = _proposal(GUARDED)
    (vector,) = [c for c in candidates if c.origin == "rules:outer_loop"]
    text = vector.function
    # the guard is computed before the inner loop; in it, memory is read for the previous row only once
    assert text.index("_mm256_cmp_ps") < text.index("for (int j = 1; j < LEN_2D; j++)")
    assert "aa_first ? _mm256_maskload_ps(&aa[j - 1][i]" in text and "_mm256_maskstore_ps(&aa[j][i]" in text
    _edits_compute_the_same(tmp_path, GUARDED, MAIN % "guarded_sweep", candidates)


# lu's second nest (PolyBench): for j >= i, A[i][j] -= A[i][k] * A[k][j] over k < i. The bounds say the
# sum's element is never one the k loop reads (A[i][k]: k < i <= j; the column A[k][j]: rows k < i), so
# the lanes over j are independent; the first nest (k < j, j < i) reads what earlier lanes wrote
LU = """#define N 64
void lu(int n, double A[N][N])
{
    int i, j, k;
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            for (k = 0; k < j; k++)
                A[i][j] -= A[i][k] * A[k][j];
            A[i][j] /= A[j][j];
        }
        for (j = i; j < n; j++)
            for (k = 0; k < i; k++)
                A[i][j] -= A[i][k] * A[k][j];
    }
}
"""
LU_ROWS = """#define N 64
double A[N][N];
void lu_rows(int i, int n)
{
    int j, k;
    for (j = i; j < n; j++)
        for (k = 0; k < i; k++)
            A[i][j] -= A[i][k] * A[k][j];
}
"""
LU_ROWS_MAIN = """
#include <stdio.h>
int main(void)
{
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) A[r][c] = (double)((r * 7 + c * 3) % 11) * 0.125 - 0.5;
    lu_rows(5, N); lu_rows(40, 61); lu_rows(0, N); lu_rows(63, 64);
    double sum = 0.0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) sum += A[r][c] * (1 + (r ^ c) % 5);
    printf("%.6f\\n", sum);
    return 0;
}
"""


def _nest_at(code: str, line: int) -> tuple[Any, Kernel | None]:
    fa = analyze_file(code.encode(), "/tmp/lu.c", "c")
    a = next(a for a in fa.analyses if a.site.span.start.line + 1 == line)
    return a, fa.kernels.get(a.site.loop_id)


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_lu_rows_are_vectorized_across_j_from_the_facts_the_triangular_bounds_give(tmp_path: Path) -> None:
    outer, kernel = _nest_at(LU, 11)
    assert kernel is not None, [r.message for r in outer.reasons]
    candidates = propose(outer, kernel, "avx2", Settings(), source=LU.encode()).candidates
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    assert not any(re.search(r"gather|scatter", c.function) for c in candidates)
    # the first nest's lanes depend on each other (A[i][k], k < j, is what the lane of column k wrote)
    first, none = _nest_at(LU, 6)
    assert none is None and "not vectorized across j" in first.reasons[0].message
    # with k reaching i, the column A[k][j] reads row i, which the lanes write: no longer a sum, no rewrite
    for wrong in (LU.replace("k < i;", "k <= i;"), LU.replace("j = i; j < n", "j = i - 1; j < n")):
        inner, _ = _nest_at(wrong, 12)
        assert inner.reasons[0].code == "recurrence" and _nest_at(wrong, 11)[1] is None
    fa = analyze_file(LU_ROWS.encode(), "/tmp/lu_rows.c", "c")
    rows = next(a for a in fa.analyses if a.site.depth == 0)
    _edits_compute_the_same(tmp_path, LU_ROWS, LU_ROWS_MAIN,
                            propose(rows, fa.kernels[rows.site.loop_id], "avx2", Settings(), source=LU_ROWS.encode()).candidates)


# ludcmp's form of the same rows: the sum kept in a temporary the function declares, read from and
# stored to the lane's own element around the inner loop, which the inner loop's reads never reach
LUDCMP_ROWS = """#define N 64
double A[N][N];
void ludcmp_rows(int i, int n)
{
    int j, k;
    double w;
    for (j = i; j < n; j++) {
        w = A[i][j];
        for (k = 0; k < i; k++)
            w -= A[i][k] * A[k][j];
        A[i][j] = w;
    }
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_ludcmp_rows_keep_their_temporary_around_the_inner_loop(tmp_path: Path) -> None:
    _, kernel, candidates = _proposal(LUDCMP_ROWS)
    assert [c.origin for c in candidates] == ["rules:outer_loop"]  # (a temporary: not interchanged)
    assert "double w;" in kernel.source  # the nest the sandbox runs declares the function's temporary
    _edits_compute_the_same(tmp_path, LUDCMP_ROWS, LU_ROWS_MAIN.replace("lu_rows", "ludcmp_rows"), candidates)
    # the temporary written back one column over is another lane's element: refused
    shifted = LUDCMP_ROWS.replace("A[i][j] = w;", "A[i][j + 1] = w;").replace("j < n;", "j < n - 1;")
    fa = analyze_file(shifted.encode(), "/tmp/shifted.c", "c")
    assert not any(a.site.depth == 0 and a.site.loop_id in fa.kernels for a in fa.analyses)


# covariance (PolyBench): the symmetric matrix's lower half mirrored from the upper one after each sum.
# The mirror cov[j][i] of lane j meets row i only at the diagonal j == i, the lane's own element
COVARIANCE = """#define N 64
double cov[N][N], data[N][N];
void cov_rows(int i, int m, int n, double scale)
{
    int j, k;
    for (j = i; j < m; j++) {
        cov[i][j] = 0.0;
        for (k = 0; k < n; k++)
            cov[i][j] += data[k][i] * data[k][j];
        cov[i][j] *= scale;
        cov[j][i] = cov[i][j];
    }
}
"""
COVARIANCE_MAIN = """
#include <stdio.h>
int main(void)
{
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) { data[r][c] = (double)((r * 5 + c * 3) % 13) * 0.25 - 1.0; cov[r][c] = -7.0; }
    for (int i = 0; i < 61; i++) cov_rows(i, 61, 50, 0.5);
    cov_rows(3, 64, 64, 0.25); cov_rows(63, 64, 17, 1.0); cov_rows(9, 9, 5, 1.0);
    double sum = 0.0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) sum += cov[r][c] * (1 + (r ^ c) % 5);
    printf("%.6f\\n", sum);
    return 0;
}
"""


@needs_compiler
@pytest.mark.skipif(not host_cpu().runs("avx2"), reason="host lacks AVX2")
def test_covariance_rows_mirror_each_lanes_sum_after_the_inner_loop(tmp_path: Path) -> None:
    _, _, candidates = _proposal(COVARIANCE)
    assert sorted(c.origin for c in candidates) == ["rules:interchange", "rules:outer_loop"]
    _edits_compute_the_same(tmp_path, COVARIANCE, COVARIANCE_MAIN, candidates)
    # a mirror one column over is another lane's row: refused, with the reason
    for wrong in ("cov[j][i + 1] = cov[i][j];", "cov[j][j] = cov[i][j];"):
        fa = analyze_file(COVARIANCE.replace("cov[j][i] = cov[i][j];", wrong).encode(), "/tmp/cov.c", "c")
        outer = next(a for a in fa.analyses if a.site.depth == 0)
        assert outer.site.loop_id not in fa.kernels
        assert "not vectorized across j" in outer.reasons[0].message, outer.reasons[0].message
