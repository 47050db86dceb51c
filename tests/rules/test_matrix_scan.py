"""Two coupled linear recurrences, each array from the previous elements of both (`x[i] = a x[i-1] + b y[i-1]
+ u; y[i] = c x[i-1] + d y[i-1] + v`, a 2 x 2 linear system, coefficients invariant or from arrays):
compilers leave them scalar; simdlens keeps them candidates with the reason a SIMD engineer gives and its
matrix scan verifies (floats reassociate: the sandbox's summation tolerance). Integer systems and
non-linear pairs stay recurrences."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

SYSTEMS = {
    "mixing_invariant": """void mix(float *restrict x, float *restrict y, const float *restrict u, float c, float s, int n) {
    for (int i = 1; i < n; i++) {
        x[i] = c * x[i - 1] + s * y[i - 1] + u[i];
        y[i] = s * x[i - 1] + c * y[i - 1];
    }
}""",
    # coefficients from arrays, and the second statement reads the first's new element (substituted)
    "state_space_arrays": """void track(double *restrict p, double *restrict v, const double *restrict f, const double *restrict g, int n) {
    for (int i = 1; i < n; i++) {
        v[i] = f[i] * v[i - 1] + g[i] * p[i - 1];
        p[i] = p[i - 1] + 0.5 * v[i];
    }
}""",
    # a carries its own previous element and b's: the pair the rank-one coupled rule leaves alone
    "both_carried": """void cb(float *restrict a, float *restrict b, const float *restrict d, int n) {
    for (int i = 1; i < n; i++) {
        a[i] = b[i - 1] + a[i - 1];
        b[i] = a[i] * d[i];
    }
}""",
}

STAY_REFUSED = {
    # a rotation subtracts: combined across lanes its terms cancel, and no tolerance bounds the reassociated
    # result (it differed from the loop's in the 5th digit)
    "rotation": """void spin(float *restrict x, float *restrict y, float c, float s, int n) {
    for (int i = 1; i < n; i++) {
        x[i] = c * x[i - 1] - s * y[i - 1];
        y[i] = s * x[i - 1] + c * y[i - 1];
    }
}""",
    # integer products of coefficients would overflow where the loop's own do not
    "integer_system": """void isys(int32_t *restrict x, int32_t *restrict y, int n) {
    for (int i = 1; i < n; i++) {
        x[i] = 3 * x[i - 1] + y[i - 1];
        y[i] = x[i - 1] - 2 * y[i - 1];
    }
}""",
    # a product of two previous elements: no matrix describes it
    "nonlinear_pair": """void nl(float *restrict x, float *restrict y, int n) {
    for (int i = 1; i < n; i++) {
        x[i] = x[i - 1] * y[i - 1];
        y[i] = x[i - 1] + y[i - 1];
    }
}""",
}


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_a_two_by_two_system_is_a_candidate_that_says_why(name: str) -> None:
    _, a, kernel = analyse(name, SYSTEMS[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert {"scan", "matrix_scan"} <= a.facts
    summary = a.reasons[0]
    assert summary.code == "scan" and "2 x 2 linear system" in summary.message
    assert "Compilers leave it scalar" in summary.message
    assert kernel is not None


@pytest.mark.parametrize("name", list(STAY_REFUSED))
def test_other_pairs_stay_recurrences(name: str) -> None:
    _, a, _ = analyse(name, STAY_REFUSED[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "matrix_scan" not in a.facts
    assert any(r.code == "recurrence" for r in a.reasons)


@pytest.fixture(scope="module")
def systems(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(SYSTEMS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(SYSTEMS))
def test_the_matrix_scan_verifies(systems: dict[str, CaseResult], name: str, isa: str) -> None:
    case = systems[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:scan" and "carry_y" in cand.function
    assert any("2 x 2" in c for c in cand.caveats)
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
