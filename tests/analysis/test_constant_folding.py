"""Integer constants a macro or a helper function spells as an expression (`(1 << 15) - 1`, a helper's
`(1U << (bits - 1U)) - 1U` with `bits` 16) are computed as C computes them, so the rules see the bound;
what C leaves undefined, and floating-point, stays as written."""

from __future__ import annotations

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import Const, Store


def _stored(value: str, elem: str = "long long") -> object:
    code = f"#include <stdint.h>\nvoid f({elem} *restrict out, int n) {{ for (int i = 0; i < n; i++) out[i] = {value}; }}\n"
    fa = analyze_file(code.encode(), "/tmp/fold.c", "c")
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
    (store,) = a.loop.body
    assert isinstance(store, Store)
    return store.value


@pytest.mark.parametrize(("value", "expected"), [
    ("(1 << 15) - 1", 32767),
    ("-(1 << 15)", -32768),
    ("0u - 1u", 4294967295),  # unsigned arithmetic wraps
    ("-7 / 2", -3),  # division truncates toward zero
    ("-7 % 2", -1),
    ("(unsigned char)300", 44),
    ("(signed char)0x80", -128),
    ("16 >= 1u && 16 <= 32u ? 7 : 9", 7),
    ("~0", -1),
])
def test_integer_constant_expressions_are_computed_as_c_does(value: str, expected: int) -> None:
    got = _stored(value)
    while not isinstance(got, Const):
        got = got.operand  # type: ignore[attr-defined]  # the store's conversion to long long
    assert got.value == expected


@pytest.mark.parametrize("value", ["1 << 31", "2147483647 + 1", "1 << 40", "1 / 0", "1.0f / 3.0f"])
def test_undefined_or_floating_constants_stay_as_written(value: str) -> None:
    got = _stored(value, "double")
    while hasattr(got, "operand") and not hasattr(got, "lhs"):
        got = got.operand
    assert not isinstance(got, Const), got
