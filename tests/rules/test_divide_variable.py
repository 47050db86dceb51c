"""int32 division and remainder by a value that changes in the loop (or is only known at run time) go
through double: convert, one `div_pd`, truncate. The exactness argument (rules/divide.py
`lower_division_through_double`) is checked on the numbers that would break it, and the generated code
against the user's loop in C on data without C's undefined cases (the sandbox's verification of them is
in tests/sandbox/test_sandbox_divisors.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rules_support import ISAS, analyse, needs_compiler, run_edited_against_original

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def _c_quotient(x: int, d: int) -> int:
    q = abs(x) // abs(d)
    return q if (x < 0) == (d < 0) else -q


def _through_double(x: int, d: int) -> int:
    return int(float(x) / float(d))  # Python floats are IEEE doubles; `/` rounds once, int() truncates


def test_the_double_quotient_truncates_to_c_quotient_where_rounding_could_cross_an_integer() -> None:
    rng = random.Random(15)
    pairs = [(x, d) for x in (INT_MIN, INT_MIN + 1, INT_MAX, INT_MAX - 1, -1, 0, 1)
             for d in (1, -1, 2, -2, 3, 7, INT_MAX, INT_MIN, INT_MAX - 1, 46341, -46341, 65536)]
    for _ in range(20000):  # x one away from a multiple of a large divisor: the closest a quotient gets
        d = rng.choice([rng.randint(2, INT_MAX), -rng.randint(2, INT_MAX), rng.randint(2, 1 << 16)])
        m = rng.randint(INT_MIN // abs(d), INT_MAX // abs(d))
        for x in (m * d - 1, m * d + 1, m * d):
            if INT_MIN <= x <= INT_MAX:
                pairs.append((x, d))
    pairs += [(rng.randint(INT_MIN, INT_MAX), rng.randint(INT_MIN, INT_MAX) or 1) for _ in range(20000)]
    for x, d in pairs:
        if x == INT_MIN and d == -1:
            continue  # C leaves it undefined
        assert _through_double(x, d) == _c_quotient(x, d), (x, d)


LOOPS = {
    "div_arrays": "for (int i = 0; i < n; i++) out[i] = a[i] / b[i];",
    "mod_arrays": "for (int i = 0; i < n; i++) out[i] = a[i] % b[i];",
    "div_runtime": "for (int i = 0; i < n; i++) out[i] = a[i] / d;",
    "div_short": "for (int i = 0; i < n; i++) out[i] = (short)(a[i] / ((b[i] & 0xffff) | 1));",
}


def _code(name: str) -> str:
    return (f"void {name}(int *restrict out, const int *restrict a, const int *restrict b, int d, int n)\n"
            f"{{ {LOOPS[name]} }}")


MAIN = """
#include <limits.h>
#include <stdio.h>
#include <string.h>
void NAME(int *restrict out, const int *restrict a, const int *restrict b, int d, int n);
void original(int *restrict out, const int *restrict a, const int *restrict b, int d, int n);
int main(void)
{
    static int a[400], b[400], x[400], y[400];
    const int edge[] = {INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1, -1, 1, 0, 2, -2, 7, -7, 46341, 65536};
    unsigned s = 12345;
    for (int j = 0; j < 400; j++) {
        s = s * 1103515245u + 12345u;
        a[j] = j < 13 * 13 ? edge[j % 13] : (int)(s ^ (s << 7));
        s = s * 1103515245u + 12345u;
        b[j] = j < 13 * 13 ? edge[j / 13] : (int)(s >> (s % 31));
        if (b[j] == 0 || (a[j] == INT_MIN && b[j] == -1)) b[j] = 3;  /* C's undefined cases */
    }
    const int ds[] = {1, -1, 3, -7, 1000, INT_MAX, INT_MIN};
    for (int k = 0; k < 7; k++)
        for (int n = 0; n <= 400; n += 11) {
            memset(x, 0, sizeof x); memset(y, 0, sizeof y);
            if (ds[k] == -1) for (int j = 0; j < 400; j++) if (a[j] == INT_MIN) a[j] = 5;
            NAME(x, a, b, ds[k], n); original(y, a, b, ds[k], n);
            if (memcmp(x, y, sizeof x) != 0) { printf("d=%d n=%d differ\\n", ds[k], n); return 1; }
        }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(LOOPS))
def test_division_by_a_variable_matches_c(tmp_path: Path, isa: str, name: str) -> None:
    code = _code(name)
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    assert "div_pd" in cand.function and "cvttpd_epi32" in cand.function, cand.function
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    run = run_edited_against_original(tmp_path, isa, name, source, cand.edits, code, MAIN.replace("NAME", name))
    assert run.returncode == 0, run.stdout[:2000]


def test_int64_division_by_a_variable_says_why_not() -> None:
    code = "void f(long *restrict o, const long *restrict a, const long *restrict b, int n)\n" \
           "{ for (int i = 0; i < n; i++) o[i] = a[i] / b[i]; }"
    source, analysis, kernel = analyse("div_long", code)
    assert kernel is not None
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert not proposal.candidates
    assert any("only int32 divides exactly through double" in n for n in proposal.notes), proposal.notes
