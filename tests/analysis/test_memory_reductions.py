"""Reductions into one array element the inner loop does not move (`w[i] += A[i][j] * x[j]`, and the
same written out, `w[i] = w[i] + …`, as HPC kernels usually do): a reduction, not a recurrence."""

from __future__ import annotations

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.build import accesses_of
from simdlens.analysis.ir import Reduce, ReduceOp, Store, walk_stmts
from simdlens.core import Analysis, LoopVerdict

NEST = """#define N 64
void gemv(double w[N], const double A[N][N], const double x[N], double alpha) {{
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      {body}
}}
"""


def inner(body: str) -> Analysis:
    fa = analyze_file(NEST.format(body=body).encode(), "k.c", "c")
    return fa.analyses[-1]


@pytest.mark.parametrize(("body", "op"), [
    ("w[i] += alpha * A[i][j] * x[j];", ReduceOp.ADD),
    ("w[i] = w[i] + alpha * A[i][j] * x[j];", ReduceOp.ADD),
    ("w[i] = alpha * A[i][j] * x[j] + w[i];", ReduceOp.ADD),
    ("w[i] = w[i] - A[i][j];", ReduceOp.SUB),
    ("w[i] = w[i] * x[j];", ReduceOp.MUL),
])
def test_an_update_of_an_invariant_element_is_a_reduction_into_it(body: str, op: ReduceOp) -> None:
    a = inner(body)
    assert a.loop is not None and a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    (red,) = [s for s in walk_stmts(a.loop.body) if isinstance(s, Reduce)]
    assert red.op == op and red.access is not None and red.access.root == "w"


def test_an_element_updated_from_a_different_element_stays_a_store() -> None:
    a = inner("w[i] = w[0] + A[i][j];")
    assert a.loop is None or not any(isinstance(s, Reduce) for s in walk_stmts(a.loop.body))


def test_a_non_commutative_update_written_the_other_way_round_is_not_a_reduction() -> None:
    a = inner("w[i] = A[i][j] - w[i];")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE or not any(
        isinstance(s, Reduce) for s in walk_stmts(a.loop.body))  # type: ignore[union-attr]
    assert a.loop is None or any(isinstance(s, Store) for s in walk_stmts(a.loop.body))


TRIANGULAR = """void solve(int n, double *x, const double *u) {{
  for (int i = 0; i < n; i++)
    for ({header}) {body}
}}
"""


@pytest.mark.parametrize(("header", "body"), [
    ("int j = 0; j < i; j++", "x[i] -= u[j] * x[j];"),                # forward substitution
    ("int j = i + 1; j < n; j++", "x[i] -= u[j] * x[j];"),            # back substitution
    ("int j = i - 1; j >= 0; j--", "x[i] = x[i] - u[j] * x[j];"),     # walking down to 0
    ("int j = 0; j < i - 1; j++", "x[i] += u[j] * x[j + 1];"),        # x[j + 1] stops at x[i - 1]
])
def test_a_walk_that_never_reaches_the_updated_element_keeps_the_reduction(header: str, body: str) -> None:
    fa = analyze_file(TRIANGULAR.format(header=header, body=body).encode(), "t.c", "c")
    a = fa.analyses[-1]
    assert a.loop is not None and a.verdict != LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]
    (red,) = [s for s in walk_stmts(a.loop.body) if isinstance(s, Reduce)]
    assert red.access is not None and red.access.symbolic == "i"
    assert fa.kernels.get(a.site.loop_id) is not None


@pytest.mark.parametrize(("header", "body"), [
    ("int j = 0; j <= i; j++", "x[i] -= u[j] * x[j];"),      # reaches x[i] on its last iteration
    ("int j = 0; j < i; j++", "x[i] -= u[j] * x[j + 1];"),   # x[j + 1] reaches x[i]
    ("int j = i; j < n; j++", "x[i] -= u[j] * x[j];"),       # starts at x[i]
    ("int j = 0; j < n; j++", "x[i] -= u[j] * x[j];"),       # walks over x[i]
])
def test_a_walk_that_can_reach_the_updated_element_is_a_recurrence(header: str, body: str) -> None:
    fa = analyze_file(TRIANGULAR.format(header=header, body=body).encode(), "t.c", "c")
    a = fa.analyses[-1]
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]


def test_a_column_of_a_vla_with_a_run_time_row_length_is_rewritten_as_the_nest() -> None:
    """2mm's `tmp[i][j] += A[i][k] * B[k][j]` with k inner: B's column is strided by nj, known at run time; the
    j loop around it walks B's rows contiguously and becomes the candidate for the j-k nest."""
    src = b"""void mm(int ni, int nj, int nk, double tmp[ni][nj], double A[ni][nk], double B[nk][nj]) {
  for (int i = 0; i < ni; i++)
    for (int j = 0; j < nj; j++)
      for (int k = 0; k < nk; k++) tmp[i][j] += A[i][k] * B[k][j];
}
"""
    _, middle, a = analyze_file(src, "mm.c", "c").analyses
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert a.reasons[0].code == "column_sweep" and "walks a column of B" in a.reasons[0].message
    assert middle.verdict == LoopVerdict.VECTORIZABLE_WITH_CHECKS and middle.loop is not None  # VLA parameters may overlap
    (b,) = [acc for acc, _w, _s in accesses_of(middle.loop.body) if acc.root == "B"]
    assert (b.base, b.coeff) == ("B[k]", 1)  # contiguous in j, read as the user reads it
