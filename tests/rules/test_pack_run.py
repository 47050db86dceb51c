"""Stores in turn at one counter, some under a condition (TSVC s123: `j++; a[j] = x; if (c) { j++; a[j] = y; }`):
one pack per store, lowered together. Iteration r's stores are slots r*k .. r*k + k-1 of the step's output, so
the values and their masks are interleaved lane by lane (table rows `interleave<k>_<q>`) before each register
is compressed in order; the harness's buffer for the packed array holds k elements per iteration."""

from __future__ import annotations

import dataclasses

import pytest
from rules_support import (
    analyse,
    assert_verified,
    case_result,
    needs_compiler,
    one_candidate,
    require_host,
    verify_cases,
    verify_status,
)

from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose

pytestmark = [needs_compiler, pytest.mark.sandbox]

ACCEPTED = {
    "s123_style": """#define N 2000
float a[N], b[N], c[N], d[N], e[N];
int s123_style(void) {
    int j = -1;
    for (int i = 0; i < N / 2; i++) {
        j++;
        a[j] = b[i] + d[i] * e[i];
        if (c[i] > 0.0f) { j++; a[j] = c[i] + d[i] * e[i]; }
    }
    return j;
}""",
    "events": """#include <stddef.h>
size_t events(int *restrict out, const int *restrict t, const int *restrict v, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        out[w++] = t[i];
        if (v[i] > 3) out[w++] = v[i] - 3;
    }
    return w;
}""",
    "two_conditions": """int two_conditions(double *restrict p, const double *restrict x, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] > 0.0) p[k++] = x[i];
        if (x[i] < 1.0) p[k++] = x[i] * 3.0;
    }
    return k;
}""",
}


@pytest.fixture(scope="module")
def results(rule_settings: Settings) -> dict:  # type: ignore[type-arg]
    return verify_cases(list(ACCEPTED.items()), rule_settings)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_pack_run_is_verified(results: dict, name: str) -> None:  # type: ignore[type-arg]
    case = results[name]
    result = case_result(case, "avx2")
    assert "interleaves their values and masks" in " ".join(r.message for r in case.analysis.reasons)
    assert "_mm256_unpacklo_" in result.candidate.function, result.candidate.function  # interleaved first
    assert_verified(result, "avx2")
    assert any("mask registers" in n for n in case.notes["avx512"]), case.notes  # refused there, saying why


def test_stores_packed_one_after_the_other_fail(rule_settings: Settings) -> None:
    """Without the interleave (the values in the wrong slots: a's then b's lane order swapped) the packed
    array's order differs from the loop's: a mismatch."""
    source, analysis, kernel = analyse("events", ACCEPTED["events"])
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    line = next(x for x in cand.function.splitlines() if "_mm256_unpacklo_epi32(" in x and "permute2x128" in x)
    a, b = line.split("_mm256_unpacklo_epi32(")[1].split(")")[0].split(", ")
    wrong = cand.function.replace(line, line.replace(f"({a}, {b})", f"({b}, {a})"))
    assert wrong != cand.function
    require_host("avx2")
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=wrong)) == Status.MISMATCH


def test_a_counter_read_elsewhere_is_refused_with_why() -> None:
    _, analysis, _ = analyse("noted", """void noted(float *restrict a, int *restrict at, const float *restrict b,
                                                          int n) {
    int j = -1;
    for (int i = 0; i < n; i++) {
        j++; a[j] = b[i];
        if (b[i] > 0.0f) { j++; a[j] = -b[i]; }
        at[i] = j;
    }
}""")
    assert analysis.verdict.value == "not_vectorizable"
    assert any("output counter j is also used elsewhere" in r.message for r in analysis.reasons), analysis.reasons


def test_one_conditional_pack_keeps_its_own_lowering() -> None:
    """A single `if (c) a[j++] = x;` is the plain compress (no interleave)."""
    _, cand = one_candidate("single", """void single(float *restrict a, const float *restrict b, int n, int *cnt) {
    int j = 0;
    for (int i = 0; i < n; i++) if (b[i] > 0.0f) a[j++] = b[i];
    *cnt = j;
}""")
    assert "_pext_u64" in cand.function and "unpacklo" not in cand.function, cand.function


def test_a_condition_reading_the_counter_is_refused() -> None:
    """`if (j < 100) { j++; a[j] = ...; }` tests the counter the store before it moved: not a lane's mask."""
    _, analysis, _ = analyse("capped", """void capped(float *restrict a, const float *restrict b, int n) {
    int j = -1;
    for (int i = 0; i < n; i++) {
        j++; a[j] = b[i];
        if (j < 100) { j++; a[j] = -b[i]; }
    }
}""")
    assert analysis.verdict.value == "not_vectorizable"
    assert any("condition of a store at the output counter j reads it" in r.message for r in analysis.reasons)
