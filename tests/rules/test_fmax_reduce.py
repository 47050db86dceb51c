"""fmaxf/fminf running max/min (`m = fmaxf(m, x[i])`, ggml's `amax = fmaxf(amax, fabsf(v))`): the lanes
keep `x > m ? x : m` (one vmaxps with the element first: a NaN element keeps m, as fmaxf does) and a NaN
start re-runs the user's call. Which of +0/-0 a tie keeps is the compiler's choice (gcc passes fmaxf's
operands in either order, even for one loop inlined in two places), so the check compares zeros without
their sign for these candidates only, and everything else bit for bit: a swapped vmaxps, a dropped NaN-start
re-run, or a strict `>` reduction without its zero re-scan (compared with signs) still fail."""

from __future__ import annotations

import dataclasses

import pytest
from rules_support import (
    ISAS,
    analyse,
    assert_verified,
    case_result,
    needs_compiler,
    require_host,
    verify_cases,
    verify_status,
)

from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose

pytestmark = [needs_compiler, pytest.mark.sandbox]

ACCEPTED = {
    "vec_max": """#include <math.h>
float vec_max(const float *x, int n) {
    float max = -INFINITY;
    for (int i = 0; i < n; ++i) max = fmaxf(max, x[i]);
    return max;
}""",
    "abs_max": """#include <math.h>
float abs_max(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) { const float v = x[j]; amax = fmaxf(amax, fabsf(v)); }
    return amax;
}""",
    # the start comes from the caller: NaN and -0 starts are in the test data
    "min_from": """#include <math.h>
double min_from(const double *x, int n, double m) {
    for (int i = 0; i < n; i++) m = fmin(x[i], m);
    return m;
}""",
    "min_scaled": """#include <math.h>
float min_scaled(const float *x, int n, float lo) {
    for (int i = 0; i < n; i++) lo = fminf(lo, x[i] * 0.5f - 1.0f);
    return lo;
}""",
}


@pytest.fixture(scope="module")
def results(rule_settings: Settings) -> dict:  # type: ignore[type-arg]
    return verify_cases(list(ACCEPTED.items()), rule_settings)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_fmax_reduction_is_verified(results: dict, name: str, isa: str) -> None:  # type: ignore[type-arg]
    result = case_result(results[name], isa)
    fn = result.candidate.function
    assert ("_max_p" in fn) if "max" in name else ("_min_p" in fn), fn
    assert "_init != " in fn, fn  # the NaN-start re-run is there
    assert not any("reassociat" in c for c in result.candidate.caveats)  # no float tolerance
    assert any("sign of a zero" in c for c in result.candidate.caveats)  # zeros compared without their sign
    assert_verified(result, isa)  # it builds; verified where this CPU runs isa


@pytest.mark.parametrize("wrong", ["swapped", "no_nan_start"])
def test_wrong_operand_order_fails_verification(rule_settings: Settings, wrong: str) -> None:
    """With the operands of vmaxps swapped a NaN element replaces the max; without the re-run a NaN start
    stays NaN where fmaxf drops it. The sandbox's data (NaN elements and starts) must catch both."""
    source, analysis, kernel = analyse("vec_max", ACCEPTED["vec_max"])
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    fn = cand.function
    if wrong == "no_nan_start":
        assert "if (max_init != max_init)" in fn, fn
        fn = fn.replace("if (max_init != max_init)", "if (0)")
    else:
        for line in [x for x in fn.splitlines() if "_mm256_max_ps(" in x]:
            a, b = line.split("_mm256_max_ps(")[1].split(")")[0].split(", ")
            fn = fn.replace(line, line.replace(f"_mm256_max_ps({a}, {b})", f"_mm256_max_ps({b}, {a})"))
    assert fn != cand.function
    require_host("avx2")
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=fn)) == Status.MISMATCH


STRICT_MAX = """float strict_max(const float *x, int n) {
    float m = -1.0f;
    for (int i = 0; i < n; i++) if (x[i] > m) m = x[i];
    return m;
}"""


