"""C++ references declared in a loop body (`float &o = out[i];`, `const vec3 &v = p[i].vel;`) name the element
they bind to: the loop reads as if the element were spelled at every use, and its rewrite is verified in
the sandbox against the user's loop. A reference whose subscript the body changes later (`float &r =
a[j]; j++;`: it still names the old element) or of another type than the element is refused, saying so.

Iterator loops over containers (`for (auto it = v.begin(); it != v.end(); ++it) *it += 1;`) read like a
range-based for by reference: `*it` is the element; a body that moves the iterator or uses it otherwise is
refused."""

from __future__ import annotations

import asyncio

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.clang_facts import libclang_problem, semantic_facts
from simdlens.config import Settings
from simdlens.core import Analysis, Kernel
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import host_cpu

PRE = """#include <cstddef>
struct vec3 { float x, y, z; };
struct particle { vec3 pos; vec3 vel; float mass; float pad; };
"""

# name: (loop written with references, the same loop with the elements spelled out)
SAME = {
    "scalar_refs": (
        "void f(float *__restrict out, const float *__restrict in, int n, float g) {\n"
        "  for (int i = 0; i < n; ++i) { float &o = out[i]; const float &x = in[i]; o = x * g; o += 1.0f; } }",
        "void f(float *__restrict out, const float *__restrict in, int n, float g) {\n"
        "  for (int i = 0; i < n; ++i) { out[i] = in[i] * g; out[i] += 1.0f; } }"),
    "member_of_struct_ref": (
        "float f(const particle *ps, int n) { float e = 0.0f;\n"
        "  for (int i = 0; i < n; ++i) { const vec3 &v = ps[i].vel; e += ps[i].mass * (v.x * v.x + v.y * v.y); }\n"
        "  return e; }",
        "float f(const particle *ps, int n) { float e = 0.0f;\n"
        "  for (int i = 0; i < n; ++i) { e += ps[i].mass * (ps[i].vel.x * ps[i].vel.x + ps[i].vel.y * ps[i].vel.y); }\n"
        "  return e; }"),
    "whole_struct_ref": (
        "void f(particle *ps, int n, float dt) {\n"
        "  for (int i = 0; i < n; ++i) { particle &p = ps[i]; p.pos.x += p.vel.x * dt; p.pos.y += p.vel.y * dt; } }",
        "void f(particle *ps, int n, float dt) {\n"
        "  for (int i = 0; i < n; ++i) { ps[i].pos.x += ps[i].vel.x * dt; ps[i].pos.y += ps[i].vel.y * dt; } }"),
    "conditional_write": (
        "void f(float *__restrict out, const float *__restrict x, int n) {\n"
        "  for (int i = 0; i < n; ++i) { float &r = out[i]; if (x[i] > 0) r = x[i]; } }",
        "void f(float *__restrict out, const float *__restrict x, int n) {\n"
        "  for (int i = 0; i < n; ++i) { if (x[i] > 0) out[i] = x[i]; } }"),
    "local_of_the_same_name_after_the_block": (
        "void f(float *__restrict out, float *__restrict a, int n) {\n"
        "  for (int i = 0; i < n; ++i) { { float &r = a[i]; r = 1.0f; } { float r = 2.0f; out[i] = r; } } }",
        "void f(float *__restrict out, float *__restrict a, int n) {\n"
        "  for (int i = 0; i < n; ++i) { { a[i] = 1.0f; } { float r = 2.0f; out[i] = r; } } }"),
}

REFUSED = {
    "rebound_subscript": ("void f(float *a, int n) { int j = 0;\n"
                          "  for (int i = 0; i < n; ++i) { float &r = a[j]; j++; r = 2.0f; } }",
                          "declares the pointer/reference r"),
    "other_type": ("void f(float *a, const int *b, int n) {\n"
                   "  for (int i = 0; i < n; ++i) { const float &r = b[i]; a[i] = r; } }",
                   "names an element of another type"),
}

needs_libclang = pytest.mark.skipif(bool(libclang_problem()), reason="libclang is not available")


def _analysis(code: str) -> tuple[bytes, Analysis, Kernel | None]:
    source = (PRE + code + "\n").encode()
    facts = semantic_facts(source, "refs.cpp", "cpp")
    fa = analyze_file(source, "refs.cpp", "cpp", facts=facts)
    (a,) = fa.analyses
    return source, a, fa.kernels.get(a.site.loop_id)


