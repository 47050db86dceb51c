"""A loop that reads an array backwards while writing it forwards (TSVC s281: `x = a[n-1-i] + b[i]*c[i];
a[i] = x - 1; b[i] = x;`): until the walks cross it reads elements not written yet, after that elements it
wrote before the crossing. Compilers see a dependence and leave it scalar; simdlens splits the loop where
the walks cross, vectorizes both halves with reversed loads, and the rewrite verifies exactly."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

CROSSING = {
    "s281_globals": """#define LEN 4000
float a[LEN], b[LEN], c[LEN];
void s281(void) {
    float x;
    for (int i = 0; i < LEN; i++) {
        x = a[LEN - i - 1] + b[i] * c[i];
        a[i] = x - (float)1.0;
        b[i] = x;
    }
}""",
    # an odd count, a pointer and a symbolic end: the middle element reads itself before it is written
    "mirror_pointer": """void mirror(float *v, const float *w, int n) {
    for (int i = 0; i < n; i++) v[i] = 0.5f * (v[i] + v[n - 1 - i]) * w[i];
}""",
}

NOT_SPLIT = {
    # the store comes first: within one step a later lane would read what an earlier lane just stored
    "stored_before_the_read": """void after(float *restrict a, const float *restrict b, float *restrict out, int n) {
    for (int i = 0; i < n; i++) {
        a[i] = b[i];
        out[i] = a[n - 1 - i];
    }
}""",
}


@pytest.mark.parametrize("name", list(CROSSING))
def test_a_crossing_walk_is_split_where_the_walks_meet(name: str) -> None:
    _, a, kernel = analyse(name, CROSSING[name])
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert "split" in a.facts
    assert any(r.code == "split" and "split where they cross" in r.message for r in a.reasons)
    assert kernel is not None


@pytest.mark.parametrize("name", list(NOT_SPLIT))
def test_a_store_before_the_backward_read_is_not_split(name: str) -> None:
    _, a, _ = analyse(name, NOT_SPLIT[name])
    assert "split" not in a.facts
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE


@pytest.fixture(scope="module")
def crossings(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(CROSSING.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(CROSSING))
def test_the_split_rewrite_verifies(crossings: dict[str, CaseResult], name: str, isa: str) -> None:
    case = crossings[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:split"
    assert cand.function.count("left = rest;") == 1  # two halves
    if isa == "avx2":  # `(float)1.0` is a float broadcast: 8 float lanes, not 4 as for a double
        assert "(avx2, 8 lanes)" in cand.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"
