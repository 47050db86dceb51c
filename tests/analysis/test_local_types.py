"""Typedefs declared inside a function (or one of its blocks) before a loop type the loop's variables,
and go into its kernel's preamble so the kernel compiles on its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.context import FileContext
from simdlens.analysis.parse import parse

SOURCE = b"""#include <stdint.h>
void f(double *restrict a, const double *restrict b, int n)
{
    typedef double dd;
    typedef dd dd2;
    for (int i = 0; i < n; i++) {
        dd x = b[i];
        dd2 y = x * 2.0;
        a[i] = x + y;
    }
}

void g(double *restrict a, int n)
{
    for (int i = 0; i < n; i++) {
        dd x = a[i];
        a[i] = x;
    }
}
"""


def test_a_function_local_typedef_types_the_loop() -> None:
    fa = analyze_file(SOURCE, "t.c", "c")
    f_loop, g_loop = fa.analyses
    assert f_loop.verdict.value == "vectorizable", f_loop.reasons
    assert f_loop.loop is not None
    assert {s.name: s.type.name for s in f_loop.loop.scalars if s.name in ("x", "y")} == {"x": "double", "y": "double"}
    kernel = fa.kernels[f_loop.site.loop_id]
    assert "typedef double dd;" in kernel.preamble and "typedef dd dd2;" in kernel.preamble
    # another function does not see it
    assert g_loop.verdict.value == "not_vectorizable"
    assert any(r.code == "unknown_type" and "'dd'" in r.message for r in g_loop.reasons)


def test_scope_is_the_block_after_the_declaration() -> None:
    ctx = FileContext.build(SOURCE, "t.c", "c", tree=parse(SOURCE, "c"))
    typedef_at = SOURCE.index(b"typedef double dd;")
    assert ctx.at(typedef_at).resolve_type("dd") is None  # not before its declaration
    inside = ctx.at(SOURCE.index(b"for (int i"))
    assert inside.resolve_type("dd2") is not None and inside.resolve_type("dd2").name == "double"  # type: ignore[union-attr]
    assert ctx.at(SOURCE.index(b"void g")).resolve_type("dd") is None  # not after its block
    assert ctx.resolve_type("dd") is None  # the file scope never had it
    assert inside is ctx.at(SOURCE.index(b"a[i] = x + y"))  # one view per scope, not one per loop
    plain = b"typedef float real;\nvoid h(float *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n"
    plain_ctx = FileContext.build(plain, "p.c", "c")
    assert plain_ctx.at(40) is plain_ctx


def test_cpp_using_alias_in_a_function() -> None:
    src = b"""#include <cstdint>
void f(float *__restrict a, const float *__restrict b, int n)
{
    using real = float;
    for (int i = 0; i < n; i++) { real t = b[i] * 2.0f; a[i] = t; }
}
"""
    fa = analyze_file(src, "t.cpp", "cpp")
    assert fa.analyses[0].verdict.value == "vectorizable", fa.analyses[0].reasons


def test_a_typedef_is_not_seen_outside_its_block_or_before_it() -> None:
    src = b"""void f(float *restrict a, const float *restrict b, int n, int flag)
{
    for (int i = 0; i < n; i++) { late_t t = b[i]; a[i] = t; }
    if (flag) {
        typedef float inner_t;
        for (int i = 0; i < n; i++) { inner_t t = b[i] + 1.0f; a[i] = t; }
    }
    for (int i = 0; i < n; i++) { inner_t t = b[i]; a[i] = t; }
    typedef float late_t;
}
"""
    before, inside, after = analyze_file(src, "t.c", "c").analyses
    assert inside.verdict.value == "vectorizable", inside.reasons
    for a, name in ((before, "late_t"), (after, "inner_t")):
        assert a.verdict.value == "not_vectorizable"
        assert any(r.code == "unknown_type" and f"'{name}'" in r.message for r in a.reasons), a.reasons


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_local_typedef_shadowing_a_file_typedef_gives_a_kernel_that_compiles(tmp_path: Path) -> None:
    src = b"""typedef float real;
void f(double *restrict a, const double *restrict b, int n)
{
    typedef double real;
    for (int i = 0; i < n; i++) { real t = b[i] * 2.0; a[i] = t; }
}
"""
    fa = analyze_file(src, "t.c", "c")
    a = fa.analyses[0]
    assert a.verdict.value == "vectorizable", a.reasons
    assert a.loop is not None and {s.name: s.type.name for s in a.loop.scalars}["t"] == "double"
    kernel = fa.kernels[a.site.loop_id]
    assert "typedef float real;" not in kernel.preamble  # both would be "conflicting types for 'real'"
    code = tmp_path / "k.c"
    # the kernel's `real` is the function's double, not the file's float
    code.write_text(kernel.preamble + "\n" + kernel.source + '\n_Static_assert(sizeof(real) == 8, "double");\n')
    proc = subprocess.run(["gcc", "-std=c11", "-c", "-Wall", "-o", str(tmp_path / "k.o"), str(code)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
