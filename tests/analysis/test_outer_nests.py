"""Column sweeps (the inner loop walks a column, the outer loop is contiguous) become one candidate for
the whole nest, attached to the outer loop: vectorized across the outer counter, the inner loop inside
each step. Nests whose lanes over the outer counter would depend on each other stay refused."""

from __future__ import annotations

from simdlens.analysis import analyze_file, why_no_kernel
from simdlens.analysis.ir import Load, Store, walk_exprs
from simdlens.core import Analysis, LoopRole, LoopVerdict

SWEEPS = b"""\
#define LEN_2D 256
float aa[LEN_2D][LEN_2D], bb[LEN_2D][LEN_2D];
float x1[LEN_2D], y1[LEN_2D];

/* TSVC-like: a recurrence along j, column by column */
void sweep(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}

/* the size as a parameter: tested and timed only up to the arrays' declared extent */
void sweep_n(int n) {
    for (int i = 0; i < n; i++)
        for (int j = 1; j < n; j++)
            aa[j][i] = aa[j-1][i] + bb[j][i];
}

/* mvt: a reduction over j into x1[i] */
void mvt(void) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            x1[i] += aa[j][i] * y1[j];
}

/* lane i reads what lane i+1 wrote one row before: the lanes over i depend on each other */
void skewed(void) {
    for (int i = 0; i < LEN_2D - 1; i++)
        for (int j = 1; j < LEN_2D; j++)
            aa[j][i] = aa[j-1][i+1] + bb[j][i];
}

/* columns past a pointer's row length (4): lane i + 4 is the next row's lane i */
void past_the_row(float *restrict a, const float *restrict b) {
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 64; j++)
            a[j * 4 + i] = a[j * 4 + i + 4] + b[j * 4 + i];
}

/* pointers that may overlap (a[j * LEN_2D + i]: a column of a flat matrix): checked at run time */
void maybe_overlap(float *a, const float *b) {
    for (int i = 0; i < LEN_2D; i++)
        for (int j = 0; j < LEN_2D; j++)
            a[j * LEN_2D + i] = b[j * LEN_2D + i] * 2.0f;
}
"""


def _by_function(source: bytes = SWEEPS) -> tuple[dict[str, list[Analysis]], object]:
    fa = analyze_file(source, "sweeps.c", "c")
    by_fn: dict[str, list[Analysis]] = {}
    for a in fa.analyses:
        by_fn.setdefault(a.site.function or "", []).append(a)
    return by_fn, fa.kernels


