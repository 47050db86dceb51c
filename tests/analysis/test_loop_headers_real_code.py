"""Loop headers and expressions as DSP libraries write them: a step named by a `const` (or `static const`)
local or global (`i += N_UNROLL`), a bound tested on the counter plus a constant (`i + 1 < n`, `i + 8 <=
len`), and a macro whose expansion parenthesises a call (`#define re(x) (crealf(x))`, which the parser
reads as a cast to a function type in `re(z) * re(z)`). The kernel the sandbox builds declares the
constants the loop's text names; the bound is counted in long long, so `i + 1 < n` with an unsigned n of 0
runs no iteration."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.clang_facts import semantic_facts


def _analyses(code: str, facts: bool = False):  # type: ignore[no-untyped-def]
    source = code.encode()
    got = semantic_facts(source, "/tmp/headers.c", "c") if facts else None
    fa = analyze_file(source, "/tmp/headers.c", "c", facts=got)
    return fa


UNROLLED = """
void scale4(float *a, const float *b, unsigned n) {
    %s
    unsigned m = (n / U) * U;
    for (unsigned i = 0; i < m; i += U) {
        a[i] = b[i] * 2.0f; a[i + 1] = b[i + 1] * 2.0f; a[i + 2] = b[i + 2] * 2.0f; a[i + 3] = b[i + 3] * 2.0f;
    }
}
"""


@pytest.mark.parametrize("decl", ["static const int U = 4;", "const int U = 4;", "const unsigned U = 2 + 2;"])
def test_a_step_named_by_a_const_local_is_that_constant(decl: str) -> None:
    fa = _analyses(UNROLLED % decl)
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
    assert a.loop.rolled == 4 and a.loop.step == 1  # U read as 4: four copies of one iteration, rolled
    assert any("U = " in c for c in a.loop.constants)
    kernel = fa.kernels[a.site.loop_id]
    assert kernel is not None
    assert "U = " in kernel.source.split("{", 1)[1]  # declared in the kernel, before the user's loop


def test_a_const_local_the_loop_could_change_or_that_is_not_constant_stays_a_variable() -> None:
    for decl in ("int U = 4;", "const int U = n / 2;", "volatile const int U = 4;"):
        fa = _analyses(UNROLLED % decl)
        (a,) = fa.analyses
        assert a.loop is None and any(r.code == "variable_step" for r in a.reasons), (decl, a.reasons)


def test_a_const_global_step_is_that_constant_and_not_redeclared() -> None:
    fa = _analyses("static const int G = 2;\n"
                   "void f(float *a, const float *b, int n) { for (int i = 0; i < n; i += G) a[i] = b[i]; }\n")
    (a,) = fa.analyses
    assert a.loop is not None and a.loop.step == 2 and a.loop.constants == ()


@pytest.mark.parametrize(("cond", "upper"), [
    ("i + 1 < n", "(long long)(n) - 1"),
    ("n > i + 1", "(long long)(n) - 1"),
    ("i + 8 <= n", "(long long)(n) - 8"),
    ("1 + i < n", "(long long)(n) - 1"),
    ("i - 2 < n", "(long long)(n) - -2"),
])
def test_a_bound_on_the_counter_plus_a_constant_is_the_bound_minus_it(cond: str, upper: str) -> None:
    fa = _analyses(f"void f(float *a, const float *b, unsigned n) {{ for (unsigned i = 0; {cond}; i++) a[i] = b[i]; }}\n")
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
    assert a.loop.upper == upper and a.loop.cmp in ("<", "<=")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_trip_count_of_counter_plus_constant_never_wraps(tmp_path: Path) -> None:
    """The trip count simdlens derives, compiled, counts what the loop runs, for n of 0 and 1 too."""
    fa = _analyses("void f(float *a, unsigned n) { for (unsigned i = 0; i + 1 < n; i += 2) a[i] = 1.0f; }\n")
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
    program = tmp_path / "trip.c"
    program.write_text("#include <stdio.h>\nint main(void) { int bad = 0;\n"
                       "  for (unsigned n = 0; n < 40; n++) { long long want = 0;\n"
                       "    for (unsigned i = 0; i + 1 < n; i += 2) want++;\n"
                       f"    long long got = {a.loop.trip_count};\n"
                       "    if (got != want) { printf(\"n=%u %lld %lld\\n\", n, got, want); bad = 1; } }\n"
                       "  return bad; }\n")
    subprocess.run(["gcc", "-O0", "-o", str(tmp_path / "trip"), str(program)], check=True)
    run = subprocess.run([str(tmp_path / "trip")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_a_macro_that_parenthesises_a_call_is_read_as_the_call() -> None:
    code = ("#include <complex.h>\ntypedef float complex cf_t;\n#define re_of(x) (crealf(x))\n#define im_of(x) (cimagf(x))\n"
            "void power(float *out, const cf_t *z, unsigned n) {\n"
            "    for (unsigned i = 0; i < n; i++) out[i] = re_of(z[i]) * re_of(z[i]) + im_of(z[i]) * im_of(z[i]);\n"
            "}\n")
    fa = _analyses(code, facts=True)
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
    assert any(r.code == "macro_expanded" for r in a.reasons)


def test_a_parenthesised_call_before_an_operator_is_a_value_not_a_cast() -> None:
    code = ("#include <complex.h>\nvoid power(float *out, const float complex *z, unsigned n) {\n"
            "    for (unsigned i = 0; i < n; i++) out[i] = (crealf(z[i])) * (crealf(z[i])) - (cimagf(z[i])) * 2.0f;\n"
            "}\n")
    fa = _analyses(code)
    (a,) = fa.analyses
    assert a.loop is not None, a.reasons
