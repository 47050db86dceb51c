"""Wrap-around variables (`b[i] = a[i] + a[im1]; im1 = i;`, and two deep: `im2 = im1; im1 = i;`):
the first iterations read the index from before the loop, the rest read a[i - 1] (a[i - 2]). simdlens
peels those iterations, reads the rest with contiguous loads, and the rewrite verifies."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

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
}
PEELED = {"wrap_one": 1, "wrap_two": 2, "wrap_value": 1, "wrap_temporary": 1}


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
