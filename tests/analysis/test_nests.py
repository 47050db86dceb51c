"""Loops in a nest: column sweeps are not rewritten (the compiler vectorizes the outer loop), inner
loops get a nest kernel that the benchmark times (outer loop as written, real bounds), and the sizes
the code uses are timed too."""

from __future__ import annotations

from simdlens.analysis import analyze_file
from simdlens.core import Analysis, Kernel, LoopVerdict
from simdlens.sandbox import bench, harness

NESTS = b"""\
#define LEN_2D 256
#define LEN_1D 32000
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D], cc[LEN_2D][LEN_2D];
float a[LEN_1D], b[LEN_1D];

/* s2275-style: the inner loop walks columns of the arrays the outer loop walks contiguously */
void column_sweep(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            aa[j][i] = aa[j][i] + bb[j][i] * cc[j][i];
}

void column_sweep_flat(float *restrict x, const float *restrict y, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            x[j * n + i] = y[j * n + i] * 3.0f;
}

void transpose_copy(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            aa[i][j] = bb[j][i];
}

void rows_const(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            aa[i][j] = bb[i][j] * cc[i][j] + 1.0f;
}

void rows_rect(int *restrict out, const int *restrict in, int rows, int cols) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[r * cols + c] = in[r * cols + c] + 1;
}

void rows_square(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            x[i * n + j] = x[i * n + j] * 0.5f + y[i * n + j];
}

void row_sums(float *restrict s, const float *restrict m, int n) {
    for (int i = 0; i < n; i++) {
        float t = 0.0f;
        for (int j = 0; j < n; j++)
            t += m[i * n + j];
        s[i] = t;
    }
}

void triangle(float *restrict x, const float *restrict y, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            x[i * n + j] = y[i * n + j] + 1.0f;
}

void global_extent(int n) {
    for (int i = 0; i < n; i++)
        a[i] = b[i] * 2.0f;
}
"""


def _file() -> tuple[dict[str, list[Analysis]], dict[str, Kernel]]:
    fa = analyze_file(NESTS, "nests.c", "c")
    by_fn: dict[str, list[Analysis]] = {}
    kernels: dict[str, Kernel] = {}
    for an in fa.analyses:
        by_fn.setdefault(an.site.function or "", []).append(an)
        k = fa.kernels.get(an.site.loop_id)
        if k is not None:
            kernels[an.site.function or ""] = k
    return by_fn, kernels


def test_column_sweeps_are_rewritten_as_a_nest_never_by_gather_scatter() -> None:
    by_fn, kernels = _file()
    outer, inner = by_fn["column_sweep"]
    assert inner.verdict is LoopVerdict.NOT_VECTORIZABLE and inner.reasons[0].code == "column_sweep"
    assert inner.reasons[0].message == (
        "the inner loop walks a column of aa, bb, cc (stride 256): the outer loop (line 8) is vectorized across i "
        "instead, contiguous; its rewrite replaces the whole nest")
    # the outer loop is the candidate (analysis/outer_vector.py); its kernel is the whole nest
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.reasons[0].code == "outer_vectorizable"
    assert "line 9 walks a column" in outer.reasons[0].message
    assert "for (int j = 0; j < LEN_2D; j++)" in kernels["column_sweep"].source
    # the flat spelling j*n + i (before, a scatter rewrite for AVX-512) is the same nest: its outer loop is the candidate
    flat_outer, flat = by_fn["column_sweep_flat"]
    assert flat.verdict is LoopVerdict.NOT_VECTORIZABLE and flat.reasons[0].code == "column_sweep"
    assert "the outer loop (line 14) is vectorized across i" in flat.reasons[0].message
    assert flat_outer.verdict is LoopVerdict.VECTORIZABLE and flat_outer.loop is not None
    assert flat_outer.loop.inner is not None and flat_outer.loop.inner.guard == ""  # n is the outer bound: rows fit
    # a transpose has no contiguous formulation of both arrays: still a candidate
    assert by_fn["transpose_copy"][1].verdict is not LoopVerdict.NOT_VECTORIZABLE


