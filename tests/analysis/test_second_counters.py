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
