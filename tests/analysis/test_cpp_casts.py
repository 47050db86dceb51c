"""C++ spellings of a value cast — `static_cast<T>(v)`, `float(i)`, `sample_t(v)` with a typedef —
are casts, not calls, and `std::clamp` is two comparisons: ML and game code writes conversions this way."""

from __future__ import annotations

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import Call, Cast, walk_exprs, walk_stmts
from simdlens.core import LoopVerdict

SOURCE = """#include <cstdint>
#include <cmath>
#include <algorithm>
typedef float sample_t;
int helper(int v);
void f(int8_t *__restrict q, const float *__restrict x, float s, int n) {{
    for (int i = 0; i < n; ++i) {body}
}}
"""


def _loop(body: str):  # type: ignore[no-untyped-def]
    fa = analyze_file(SOURCE.format(body=body).encode(), "k.cpp", "cpp")
    (a,) = fa.analyses
    return a, fa


@pytest.mark.parametrize(("body", "target"), [
    ("q[i] = static_cast<int8_t>(std::min(127, std::max(-128, static_cast<int>(std::lrintf(x[i] * s)))));", "int8"),
    ("q[i] = int8_t(x[i] * s);", "int8"),
    ("q[i] = (int8_t)sample_t(x[i] * s);", "int8"),  # sample_t is float: its functional cast of a float converts nothing
    ("q[i] = static_cast<int8_t>(float(i) * s);", "float"),
])
def test_a_cpp_cast_is_a_cast(body: str, target: str) -> None:
    a, fa = _loop(body)
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]
    assert a.loop is not None
    exprs = [x for s in walk_stmts(a.loop.body) for e in (getattr(s, "value", None),) if e is not None
             for x in walk_exprs(e)]
    assert any(isinstance(x, Cast) and not x.implicit and x.type.name == target for x in exprs)
    assert not any(isinstance(x, Call) and "cast" in x.func for x in exprs)
    assert fa.kernels.get(a.site.loop_id) is not None


@pytest.mark.parametrize(("body", "why"), [
    ("q[i] = (int8_t)helper(static_cast<int>(x[i]));", "calls helper"),
    ("q[i] = *reinterpret_cast<const int8_t *>(&x[i]);", "dereference"),
])
def test_calls_and_pointer_casts_stay_refused(body: str, why: str) -> None:
    a, _ = _loop(body)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(why in r.message for r in a.reasons), [r.message for r in a.reasons]


def test_std_clamp_is_two_comparisons() -> None:
    """std::clamp(v, lo, hi) is libstdc++'s `std::min(std::max(v, lo), hi)` (a NaN v stays NaN), not a call."""
    from simdlens.analysis.ir import Select

    a, fa = _loop("q[i] = static_cast<int8_t>(std::clamp(x[i] * s, -128.0f, 127.0f));")
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, [r.message for r in a.reasons]
    assert a.loop is not None
    value = next(s.value for s in walk_stmts(a.loop.body) if hasattr(s, "value"))
    outer = next(x for x in walk_exprs(value) if isinstance(x, Select))
    assert getattr(outer.cond, "op", "") == "<" and isinstance(outer.else_, Select)  # hi < max(v, lo) ? hi : ...
    assert outer.cond.rhs == outer.else_ and getattr(outer.else_.cond, "op", "") == "<"
    assert fa.kernels.get(a.site.loop_id) is not None
