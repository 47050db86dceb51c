"""Comma expressions as f2c-translated code (CLAPACK, the netlib reference BLAS) writes |x|: `(d__1 = dx[i],
d__1 >= 0. ? d__1 : -d__1)`. The first parts run as statements before the statement that holds the
comma, the last part is its value, so `dtemp += (d__1 = ..., ...)` is a sum and `if ((r__1 = ..., |r__1|)
> smax) { ret_val = i; smax = (r__1 = ..., |r__1|); }` an argmax; both rewrites verify against the
user's loop. A temporary the comma assigns keeps its value for the statements after it; a comma in an
operand C may not evaluate (a `?:` branch, the right of `&&`) is refused with that reason."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.analysis.ir import ArgReduce, Let, Reduce
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status

CASES = {
    "f2c_dasum": """typedef double doublereal;
doublereal f2c_dasum(int *n, doublereal *dx) {
    int i__1; doublereal ret_val, d__1; static int i__; static doublereal dtemp;
    --dx;
    dtemp = 0.;
    i__1 = *n;
    for (i__ = 1; i__ <= i__1; ++i__) {
        dtemp += (d__1 = dx[i__], d__1 >= 0. ? d__1 : -d__1);
    }
    ret_val = dtemp;
    return ret_val;
}""",
    "f2c_isamax": """typedef float real;
int f2c_isamax(int *n, real *sx) {
    int ret_val, i__1; real r__1; static int i__; static real smax;
    --sx;
    ret_val = 1;
    smax = (r__1 = sx[1], r__1 >= 0.f ? r__1 : -r__1);
    i__1 = *n;
    for (i__ = 2; i__ <= i__1; ++i__) {
        if ((r__1 = sx[i__], r__1 >= 0.f ? r__1 : -r__1) > smax) {
            ret_val = i__;
            smax = (r__1 = sx[i__], r__1 >= 0.f ? r__1 : -r__1);
        }
    }
    return ret_val;
}""",
    # t keeps the comma's value for the next statement: a Let before the store, not a value folded away
    "comma_temporary_read_after": """void comma_temporary_read_after(int n, const int32_t *a, int32_t *b, int32_t *c) {
    int32_t t;
    for (int i = 0; i < n; i++) {
        b[i] = (t = a[i] * 3, t - 7);
        c[i] = t ^ 5;
    }
}""",
}


@pytest.fixture(scope="module")
def commas(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(CASES.items()), rule_settings)


def test_the_first_parts_of_a_comma_run_before_its_statement() -> None:
    _, a, _ = analyse("f2c_dasum", CASES["f2c_dasum"])
    assert a.loop is not None, a.reasons
    lets = [s for s in a.loop.body if isinstance(s, Let)]
    sums = [s for s in a.loop.body if isinstance(s, Reduce)]
    assert [s.name for s in lets] == ["d__1"] and [s.var for s in sums] == ["dtemp"]
    assert a.loop.body.index(lets[0]) < a.loop.body.index(sums[0])
    _, b, _ = analyse("f2c_isamax", CASES["f2c_isamax"])
    assert b.loop is not None, b.reasons
    (arg,) = [s for s in b.loop.body if isinstance(s, ArgReduce)]
    assert (arg.value_var, arg.index_var) == ("smax", "ret_val")


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(CASES))
def test_loops_with_comma_expressions_verify(commas: dict[str, CaseResult], name: str) -> None:
    case = commas[name]
    assert "avx2" in case.results, (case.analysis.reasons if case.analysis else None, case.notes)
    result = case.results["avx2"]
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host("avx2")
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.detail}\n{result.candidate.function}"


@pytest.mark.parametrize("body", [
    "b[i] = a[i] > 0 ? (t = a[i] * 2, t + 1) : a[i];",
    "b[i] = a[i] > 0 && (t = a[i], t > 3);",
])
def test_a_comma_in_an_operand_that_may_not_run_is_refused_with_that_reason(body: str) -> None:
    code = f"void f(int n, const int32_t *a, int32_t *b) {{ int32_t t; for (int i = 0; i < n; i++) {body} }}"
    _, a, kernel = analyse("f", code)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert any("may not evaluate" in r.message for r in a.reasons), a.reasons
