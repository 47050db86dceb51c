"""Semantic facts from clang's front end (analysis.clang_facts) and what the analysis does with them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simdlens.analysis import analyze_file, clang_facts
from simdlens.analysis.build.complex_values import COMPLEX_MULTIPLY
from simdlens.analysis.clang_facts import semantic_facts
from simdlens.analysis.context import FileContext
from simdlens.analysis.ir import Call, Store
from simdlens.core import LoopVerdict

pytestmark = pytest.mark.skipif(bool(clang_facts.libclang_problem()), reason="libclang is not installed")

FIXTURE = Path(__file__).parent.parent / "fixtures" / "semantic" / "hpc_macros.c"

TYPES = b"""
#include <complex.h>
#include <stddef.h>
#define REAL double
typedef REAL real_t;
typedef real_t real2_t;
typedef float complex sample32f_t;
typedef float _Complex cf32_t;
typedef double complex mycomplex;
typedef long double wide_t;
typedef struct { float x, y; } point_t;
typedef enum { RED, GREEN } colour_t;
typedef float v8sf __attribute__((vector_size(32)));
typedef unsigned char pixel_t;
"""


def _ctx(source: bytes, path: str = "t.c", language: str = "c", **flags: object) -> FileContext:
    facts = semantic_facts(source, path, language, **flags)  # type: ignore[arg-type]
    assert facts.ok, facts.problem
    return FileContext.build(source, path, language).with_facts(facts)  # type: ignore[arg-type]


def _verdicts(source: bytes, ctx: FileContext, path: str = "t.c") -> list[tuple[LoopVerdict, list[str]]]:
    fa = analyze_file(source, path, "c", ctx=ctx)
    return [(a.verdict, [f"{r.code}: {r.message}" for r in a.reasons]) for a in fa.analyses]


def test_canonical_types_through_typedef_chains_and_type_macros() -> None:
    ctx = _ctx(TYPES)
    for spelling in ("REAL", "real_t", "real2_t", "const real2_t"):
        t = ctx.resolve_type(spelling)
        assert t is not None and t.name == "double", spelling
    assert ctx.resolve_type("pixel_t").name == "uint8"  # type: ignore[union-attr]
    assert ctx.resolve_type("colour_t").name in ("uint32", "int32")  # type: ignore[union-attr]
    assert ctx.resolve_type("size_t").name == "uint64"  # type: ignore[union-attr]


@pytest.mark.parametrize("name,part", [("sample32f_t", "float"), ("cf32_t", "float"), ("mycomplex", "double")])
def test_complex_typedefs_are_complex_whatever_their_name(name: str, part: str) -> None:
    ctx = _ctx(TYPES)
    assert ctx.resolve_type(name) is None  # never read as its real part
    c = ctx.complex_type(name)
    assert c is not None and c.is_complex and c.name == part
    assert "complex type" in ctx.explain_type(name)


def test_long_double_structs_and_vector_types_are_not_scalars() -> None:
    ctx = _ctx(TYPES)
    assert ctx.resolve_type("wide_t") is None
    assert "long double" in ctx.explain_type("wide_t")
    assert ctx.resolve_type("point_t") is None and ctx.type_fact("point_t").kind == "struct"
    assert ctx.resolve_type("v8sf") is None and ctx.type_fact("v8sf").kind == "vector"


def test_std_complex_in_cpp_is_complex() -> None:
    src = b"#include <complex>\ntypedef std::complex<float> cplx;\nusing zz = std::complex<double>;\n"
    ctx = _ctx(src, "t.cpp", "cpp")
    assert ctx.complex_type("cplx") is not None and ctx.complex_type("cplx").name == "float"  # type: ignore[union-attr]
    assert ctx.complex_type("zz") is not None and ctx.complex_type("zz").name == "double"  # type: ignore[union-attr]
    assert ctx.resolve_type("cplx") is None


def _complex_products(source: bytes, ctx: FileContext) -> list[tuple[str, ...]]:
    """Per loop: the functions its stored values call (a complex multiply reads as COMPLEX_MULTIPLY calls)."""
    fa = analyze_file(source, "t.c", "c", ctx=ctx)
    return [tuple(s.value.func for s in a.loop.body if isinstance(s, Store) and isinstance(s.value, Call))
            for a in fa.analyses if a.loop is not None]


def test_complex_multiply_through_a_typedef_is_read_as_a_complex_multiply() -> None:
    src = TYPES + (b"void cmul(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n) {\n"
                   b"  for (unsigned i = 0; i < n; i++) c[i] = a[i] * b[i];\n}\n"
                   b"void cmul2(sample32f_t *c, const sample32f_t *a, const sample32f_t *b, unsigned n) {\n"
                   b"  for (unsigned i = 0; i < n; i++) c[i] = a[i] * b[i] * b[i];\n}\n")
    ctx = _ctx(src)
    assert _complex_products(src, ctx)[0] == COMPLEX_MULTIPLY  # real and imaginary part, never a float multiply
    (_, _first), (verdict, reasons) = _verdicts(src, ctx)
    # a product that is not stored as it is: refused, naming the complex type
    assert verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.startswith("complex:") and "complex multiply of 'sample32f_t'" in r for r in reasons), reasons


def test_complex_typedef_is_read_as_complex_without_libclang_too() -> None:
    src = TYPES + (b"void cmul(cf32_t *c, const cf32_t *a, unsigned n) {\n"
                   b"  for (unsigned i = 0; i < n; i++) c[i] = a[i] * a[i];\n}\n")
    ctx = FileContext.build(src, "t.c", "c")
    assert ctx.resolve_type("cf32_t") is None and ctx.resolve_type("sample32f_t") is None
    assert _complex_products(src, ctx) == [COMPLEX_MULTIPLY]


def test_macro_sizes_through_a_function_like_macro() -> None:
    src = b"#define LB(c, v) (c)\n#define N LB(100, n)\n#define HALF (N / 2)\n#define NAME hello\n"
    facts = semantic_facts(src, "t.c", "c")
    assert facts.macros["N"].value == 100 and facts.macros["N"].expansion == "(100)"
    assert facts.macros["HALF"].value == 50
    assert facts.macros["NAME"].value is None
    runtime = b"#ifdef RUNTIME\n#define LB(c, v) (v)\n#else\n#define LB(c, v) (c)\n#endif\n#define N LB(100, n)\n"
    facts = semantic_facts(runtime, "t.c", "c", defines={"RUNTIME": "1"})
    assert facts.macros["N"].expansion == "(n)" and facts.macros["N"].value is None


def test_shapes_of_vla_pointer_to_array_and_global_arrays() -> None:
    src = (b"#define M 200\n#define ARR2(name, a, b) name[a][b]\ndouble G[M][M];\n"
           b"void k(int n, int m, double ARR2(A, n, M), double (*P)[M], double V[n][m], const float *restrict x) {\n"
           b"  for (int i = 0; i < n; i++) x += 0;\n}\n")
    facts = semantic_facts(src, "t.c", "c")
    at = src.index(b"for")
    shape = {name: facts.variable(name, at).dims for name in ("G", "A", "P", "V", "x")}  # type: ignore[union-attr]
    assert shape == {"G": ("200", "200"), "A": ("n", "200"), "P": ("*", "200"), "V": ("n", "m"), "x": ("*",)}
    x = facts.variable("x", at)
    assert x is not None and x.restrict and x.element.const and x.element.kind == "float" and x.role == "param"
    assert facts.variable("A", at).through_macro  # type: ignore[union-attr]


def test_parameters_declared_through_a_macro_are_found() -> None:
    src = (b"#define REAL double\n#define VEC(name, len) name[len]\n"
           b"void scale(int n, REAL VEC(a, n), const REAL *restrict b) {\n"
           b"  for (int i = 0; i < n; i++) a[i] = 2.0 * b[i];\n}\n")
    ctx = _ctx(src)
    d = ctx.declaration("a", src.index(b"for"))
    assert d is not None and d.type == "double" and d.param and d.extents == ("n",)
    [(verdict, reasons)] = _verdicts(src, ctx)
    assert verdict == LoopVerdict.VECTORIZABLE, reasons


def test_a_loop_whose_whole_body_is_a_macro_is_read_through_its_expansion() -> None:
    src = (b"#define STEP(i) y[i] = y[i] + 3.0f * x[i];\n"
           b"void axpy(int n, float *restrict y, const float *restrict x) {\n"
           b"  for (int i = 0; i < n; i++)\n    STEP(i)\n}\n")
    [(verdict, reasons)] = _verdicts(src, FileContext.build(src, "t.c", "c"))
    assert verdict == LoopVerdict.NOT_VECTORIZABLE  # tree-sitter alone sees a syntax error
    [(verdict, reasons)] = _verdicts(src, _ctx(src))
    assert verdict == LoopVerdict.VECTORIZABLE, reasons
    assert any(r.startswith("macro_expanded:") and "STEP(i)" in r for r in reasons)


def test_a_macro_around_a_complex_accessor_is_read_through_its_expansion() -> None:
    src = (b"#include <complex.h>\n#include <math.h>\ntypedef float complex fc32_t;\n"
           b"#define re_of(x) (crealf(x))\n#define im_of(x) (cimagf(x))\n#define conj_of(x) (conjf(x))\n"
           b"void mag(float *m, const fc32_t *c, unsigned n) {\n"
           b"  for (unsigned k = 0; k < n; k++) { const float r = re_of(*c); const float i = im_of(*c);\n"
           b"    *m++ = sqrtf(r * r + i * i); c++; }\n}\n"
           b"void cj(fc32_t *o, const fc32_t *a, unsigned n) {\n  while (n-- > 0) *o++ = conj_of(*a++);\n}\n")
    ctx = _ctx(src)
    (mag_verdict, mag_reasons), (cj_verdict, cj_reasons) = _verdicts(src, ctx)
    assert cj_verdict != LoopVerdict.NOT_VECTORIZABLE, cj_reasons
    assert mag_verdict != LoopVerdict.NOT_VECTORIZABLE, mag_reasons
    assert any(r.startswith("macro_expanded:") for r in mag_reasons), mag_reasons
    # `conj_of(*a++)` is a complex value through a macro: simdlens's own reader binds the parameter to it
    without = _verdicts(src, FileContext.build(src, "t.c", "c"))
    assert without[1][0] != LoopVerdict.NOT_VECTORIZABLE, without[1]


def test_hpc_style_file_goes_from_not_vectorizable_to_vectorizable() -> None:
    src = FIXTURE.read_bytes()
    path = str(FIXTURE)
    without = _verdicts(src, FileContext.build(src, path, "c"), path)
    assert len(without) == 3 and all(v == LoopVerdict.NOT_VECTORIZABLE for v, _ in without)
    with_facts = _verdicts(src, _ctx(src, path), path)
    assert [v for v, _ in with_facts] == [LoopVerdict.VECTORIZABLE_WITH_CHECKS, LoopVerdict.VECTORIZABLE,
                                          LoopVerdict.VECTORIZABLE], with_facts
    fa = analyze_file(src, path, "c", facts=semantic_facts(src, path, "c"))
    assert len(fa.kernels) == 3  # each loop has a scalar reference kernel to verify against


def test_runtime_sizes_make_the_size_a_kernel_parameter() -> None:
    src = FIXTURE.read_bytes()
    path = str(FIXTURE)
    defines = {"RUNTIME_SIZES": "1"}
    ctx = FileContext.build(src, path, "c", defines=defines).with_facts(semantic_facts(src, path, "c", defines=defines))
    fa = analyze_file(src, path, "c", ctx=ctx)
    assert all(a.verdict != LoopVerdict.NOT_VECTORIZABLE for a in fa.analyses)
    for loop_id in fa.kernels:  # spelled as the user declared it (the reference is the user's code)
        assert re.search(r"[(,] ?int n[,)]", fa.kernels[loop_id].signature), fa.kernels[loop_id].signature


def test_without_libclang_the_analysis_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clang_facts, "_cindex", lambda: "ImportError: No module named 'clang'")
    clang_facts.clear_cache()
    src = FIXTURE.read_bytes()
    facts = semantic_facts(src, str(FIXTURE), "c")
    assert not facts.ok and "libclang unavailable" in facts.problem
    fa = analyze_file(src, str(FIXTURE), "c", facts=facts)
    assert all(a.verdict == LoopVerdict.NOT_VECTORIZABLE for a in fa.analyses)
    for a in fa.analyses:
        note = [r.message for r in a.reasons if r.code == "semantic_facts"]
        assert note and "libclang unavailable" in note[0] and "simdlens's own reader" in note[0]


def test_a_file_clang_cannot_read_gets_partial_facts_and_errors() -> None:
    src = b"#include \"missing.h\"\ntypedef float real_t;\nvoid f(real_t *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n"
    facts = semantic_facts(src, "t.c", "c")
    assert facts.ok and facts.errors and "missing.h" in facts.errors[0]


def test_facts_are_cached_by_content_flags_and_headers(tmp_path: Path) -> None:
    header = tmp_path / "sizes.h"
    header.write_text("#define LEN 64\n")
    main = tmp_path / "k.c"
    src = b'#include "sizes.h"\nint buf[LEN];\n'
    main.write_bytes(src)
    first = semantic_facts(src, str(main), "c")
    assert first.macros["LEN"].value == 64
    assert semantic_facts(src, str(main), "c") is first
    assert semantic_facts(src, str(main), "c", defines={"X": "1"}) is not first
    header.write_text("#define LEN 128\n")  # a header edit is a new version of the file's facts
    assert semantic_facts(src, str(main), "c").macros["LEN"].value == 128


def test_scan_path_uses_the_facts() -> None:
    from simdlens.config import Settings
    from simdlens.pipeline import analyze_document

    fa = analyze_document(FIXTURE.read_bytes(), str(FIXTURE), "c", Settings())
    assert all(a.verdict != LoopVerdict.NOT_VECTORIZABLE for a in fa.analyses)


def test_facts_kept_on_disk_are_reused_by_a_new_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = b"#define LEN 32\ntypedef float complex_t;\n"
    first = semantic_facts(src, "t.c", "c", disk=tmp_path)
    clang_facts.clear_cache()  # as a new process would start

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(clang_facts, "_Extractor", no_parse)
    again = semantic_facts(src, "t.c", "c", disk=tmp_path)
    assert again == first and again.macros["LEN"].value == 32


def test_two_dimensional_parameters_declared_through_macros_are_read() -> None:
    fixture = FIXTURE.with_name("hpc_2d_macros.c")
    src, path = fixture.read_bytes(), str(fixture)
    without = analyze_file(src, path, "c", ctx=FileContext.build(src, path, "c"))
    assert any(r.code == "unknown_identifier" for a in without.analyses for r in a.reasons)
    fa = analyze_file(src, path, "c", ctx=_ctx(src, path))
    codes = {r.code for a in fa.analyses for r in a.reasons}
    assert not codes & {"macro", "unknown_identifier", "unknown_type", "semantic_facts"}, codes
    scale = [a for a in fa.analyses if a.site.function == "kernel_scale2d" and a.site.depth == 1]
    assert [a.verdict for a in scale] == [LoopVerdict.VECTORIZABLE]


def test_an_earlier_versions_facts_serve_only_while_declarations_are_unchanged() -> None:
    src = FIXTURE.read_bytes()
    path = str(FIXTURE)
    earlier = _ctx(src, path)
    body_edit = src.replace(b"a[i] = ALPHA * b[i];", b"a[i] = ALPHA * b[i] + 1;")
    ctx = FileContext.build(body_edit, path, "c").with_earlier_facts(earlier)
    assert ctx.facts is not None and "earlier version" in ctx.semantic_note
    assert all(v != LoopVerdict.NOT_VECTORIZABLE for v, _ in _verdicts(body_edit, ctx, path))
    define_edit = src.replace(b"#define REAL double", b"#define REAL float")
    assert FileContext.build(define_edit, path, "c").with_earlier_facts(earlier).facts is None


def test_doctor_says_which_builtin_headers_libclang_uses() -> None:
    from simdlens.commands.doctor import _semantic_lines

    lines = _semantic_lines()
    assert any("libclang" in line and "PyPI" in line for line in lines)
    headers = [line for line in lines if "builtin headers" in line]
    assert headers and ("resource dir" in headers[0] or "gcc's include directory" in headers[0])


def test_doctor_says_when_libclang_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from simdlens.commands.doctor import _semantic_lines

    monkeypatch.setattr(clang_facts, "_cindex", lambda: "LibclangError: libclang.so: cannot open shared object file")
    [line] = _semantic_lines()
    assert "libclang unavailable" in line and "simdlens's own reader" in line


def test_a_typedef_in_a_function_body_shadows_the_file_level_one() -> None:
    src = (b"typedef float real;\n"
           b"void f(double *a, int n) {\n  typedef double real;\n  for (int i = 0; i < n; i++) a[i] = (real)i;\n}\n")
    ctx = _ctx(src)
    assert ctx.resolve_type("real").name == "float"  # type: ignore[union-attr]
    assert ctx.at(src.index(b"for")).resolve_type("real").name == "double"  # type: ignore[union-attr]
