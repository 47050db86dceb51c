"""Argmax/argmin written against the array (`if (x[i] > x[best]) best = i;`): compilers call it a
conditional recurrence and leave it scalar; simdlens reads it as the value form `if (x[i] > m) { m =
x[i]; best = i; }` with m = x[best] on entry, and its rewrite verifies. The first index still wins ties
(the last with `>=`/`<=`, in both forms), a NaN element is never taken, and a NaN at the start index keeps
it. Shapes where x[best] is not the running best keep a reason."""

from __future__ import annotations

import pytest
from rules_support import (
    CaseResult,
    analyse,
    needs_compiler,
    require_host,
    run_edited_against_original,
    verify_cases,
)

from simdlens.analysis.ir import ArgReduce
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

ARGS = {
    "float_argmax": """int loudest(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}""",
    "double_abs_argmin": """int closest_to_zero(const double *x, int n) {
    int imin = 0;
    for (int i = 0; i < n; i++)
        if (fabs(x[i]) < fabs(x[imin])) imin = i;
    return imin;
}""",
    "flipped_long_index": """long peak(const float *restrict v, long n) {
    long k = 0;
    for (long i = 1; i < n; i++)
        if (v[k] < v[i]) k = i;
    return k;
}""",
    "int_argmin_offset": """int lowest_next(const int32_t *d, int n) {
    int at = 0;
    for (int i = 0; i < n - 1; i++)
        if (d[i + 1] - d[i] < d[at + 1] - d[at]) at = i;
    return at;
}""",
    # `>=` / `<=`: the last index wins ties (lanes start at the lowest index value; the fold takes the
    # highest index among the lanes that took an element)
    "last_index_argmax": """int last_loudest(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] >= x[best]) best = i;
    return best;
}""",
    "last_index_value_argmin": """long last_lowest(const int32_t *v, long n) {
    int32_t m = v[0];
    long at = 0;
    for (long i = 0; i < n; i++)
        if (v[i] <= m) { m = v[i]; at = i; }
    return at;
}""",
}

NOT_REWRITTEN = {
    # the array is written in the loop: x[best] is no longer the value that was compared
    "array_written": """int f(float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[best]) best = i;
        x[i] = 0.0f;
    }
    return best;
}""",
    # the index is read elsewhere in the body
    "index_read": """void f(const float *restrict x, int *restrict at, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[best]) best = i;
        at[i] = best;
    }
}""",
    # a 16-bit index would wrap where the counter does not
    "narrow_index": """short f(const float *x, int n) {
    short best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}""",
}


def test_an_argmax_against_the_array_is_a_candidate_that_says_why() -> None:
    _, a, kernel = analyse("float_argmax", ARGS["float_argmax"])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    why = next(r for r in a.reasons if r.code == "argminmax")
    assert "compilers treat as a recurrence; a SIMD argmax" in why.message and "first index wins ties" in why.message
    assert a.loop is not None and isinstance(a.loop.body[0], ArgReduce) and a.loop.body[0].at_index is not None
    assert kernel is not None


@pytest.mark.parametrize("name", list(NOT_REWRITTEN))
def test_where_the_element_at_the_index_is_not_the_best_it_stays_refused(name: str, rule_settings: Settings) -> None:
    from simdlens.rules import propose

    source, a, kernel = analyse(name, NOT_REWRITTEN[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE or kernel is None or not propose(
        a, kernel, "avx2", rule_settings, source=source).candidates, a.reasons
    assert a.reasons, "a loop without a rewrite keeps a reason"


def test_a_non_strict_comparison_says_the_last_index_wins(rule_settings: Settings) -> None:
    from simdlens.rules import propose

    _, a, _ = analyse("last_wins", ARGS["last_index_argmax"])
    assert "last index wins ties" in next(r for r in a.reasons if r.code == "argminmax").message
    # an unsigned index has no lowest value apart from 0, which an iteration can have: refused, saying so
    code = ARGS["last_index_argmax"].replace("int best = 0;", "unsigned best = 0;").replace("int last", "unsigned last")
    source, a, kernel = analyse("last_wins_unsigned", code)
    assert kernel is not None
    proposal = propose(a, kernel, "avx2", rule_settings, source=source)
    assert not proposal.candidates and any("signed 32/64-bit index" in n for n in proposal.notes), proposal.notes


@pytest.fixture(scope="module")
def args(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases([(k, "#include <math.h>\n" + v) for k, v in ARGS.items()], rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(ARGS))
def test_the_argmax_against_the_array_verifies(args: dict[str, CaseResult], name: str, isa: str) -> None:
    case = args[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:argminmax"
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"


TIES_MAIN = r"""#include <math.h>
#include <stdio.h>
int NAME(const float *x, int n);
int original(const float *x, int n);
int main(void) {
    static float x[1000];
    const float pool[] = {1.0f, 3.0f, 3.0f, -0.0f, 0.0f, NAN, 2.0f};
    int bad = 0;
    for (int trial = 0; trial < 400; trial++) {
        unsigned s = 2166136261u ^ (unsigned)trial;
        for (int k = 0; k < 1000; k++) { s = s * 1664525u + 1013904223u; x[k] = pool[(s >> 9) % 7]; }
        if (trial % 3 == 0) x[0] = NAN;  /* a NaN at the start index: nothing beats it */
        int n = 1 + trial * 7 % 999;
        if (NAME(x, n) != original(x, n)) { printf("trial %d n %d: %d vs %d\n", trial, n, NAME(x, n), original(x, n)); bad++; }
    }
    return bad != 0;
}
"""


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize(("case", "function"), [("float_argmax", "loudest"), ("last_index_argmax", "last_loudest")])
def test_ties_and_nans_give_the_index_the_loop_gives(rule_settings: Settings, tmp_path, case: str,  # type: ignore[no-untyped-def]
                                                     function: str) -> None:
    """Many equal values, +0/-0 and NaNs (one at the start index): the first index for `>`, the last for `>=`."""
    from simdlens.rules import propose

    require_host("avx2")
    source, a, kernel = analyse(case, ARGS[case])
    assert kernel is not None
    (candidate,) = propose(a, kernel, "avx2", rule_settings, source=source).candidates
    run = run_edited_against_original(tmp_path, "avx2", function, source, candidate.edits,
                                      "#include <stdint.h>\n" + ARGS[case], TIES_MAIN.replace("NAME", function))
    assert run.returncode == 0, run.stdout + run.stderr
