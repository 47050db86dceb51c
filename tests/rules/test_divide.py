"""Division by a constant (rules/divide.py): the emitted multiply-high sequence, executed on Python integers
with the lanes' N-bit wrap-around, equals C's division (truncation toward zero) and remainder for every
divisor and dividend tried, edge values first; and the rule engine uses it only where it is exact."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rules_support import analyse

from simdlens.analysis.ir import Binary, Cast, Const, CType, Load
from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.rules.divide import (
    NoDivisionPlan,
    c_divide,
    constant_value,
    plan_division,
    run_plan,
    value_range,
    wrap,
)

INT_MIN, INT_MAX, UINT_MAX = -(1 << 31), (1 << 31) - 1, (1 << 32) - 1
DIVISORS = (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 25, 60, 100, 125, 255, 641, 1000, 6700417, 1000000007,
            INT_MAX, INT_MAX - 1, -2, -3, -4, -7, -10, -641, -1, 1, 2, 1 << 30, -(1 << 30))


def _dividends(d: int, bits: int, signed: bool) -> list[int]:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    near = [k * d + e for k in (1, 2, 3, 1000, -1, -2, -1000, hi // max(abs(d), 1)) for e in (-1, 0, 1)]
    return [wrap(x, bits, signed) for x in (lo, lo + 1, hi, hi - 1, -1, 0, 1, 2, -2, *near)]


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("divisor", DIVISORS)
def test_plan_equals_c_division_at_the_edges(divisor: int, signed: bool) -> None:
    d = wrap(divisor, 32, signed)
    for remainder in (False, True):
        plan = plan_division(d, 32, signed, remainder)
        for x in _dividends(d, 32, signed):
            assert run_plan(plan, x) == c_divide(x, d, 32, signed, remainder), (d, x, remainder, plan)


@settings(max_examples=400, deadline=None)
@given(d=st.integers(INT_MIN + 1, INT_MAX).filter(lambda v: v != 0), x=st.integers(INT_MIN, INT_MAX),
       remainder=st.booleans())
@example(d=3, x=INT_MIN, remainder=False)
@example(d=-1, x=INT_MIN, remainder=False)
@example(d=-1, x=INT_MIN, remainder=True)
@example(d=7, x=INT_MAX, remainder=True)
@example(d=INT_MAX, x=INT_MIN, remainder=False)
def test_signed_32_bit_plans(d: int, x: int, remainder: bool) -> None:
    assert run_plan(plan_division(d, 32, True, remainder), x) == c_divide(x, d, 32, True, remainder)


@settings(max_examples=400, deadline=None)
@given(d=st.integers(1, UINT_MAX), x=st.integers(0, UINT_MAX), remainder=st.booleans())
@example(d=7, x=UINT_MAX, remainder=False)  # needs the add-back variant (the magic has 33 bits)
@example(d=UINT_MAX, x=UINT_MAX, remainder=False)
@example(d=(1 << 31) + 1, x=UINT_MAX, remainder=True)
@example(d=14, x=UINT_MAX - 1, remainder=False)  # even divisor: pre-shift instead of the add-back
def test_unsigned_32_bit_plans(d: int, x: int, remainder: bool) -> None:
    assert run_plan(plan_division(d, 32, False, remainder), x) == c_divide(x, d, 32, False, remainder)


SLOW = pytest.mark.slow


@pytest.mark.parametrize(("divisor", "signed"), [(7, True), (-3, True), (7, False),
                                                 *(pytest.param(d, s, marks=SLOW) for d, s in (
                                                     (3, True), (641, True), (-1, True), (10, True), (3, False),
                                                     (255, False), (641, False), (60000, False), (1000, True)))])
def test_16_bit_plans_for_every_dividend(divisor: int, signed: bool) -> None:
    for remainder in (False, True):
        plan = plan_division(divisor, 16, signed, remainder)
        lo, hi = (-(1 << 15), (1 << 15) - 1) if signed else (0, (1 << 16) - 1)
        for x in range(lo, hi + 1):
            assert run_plan(plan, x) == c_divide(x, divisor, 16, signed, remainder), (divisor, x, remainder)


def test_plan_shapes() -> None:
    """The cheapest exact sequence: no add-back when the magic fits, a pre-shift for even divisors."""
    ops = [s.op for s in plan_division(3, 32, True).steps]
    assert ops == ["mulhi", "sra", "sub"]  # mulhi(x, 0x55555556) - (x >> 31)
    seven = [s.op for s in plan_division(7, 32, False).steps]
    assert seven == ["mulhi", "sub", "srl", "add", "srl"]  # the 33-bit magic: add-back
    fourteen = [s.op for s in plan_division(14, 32, False).steps]
    assert fourteen == ["srl", "mulhi", "srl"]  # x >> 1, then the magic of 7 over 31 bits
    assert plan_division(-1, 32, True).steps[0].op == "neg"
    assert plan_division(1, 32, True).result == 0  # x / 1 is x
    with pytest.raises(NoDivisionPlan, match="zero"):
        plan_division(0, 32, True)
    with pytest.raises(NoDivisionPlan, match="most negative"):
        plan_division(INT_MIN, 32, True)
    with pytest.raises(NoDivisionPlan, match="64-bit"):
        plan_division(3, 64, True)


def test_constants_and_ranges_follow_c() -> None:
    i32, u32, u8 = CType("int32", "int"), CType("uint32", "unsigned"), CType("uint8", "uint8_t")
    assert constant_value(Cast(Const(-3, i32), u32)) == UINT_MAX - 2
    assert constant_value(Const(1.5, CType("float", "float"))) is None
    from simdlens.analysis.ir import Access
    byte = Cast(Load(Access("s", "s", u8, 1, 0, "", None, None)), i32, implicit=True)
    three = Binary("+", Binary("+", byte, byte, i32), byte, i32)
    assert value_range(three) == (0, 765)
    assert value_range(Binary("-", Binary("*", Const(2, i32), byte, i32), three, i32)) == (-765, 510)
    assert value_range(Binary("*", three, three, i32)) == (0, 765 * 765)
    wide = Load(Access("w", "w", i32, 1, 0, "", None, None))
    assert value_range(Binary("*", wide, wide, i32)) is None  # may wrap: nothing known


@pytest.mark.parametrize(("code", "note"), [
    ("""void f(long long *restrict d, const long long *restrict a, long long k, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / k;
}""", "not a compile-time constant"),
    ("""void f(long long *restrict d, const long long *restrict a, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] % 10;
}""", "no 64-bit multiply-high"),
])
def test_divisions_without_a_plan_are_refused_with_the_reason(code: str, note: str) -> None:
    source, a, kernel = analyse("refused_div", code)
    assert kernel is not None
    for isa in ("avx2", "avx512"):
        proposal = propose(a, kernel, isa, Settings(), source=source)
        assert proposal.candidates == () and note in proposal.notes[0], proposal.notes


def test_unsigned_division_by_a_negative_constant_is_not_narrowed() -> None:
    """(uint16_t)(b / -3) with b a uint16 is signed int division in C (result 0 or negative), not the
    unsigned 16-bit division by 65533: it stays in 32-bit lanes."""
    source, a, kernel = analyse("neg_u16", """void f(uint16_t *restrict d, const uint16_t *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = b[i] / -3;
}""")
    assert kernel is not None
    cand = propose(a, kernel, "avx2", Settings(), source=source).candidates[0]
    assert "_mm256_mul_epi32" in cand.function and "mulhi_epu16" not in cand.function



def test_a_local_read_elsewhere_is_not_inlined_into_the_division() -> None:
    """`sum` also stored as an int: the division stays in C's int lanes (exact either way; the 16-bit
    path is only taken where the store reads the byte sum itself)."""
    once = """void f(uint8_t *restrict d, const uint8_t *restrict s, int n) {
    for (int i = 1; i < n - 1; i++) { int sum = s[i - 1] + s[i] + s[i + 1]; d[i] = (uint8_t)(sum / 3); }
}"""
    twice = """void f(uint8_t *restrict d, int *restrict t, const uint8_t *restrict s, int n) {
    for (int i = 1; i < n - 1; i++) { int sum = s[i - 1] + s[i] + s[i + 1]; d[i] = (uint8_t)(sum / 3); t[i] = sum; }
}"""
    functions = []
    for code in (once, twice):
        source, a, kernel = analyse("blur_local", code)
        assert kernel is not None
        functions.append(propose(a, kernel, "avx2", Settings(), source=source).candidates[0].function)
    # 16-bit lanes (two registers packed into one 32-byte store) against C's int lanes
    assert "_mm256_mulhi_epu16" in functions[0] and "_mm256_mul_epi32" not in functions[0]
    assert "_mm256_mul_epi32" in functions[1] and "_mm256_mulhi_epu16" not in functions[1]
