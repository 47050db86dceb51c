"""Arrays of structures: a member of the structure the loop's subscript (or walking pointer) selects is a
different element in every iteration. It was once read as one loop-invariant scalar (`pts[i].x` became a
parameter `pts_i__x`), and the sandbox, testing that reading against itself, verified the wrong rewrite.

Now, with clang's layout of the structure, `p[i].f` is element S*i + o of the structure array seen as its
member type (`((float *)(p))[3*i + 1]`), and the kernel asserts the layout it relies on (sizeof, member
type, offsetof); without clang's facts, or when the layout is not whole elements of one type, the loop is
refused with a reason naming it. A member of one fixed structure (`c[0].gain`, `c->gain`) stays an
invariant. (tests/rules/test_structures.py verifies the rewrites in the sandbox.)"""

from __future__ import annotations

import re

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.clang_facts import libclang_problem, semantic_facts
from simdlens.config import Settings
from simdlens.core import Analysis, Kernel, LoopVerdict
from simdlens.rules import propose

PRE = """#include <stddef.h>
typedef struct { float x, y; } pt2;
typedef struct { float x, y, z; } pt3;
struct body { double px, py, vx, vy; };
typedef struct { pt2 at; float w; } node2;
"""

READ = {
    "scale_member": "void f(pt2 *p, float s, int n) { for (int i = 0; i < n; i++) p[i].x = p[i].y * s; }",
    "norm2": "void f(float *out, const pt2 *pts, int n) {\n"
             "  for (int i = 0; i < n; i++) out[i] = pts[i].x * pts[i].x + pts[i].y * pts[i].y; }",
    "len3": "void f(float *o, const pt3 *v, int n) {\n"
            "  for (int i = 0; i < n; i++) o[i] = v[i].x * v[i].x + v[i].y * v[i].y + v[i].z * v[i].z; }",
    "sum_member": "double f(const struct body *b, int n) { double s = 0; for (int i = 0; i < n; i++) s += b[i].vx;"
                  " return s; }",
    "offset_subscript": "void f(float *o, const pt2 *p, int n) { for (int i = 0; i < n; i++) o[i] = p[i + 1].y; }",
    "walking_pointer": "void f(float *o, const pt2 *p, int n) { for (int i = 0; i < n; i++) { o[i] = p->x; p++; } }",
    "nested": "void f(float *o, const node2 *q, int n) {\n"
              "  for (int i = 0; i < n; i++) o[i] = q[i].at.y * q[i].w; }",
}

needs_libclang = pytest.mark.skipif(bool(libclang_problem()), reason="libclang is not available")


def analysis(code: str, lang: str, *, clang: bool = True) -> tuple[bytes, Analysis, Kernel | None]:
    source = (PRE + code + "\n").encode()
    path = f"aos.{lang}"
    facts = semantic_facts(source, path, lang) if clang else None  # type: ignore[arg-type]
    fa = analyze_file(source, path, lang, facts=facts)  # type: ignore[arg-type]
    (a,) = fa.analyses
    return source, a, fa.kernels.get(a.site.loop_id)


@needs_libclang
@pytest.mark.parametrize("lang", ["c", "cpp"])
@pytest.mark.parametrize("name", sorted(READ))
def test_members_of_moving_structures_are_strided_accesses_with_their_layout_asserted(name: str, lang: str) -> None:
    source, a, kernel = analysis(READ[name], lang)
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    assert kernel is not None
    facts = {(f.expr, f.type) for f in kernel.type_facts}
    sizes = {"pt2": 8, "pt3": 12, "body": 32, "node2": 12}
    root, size = next((p.name, sizes[t]) for p in kernel.params for t in sizes if re.search(rf"\b{t}\b", p.spelled))
    assert (f"{root}[0]", f"size {size}") in facts
    assert all(not (e == f"{root}[0]" and t in ("float", "double")) for e, t in facts)  # never "a pt3 is a float"
    assert propose(a, kernel, "avx2", Settings(), source=source).candidates


@needs_libclang
def test_footprints_bound_whole_structures() -> None:
    """`o[i] = v[i + 1].y` touches only y (element 3*i + 4), but the harness allocates (and the overlap
    check bounds) every byte of the structures v[1] .. v[n]: the rewrite's block loads read whole ones."""
    _, _, kernel = analysis("void f(float *o, const pt3 *v, int n) { for (int i = 0; i < n; i++) o[i] = v[i + 1].y; }",
                            "c")
    assert kernel is not None
    fp = next(f for f in kernel.footprints if f.param == "v")
    assert (fp.lo, fp.hi) == ("3", "3 * ((((n) > 0 ? (n) : 0)) - 1) + 5")


