"""Livermore kernel 6 / TSVC s118: `w[i] += b[k][i] * w[i - k - 1]` for k from 0 to i - 1. The inner loop
sums into the one element w[i] while it reads w backwards from w[i - 1]: the walk never reaches w[i], so
the inner loop is a reduction (a dot product with a reversed walk), not a recurrence through memory. A
walk that starts at w[i] itself (`w[i - k]`, k from 0) does reach it and stays refused."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

REDUCTIONS = {
    "k6_global_rows": """#define LEN 1001
#define NG 25
#define LEN2 101
static double w6[LEN], b6[NG][LEN2];
void k6(int n) {
    for (int i = 1; i < n; i++) {
        w6[i] = 0.01;
        for (int k = 0; k < i; k++)
            w6[i] += b6[k][i] * w6[(i - k) - 1];
    }
}""",
    "k6_pointer_taps": """void taps(int n, double *restrict w, const double *restrict c) {
    for (int i = 1; i < n; i++) {
        double s = 0.01;
        for (int k = 0; k < i; k++)
            s += c[k] * w[(i - k) - 1];
        w[i] = s;
    }
}""",
    "float_walk_from_two_back": """void two_back(int n, float *restrict w, const float *restrict c) {
    for (int i = 2; i < n; i++)
        for (int k = 0; k < i - 1; k++)
            w[i] += c[k] * w[i - 2 - k];
}""",
}

REFUSED = {
    # k = 0 reads w[i] itself: the element the loop sums into
    "walk_reaches_it": """void reach(int n, double *restrict w, const double *restrict c) {
    for (int i = 1; i < n; i++)
        for (int k = 0; k < i; k++)
            w[i] += c[k] * w[i - k];
}""",
    # a forward walk from w[i] up: k = 0 is w[i]
    "forward_from_it": """void ahead(int n, double *restrict w, const double *restrict c) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n - i; k++)
            w[i] += c[k] * w[i + k];
}""",
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_a_reversed_walk_below_the_sum_is_a_reduction(name: str) -> None:
    _, a, kernel = analyse(name, REDUCTIONS[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert not any(r.code in ("recurrence", "invariant_store") for r in a.reasons), a.reasons
    assert kernel is not None


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_walk_that_reaches_the_sum_stays_refused(name: str) -> None:
    _, a, _ = analyse(name, REFUSED[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code in ("recurrence", "invariant_store") for r in a.reasons), a.reasons


@pytest.fixture(scope="module")
def verified(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(REDUCTIONS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_the_reduction_rewrite_verifies_on_avx2(verified: dict[str, CaseResult], name: str) -> None:
    require_host("avx2")
    case = verified[name]
    assert "avx2" in case.results, case.notes
    result = case.results["avx2"]
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}"
    assert any("reorder" in c or "reassociat" in c for c in result.candidate.caveats), result.candidate.caveats
