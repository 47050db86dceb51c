"""Wrap-around variables (`b[i] = a[i] + a[im1]; im1 = i;`, and two deep: `im2 = im1; im1 = i;`):
the first iterations read the index from before the loop, the rest read a[i - 1] (a[i - 2]). simdlens
peels those iterations, reads the rest with contiguous loads, and the rewrite verifies. A carried value
read from elements the loop overwrites later in the iteration (TSVC s2251) is computed for a whole step
before its stores and moved up one lane; one read from elements already written is refused, saying why."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose

WRAPS = {
    "wrap_one": """void smooth(float *restrict b, const float *restrict a, int n) {
    int im1 = n - 1;
    for (int i = 0; i < n; i++) {
        b[i] = (a[i] + a[im1]) * 0.5f;
        im1 = i;
    }
}""",
    "wrap_two": """void smooth3(int32_t *restrict b, const int32_t *restrict a, int n) {
    int im1 = n - 1, im2 = n - 2;
    for (int i = 0; i < n; i++) {
        b[i] = a[i] + a[im1] + a[im2];
        im2 = im1;
        im1 = i;
    }
}""",
    "wrap_value": """void diff(float *restrict d, const float *restrict x, float x0, int n) {
    float prev = x0;
    for (int i = 0; i < n; i++) {
        d[i] = x[i] - prev;
        prev = x[i];
    }
}""",
    # a carried copy of a temporary (TSVC s252): the temporary's expression one iteration back
    "wrap_temporary": """void s252(float *restrict a, const float *restrict b, const float *restrict c, int n) {
    float t = 0.0f, s;
    for (int i = 0; i < n; i++) {
        s = b[i] * c[i];
        a[i] = s + t;
        t = s;
    }
}""",
    # TSVC s2251: s carries b[i] + c[i] and the loop overwrites b[i] after reading it: each step computes s from
    # the old elements before its stores and moves the values up one lane, the previous step's last in lane 0
    "wrap_overwritten": """void s2251(float *restrict a, float *restrict b, const float *restrict c, const float *restrict d,
           const float *restrict e, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        a[i] = s * e[i];
        s = b[i] + c[i];
        b[i] = a[i] + d[i];
    }
}""",
}
PEELED = {"wrap_one": 1, "wrap_two": 2, "wrap_value": 1, "wrap_temporary": 1, "wrap_overwritten": 1}

# carried values no step can compute ahead of its stores: no rewrite, and the reason says why
REFUSED = {
    "carried_from_its_own_product": ("""void rec(float *restrict a, const float *restrict c, const float *restrict e, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        a[i] = s * e[i];
        s = a[i] + c[i];
    }
}""", "which the loop writes before it in the same iteration"),
    "carried_from_an_earlier_store": ("""void behind(float *restrict a, float *restrict b, const float *restrict e, int n) {
    float s = 0.0f;
    for (int i = 1; i < n; i++) {
        a[i] = s * e[i];
        s = b[i - 1];
        b[i] = a[i] + 1.0f;
    }
}""", "elements an earlier iteration of the loop wrote"),
}


@pytest.mark.parametrize("name", list(WRAPS))
def test_a_wrap_around_is_a_candidate(name: str) -> None:
    _, a, kernel = analyse(name, WRAPS[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert any(r.code == "peel" for r in a.reasons)
    assert kernel is not None  # the carried subscript has a footprint the harness allocates


@pytest.fixture(scope="module")
def wraps(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(WRAPS.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(WRAPS))
def test_the_wrap_around_rewrite_verifies(wraps: dict[str, CaseResult], name: str, isa: str) -> None:
    case = wraps[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    cand = result.candidate
    assert cand.origin == "rules:peel"
    # the peeled iterations run the loop's own statements; after them the carried index is i - 1 (i - 2):
    # contiguous loads, no gather
    assert cand.function.count("left--;") == PEELED[name], cand.function
    assert "gather" not in cand.function
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{cand.function}"


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_carried_value_from_stored_elements_says_why_it_is_not_rewritten(name: str, rule_settings: Settings) -> None:
    code, why = REFUSED[name]
    source, a, kernel = analyse(name, code)
    assert kernel is not None
    proposal = propose(a, kernel, "avx2", rule_settings, source=source)
    assert not proposal.candidates
    assert any(why in note for note in proposal.notes), proposal.notes
