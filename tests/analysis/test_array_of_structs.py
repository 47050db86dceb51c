"""Arrays of structures: a member of the structure the loop's subscript (or walking pointer) selects is a
different element in every iteration. It was read as one loop-invariant scalar (`pts[i].x` became a
parameter `pts_i__x`), and the sandbox, testing that reading against itself, verified the wrong rewrite.
Now every such member read or write is refused with the reason, in C and C++; a member of one fixed
structure (`c[0].gain`, `c->gain`) stays an invariant."""

from __future__ import annotations

import pytest

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import Analysis, LoopVerdict
from simdlens.rules import propose

PRE = """#include <stddef.h>
typedef struct { float x, y; } pt2;
typedef struct { float x, y, z; } pt3;
struct body { double px, py, vx, vy; };
"""

REFUSED = {
    "scale_member": "void f(pt2 *p, float s, int n) { for (int i = 0; i < n; i++) p[i].x = p[i].y * s; }",
    "norm2": "void f(float *out, const pt2 *pts, int n) {\n"
             "  for (int i = 0; i < n; i++) out[i] = pts[i].x * pts[i].x + pts[i].y * pts[i].y; }",
    "len3": "void f(float *o, const pt3 *v, int n) {\n"
            "  for (int i = 0; i < n; i++) o[i] = v[i].x * v[i].x + v[i].y * v[i].y + v[i].z * v[i].z; }",
    "sum_member": "double f(const struct body *b, int n) { double s = 0; for (int i = 0; i < n; i++) s += b[i].vx;"
                  " return s; }",
    "offset_subscript": "void f(float *o, const pt2 *p, int n) { for (int i = 0; i < n; i++) o[i] = p[i + 1].y; }",
    "walking_pointer": "void f(float *o, const pt2 *p, int n) { for (int i = 0; i < n; i++) { o[i] = p->x; p++; } }",
}


def analysis(code: str, lang: str) -> tuple[bytes, Analysis, object]:
    source = (PRE + code + "\n").encode()
    fa = analyze_file(source, f"aos.{lang}", lang)
    (a,) = fa.analyses
    return source, a, fa.kernels.get(a.site.loop_id)


@pytest.mark.parametrize("lang", ["c", "cpp"])
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_member_of_the_current_structure_is_refused_with_the_reason(name: str, lang: str) -> None:
    _, a, kernel = analysis(REFUSED[name], lang)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE, a.reasons
    reason = next(r for r in a.reasons if r.code == "array_of_structs")
    assert "array of structures" in reason.message and "not rewritten" in reason.message
    assert kernel is None  # nothing to verify, so nothing can be "verified"


def test_the_reason_names_what_moves() -> None:
    _, a, _ = analysis(REFUSED["norm2"], "c")
    assert "pts[i].x reads a member of an array of structures (pts[i]: a subscript that varies" in a.reasons[0].message
    _, a, _ = analysis(REFUSED["walking_pointer"], "c")
    assert "p: a pointer the loop moves" in a.reasons[0].message


def test_member_of_one_fixed_structure_is_still_an_invariant() -> None:
    code = ("typedef struct { float gain; int n; } cfg_t;\n"
            "void f(float *restrict o, const float *restrict a, const cfg_t *restrict c, int n) {\n"
            "  for (int i = 0; i < n; i++) o[i] = a[i] * c[0].gain + c->gain; }")
    source, a, kernel = analysis(code, "c")
    assert a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    assert kernel is not None
    assert propose(a, kernel, "avx2", Settings(), source=source).candidates


CPP_CONTAINERS = {
    "vector_subscript": "void f(std::vector<float> &out, const std::vector<pt2> &pts) {\n"
                        "  for (size_t i = 0; i < pts.size(); ++i) out[i] = pts[i].x * pts[i].y; }",
    "range_for": "float f(const std::vector<pt2> &pts) { float s = 0; for (const pt2 &p : pts) s += p.x; return s; }",
    "local_copy": "float f(const pt2 *pts, int n) { float s = 0; for (int i = 0; i < n; i++) { pt2 p = pts[i]; s += p.y; }"
                  " return s; }",
}


@pytest.mark.parametrize("name", sorted(CPP_CONTAINERS))
def test_structures_in_containers_and_copies_say_array_of_structs(name: str) -> None:
    source = ("#include <vector>\n" + PRE + CPP_CONTAINERS[name] + "\n").encode()
    (a,) = analyze_file(source, "aos.cpp", "cpp").analyses
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code == "array_of_structs" for r in a.reasons), a.reasons
