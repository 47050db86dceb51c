"""ggml's argmax `m = fmaxf(m, x[i]); if (m == x[i]) k = i;`: the index is the last one whose element is at
least the max so far, which lanes find with `x >= m` (a NaN element is never taken by either form), the same
for every start but a NaN one, which fmaxf drops for the first number: then the scalar loop runs it all. The
index is compared bit for bit; the best value only when the loop's caller can read it (a function local
never mentioned after the loop cannot), and then with the zero-sign caveat of fmaxf reductions."""

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
    # the best value is a local read nowhere after the loop: not compared, no caveat
    "argmax_local": """#include <math.h>
int argmax_local(const float *x, int n) {
    float max = -INFINITY;
    int idx = 0;
    for (int i = 0; i < n; ++i) {
        max = fmaxf(max, x[i]);
        if (max == x[i]) { idx = i; }
    }
    return idx;
}""",
    # the start comes from the caller (NaN and zero starts are in the test data) and is read back
    "argmin_from": """#include <math.h>
long argmin_from(const double *x, long n, double *lo) {
    double m = *lo;
    long at = -1;
    for (long i = 0; i < n; i++) {
        m = fmin(x[i], m);
        if (x[i] == m) at = i;
    }
    *lo = m;
    return at;
}""",
}


@pytest.fixture(scope="module")
def results(rule_settings: Settings) -> dict:  # type: ignore[type-arg]
    return verify_cases(list(ACCEPTED.items()), rule_settings)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_fmax_argmax_is_verified(results: dict, name: str, isa: str) -> None:  # type: ignore[type-arg]
    result = case_result(results[name], isa)
    fn = result.candidate.function
    assert "= 0;  /* a NaN start" in fn, fn
    zero_caveat = any("sign of a zero" in c for c in result.candidate.caveats)
    assert zero_caveat == (name == "argmin_from"), result.candidate.caveats  # only a value the caller reads
    assert_verified(result, isa)  # it builds; verified where this CPU runs isa


@pytest.mark.parametrize("wrong", ["strict", "no_nan_start"])
def test_wrong_readings_fail_verification(rule_settings: Settings, wrong: str) -> None:
    """A strict `>` keeps the first of equal maxima where the loop keeps the last; without the NaN-start
    fallback the lanes never leave a NaN start, where fmaxf takes the first number. Both are mismatches."""
    source, analysis, kernel = analyse("argmin_from", ACCEPTED["argmin_from"])
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    fn = cand.function
    if wrong == "no_nan_start":
        fn = fn.replace("if (m != m) left = 0;", "")
    else:
        fn = fn.replace("_CMP_LE_OQ", "_CMP_LT_OQ")
    assert fn != cand.function, cand.function
    require_host("avx2")
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=fn)) == Status.MISMATCH


def test_fmax_argmax_refusals_say_why() -> None:
    """The value read after the loop beside a float store: the zero-sign check would cover the store too."""
    code = """#include <math.h>
int peak_and_copy(float *restrict y, const float *restrict x, int n, float *peak) {
    float m = -INFINITY;
    int k = 0;
    for (int i = 0; i < n; i++) {
        y[i] = x[i] * 0.5f;
        m = fmaxf(m, x[i]);
        if (m == x[i]) k = i;
    }
    *peak = m;
    return k;
}"""
    source, analysis, kernel = analyse("peak_and_copy", code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert not proposal.candidates
    assert any("compiler's choice" in n for n in proposal.notes), proposal.notes