def _assert_verified(code: str) -> Analysis:
    """Every AVX2 candidate for the loop of `code` verifies in the sandbox against the user's loop."""
    source, a, kernel = _analysis(code)
    assert kernel is not None, a.reasons
    candidates = propose(a, kernel, "avx2", Settings(), source=source).candidates
    assert candidates

    async def verify() -> list[str]:
        async with Sandbox(Settings()) as sandbox:
            return [str(r.verdict.status) for r in await sandbox.verify(kernel, tuple(candidates), bench=False)]

    assert asyncio.run(verify()) == ["verified"] * len(candidates)
    return a


def _vector_code(code: str) -> tuple[str, ...]:
    source, a, kernel = _analysis(code)
    assert kernel is not None, a.reasons
    # the vector statements (the scalar remainder keeps the user's own spelling)
    return tuple("\n".join(line for line in c.function.splitlines() if "_mm256" in line)
                 for c in propose(a, kernel, "avx2", Settings(), source=source).candidates)


@needs_libclang
@pytest.mark.parametrize("name", sorted(SAME))
def test_a_reference_reads_as_the_element_it_binds(name: str) -> None:
    with_refs, spelled = SAME[name]
    rewritten = _vector_code(with_refs)
    assert rewritten and rewritten == _vector_code(spelled)




@needs_libclang
@pytest.mark.parametrize("name", sorted(SAME))
def test_rewrites_of_loops_with_references_verify_against_the_users_loop(name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    _assert_verified(SAME[name][0])


ITERATORS = {
    "vector_increment": ("#include <vector>\nvoid f(std::vector<int> &v) {\n"
                         "  for (auto it = v.begin(); it != v.end(); ++it) *it += 1; }"),
    "const_iterator_sum": ("#include <vector>\nfloat f(const std::vector<float> &v) { float s = 0.0f;\n"
                           "  for (std::vector<float>::const_iterator it = v.cbegin(); it != v.cend(); it++) s += *it;\n"
                           "  return s; }"),
    "std_begin_array": ("#include <array>\nvoid f(std::array<float, 256> &a, float g) {\n"
                        "  for (auto it = std::begin(a); it != std::end(a); ++it) *it = *it * g; }"),
}

RANGES = {  # a range-based for by reference reads the element: `x * x` changes every iteration
    "const_reference_sum_of_squares": ("#include <vector>\nfloat f(const std::vector<float> &v) { float e = 0.0f;\n"
                                       "  for (const float &x : v) e += x * x; return e; }"),
    "structure_reference_update": ("#include <vector>\nvoid f(std::vector<particle> &ps, float dt) {\n"
                                   "  for (auto &p : ps) { p.pos.x += p.vel.x * dt; p.pos.y += p.vel.y * dt; } }"),
}

ITERATORS_REFUSED = {
    "moves_inside": ("#include <vector>\nvoid f(std::vector<int> &v) {\n"
                     "  for (auto it = v.begin(); it != v.end(); ++it) { *it = 0; ++it; } }",
                     "the body moves the iterator it"),
    "position_from_iterator": ("#include <vector>\nvoid f(std::vector<int> &v) {\n"
                               "  for (auto it = v.begin(); it != v.end(); ++it) *it = (int)(it - v.begin()); }",
                               "uses the iterator it other than as *it"),
}


# name: (an iterator or range-based for loop over a container, how the analysis says it counts it)
WALKS = {**{name: (code, "an iterator loop over") for name, code in ITERATORS.items()},
         **{name: (code, "a range-based for over") for name, code in RANGES.items()}}


@needs_libclang
@pytest.mark.parametrize("name", sorted(WALKS))
def test_iterator_and_range_for_loops_over_containers_verify_against_the_users_loop(name: str) -> None:
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    code, counted = WALKS[name]
    a = _assert_verified(code)
    assert any(counted in r.message for r in a.reasons)


@needs_libclang
@pytest.mark.parametrize("name", sorted({**REFUSED, **ITERATORS_REFUSED}))
def test_references_and_iterators_that_do_not_stand_for_one_element_are_refused(name: str) -> None:
    code, reason = {**REFUSED, **ITERATORS_REFUSED}[name]
    _, a, kernel = _analysis(code)
    assert kernel is None
    assert any(reason in r.message for r in a.reasons), a.reasons
