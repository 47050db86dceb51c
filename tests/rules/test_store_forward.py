"""A statement that reads the element its array got one iteration earlier from another statement (TSVC
s1213: `a[i] = b[i-1] + c[i]; b[i] = a[i+1] * d[i];`, s261): the vector step runs b's statement first and
then reads b[i-1]. Read back from memory right after the store, the misaligned load waits on the store
(the rewrite measured 0.85x of the scalar loop); simdlens builds it from the stored vector moved up one
lane instead, lane 0 the previous step's last element, and the rewrite verifies exactly."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import Status

FORWARDED = {
    "s1213_globals": """#define LEN 4000
float a[LEN], b[LEN], c[LEN], d[LEN];
void s1213(void) {
    for (int i = 1; i < LEN - 1; i++) {
        a[i] = b[i - 1] + c[i];
        b[i] = a[i + 1] * d[i];
    }
}""",
    # the value stored comes from a temporary, the reader is computed before it in the body (s261)
    "temporary_then_store": """void stage(float *restrict a, const float *restrict b, float *restrict c, const float *restrict d, int n) {
    float t;
    for (int i = 1; i < n; ++i) {
        t = a[i] + b[i];
        a[i] = t + c[i - 1];
        t = c[i] * d[i];
        c[i] = t;
    }
}""",
    "int_pipeline": """void pipe(int32_t *restrict x, int32_t *restrict y, const int32_t *restrict u, int n) {
    for (int i = 1; i < n; i++) {
        x[i] = y[i - 1] + u[i];
        y[i] = u[i] * 3;
    }
}""",
    # split where a backward read crosses the forward writes: the first half ends in scalar iterations, so
    # the register is set from memory again before the second half
    "split_halves": """void cross_and_forward(float *restrict a, float *restrict b, float *restrict c, int n) {
    for (int i = 1; i < n; i++) {
        float x = a[n - 1 - i];
        c[i] = b[i - 1] + x;
        b[i] = x * 2.0f;
        a[i] = x + 1.0f;
    }
}""",
}
READ_BACK = {"s1213_globals": "&b[i - 1]", "temporary_then_store": "&c[i - 1]", "int_pipeline": "&y[i - 1]",
             "split_halves": "&b[i - 1]"}


@pytest.fixture(scope="module")
def forwarded(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(FORWARDED.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(FORWARDED))
def test_the_element_stored_one_iteration_back_comes_from_registers(forwarded: dict[str, CaseResult], name: str,
                                                                   isa: str) -> None:
    case = forwarded[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    # the whole steps (a masked tail step and the scalar remainder read it from memory, after their stores)
    whole_steps = cand.function.split("for (; left >=")[1].split(" += ")[0]
    assert READ_BACK[name] not in whole_steps, cand.function
    assert "_before" in whole_steps
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
