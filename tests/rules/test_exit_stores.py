"""Early exits with stores before them (`b[i] = a[i]; if (a[i] == key) break;`): compilers do not
vectorize them; simdlens tests a whole vector first, stores the vectors before the exit lane whole and
lets the scalar loop finish the exit vector exactly. Searches that also return the index verify too.
Stores the exit test depends on, or that accumulate, stay scalar (with the reason)."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

EXITS = {
    "copy_until_key": """int copy_until(int32_t *restrict b, const int32_t *restrict a, int32_t key, int n) {
    int i;
    for (i = 0; i < n; i++) {
        b[i] = a[i];
        if (a[i] == key) break;
    }
    return i;
}""",
    "copy_bytes_until_nul": """long copy_str(uint8_t *restrict d, const uint8_t *restrict s, long n) {
    long i;
    for (i = 0; i < n; i++) {
        d[i] = s[i];
        if (s[i] == 0) break;
    }
    return i;
}""",
    "scale_until_limit": """int scale_until(float *restrict out, const float *restrict in, float g, float lim, int n) {
    int i;
    for (i = 0; i < n; i++) {
        out[i] = in[i] * g;
        if (in[i] > lim) break;
    }
    return i;
}""",
    # the first element above a threshold together with its index
    "first_above_with_index": """int first_above(const float *a, float t, int n) {
    int pos = -1;
    for (int i = 0; i < n; i++)
        if (a[i] > t) { pos = i; break; }
    return pos;
}""",
}
WITH_STORES = {"copy_until_key", "copy_bytes_until_nul", "scale_until_limit"}

STAY_SCALAR = {
    # the store accumulates: the exit iteration may not run its store twice
    "accumulating_store": """int acc_until(int32_t *restrict b, const int32_t *restrict a, int32_t key, int n) {
    int i;
    for (i = 0; i < n; i++) {
        b[i] += a[i];
        if (a[i] == key) break;
    }
    return i;
}""",
}


@pytest.mark.parametrize("name", list(EXITS))
def test_an_early_exit_is_a_candidate_with_the_algorithm_named(name: str) -> None:
    _, a, kernel = analyse(name, EXITS[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    summary = a.reasons[0]
    assert summary.code == "search" and "compare + movemask" in summary.message
    assert ("stores the vectors before the exit lane" in summary.message) == (name in WITH_STORES)
    assert kernel is not None


@pytest.fixture(scope="module")
def exits(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(EXITS.items()) + list(STAY_SCALAR.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(EXITS))
def test_the_exit_rewrite_verifies(exits: dict[str, CaseResult], name: str, isa: str) -> None:
    case = exits[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    assert result.candidate.origin == "rules:search"
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"


@needs_compiler
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_an_accumulating_store_before_the_exit_gets_no_rewrite(exits: dict[str, CaseResult], isa: str) -> None:
    case = exits["accumulating_store"]
    assert isa not in case.results
    assert any("stores to" in note for note in case.notes[isa]), case.notes