@pytest.mark.parametrize("name", sorted(READ))
def test_without_clang_the_layout_is_unknown_and_the_reason_says_so(name: str) -> None:
    _, a, kernel = analysis(READ[name], "c", clang=False)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE, a.reasons
    reason = next(r for r in a.reasons if r.code == "array_of_structs")
    assert "array of structures" in reason.message and "clang" in reason.message
    assert kernel is None  # nothing to verify, so nothing can be "verified"


REFUSED = {  # (the loop, what its reason says)
    "packed": ("typedef struct __attribute__((packed)) { unsigned char tag; float v; } rec;\n"
               "void f(float *o, const rec *r, int n) { for (int i = 0; i < n; i++) o[i] = r[i].v * 2.0f; }",
               "the layout of 'rec' (sizeof 5, v at byte 1) is not a whole number of float elements"),
    "two_types": ("typedef struct { float w; int k; } tally;\n"
                  "void f(float *o, const tally *t, int n) { for (int i = 0; i < n; i++) o[i] = t[i].w / (float)t[i].k; }",
                  "reads 'tally' as float (w) and as int32_t (k): a strided view has one element type"),
    "union": ("typedef union { float f; int i; } fu;\n"
              "void f(float *o, const fu *u, int n) { for (int i = 0; i < n; i++) o[i] = u[i].f; }",
              "the elements of u are 'fu', a union"),
    "union_member": ("typedef struct { union { float f; int i; } u; float w; } node;\n"
                     "void f(float *o, const node *q, int n) { for (int i = 0; i < n; i++) o[i] = q[i].u.f; }",
                     "the member u.f of 'node' is not a plain number"),
    "whole_nested": ("typedef struct { pt2 at; float w; } node;\n"
                     "void f(pt2 *o, const node *q, int n) { for (int i = 0; i < n; i++) o[i] = q[i].at; }",
                     "o holds structures ('pt2')"),
}


@needs_libclang
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_layouts_that_are_not_one_strided_array_are_refused_saying_why(name: str) -> None:
    code, said = REFUSED[name]
    _, a, kernel = analysis(code, "c")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    reason = next(r for r in a.reasons if r.code == "array_of_structs")
    assert said in reason.message, reason.message


def test_member_of_one_fixed_structure_is_still_an_invariant() -> None:
    code = ("typedef struct { float gain; int n; } cfg_t;\n"
            "void f(float *restrict o, const float *restrict a, const cfg_t *restrict c, int n) {\n"
            "  for (int i = 0; i < n; i++) o[i] = a[i] * c[0].gain + c->gain; }")
    source, a, kernel = analysis(code, "c", clang=False)
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    assert kernel is not None
    assert propose(a, kernel, "avx2", Settings(), source=source).candidates


CPP_PRE = "#include <vector>\n#include <array>\n#include <cstddef>\n" + PRE + "pt2 G[64];\n"

CPP_READ = {  # (the loop, the array of structures, sizeof its element)
    "vector_subscript": ("void f(std::vector<pt3> &v, float dt) {\n"
                         "  for (size_t i = 0; i < v.size(); i++) v[i].x += v[i].z * dt; }", "v", 12),
    "array_subscript": ("void f(std::array<struct body, 32> &b, float dt) {\n"
                        "  for (size_t i = 0; i < b.size(); i++) b[i].px += b[i].vx * dt; }", "b", 32),
    "range_for_reference": ("void f(std::vector<pt3> &v, float s) { for (auto &p : v) { p.x *= s; p.y *= s; p.z *= s; } }",
                            "v", 12),
    "range_for_const_reference": ("float f(const std::vector<pt3> &v) { float e = 0;\n"
                                  "  for (const pt3 &p : v) e += p.x * p.x + p.y * p.y + p.z * p.z; return e; }", "v", 12),
    "range_for_copy": ("float f(const std::vector<pt2> &v) { float s = 0; for (pt2 p : v) s += p.y; return s; }", "v", 8),
    "range_for_nested": ("float f(const std::vector<node2> &v) { float s = 0;\n"
                         "  for (const auto &q : v) s += q.at.y * q.w; return s; }", "v", 12),
    "range_for_global_array": ("void f(float s) { for (pt2 &p : G) { p.x *= s; p.y *= s; } }", "G", 8),
}