def test_a_column_sweep_with_a_recurrence_along_j_is_vectorized_across_i() -> None:
    by_fn, kernels = _by_function()
    outer, inner = by_fn["sweep"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.site.role is LoopRole.OUTER_VECTORIZABLE
    assert outer.reasons[0].code == "outer_vectorizable" and "replaces the whole nest" in outer.reasons[0].message
    loop = outer.loop
    assert loop is not None and loop.iv == "i" and loop.inner is not None
    assert loop.inner.header == "for (int j = 1; j < LEN_2D; j++)"
    # every access is contiguous in i, read the way the user wrote it
    accesses = {(x.access.base, x.access.coeff) for s in loop.body if isinstance(s, Store)
                for x in walk_exprs(s.value) if isinstance(x, Load)}
    assert accesses == {("aa[j - 1]", 1), ("bb[j]", 1)}
    # the inner loop is never a candidate of its own (no gather/scatter rewrite), and says where the rewrite is
    assert inner.verdict is LoopVerdict.NOT_VECTORIZABLE and inner.site.loop_id not in kernels  # type: ignore[operator]
    assert inner.reasons[0].code == "column_sweep" and "the outer loop (line 7)" in inner.reasons[0].message
    # the reference is the user's whole nest, distinct array objects declared restrict as in the file
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert kernel.signature == "void simdlens_kernel(float (*restrict aa)[LEN_2D], const float (*restrict bb)[LEN_2D])"
    assert "for (int i = 0; i < LEN_2D; i++)" in kernel.source and "aa[j][i] = aa[j-1][i] + bb[j][i];" in kernel.source
    assert kernel.nest is None and kernel.loop_span == outer.site.span


def test_a_parameter_bound_is_never_set_past_the_declared_extent() -> None:
    by_fn, kernels = _by_function()
    outer = by_fn["sweep_n"][0]
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert kernel.size_param == "n" and kernel.size_scale == (2, 1)  # n x n elements
    assert kernel.size_max == 256 and kernel.real_sizes == (256,)


def test_a_reduction_over_j_into_x_of_i_becomes_a_store_of_contiguous_lanes() -> None:
    by_fn, _ = _by_function()
    outer, inner = by_fn["mvt"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.loop is not None
    (store,) = outer.loop.body
    assert isinstance(store, Store) and store.access.base == "x1" and store.access.coeff == 1
    # y1[j] is one value for every lane: a broadcast
    (y,) = [x.access for x in walk_exprs(store.value) if isinstance(x, Load) and x.access.root == "y1"]
    assert y.coeff == 0 and y.symbolic == "j"
    assert inner.reasons[0].code == "column_sweep"


def test_lanes_that_depend_on_each_other_keep_the_column_sweep_reason() -> None:
    by_fn, kernels = _by_function()
    outer, inner = by_fn["skewed"]
    assert outer.verdict is LoopVerdict.NOT_VECTORIZABLE and outer.loop is None
    assert inner.verdict is LoopVerdict.NOT_VECTORIZABLE and inner.reasons[0].code == "column_sweep"
    assert "aa is written at one column of i and read at another" in inner.reasons[0].message
    assert outer.site.loop_id not in kernels  # type: ignore[operator]
    assert why_no_kernel(kernels, outer.site.loop_id) == "the loop is not vectorizable"  # type: ignore[arg-type]


def test_columns_past_a_pointers_row_length_keep_the_column_sweep_reason() -> None:
    by_fn, _ = _by_function()
    outer, inner = by_fn["past_the_row"]
    assert outer.verdict is LoopVerdict.NOT_VECTORIZABLE
    assert inner.reasons[0].message.endswith("the columns i of a may run past its row length 4 into the next row")


def test_pointers_that_may_overlap_are_checked_at_run_time() -> None:
    by_fn, kernels = _by_function()
    outer, inner = by_fn["maybe_overlap"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE_WITH_CHECKS and outer.alias_checks == (("a", "b"),)
    assert inner.reasons[0].code == "column_sweep"
    # the harness tests the reference at small overlaps too; the footprints of a constant nest are numbers
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert kernel.may_alias == (("a", "b"),)
    assert {(f.param, f.lo, f.hi) for f in kernel.footprints} == {("a", "0", "65535"), ("b", "0", "65535")}


def test_an_array_object_the_harness_passes_overlapping_is_not_declared_restrict() -> None:
    code = b"""#define N 256
float aa[N][N];
void mixed(const float *p) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            aa[j][i] = p[j * N + i] * 2.0f;
}
"""
    fa = analyze_file(code, "mixed.c", "c")
    outer = fa.analyses[0]
    kernel = fa.kernels[outer.site.loop_id]
    assert outer.alias_checks == (("aa", "p"),) and kernel.may_alias == (("aa", "p"),)
    assert kernel.signature == "void simdlens_kernel(float (*aa)[N], const float *p)"  # p may point into aa


MORE = b"""\
#define N 128
float A[N][N], B[N][N], C[N][N];
float x[N], y[N];

/* a flat matrix with a leading dimension: the columns walked must fit in a row, checked at run time */
void flat_ld(int n, int m, int ld, double *restrict P, const double *restrict Q) {
    for (int i = 0; i < m; i++)
        for (int j = 1; j < n; j++)
            P[j * ld + i] = P[(j - 1) * ld + i] + Q[j * ld + i];
}

/* a triangle: the inner loop starts below the diagonal */
void below(void) {
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            A[j][i] = A[j][i] * x[i];
}

/* a bound moving with i other than by a constant: refused */
void skewed_bound(void) {
    for (int i = 0; i < N / 2; i++)
        for (int j = 0; j < 2 * i; j++)
            A[j][i] = A[j][i] + 1.0f;
}

/* gemm's order: a statement before the k loop (an imperfect nest) */
void gemm_beta(float alpha, float beta) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            C[i][j] *= beta;
            for (int k = 0; k < N; k++)
                C[i][j] += alpha * A[i][k] * B[k][j];
        }
}

/* a statement around the inner loop touching an element of A the inner loop reaches otherwise: refused */
void around_other(void) {
    for (int i = 0; i < N; i++) {
        A[0][i] = y[i] * 2.0f;
        for (int j = 1; j < N; j++)
            A[j][i] += B[j][i];
    }
}

/* matmul with its sum in a temporary: a vector register across k, stored after it */
void dot_temp(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < N; k++)
                s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
}

/* a VLA's column: the row length n is known at run time */
void vla_cols(int n, double V[n][n], const double *restrict w) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            V[j][i] = V[j][i] * w[j];
}
"""


def _more() -> tuple[dict[str, list[Analysis]], object]:
    return _by_function(MORE)


def test_a_flat_column_with_a_leading_dimension_is_vectorized_with_a_run_time_check() -> None:
    by_fn, kernels = _more()
    outer, inner = by_fn["flat_ld"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE_WITH_CHECKS and outer.alias_checks == ()
    assert outer.loop is not None and outer.loop.inner is not None
    assert outer.loop.inner.guard == "(long long)(m) <= (long long)(ld)"
    assert {(x.access.base, x.access.symbolic) for s in outer.loop.body if isinstance(s, Store)
            for x in walk_exprs(s.value) if isinstance(x, Load)} == {("P", "(j - 1) * ld"), ("Q", "j * ld")}
    assert inner.reasons[0].code == "column_sweep" and inner.site.loop_id not in kernels  # type: ignore[operator]
    # the reference (the user's nest) has footprints the harness allocates: rows 0 .. n-1 of ld elements
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert {f.param for f in kernel.footprints} == {"P", "Q"} and "ld" in kernel.signature


def test_a_triangular_nest_carries_its_moving_bounds() -> None:
    by_fn, kernels = _more()
    outer, _inner = by_fn["below"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.loop is not None and outer.loop.inner is not None
    tri = outer.loop.inner
    assert (tri.counter_type, tri.first, tri.end) == ("int", "i + 1", "N")
    # the reference times the triangle: N * (N - 1) / 2 elements
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert "for (int j = i + 1; j < N; j++)" in kernel.source and kernel.trip_count.endswith(") / 2")
    skewed_outer, skewed = by_fn["skewed_bound"]
    assert skewed_outer.verdict is LoopVerdict.NOT_VECTORIZABLE
    assert skewed.reasons[0].message.endswith("the inner loop's bound 2 * i depends on i other than as i plus a constant")


def test_an_imperfect_nest_runs_its_statements_around_the_inner_loop_in_each_vector_step() -> None:
    by_fn, kernels = _more()
    _, middle, inner = by_fn["gemm_beta"]
    assert inner.verdict is LoopVerdict.NOT_VECTORIZABLE and inner.site.loop_id not in kernels  # type: ignore[operator]
    assert inner.reasons[0].code == "column_sweep"
    assert middle.verdict is LoopVerdict.VECTORIZABLE and middle.loop is not None and middle.loop.inner is not None
    (scale,) = middle.loop.inner.before
    assert isinstance(scale, Store) and (scale.access.base, scale.access.coeff) == ("C[i]", 1)
    assert middle.loop.inner.after == ()
    # the reference is the user's whole j loop; beta, read only around the k loop, is a parameter too
    kernel = kernels[middle.site.loop_id]  # type: ignore[index]
    assert "C[i][j] *= beta;" in kernel.source and kernel.signature.endswith("float beta)")


def test_an_imperfect_nest_that_touches_other_elements_around_its_inner_loop_keeps_no_gather_rewrite() -> None:
    by_fn, kernels = _more()
    outer, inner = by_fn["around_other"]
    assert outer.verdict is LoopVerdict.NOT_VECTORIZABLE and inner.verdict is LoopVerdict.NOT_VECTORIZABLE
    assert inner.site.loop_id not in kernels  # type: ignore[operator]
    assert inner.reasons[0].code == "column_sweep" and inner.reasons[0].message.endswith(
        "A[...] is touched around the inner loop at an element the inner loop does not touch")


def test_a_sum_kept_in_a_temporary_of_the_outer_loop_is_a_register_across_the_inner_loop() -> None:
    by_fn, kernels = _more()
    _, middle, inner = by_fn["dot_temp"]
    assert middle.verdict is LoopVerdict.VECTORIZABLE and middle.loop is not None and middle.loop.inner is not None
    assert [type(s).__name__ for s in middle.loop.inner.before] == ["Let"]  # s = 0
    assert [type(s).__name__ for s in middle.loop.body] == ["Let"]  # s = s + A[i][k] * B[k][j]
    assert inner.reasons[0].code == "column_sweep"
    kernel = kernels[middle.site.loop_id]  # type: ignore[index]
    assert "float s = 0.0f;" in kernel.source and "s" not in {p.name for p in kernel.params}
    assert kernel.signature.endswith("float (*restrict C)[N])")  # C, only stored around the k loop, is a parameter too


def test_a_vlas_column_is_read_as_its_row_in_the_nest() -> None:
    by_fn, kernels = _more()
    outer, inner = by_fn["vla_cols"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.loop is not None
    assert outer.alias_checks == ()  # w is restrict
    assert outer.loop.inner is not None and outer.loop.inner.guard == ""  # a VLA's columns are inside its rows
    (v,) = {(x.access.base, x.access.coeff) for s in outer.loop.body if isinstance(s, Store)
            for x in walk_exprs(s.value) if isinstance(x, Load) and x.access.root == "V"}
    assert v == ("V[j]", 1)
    assert inner.reasons[0].code == "column_sweep"
    assert kernels[outer.site.loop_id].size_param == "n"  # type: ignore[index]


def test_the_j_k_nest_of_an_i_j_k_product_is_timed_in_its_i_loop() -> None:
    src = b"""void mm(int ni, int nj, int nk, double C[ni][nj], double A[ni][nk], double B[nk][nj]) {
  for (int i = 0; i < ni; i++)
    for (int j = 0; j < nj; j++)
      for (int k = 0; k < nk; k++) C[i][j] += A[i][k] * B[k][j];
}
"""
    fa = analyze_file(src, "mm.c", "c")
    middle = fa.analyses[1]
    kernel = fa.kernels[middle.site.loop_id]
    # the reference is the j-k nest (i a parameter); what is timed is the whole i-j-k nest, all three sizes set
    assert kernel.nest is not None and "for (int i = 0; i < ni; i++)" in kernel.nest.source
    assert kernel.nest.size_param == "nk" and kernel.nest.size_scale == (3, 1)
    assert set(kernel.nest.also_size) == {"nj", "ni"}


TOP = b"""\
#define N 256
double A[N][N], m[N], s[N];

/* correlation-style: the counters declared at the top of the function */
void col_mean(double scale) {
    int i, j;
    for (j = 0; j < N; j++) {
        m[j] = 0.0;
        for (i = 0; i < N; i++)
            m[j] += A[i][j];
        m[j] *= scale;
    }
}

/* a triangle whose counter the function declares: its last value depends on the last row's bounds */
void tri_top(void) {
    int i, j;
    for (i = 0; i < N; i++)
        for (j = i; j < N; j++)
            s[i] += A[j][i];
}

/* a triangle whose statements around the inner loop keep a temporary: one register per lane */
void tri_temp(void) {
    for (int i = 0; i < N; i++) {
        double t = 0.0;
        for (int j = i; j < N; j++)
            t += A[j][i];
        s[i] = t;
    }
}
"""


def test_counters_declared_at_the_top_of_the_function_do_not_stop_the_nest() -> None:
    by_fn, kernels = _by_function(TOP)
    outer, inner = by_fn["col_mean"]
    assert outer.verdict is LoopVerdict.VECTORIZABLE and outer.site.role is LoopRole.OUTER_VECTORIZABLE
    assert inner.reasons[0].code == "column_sweep" and "vectorized across j instead" in inner.reasons[0].message
    assert outer.loop is not None and not outer.loop.iv_declared_in_loop and outer.loop.iv_type.spelling == "int"
    # the reference nest declares the inner counter the user's function declares
    kernel = kernels[outer.site.loop_id]  # type: ignore[index]
    assert kernel.source.index("int i;") < kernel.source.index("for (j = 0; j < N; j++)")
    for name, why in (("tri_top", "the triangle's inner counter j is declared before it"),
                      ("tri_temp", "statements around its inner loop keep a temporary")):
        tri_outer, tri_inner = by_fn[name]
        assert tri_outer.verdict is LoopVerdict.NOT_VECTORIZABLE and why in tri_inner.reasons[0].message, name
