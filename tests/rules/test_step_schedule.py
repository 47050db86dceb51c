"""A loop that steps by more than one element (a hand-unrolled body, TSVC s116: `i += 5`, each statement
reading the element the next one overwrites): elements `a[i + 1]` and `a[i + 2]` are never the same
across iterations when i steps by 5, so the vector step's schedule has an order (loads of old values
first) and the rewrite verifies; it used to be refused with "the statements' dependences leave no
order for a vector step"."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, needs_compiler, require_host, verify_cases

from simdlens.config import Settings
from simdlens.core import Status

UNROLLED = {
    "s116_unrolled_by_five": """#define LEN 4000
float a[LEN];
void s116(void) {
    for (int i = 0; i < LEN - 5; i += 5) {
        a[i] = a[i + 1] * a[i];
        a[i + 1] = a[i + 2] * a[i + 1];
        a[i + 2] = a[i + 3] * a[i + 2];
        a[i + 3] = a[i + 4] * a[i + 3];
        a[i + 4] = a[i + 5] * a[i + 4];
    }
}""",
}


@pytest.fixture(scope="module")
def unrolled(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(UNROLLED.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(UNROLLED))
def test_an_unrolled_body_gets_a_schedule_and_verifies(unrolled: dict[str, CaseResult], name: str, isa: str) -> None:
    case = unrolled[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"