def test_inner_loops_are_timed_in_their_nest() -> None:
    _, kernels = _file()
    const = kernels["rows_const"].nest
    assert const is not None and const.size_param is None  # constant bounds: timed once, at its real size
    assert "for (int i = 0; i < LEN_2D; i++)\n        simdlens_inner(aa, i, bb, cc);" in const.source
    assert [p.name for p in const.params] == ["aa", "bb", "cc"]  # the outer counter is the nest's own
    # distinct global arrays, as the compiler knows them in the user's file (without `restrict` -O3
    # versions the nest or reloads what it hoists in the program, and a rewrite looks faster than it is)
    assert const.signature == ("void simdlens_kernel(float (*restrict aa)[LEN_2D], const float (*restrict bb)[LEN_2D], "
                               "const float (*restrict cc)[LEN_2D])")
    assert all(p.restrict for p in const.params) and const.source.startswith(const.signature)
    assert not any(p.restrict for p in kernels["rows_square"].nest.params)  # pointers: tested overlapping
    assert harness.bench_sizes(const, (4096, 65536, 1048576)) == (harness.CONSTANT_SIZE,)
    assert harness.real_size_set(const) == {harness.CONSTANT_SIZE}

    rect = kernels["rows_rect"].nest
    assert rect is not None and rect.size_param == "cols" and rect.also_size == ("rows",)
    assert rect.size_scale == (2, 1)  # rows x cols elements: the presets are square roots
    assert harness.bench_sizes(rect, (4096, 65536, 1048576)) == (64, 256, 1024)
    assert "for (int r = 0; r < rows; r++)" in rect.source and rect.signature.endswith("int rows)")
    # the footprint covers every row the outer loop reaches
    out = next(f for f in rect.footprints if f.param == "out")
    assert "rows" in out.hi and "r" not in out.hi.replace("rows", "")
    driver = harness.driver_source(rect, ("v0", "v1"))
    assert '{"rows", SL_SIZE' in driver and '{"cols", SL_SIZE' in driver

    square = kernels["rows_square"].nest
    assert square is not None and square.size_param == "n" and square.also_size == () and square.size_scale == (2, 1)
    assert square.may_alias == kernels["rows_square"].may_alias  # in-place calls are still tested and timed

    # a reduction is timed in its nest too: the sum it returns is kept (a volatile), so no loop is dropped
    sums = kernels["row_sums"].nest
    assert sums is not None and sums.return_type is None
    assert "simdlens_kept = simdlens_inner(" in sums.source and "volatile __typeof__(simdlens_inner(" in sums.source
    # a triangle is timed in its nest: n x n / 2 elements, about, as the presets count n x n
    tri = kernels["triangle"].nest
    assert tri is not None and "for (int i = 0; i < n; i++)" in tri.source
    assert tri.size_param == "n" and tri.size_scale == (2, 1) and tri.trip_count.endswith(") / 2")


def test_nest_variant_runs_the_outer_loop_around_the_inlined_inner_function() -> None:
    _, kernels = _file()
    inner = kernels["rows_rect"]
    text = harness.nest_variant_source(inner, "sl_c_x", "void simdlens_kernel(int cols, int *restrict out, int r, "
                                       "const int *restrict in) { /* candidate */ }", vector=True)
    assert "#include <immintrin.h>" in text
    assert "static inline __attribute__((always_inline)) void simdlens_kernel(" in text
    assert text.index("/* candidate */") < text.index("simdlens_inner(cols, out, r, in);")
    assert "void sl_c_x(int cols, int *restrict out, const int *restrict in, int rows)" in text


