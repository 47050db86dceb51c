"""A subscript by a second counter that `j++` steps once on every iteration (`a[j] = b[i]; j++;`) is an
affine walk (`analysis/inductions.py`); a counter that is reset, stepped twice or stepped under a
condition is not, and those loops stay refused."""

from __future__ import annotations

import pytest

from simdlens.analysis import analyze_file
from simdlens.core import LoopVerdict

SOURCE = """void f(float *restrict a, const float *restrict b, const int *restrict c, int n, int j) {{
    for (int i = 0; i < n; i++) {{ {body} }}
}}
"""


def _judge(body: str):  # type: ignore[no-untyped-def]
    fa = analyze_file(SOURCE.format(body=body).encode(), "k.c", "c")
    (a,) = fa.analyses
    return a, fa


@pytest.mark.parametrize("body", [
    "a[j] = b[i]; j++;",
    "j++; a[j] = b[i] + b[j];",
    "a[j + 1] = b[i] * 2.0f; j++;",
    "if (b[i] > 0.0f) { j++; a[j] = b[i]; } else { j++; a[j] = -b[i]; }",
])
def test_a_counter_stepping_with_the_loop_is_a_walk(body: str) -> None:
    a, fa = _judge(body)
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]
    assert not any(r.code in ("scatter", "scatter_conflict", "indirect_dependence") for r in a.reasons)
    assert fa.kernels.get(a.site.loop_id) is not None


@pytest.mark.parametrize("body", [
    "if (c[i]) j = 0; a[j] = b[i]; j++;",   # reset
    "a[j] = b[i]; j++; j++;",               # two steps an iteration
    "a[j] = b[i]; if (b[i] > 0.0f) j++;",   # stepped under a condition
])
def test_a_counter_that_does_not_step_every_iteration_stays_refused(body: str) -> None:
    a, _ = _judge(body)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]


def test_both_branches_storing_at_the_stepped_counter_store_once() -> None:
    # `j++` both branches begin with runs before the `if`; then each branch stores a[j]: one element,
    # stored on every iteration with the branch's value (a select and one store, not two masked stores)
    from simdlens.analysis.ir import If, Select, Store, walk_stmts

    a, _ = _judge("if (b[i] > 0.0f) { j++; a[j] = b[i]; } else { j++; a[j] = -b[i]; }")
    assert a.loop is not None
    stores = [s for s in walk_stmts(a.loop.body) if isinstance(s, Store)]
    assert len(stores) == 1 and isinstance(stores[0].value, Select)
    assert not any(isinstance(s, If) for s in a.loop.body)
    # different elements in the two branches stay an `if` (each branch's store under its own condition)
    b, _ = _judge("if (b[i] > 0.0f) { j++; a[j] = b[i]; } else { j++; a[i] = -b[i]; }")
    assert b.loop is None or any(isinstance(s, If) for s in b.loop.body)
