"""The shortcuts that make a big file's analysis fast give the same answers as the plain way.

Locals are parsed only up to the loop being analysed, identical parameter lists are parsed once per
file, loop and function nodes found by `find_loops` are reused by the builder, intrinsics are
pre-tested with substring checks.
Each test compares with what the user would see from the straightforward path."""

from __future__ import annotations

from simdlens.analysis import analyze_file, analyze_loops
from simdlens.analysis.build import build_loop
from simdlens.analysis.context import FileContext
from simdlens.analysis.loops import find_loops
from simdlens.analysis.parse import parse
from simdlens.analysis.rewritten import uses_intrinsics
from simdlens.core import Analysis

# In `f`, `k` is first the int parameter, then a float local declared between the two loops; `g`
# repeats f's parameter list verbatim at another place in the file.
SHADOWING = b"""
void f(float *restrict a, int n, int k)
{
    for (int i = 0; i < n; i++)
        a[i] = a[i] * k;
    float k2 = 2.0f;
    {
        float k = k2;
        for (int i = 0; i < n; i++)
            a[i] = a[i] * k;
    }
}

void g(float *restrict a, int n, int k)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] + k;
    a[0] = s;
}
"""


def _multiplier_type(a: Analysis) -> str:
    assert a.loop is not None, a.reasons
    k = a.loop.scalar("k")
    assert k is not None, a.loop.scalars
    return k.type.name


def test_a_local_declared_after_a_loop_is_invisible_to_it_and_shadows_for_the_next() -> None:
    fa = analyze_file(SHADOWING, "t.c", "c")
    first, second, third = fa.analyses
    assert _multiplier_type(first) == "int32"  # the parameter
    assert _multiplier_type(second) == "float"  # the block's local
    assert _multiplier_type(third) == "int32"  # g's own parameter, same text as f's


def test_loops_analysed_last_to_first_see_the_same_declarations() -> None:
    tree = parse(SHADOWING, "c")
    sites = find_loops(tree, SHADOWING, "t.c", "c")
    ctx = FileContext.build(SHADOWING, "t.c", "c", tree=tree)
    forward, _k, _e = analyze_loops(sites, tree, SHADOWING, ctx)
    tree2 = parse(SHADOWING, "c")  # a fresh tree: nothing cached from the forward pass
    backward, _k2, _e2 = analyze_loops(list(reversed(find_loops(tree2, SHADOWING, "t.c", "c"))), tree2, SHADOWING,
                                       ctx)
    assert [_multiplier_type(a) for a in forward] == [_multiplier_type(a) for a in reversed(backward)]
    assert [a.loop for a in forward] == [a.loop for a in reversed(backward)]


def test_parameters_of_a_repeated_signature_keep_their_own_positions() -> None:
    fa = analyze_file(SHADOWING, "t.c", "c")
    f_decl = fa.analyses[0].loop.array("a")  # type: ignore[union-attr]
    g_decl = fa.analyses[2].loop.array("a")  # type: ignore[union-attr]
    assert f_decl is not None and g_decl is not None
    assert f_decl.decl == g_decl.decl == "float *restrict a" and f_decl.restrict and f_decl.is_param


def test_builder_finds_the_loop_without_the_scan_that_found_it() -> None:
    """Sites of one parse used with another tree of the same text: the builder searches that tree."""
    tree = parse(SHADOWING, "c")
    sites = find_loops(tree, SHADOWING, "t.c", "c")
    ctx = FileContext.build(SHADOWING, "t.c", "c", tree=tree)
    other = parse(SHADOWING, "c")
    for site in sites:
        assert build_loop(site, other, SHADOWING, ctx) == build_loop(site, tree, SHADOWING, ctx)


def test_intrinsic_names_are_still_found_after_the_cheap_pretest() -> None:
    assert uses_intrinsics(b"__m256 v = _mm256_loadu_ps(p);") == "__m256"
    assert uses_intrinsics(b"x = _mm512_add_epi32 (a, b);") == "_mm512_add_epi32"
    assert uses_intrinsics(b"float32x4_t q = vld1q_f32(p);") == "float32x4_t"
    assert uses_intrinsics(b"svbool_t pg = svptrue_b32();") == "svbool_t"
    assert uses_intrinsics(b"/* __m256 */ a[i] = b[i] * 2.0f;") == ""  # in a comment only
    assert uses_intrinsics(b"for (int i = 0; i < n; i++) s += a[i] * 0x1p3;") == ""
