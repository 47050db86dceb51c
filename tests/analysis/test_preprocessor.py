"""Loops in code the preprocessor skips (`#if 0`, `#ifdef NEVER_DEFINED`, the `#else` of `#if 1`) are
not loops of the program: simdlens does not report them, as an editor greys them out. Only conditions
it can decide for sure hide anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.context import FileContext
from simdlens.analysis.loops import find_loops
from simdlens.analysis.parse import parse
from simdlens.core import LoopVerdict


def body(tag: int) -> str:
    return f"    for (int i = 0; i < n; i++) a[i] = {tag}.0f; /* loop {tag} */\n"


def found(source: str, *, ctx: bool = False, path: str = "pp.c", language: str = "c",
          defines: dict[str, str] | None = None, complete: bool = True) -> list[int]:
    """The tags of the loops find_loops reports, without / with the file context (`complete`: its -D
    defines are all the build's, as from a compile database entry)."""
    src = source.encode()
    tree = parse(src, language)  # type: ignore[arg-type]
    context = (FileContext.build(src, path, language, tree=tree, defines=defines,  # type: ignore[arg-type]
                                 defines_complete=complete) if ctx else None)
    sites = find_loops(tree, src, path, language, ctx=context)  # type: ignore[arg-type]
    return [int(src[s.span.start_byte:s.span.end_byte + 20].split(b"/* loop ")[1].split(b" ")[0]) for s in sites]


def fn(inner: str) -> str:
    return "void f(float *a, int n)\n{\n" + inner + "}\n"


def test_if_zero_and_else_of_if_one_are_not_loops() -> None:
    src = ("#if 0\n" + fn(body(1)) + "#endif\n"
           + fn("#if 0\n" + body(2) + "#else\n" + body(3) + "#endif\n"
                + "#if 1\n" + body(4) + "#elif 1\n" + body(5) + "#else\n" + body(6) + "#endif\n"
                + "#if 0 && defined(X)\n" + body(7) + "#endif\n"
                + "#if (2 > 1) || Y\n" + body(8) + "#else\n" + body(9) + "#endif\n"))
    assert found(src) == [3, 4, 8]


def test_the_files_own_macros_decide_in_order() -> None:
    src = ("#define USE_FAST 0\n#define LEVEL 3\n#define HAVE_X\n#define N (LEVEL * 2)\n"
           + fn("#if USE_FAST\n" + body(1) + "#endif\n"
                + "#ifndef HAVE_X\n" + body(2) + "#else\n" + body(3) + "#endif\n"
                + "#if LEVEL >= 2 && N == 6\n" + body(4) + "#else\n" + body(5) + "#endif\n"
                + "#ifdef LATER\n" + body(6) + "#endif\n")
           + "#define LATER 1\n#undef USE_FAST\n"
           + fn("#ifdef LATER\n" + body(7) + "#endif\n#ifdef USE_FAST\n" + body(8) + "#endif\n"))
    # LATER is defined after its first test: that first test cannot be decided (a header could define it)
    assert found(src) == [3, 4, 6, 7]


@pytest.mark.parametrize("condition", [
    "#ifdef NEVER_DEFINED",  # without the build's macros: a -D flag may define it
    "#if UNKNOWN_LEVEL > 2",
    "#if __has_include(<foo.h>)",
    "#if VERSION(1, 2)",
    "#ifdef __AVX2__",
    "#if defined(_OPENMP)",
    "#if __cplusplus >= 201703L",
])
def test_undecidable_conditions_keep_every_branch(condition: str) -> None:
    src = fn(condition + "\n" + body(1) + "#else\n" + body(2) + "#endif\n")
    assert found(src) == [1, 2]


def test_a_header_guard_hides_nothing() -> None:
    src = "#ifndef PP_H\n#define PP_H\n" + fn(body(1)) + "#endif\n"
    assert found(src, path="pp.h") == [1]
    assert found(src, path="pp.h", ctx=True) == [1]


def test_a_macro_defined_in_an_undecided_branch_is_unknown_after_it() -> None:
    src = ("#ifdef SOMETHING\n#define FAST 1\n#else\n#define FAST 0\n#endif\n"
           + fn("#if FAST\n" + body(1) + "#endif\n"))
    assert found(src) == [1]


def test_cplusplus_is_known_from_the_language() -> None:
    src = fn("#ifdef __cplusplus\n" + body(1) + "#else\n" + body(2) + "#endif\n")
    assert found(src) == [2]
    assert found(src, path="pp.cpp", language="cpp") == [1]


def test_with_the_build_macros_undefined_names_are_known() -> None:
    src = fn("#ifdef NEVER_DEFINED\n" + body(1) + "#else\n" + body(2) + "#endif\n"
             + "#if LEVEL > 2\n" + body(3) + "#endif\n#ifdef __AVX2__\n" + body(4) + "#endif\n")
    assert found(src, ctx=True) == [2, 4]
    assert found(src, ctx=True, defines={"NEVER_DEFINED": "1", "LEVEL": "3"}) == [1, 3, 4]
    assert found(src, ctx=True, defines={"LEVEL": "2"}) == [2, 4]
    # without a compile database any -D may be missing: NEVER_DEFINED / LEVEL are a guess, nothing is hidden
    assert found(src, ctx=True, complete=False) == [1, 2, 3, 4]
    assert found(src, ctx=True, defines={"LEVEL": "2"}, complete=False) == [1, 2, 4]


def test_an_unread_include_leaves_unknown_macros_unknown(tmp_path: Path) -> None:
    src = '#include "config.h"\n' + fn("#ifdef HAVE_FMA\n" + body(1) + "#endif\n#if FEATURE\n" + body(2) + "#endif\n")
    path = tmp_path / "pp.c"
    assert found(src, ctx=True, path=str(path)) == [1, 2]  # config.h is missing: it may define them
    (tmp_path / "config.h").write_text("#define FEATURE 0\n")
    assert found(src, ctx=True, path=str(path)) == []  # read: FEATURE is 0, HAVE_FMA defined nowhere
    (tmp_path / "config.h").write_text("#define FEATURE 1\n#define HAVE_FMA\n")
    assert found(src, ctx=True, path=str(path)) == [1, 2]
    project_header = '#include <mylib/config.h>\n#include <stdio.h>\n' + fn("#ifdef HAVE_FMA\n" + body(1) + "#endif\n")
    assert found(project_header, ctx=True, path=str(path)) == [1]  # an unknown <…> header counts as unread


def test_analyze_file_never_analyses_a_skipped_loop() -> None:
    src = ("#if 0\n" + fn(body(1)) + "#endif\n"
           + fn("#ifdef NEVER_DEFINED\n" + body(2) + "#endif\n" + body(3))).encode()
    ctx = FileContext.build(src, "pp.c", "c", defines_complete=True)  # as from a compile database entry
    fa = analyze_file(src, "pp.c", "c", ctx=ctx)
    by_line = {a.site.span.start.line + 1: a for a in fa.analyses}
    assert 3 not in by_line  # `#if 0`: not a loop at all
    assert by_line[12].verdict.value == "vectorizable"  # loop 3
    assert 10 not in by_line  # `#ifdef NEVER_DEFINED` with no -D defining it: skipped like `#if 0`
    assert not any(a.site.loop_id in fa.kernels for a in fa.analyses if a.site.span.start.line + 1 != 12)
    with_define = analyze_file(src, "pp.c", "c", defines={"NEVER_DEFINED": "1"})
    assert [a.verdict.value for a in with_define.analyses] == ["vectorizable", "vectorizable"]
    # without a compile database a -D flag may define it: the loop is kept, not hidden on a guess
    without_database = analyze_file(src, "pp.c", "c")
    assert [a.site.span.start.line + 1 for a in without_database.analyses] == [10, 12]


def test_a_decided_conditional_inside_the_loop_body_is_read_as_its_compiled_branch() -> None:
    src = b"""#define CHECKS 0
void f(float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
#if 0
        for (int k = 0; k < 4; k++) a[k] = 0.0f;
#endif
        a[i] = b[i];
    }
    for (int i = 0; i < n; i++) {
#if CHECKS
        if (b[i] < 0.0f) return;
#else
        a[i] = b[i] * 2.0f;
#endif
    }
    for (int i = 0; i < n; i++) {
#ifdef DEBUG
        a[i] = 0.0f;
#endif
        a[i] += b[i];
    }
}
"""
    fa = analyze_file(src, "pp.c", "c")
    first, second, third = fa.analyses
    assert first.site.role.value == "innermost" and first.verdict.value == "vectorizable", first.reasons
    assert second.verdict.value == "vectorizable" and "search" not in second.facts, second.reasons
    kernel = fa.kernels[second.site.loop_id]
    assert "#define CHECKS 0" in kernel.preamble  # the kernel decides the branch the same way
    assert third.verdict.value == "not_vectorizable"
    assert "'#ifdef DEBUG' inside the loop" in third.reasons[0].message


def test_editing_a_condition_in_the_editor_brings_its_loops_back() -> None:
    from simdlens.analysis.document import SourceDocument

    src = ("#define USE 0\n" + fn("#if 0\n" + body(1) + "#endif\n" + body(2))
           + fn("#if USE\n" + body(3) + "#endif\n")).encode()
    doc = SourceDocument(src, "pp.c", "c")
    assert len(doc.sites) == 1
    at = src.index(b"#if 0") + 4
    changed = doc.apply_edit(at, at + 1, b"1")  # `#if 0` -> `#if 1` inside the function
    assert len(changed.added) == 1 and len(doc.sites) == 2
    at = doc.source.index(b"#if 1") + 4
    changed = doc.apply_edit(at, at + 1, b"0")
    assert len(changed.removed) == 1 and len(doc.sites) == 1


@pytest.mark.parametrize(("header", "condition"), [
    ("<limits.h>", "#if CHAR_BIT == 8"),  # CHAR_BIT comes from the unread <limits.h>
    ("<math.h>", "#ifdef M_PI"),
    ("<math.h>", "#if !defined(M_PI)"),
    ("<assert.h>", "#ifdef NDEBUG"),
    ('"missing.h"', "#if FEATURE > 1"),
])
def test_a_macro_an_unread_header_may_define_hides_no_loop(header: str, condition: str) -> None:
    src = f"#include {header}\n" + fn(condition + "\n" + body(1) + "#else\n" + body(2) + "#endif\n")
    assert found(src, ctx=True) == [1, 2]  # even with every -D known
    fa = analyze_file(src.encode(), "pp.c", "c")
    assert [a.verdict.value for a in fa.analyses] == ["vectorizable", "vectorizable"]


def test_the_files_own_macros_and_flags_still_decide_after_a_system_include() -> None:
    src = ("#include <stdio.h>\n#include <math.h>\n#define USE_FAST 0\n"
           + fn("#if 0\n" + body(1) + "#endif\n#if 1\n" + body(2) + "#else\n" + body(3) + "#endif\n"
                + "#if USE_FAST\n" + body(4) + "#endif\n#ifdef FAST_MATH\n" + body(5) + "#else\n" + body(6)
                + "#endif\n#if defined(USE_FAST) && !USE_FAST\n" + body(7) + "#endif\n"))
    assert found(src, ctx=True) == [2, 5, 6, 7]
    assert found(src, ctx=True, defines={"FAST_MATH": "1"}) == [2, 5, 7]


def test_names_gcc_predefines_in_gnu_mode_are_not_known_undefined() -> None:
    src = fn("#ifdef linux\n" + body(1) + "#else\n" + body(2) + "#endif\n")
    assert found(src, ctx=True) == [1, 2]  # gcc's default -std=gnu17 defines `linux`; -std=c11 does not


def test_a_static_helper_function_is_read_in_expressions_but_is_not_a_macro_to_the_preprocessor() -> None:
    src = (b"static inline int clamp0(int v) { return v < 0 ? 0 : v; }\n"
           b"#if defined(clamp0)\n"
           b"void never(int *o, int n) { for (int i = 0; i < n; i++) o[i] = 1; }\n"
           b"#endif\n"
           b"void g(int *restrict o, const int *restrict a, int n) { for (int i = 0; i < n; i++) o[i] = clamp0(a[i]); }\n")
    assert not FileContext.build(src, "h.c", "c", defines_complete=True).is_defined("clamp0")
    fa = analyze_file(src, "h.c", "c", defines_complete=True)
    functions = [a.site.function for a in fa.analyses]
    assert functions == ["g"]  # `#if defined(clamp0)` is false: clamp0 is a function, not a macro
    assert fa.analyses[0].verdict is not LoopVerdict.NOT_VECTORIZABLE, fa.analyses[0].reasons  # read through


EXTERN_C = ("#ifdef __cplusplus\nextern \"C\" {\n#endif\n" + fn(body(1)) + "#ifdef __cplusplus\n}\n#endif\n")


def test_an_extern_c_guard_hides_no_loop_in_c_or_cpp() -> None:
    """The parser nests `#ifdef __cplusplus` / `extern "C" {` / `#endif` by its braces, as if the functions
    up to the closing `}` were under the `#ifdef`; the preprocessor ends the group at its `#endif`."""
    assert found(EXTERN_C) == [1]
    assert found(EXTERN_C, path="pp.cpp", language="cpp") == [1]


@pytest.mark.parametrize(("path", "language"), [("pp.c", "c"), ("pp.cpp", "cpp")])
def test_the_kernel_context_closes_the_extern_c_brace_under_its_own_condition(path: str, language: str) -> None:
    """The file up to the function, then `}` only where `extern "C" {` was compiled: never an `#endif`
    without its `#if`, never a `}` the C build never opened."""
    fa = analyze_file(EXTERN_C.encode(), path, language)  # type: ignore[arg-type]
    (a,) = fa.analyses
    kernel = fa.kernels[a.site.loop_id]
    assert kernel.context is not None
    assert kernel.context.closers.startswith("#ifdef __cplusplus\n}\n#endif\n"), kernel.context.closers