def test_zero_tie_data_catches_a_lost_first_zero(rule_settings: Settings) -> None:
    """`if (x[i] > m) m = x[i]` keeps the first zero it meets (C comparisons, no compiler choice): its rewrite
    re-scans for it when the lanes end at zero. Without that re-scan it is wrong only when the max is a zero
    reached as both +0 and -0, which the zero-tie data (all values <= 0, both zeros mixed in) produces."""
    source, analysis, kernel = analyse("strict_max", STRICT_MAX)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "if (m == 0 && !(m_init == 0))" in cand.function, cand.function
    assert not any("compiler's choice" in c for c in cand.caveats)  # compared with the zero's sign
    require_host("avx2")
    assert verify_status(rule_settings, kernel, cand) == Status.VERIFIED
    wrong = cand.function.replace("if (m == 0 && !(m_init == 0))", "if (0)")
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=wrong)) == Status.MISMATCH


REFUSED = {
    "fmax_beside_store": ("""#include <math.h>
float relu_max(float *restrict y, const float *restrict x, int n) {
    float m = 0.0f;
    for (int i = 0; i < n; i++) { y[i] = x[i] * 2.0f; m = fmaxf(m, x[i]); }
    return m;
}""", "beside floating-point stores"),
    "fmax_conditional": ("""#include <math.h>
float pos_max(const float *x, const int *on, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) if (on[i]) m = fmaxf(m, x[i]);
    return m;
}""", "conditional fmax() reduction"),
    "fmax_beside_strict_min": ("""#include <math.h>
float spread(const float *x, int n, float *lo_out) {
    float hi = -INFINITY, lo = INFINITY;
    for (int i = 0; i < n; i++) { hi = fmaxf(hi, x[i]); if (x[i] < lo) lo = x[i]; }
    *lo_out = lo;
    return hi;
}""", "other float reductions"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_fmax_reduction_refusals_say_why(name: str) -> None:
    code, why = REFUSED[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert not proposal.candidates
    assert any(why in n for n in proposal.notes), proposal.notes


CONSTANT_ZERO = {
    # ggml's hardsigmoid: fmaxf against +0 under an fminf against 1
    "hard_sigmoid": ("""#include <math.h>
void hard_sigmoid(const int n, float *y, const float *x) {
    for (int i = 0; i < n; ++i) y[i] = fminf(1.0f, fmaxf(0.0f, (x[i] + 3.0f) / 6.0f));
}""", "_mm256_max_ps"),
    "relu_fmax": ("""#include <math.h>
void relu_fmax(float *restrict y, const float *restrict x, int n) {
    for (int i = 0; i < n; ++i) y[i] = fmaxf(x[i], 0.0f);
}""", "_mm256_max_ps"),
    "below_minus_zero": ("""#include <math.h>
void below_minus_zero(double *restrict y, const double *restrict x, int n) {
    for (int i = 0; i < n; ++i) y[i] = fmin(-0.0, x[i] * 2.0);
}""", "_mm256_min_pd"),
}


@pytest.mark.parametrize("name", list(CONSTANT_ZERO))
def test_fmax_against_a_zero_constant_is_exact(rule_settings: Settings, name: str) -> None:
    """gcc passes a constant operand second and glibc keeps the second on a tie: `max(v, K)` is that, NaN
    (-> K) and +0/-0 ties included, compared bit for bit (no zero-sign caveat); `max(K, v)` fails."""
    code, intrinsic = CONSTANT_ZERO[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert intrinsic in cand.function, cand.function
    assert not any("sign of a zero" in c for c in cand.caveats), cand.caveats
    require_host("avx2")
    assert verify_status(rule_settings, kernel, cand) == Status.VERIFIED
    line = next(x for x in cand.function.splitlines() if f"{intrinsic}(" in x)
    a, b = line.split(f"{intrinsic}(")[1].split(")")[0].split(", ")
    wrong = cand.function.replace(line, line.replace(f"{intrinsic}({a}, {b})", f"{intrinsic}({b}, {a})"))
    assert wrong != cand.function
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=wrong)) == Status.MISMATCH


def test_fmin_of_two_arrays_is_still_refused() -> None:
    """Both operands may be zeros of either sign: gcc's operand order for the pair is its own choice."""
    code = """#include <math.h>
void pair_min(float *restrict d, const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i++) d[i] = fminf(a[i], b[i]);
}"""
    source, analysis, kernel = analyse("pair_min", code)
    assert kernel is not None
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert not proposal.candidates
    assert any("can both be zero" in n for n in proposal.notes), proposal.notes
