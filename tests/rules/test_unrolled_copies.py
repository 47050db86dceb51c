"""Hand-unrolled counted loops, as the reference BLAS and codecs write them (`for (i = m; i < n; i += 4) {
dy[i] += da * dx[i]; dy[i + 1] += da * dx[i + 1]; ... }`, and ddot's one chained sum of five products), are
read as the loop they unroll: one element a step over the same elements, in the same order. The rewrite
then loads whole registers instead of de-interleaving four "stride-4" streams (daxpy 0.56x -> 1.0x of
gcc; the chained ddot 0.67x -> 4.9x, this VM, `scan --quick`), its scalar remainder is the rolled
iteration up to the rolled bound (the user's body would step by four), and every rewrite verifies against
the user's unrolled loop, including trip counts that are not a multiple of the copies."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.analysis.ir import Reduce
from simdlens.config import Settings
from simdlens.core import Status
from simdlens.rules import propose

CASES = {
    "daxpy_by_4": """void daxpy_by_4(int n, double da, const double *dx, double *dy) {
    int i, m = n % 4;
    for (i = m; i < n; i += 4) {
        dy[i] = dy[i] + da * dx[i];
        dy[i + 1] = dy[i + 1] + da * dx[i + 1];
        dy[i + 2] = dy[i + 2] + da * dx[i + 2];
        dy[i + 3] = dy[i + 3] + da * dx[i + 3];
    }
}""",
    # the bound is not a multiple of 8 away: the last copies run past `w - 8`, as the user's loop does
    "bswap_by_8": """void bswap_by_8(uint32_t *dst, const uint32_t *src, int w) {
    int i;
    for (i = 0; i + 8 <= w; i += 8) {
        dst[i + 0] = __builtin_bswap32(src[i + 0]); dst[i + 1] = __builtin_bswap32(src[i + 1]);
        dst[i + 2] = __builtin_bswap32(src[i + 2]); dst[i + 3] = __builtin_bswap32(src[i + 3]);
        dst[i + 4] = __builtin_bswap32(src[i + 4]); dst[i + 5] = __builtin_bswap32(src[i + 5]);
        dst[i + 6] = __builtin_bswap32(src[i + 6]); dst[i + 7] = __builtin_bswap32(src[i + 7]);
    }
}""",
    "ddot_chain_by_5": """double ddot_chain_by_5(int n, const double *dx, const double *dy) {
    double dtemp = 0.0;
    int i, m = n % 5;
    for (i = m; i < n; i += 5)
        dtemp = dtemp + dx[i] * dy[i] + dx[i + 1] * dy[i + 1] + dx[i + 2] * dy[i + 2] + dx[i + 3] * dy[i + 3]
              + dx[i + 4] * dy[i + 4];
    return dtemp;
}""",
    # three copies: 8 lanes are not a multiple of them, the remainder starts inside a user's iteration
    "scale_by_3": """void scale_by_3(int n, const int16_t *restrict x, int32_t *restrict y) {
    for (int i = 0; i < n; i += 3) { y[i] = x[i] * 3 + 1; y[i + 1] = x[i + 1] * 3 + 1; y[i + 2] = x[i + 2] * 3 + 1; }
}""",
}


@pytest.fixture(scope="module")
def unrolled(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(CASES.items()), rule_settings)


@pytest.mark.parametrize(("name", "copies"), [("daxpy_by_4", 4), ("bswap_by_8", 8), ("ddot_chain_by_5", 5),
                                              ("scale_by_3", 3)])
def test_unrolled_copies_are_read_as_one_iteration(name: str, copies: int) -> None:
    _, a, _ = analyse(name, CASES[name])
    assert a.loop is not None, a.reasons
    assert a.loop.rolled == copies and a.loop.step == 1
    assert any(r.code == "unrolled" for r in a.reasons)
    if name == "ddot_chain_by_5":
        (red,) = a.loop.body
        assert isinstance(red, Reduce) and "+" not in repr(red.value)  # one product, not the chain


@pytest.mark.parametrize("body", [
    "a[i] = b[i] * 2.0f; a[i + 1] = b[i + 1] * 3.0f;",  # differing constants: not copies
    "a[i] = (float)i; a[i + 1] = (float)(i + 1);",  # the counter's value: copies of a value, not an access
    "a[i] = b[i]; a[i + 1] = b[i];",  # the second copy reads the first's element
])
def test_statements_that_are_not_shifted_copies_stay_as_written(body: str) -> None:
    code = f"void f(int n, float *restrict a, const float *restrict b) {{ for (int i = 0; i < n; i += 2) {{ {body} }} }}"
    _, a, _ = analyse("f", code)
    assert a.loop is not None and a.loop.rolled == 0 and a.loop.step == 2


def test_the_remainder_runs_the_rolled_iteration_not_the_users_four_copies() -> None:
    source, a, kernel = analyse("daxpy_by_4", CASES["daxpy_by_4"])
    assert kernel is not None
    (cand,) = propose(a, kernel, "avx2", Settings(), source=source).candidates
    assert "_mm256_loadu_pd(&dy[i])" in cand.function and "permute" not in cand.function
    remainder = cand.function.split("for (; i < (m) + (long long)(4) * ", 1)[1].split("}", 1)[0]
    assert "; i++) {" in remainder and "dy[i] = (dy[i] + (da * dx[i]));" in remainder
    assert "dy[i + 1]" not in remainder


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(CASES))
def test_rolled_rewrites_verify_against_the_unrolled_loop(unrolled: dict[str, CaseResult], name: str) -> None:
    case = unrolled[name]
    assert "avx2" in case.results, case.notes
    result = case.results["avx2"]
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host("avx2")
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.detail}\n{result.candidate.function}"
