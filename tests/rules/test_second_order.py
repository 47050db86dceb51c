"""Second-order linear recurrences with constant coefficients (`y[i] = x[i] + a1*y[i-1] + a2*y[i-2]`: a
biquad's feedback, a damped oscillator): compilers leave them scalar; simdlens computes a vector at once
from the impulse response and the two carried results, and the rewrite verifies (floats reassociate:
the sandbox's summation tolerance). Integer and varying-coefficient ones stay refused."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

SECOND = {
    "biquad_feedback": """void feedback(float *restrict y, const float *restrict x, float a1, float a2, int n) {
    for (int i = 2; i < n; i++) y[i] = x[i] + a1 * y[i - 1] + a2 * y[i - 2];
}""",
    "oscillator_double": """void ring(double *restrict y, const double *restrict drive, double c, double d, int n) {
    for (int i = 2; i < n; i++) y[i] = c * y[i - 1] + d * y[i - 2] + drive[i] * 0.5;
}""",
    "plain_fibonacci_float": """void fibf(float *f, int n) {
    for (int i = 2; i < n; i++) f[i] = f[i - 1] + f[i - 2];
}""",
}

STAY_REFUSED = {
    "integer_fibonacci": """void fib(int32_t *f, int n) {
    for (int i = 2; i < n; i++) f[i] = f[i - 1] + f[i - 2];
}""",
    "varying_coefficient": """void vary(float *restrict y, const float *restrict c, const float *restrict x, float a2, int n) {
    for (int i = 2; i < n; i++) y[i] = x[i] + c[i] * y[i - 1] + a2 * y[i - 2];
}""",
}


@pytest.mark.parametrize("name", list(SECOND))
def test_a_second_order_recurrence_is_a_candidate(name: str) -> None:
    _, a, kernel = analyse(name, SECOND[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert {"scan", "second_order"} <= a.facts
    assert a.reasons[0].code == "scan" and "second-order linear recurrence" in a.reasons[0].message
    assert kernel is not None


@pytest.mark.parametrize("name", list(STAY_REFUSED))
def test_other_second_order_recurrences_stay_refused(name: str) -> None:
    _, a, _ = analyse(name, STAY_REFUSED[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "second_order" not in a.facts


@pytest.fixture(scope="module")
def seconds(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(SECOND.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(SECOND))
def test_the_second_order_rewrite_verifies(seconds: dict[str, CaseResult], name: str, isa: str) -> None:
    case = seconds[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:scan" and "impulse" in cand.function
    assert any("reassociates floating-point" in c for c in cand.caveats)
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