def test_the_sizes_the_code_uses_are_timed_and_marked_real() -> None:
    _, kernels = _file()
    k = kernels["global_extent"]
    assert k.real_sizes == (32000,)  # the declared extent of a[] and b[]
    assert harness.bench_sizes(k, (4096, 65536, 1048576)) == (4096, 32000, 65536, 1048576)
    assert harness.bench_sizes(k, (4096,), quick=True) == (32000,)
    rows = {32000: (32000, (4.0, 2.0, 1.0, 0.5))}
    (size,) = bench.summarize([bench.ProcessTimes(rows)], (32000,), 3, real=harness.real_size_set(k))
    assert size.real and size.n == 32000 and size.vs_native_autovec is not None and size.vs_native_autovec.median == 2.0


def test_constant_and_scaled_sizes_are_named_by_the_elements_they_run() -> None:
    times = bench.ProcessTimes({1: (65536, (4.0, 2.0, 1.0, 0.5))})
    (size,) = bench.summarize([times], (1,), 3, real=frozenset({1}), by_trip=True)
    assert (size.n, size.label, size.real) == (65536, "L2", True)


def test_scan_json_carries_the_column_sweep_reason(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from simdlens.cli import main

    path = tmp_path / "nests.c"
    path.write_bytes(NESTS)
    assert main(["scan", "--json", "--no-verify", "--no-cache", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    loops = [lp for lp in doc["files"][0]["loops"] if lp["function"] == "column_sweep"]
    inner = next(lp for lp in loops if lp["role"] == "innermost")
    assert inner["verdict"] == "not_vectorizable" and inner["reason_codes"][0] == "column_sweep"
    assert inner["code"] == "SL201" and inner["candidates"] == [] and "walks a column of aa" in inner["reasons"][0]


MVT = b"""\
#define N 512
double A[N][N], x[N], y[N];
void mvt_column(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            x[i] = x[i] + A[j][i] * y[j];
}
void mvt_row(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            x[i] = x[i] + A[i][j] * y[j];
}
"""


def test_a_column_next_to_values_the_outer_loop_broadcasts_is_a_column_sweep() -> None:
    # gcc vectorizes mvt's outer loop (x[i] and A[j][i] contiguous in i, y[j] one value per j): an inner
    # gather rewrite, timed alone, would be a win that loses in the program
    column, row = [a for a in analyze_file(MVT, "mvt.c", "c").analyses if a.site.depth == 1]
    assert column.verdict is LoopVerdict.NOT_VECTORIZABLE and column.reasons[0].code == "column_sweep"
    assert "column of A (stride 512)" in column.reasons[0].message
    assert row.verdict is not LoopVerdict.NOT_VECTORIZABLE  # a row: a dot product of contiguous rows


POLY = b"""\
#define N 128
#define DATA_TYPE double
#define _PB_N n
#define _PB_M m
void two_inner(int m, int n, DATA_TYPE A[N][N], DATA_TYPE x[N], DATA_TYPE y[N], DATA_TYPE tmp[N])
{
    int i, j;
    for (i = 0; i < _PB_M; i++) {
        tmp[i] = 0.0;
        for (j = 0; j < _PB_N; j++)
            tmp[i] = tmp[i] + A[i][j] * x[j];
        for (j = 0; j < _PB_N; j++)
            y[j] = y[j] + A[i][j] * tmp[i];
    }
}
void row_pointer(int n, double *restrict A, double *restrict out)
{
    for (int i = 0; i < n; i++) {
        double *row = A + i * n;
        for (int j = 0; j < n; j++)
            out[j] += row[j];
    }
}
"""


def test_two_inner_loops_of_one_outer_loop_are_each_timed_in_it_at_the_macro_spelled_sizes() -> None:
    fa = analyze_file(POLY, "poly.c", "c")
    dot, update = [a for a in fa.analyses if a.site.function == "two_inner" and a.site.depth == 1]
    for a in (dot, update):
        k = fa.kernels[a.site.loop_id]
        # `j < _PB_N` with `#define _PB_N n`: n is the size (not a scalar the harness sets to a few), and
        # A's row length is the size the code uses
        assert k.size_param == "n" and k.real_sizes == (128,)
        nest = k.nest
        assert nest is not None and nest.return_type is None
        assert "for (i = 0; i < (m); i++)" in nest.source and nest.signature.endswith("int m)")
        assert nest.size_param == "n" and nest.also_size == ("m",) and nest.size_scale == (2, 1)
    # the row reduction leaves its counter j (declared at the function's top): kept, so no loop is dropped
    assert "simdlens_kept = simdlens_inner(" in fa.kernels[dot.site.loop_id].nest.source  # type: ignore[union-attr]
    # a row pointer the outer loop sets beside the inner loop: a nest without it would time one row
    (inner,) = [a for a in fa.analyses if a.site.function == "row_pointer" and a.site.depth == 1]
    assert fa.kernels[inner.site.loop_id].nest is None


FACTOR = b"""\
#define N 128
void factor_rows(int n, double A[N][N])
{
    int i, j, k;
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            for (k = 0; k < j; k++)
                A[i][j] -= A[i][k] * A[j][k];
            A[i][j] *= 0.5;
        }
    }
}
"""


def test_a_row_dot_product_into_an_element_of_the_same_matrix_is_a_checked_reduction() -> None:
    fa = analyze_file(FACTOR, "factor.c", "c")
    inner = next(a for a in fa.analyses if a.site.depth == 2)
    # A[j][k] is another row of A than the A[i][j] summed into: checked at run time, not a recurrence
    assert inner.verdict is LoopVerdict.VECTORIZABLE_WITH_CHECKS, [r.message for r in inner.reasons]
    assert inner.reasons[0].message == "sum of A[i][j]"
    k = fa.kernels[inner.site.loop_id]
    # the trip count is j, and A[i][j] is a column too: j stays below the row length (127, not 128)
    assert k.size_param == "j" and k.size_max == 127
    assert k.nest is not None and "for (j = 0; j < i; j++)" in k.nest.source


def test_an_inner_array_that_moves_with_the_outer_counter_is_not_timed_as_one_buffer() -> None:
    """`y[i].qs[j]` reaches the inner kernel as one buffer `y_i__qs`; a nest around it would write the same
    32 bytes on every outer pass, which the compiler folds to the last pass (a 1,400x "speedup" once): the
    inner loop is timed alone instead."""
    source = b"""#include <stdint.h>
#define QK 32
typedef struct { float d; int8_t qs[QK]; } block;
void quantize(const float *x, block *y, int nb, float id) {
    for (int i = 0; i < nb; i++)
        for (int j = 0; j < QK; j++)
            y[i].qs[j] = (int8_t)(x[i * QK + j] * id);
}
"""
    fa = analyze_file(source, "/tmp/blocks.c", "c")
    (inner,) = [a for a in fa.analyses if a.site.role.value == "innermost"]
    kernel = fa.kernels[inner.site.loop_id]
    assert kernel is not None and any(p.source == "y[i].qs" for p in kernel.params)
    assert kernel.nest is None


def test_a_loop_in_a_lambda_still_sees_the_counted_loop_around_the_lambda() -> None:
    # find_loops counts loops from the nearest function, the lambda (depth 0): the builder must still walk up
    # past it to the counter `j` the subscripts' facts rely on; a loop alone in its function has none
    src = b"""\
void rows(float *a, int n) {
    for (int j = 0; j < n; j++) {
        auto clear = [&](int m) { for (int i = j; i < m; i++) a[i] = 0.0f; };
        clear(n);
    }
}
void alone(float *a, int n) {
    for (int i = 0; i < n; i++) a[i] = 1.0f;
}
"""
    loops = {a.site.span.start.line + 1: a for a in analyze_file(src, "lam.cpp", "cpp").analyses}
    in_lambda, alone = loops[3], loops[8]
    assert in_lambda.site.depth == 0 and in_lambda.loop is not None
    assert [e[0] for e in in_lambda.loop.enclosing] == ["j"]
    assert alone.loop is not None and alone.loop.enclosing == ()
