"""Searches that return where they stopped as a pointer (`return &s[i];`, `return s + i;`, a walking
`p` of `for (; p < end; p++)`): memchr-style code. The kernel returns `const void *` and the harness
compares the element offset in the array, so a rewrite that stops one element late is a mismatch."""

from __future__ import annotations

import dataclasses

import pytest
from rules_support import analyse, assert_verified, case_result, needs_compiler, verify_cases, verify_status

from simdlens.analysis.ir import Exit, Load, walk_stmts
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

SEARCHES = {
    "address_of_element": """const char *find_a(const char *s, unsigned long n, char c) {
    for (unsigned long i = 0; i < n; i++)
        if (s[i] == c) return &s[i];
    return 0;
}""",
    "pointer_plus_index": """const float *first_above(const float *x, int n, float t) {
    for (int i = 0; i < n; i++)
        if (x[i] > t) return x + i;
    return 0;
}""",
    "walking_pointer_to_end": """const uint8_t *find_nl(const uint8_t *p, const uint8_t *end) {
    for (; p < end; p++)
        if (*p == '\\n') return p;
    return end;
}""",
}


@pytest.fixture(scope="module")
def searched(rule_settings: Settings):  # type: ignore[no-untyped-def]
    return verify_cases(list(SEARCHES.items()), rule_settings)


def test_the_exit_returns_the_address_of_the_element_it_tests() -> None:
    for name, code in SEARCHES.items():
        _, a, kernel = analyse(name, code)
        assert a.verdict == LoopVerdict.VECTORIZABLE and a.loop is not None, (name, a.reasons)
        (exit_stmt,) = [s for s in walk_stmts(a.loop.body) if isinstance(s, Exit)]
        assert exit_stmt.kind == "return" and exit_stmt.address and isinstance(exit_stmt.value, Load), name
        assert kernel is not None and kernel.signature.startswith("const void *"), (name, kernel)
        assert kernel.returns_address_in == {"address_of_element": "s", "pointer_plus_index": "x",
                                             "walking_pointer_to_end": "p"}[name]


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_a_search_returning_a_pointer_verifies(searched, name: str) -> None:  # type: ignore[no-untyped-def]
    assert_verified(case_result(searched[name], "avx2"), "avx2")


@needs_compiler
@pytest.mark.sandbox
def test_a_rewrite_that_returns_the_next_element_is_a_mismatch(rule_settings: Settings) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    source, a, kernel = analyse("address_of_element", SEARCHES["address_of_element"])
    assert kernel is not None
    (cand,) = propose(a, kernel, "avx2", rule_settings, source=source).candidates
    wrong = cand.function.replace("return &s[i];", "return &s[i + 1];")
    assert wrong != cand.function
    assert verify_status(rule_settings, kernel, dataclasses.replace(cand, function=wrong)) == Status.MISMATCH