def cpp_analysis(code: str) -> tuple[bytes, Analysis, Kernel | None]:
    source = (CPP_PRE + code + "\n").encode()
    fa = analyze_file(source, "aos.cpp", "cpp", facts=semantic_facts(source, "aos.cpp", "cpp"))
    (a,) = fa.analyses
    return source, a, fa.kernels.get(a.site.loop_id)


@needs_libclang
@pytest.mark.parametrize("name", sorted(CPP_READ))
def test_cpp_containers_of_structures_are_read_like_pointers_to_structures(name: str) -> None:
    """`v[i].x` of a std::vector / std::array of structures and `p.x` of a range-based for over one are the
    same strided members as `v[i].x` of a `pt3 *v`: the kernel takes the structures as a pointer spelled
    with the user's element type, and asserts their layout (a misread one fails to build)."""
    code, root, size = CPP_READ[name]
    source, a, kernel = cpp_analysis(code)
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    assert kernel is not None
    param = next(p for p in kernel.params if p.name == root)
    assert re.search(r"\b(pt2|pt3|node2|struct body) \*", param.spelled), param.spelled
    facts = {(f.expr, f.type) for f in kernel.type_facts}
    assert (f"{root}[0]", f"size {size}") in facts
    assert all(not (e == f"{root}[0]" and t in ("float", "double")) for e, t in facts)
    assert propose(a, kernel, "avx2", Settings(), source=source).candidates


CPP_REFUSED = {  # (the loop, what its reason says)
    "container_member": ("struct poly { std::vector<float> c; float w; };\n"
                         "float f(const std::vector<poly> &ps) { float s = 0; for (const poly &p : ps) s += p.c[0];"
                         " return s; }", "the member c of 'poly' is not a plain number (a structure, a class such as a "
                         "container"),
    "pointer_member": ("struct tag { const char *name; float w; };\n"
                       "int f(const std::vector<tag> &ts) { int s = 0; for (const auto &t : ts) s += t.name[0]; return s; }",
                       "the member name of 'tag' is not a plain number"),
    "changed_copy": ("float f(const std::vector<pt2> &v) { float s = 0; for (pt2 p : v) { p.x *= 2; s += p.x; } return s; }",
                     "p is a copy of each structure of v and the body changes it"),
    "whole_value": ("inline float len2(const pt2 &p) { return p.x * p.x + p.y * p.y; }\n"
                    "float f(const std::vector<pt2> &v) { float s = 0; for (auto &p : v) s += len2(p); return s; }",
                    "uses the structure p (each element of v) as a whole value"),
    "other_type": ("float f(const std::vector<pt3> &v) { float s = 0; for (const pt2 &p : v) s += p.y; return s; }",
                   "the loop variable p ('pt2') is not of the element type of v ('pt3')"),
}


@needs_libclang
@pytest.mark.parametrize("name", sorted(CPP_REFUSED))
def test_cpp_containers_of_structures_that_cannot_be_lanes_are_refused_saying_why(name: str) -> None:
    code, said = CPP_REFUSED[name]
    _, a, kernel = cpp_analysis(code)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and kernel is None
    assert any(said in r.message for r in a.reasons), a.reasons


CPP_CONTAINERS = {
    "vector_subscript": "void f(std::vector<float> &out, const std::vector<pt2> &pts) {\n"
                        "  for (size_t i = 0; i < pts.size(); ++i) out[i] = pts[i].x * pts[i].y; }",
    "range_for": "float f(const std::vector<pt2> &pts) { float s = 0; for (const pt2 &p : pts) s += p.x; return s; }",
    "local_copy": "float f(const pt2 *pts, int n) { float s = 0; for (int i = 0; i < n; i++) { pt2 p = pts[i]; s += p.y; }"
                  " return s; }",
}


@pytest.mark.parametrize("name", sorted(CPP_CONTAINERS))
def test_structures_in_containers_and_copies_say_array_of_structs(name: str) -> None:
    """Without clang's facts (no layout) a container of structures is refused like a pointer to them."""
    source = ("#include <vector>\n" + PRE + CPP_CONTAINERS[name] + "\n").encode()
    (a,) = analyze_file(source, "aos.cpp", "cpp").analyses
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code == "array_of_structs" for r in a.reasons), a.reasons
