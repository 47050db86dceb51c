"""A scalar set under a condition and used after the loop (`if (a[i] < 0) last = i;`): the last
iteration whose condition holds wins. simdlens keeps it a candidate (`last_value`) and its rewrite
tests a vector at once and takes the highest lane whose condition holds; the rewrite verifies. A
scalar also read inside the loop stays a conditional recurrence."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

LASTS = {
    "last_negative_index": """int last_negative(const int32_t *restrict a, int n) {
    int last = -1;
    for (int i = 0; i < n; i++)
        if (a[i] < 0) last = i;
    return last;
}""",
    "last_value_above": """float last_above(const float *restrict x, float t, int n) {
    float seen = 0.0f;
    for (int i = 0; i < n; i++)
        if (x[i] > t) seen = x[i];
    return seen;
}""",
    "last_index_of_other_array": """long last_match(const double *restrict a, const double *restrict b, int n) {
    long at = -1;
    for (int i = 0; i < n; i++)
        if (a[i] == b[i]) at = i;
    return at;
}""",
}

STILL_REFUSED = {
    # set from its own value under the condition: each iteration depends on the last hit so far (read in
    # the body but set from a value that is not its own, it is a held value: test_carried_scan.py)
    "set_from_itself": """void running_last(int32_t *restrict out, const int32_t *restrict a, int n) {
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (a[i] < 0) last = i - last;
        out[i] = last;
    }
}""",
}


@pytest.mark.parametrize("name", list(LASTS))
def test_a_conditional_last_value_is_a_candidate(name: str) -> None:
    _, a, kernel = analyse(name, LASTS[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.reasons[0].code == "last_value" and "highest such lane" in a.reasons[0].message
    assert "last_value" in a.facts
    assert kernel is not None


@pytest.mark.parametrize("name", list(STILL_REFUSED))
def test_a_last_value_read_in_the_loop_stays_refused(name: str) -> None:
    _, a, _ = analyse(name, STILL_REFUSED[name])
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code in ("conditional_assign", "recurrence") for r in a.reasons), a.reasons


@pytest.fixture(scope="module")
def lasts(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(LASTS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(LASTS))
def test_the_last_value_rewrite_verifies(lasts: dict[str, CaseResult], name: str, isa: str) -> None:
    case = lasts[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:last_value"
    assert "__builtin_clzll" in result.candidate.function  # the highest lane whose condition holds
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"
