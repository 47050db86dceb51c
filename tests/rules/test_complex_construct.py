"""A complex built from real parts (`re[i] + im[i] * I`, a `((r) + _Complex_I * (i))` macro, `CMPLXF`)
and parts read with GNU `__real__(z)` / `__imag__(z)` or the operator form `__real__ z`: verified exactly. `re + im * I` is C's real-times-
complex and complex addition, (re + im*0, im*1): an infinite imaginary part makes the real part NaN in
the user's build, and the exact comparison on inf/NaN data holds the rewrite to that."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_complex_multiply import _all_verified, _candidate, _loops

from simdlens.analysis.ir import Binary, Const, Store, walk_exprs
from simdlens.core import LoopVerdict

SOURCE = b"""#include <complex.h>
typedef float complex lv_32fc_t;
#define lv_cmake(r, i) ((r) + _Complex_I * (i))
#define lv_conj(x) (~(x))

void from_i(lv_32fc_t *restrict out, const float *restrict re, const float *restrict im, int n) {
    for (int i = 0; i < n; i++)
        out[i] = re[i] + im[i] * I;
}
void from_macro(lv_32fc_t *restrict out, const float *restrict re, const float *restrict im, int n) {
    for (int i = 0; i < n; i++)
        out[i] = lv_cmake(re[i], im[i]);
}
void from_cmplxf(lv_32fc_t *restrict out, const float *restrict re, const float *restrict im, int n) {
    for (int i = 0; i < n; i++)
        out[i] = CMPLXF(re[i], im[i]);
}
void power_gnu(float *restrict p, const lv_32fc_t *restrict x, int n) {
    for (int i = 0; i < n; i++)
        p[i] = __real__(x[i]) * __real__(x[i]) + __imag__(x[i]) * __imag__(x[i]);
}
void power_gnu_operator(float *restrict p, const lv_32fc_t *restrict x, int n) {
    for (int i = 0; i < n; i++)
        p[i] = __real__ x[i] * __real__ x[i] + __imag__ x[i] * __imag__ x[i];
}
void imag_walk_operator(float *out, const lv_32fc_t *in, unsigned int num) {
    for (unsigned int k = 0; k < num; k++)
        *out++ = __imag__ *in++;
}
void from_imaginary_literal(lv_32fc_t *restrict out, const float *restrict re, const float *restrict im, int n) {
    for (int i = 0; i < n; i++)
        out[i] = re[i] + im[i] * 1.0fi;
}
void shift_imaginary(double complex *restrict o, const double complex *restrict a, int n) {
    for (int i = 0; i < n; i++)
        o[i] = a[i] + 2.5i;
}
void conj_macro_walk(lv_32fc_t *cVector, const lv_32fc_t *aVector, unsigned int num_points) {
    lv_32fc_t *cPtr = cVector;
    const lv_32fc_t *aPtr = aVector;
    for (unsigned int number = 0; number < num_points; number++)
        *cPtr++ = lv_conj(*aPtr++);
}
void rotate_by_literal(lv_32fc_t *restrict o, const lv_32fc_t *restrict a, int n) {
    for (int i = 0; i < n; i++)
        o[i] = a[i] * 1.0if;
}
"""

BUILT = ("from_i", "from_macro", "from_cmplxf", "power_gnu", "power_gnu_operator", "imag_walk_operator",
         "from_imaginary_literal", "shift_imaginary", "conj_macro_walk")


def test_re_plus_im_times_i_keeps_cs_multiply_by_zero() -> None:
    """The real part is re + im * 0.0f (NaN for an infinite im), not re; CMPLXF takes the parts as given."""
    for name in ("from_i", "from_macro"):
        a, _ = _loops(SOURCE, "mk.c", "c")[name]
        assert a.loop is not None
        real = a.loop.body[0]
        assert isinstance(real, Store)
        zero_products = [e for e in walk_exprs(real.value) if isinstance(e, Binary) and e.op == "*"
                         and any(isinstance(x, Const) and x.value == 0.0 for x in (e.lhs, e.rhs))]
        assert zero_products, (name, real.value)
    a, _ = _loops(SOURCE, "mk.c", "c")["from_cmplxf"]
    assert a.loop is not None and not any(isinstance(e, Binary) for s in a.loop.body if isinstance(s, Store)
                                          for e in walk_exprs(s.value))


def test_the_gnu_operator_form_is_read_as_the_parenthesised_one() -> None:
    """`__real__ x[i]` (tree-sitter does not know the unary operator; `__imag__ *in++` even parses as a
    product) is read as `__real__(x[i])`: the same loop, the same parts."""
    loops = _loops(SOURCE, "mk.c", "c")
    for name in ("power_gnu_operator", "imag_walk_operator"):
        a, kernel = loops[name]
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, (name, a.reasons)
    operator, _ = loops["power_gnu_operator"]
    parenthesised, _ = loops["power_gnu"]
    assert operator.loop is not None and parenthesised.loop is not None
    assert [type(s) for s in operator.loop.body] == [type(s) for s in parenthesised.loop.body]


def test_a_macro_of_a_complex_argument_is_read_with_the_complex_value() -> None:
    """VOLK's `#define lv_conj(x) (~(x))` applied to `*aPtr++`: the parameter stands for the complex element."""
    a, kernel = _loops(SOURCE, "mk.c", "c")["conj_macro_walk"]
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, a.reasons


def test_imaginary_constants_are_read_not_syntax_errors() -> None:
    """GNU's `1.0fi` / `2.5i` (tree-sitter stops at the suffix) are the complex (+0, value) of their type."""
    loops = _loops(SOURCE, "mk.c", "c")
    for name in ("from_imaginary_literal", "shift_imaginary"):
        a, kernel = loops[name]
        assert a.verdict != LoopVerdict.NOT_VECTORIZABLE and kernel is not None, (name, a.reasons)
    a, kernel = loops["rotate_by_literal"]  # a product with a constant: refused with the reason, not a syntax error
    assert kernel is None and a.reasons[0].code == "complex" and "complex multiply" in a.reasons[0].message


@pytest.mark.sandbox
def test_construction_and_gnu_parts_verify_exactly(tmp_path: Path) -> None:
    _all_verified([_candidate(name, source=SOURCE, path="mk.c") for name in BUILT], list(BUILT), tmp_path, "exactly")
