"""Loops over arrays of structures get verified rewrites: each member access `p[i].f` is a strided access
of the structures seen as their member type, lowered by the strided-group rules (loads + shuffles, stores
interleaved), verified in the user's file context. The layout the rewrite relies on (sizeof, member type,
offsetof) is asserted at compile time in the sandbox's build and in the user's edit, so a misread layout
fails to build, never verifies."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from rules_support import needs_compiler

from simdlens.analysis import analyze_file
from simdlens.analysis.clang_facts import libclang_problem, semantic_facts
from simdlens.config import Settings
from simdlens.core import Analysis, CandidateResult, Kernel, Status, TypeFact
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

pytestmark = [needs_compiler, pytest.mark.sandbox,
              pytest.mark.skipif(bool(libclang_problem()), reason="libclang is not available")]

PRE = """#include <stdint.h>
typedef struct { float x, y, z; } vec3;
typedef struct { float re, im; } cpx;
typedef struct { uint8_t r, g, b, a; } rgba;
typedef struct { double x, y; } pt2d;
typedef struct { float c[4]; } quad;
typedef struct { vec3 pos, vel; float mass, charge; } particle;
"""

CASES = {
    "advance": "void f(vec3 *p, const vec3 *v, float dt, int n) {\n"
               "  for (int i = 0; i < n; i++) { p[i].x += v[i].x * dt; p[i].y += v[i].y * dt; p[i].z += v[i].z * dt; } }",
    "power": "void f(float *out, const cpx *z, int n) {\n"
             "  for (int i = 0; i < n; i++) out[i] = z[i].re * z[i].re + z[i].im * z[i].im; }",
    "cmul": "void f(cpx *restrict c, const cpx *restrict a, const cpx *restrict b, int n) {\n"
            "  for (int i = 0; i < n; i++) { float re = a[i].re * b[i].re - a[i].im * b[i].im;\n"
            "    float im = a[i].re * b[i].im + a[i].im * b[i].re; c[i].re = re; c[i].im = im; } }",
    "luma": "void f(uint8_t *y, const rgba *px, int n) {\n"
            "  for (int i = 0; i < n; i++) y[i] = (uint8_t)((77 * px[i].r + 150 * px[i].g + 29 * px[i].b) >> 8); }",
    "grey_to_rgba": "void f(rgba *px, const uint8_t *g, int n) {\n"
                    "  for (int i = 0; i < n; i++) { px[i].r = g[i]; px[i].g = g[i]; px[i].b = g[i]; px[i].a = 255; } }",
    "walk": "void f(vec3 *p, float s, int n) { for (; n > 0; n--, p++) p->x *= s; }",
    # the pointer is read after the loop: it moves by whole structures in the reference and the rewrite
    "walk_returned": "vec3 *f(vec3 *p, float s, int n) { for (; n > 0; n--, p++) p->z *= s; return p; }",
    "nested_walk": "void f(particle *p, float g, int n) { for (; n > 0; n--, p++) p->vel.z -= g; }",
    "radius_f64": "void f(double *r, const pt2d *q, int n) {\n"
                  "  for (int i = 0; i < n; i++) r[i] = q[i].x * q[i].x + q[i].y * q[i].y; }",
    "array_member": "void f(float *out, const quad *q, int n) {\n"
                    "  for (int i = 0; i < n; i++) out[i] = q[i].c[0] + q[i].c[1] + q[i].c[2] + q[i].c[3]; }",
    "soa_to_aos": "void f(vec3 *p, const float *x, const float *y, int n) {\n"
                  "  for (int i = 0; i < n; i++) { p[i].x = x[i]; p[i].y = y[i]; } }",
}


def _analysed(source: bytes, path: str, lang: str) -> tuple[Analysis, Kernel]:
    fa = analyze_file(source, path, lang, facts=semantic_facts(source, path, lang))  # type: ignore[arg-type]
    (a,) = fa.analyses
    kernel = fa.kernels.get(a.site.loop_id)
    assert kernel is not None, a.reasons
    return a, kernel


def _verify(kernel: Kernel, candidates: list, settings: Settings) -> tuple[CandidateResult, ...]:  # type: ignore[type-arg]
    async def go() -> tuple[CandidateResult, ...]:
        async with Sandbox(settings) as sandbox:
            return await sandbox.verify(kernel, candidates, bench=False)

    return asyncio.run(go())


def _verified_cases(cases: dict[str, str], pre: str, lang: str, settings: Settings
                    ) -> dict[str, tuple[Kernel, tuple[CandidateResult, ...]]]:
    """Each case's kernel and the sandbox's results for its AVX2 candidates."""
    out = {}
    for name, code in cases.items():
        source = (pre + code + "\n").encode()
        a, kernel = _analysed(source, f"/tmp/simdlens-aos-{name}.{lang}", lang)
        proposal = propose(a, kernel, "avx2", settings, source=source)
        assert proposal.candidates, (name, proposal.notes)
        out[name] = (kernel, _verify(kernel, list(proposal.candidates), settings))
    return out


@pytest.fixture(scope="module")
def results(rule_settings: Settings) -> dict[str, tuple[Kernel, tuple[CandidateResult, ...]]]:
    return _verified_cases(CASES, PRE, "c", rule_settings)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_loop_over_structures_gets_a_verified_rewrite(name: str, results: dict) -> None:  # type: ignore[type-arg]
    _, checked = results[name]
    (r,) = checked
    assert r.verdict.status == Status.VERIFIED, r.verdict
    assert "built in your file's context" in r.verdict.detail
    edit = "".join(e.new_text for e in r.candidate.edits)
    # the layout it relies on, in the user's edit as in the sandbox's build
    assert "_Static_assert(sizeof(" in edit and "__builtin_offsetof(__typeof__(" in edit, edit


def test_members_read_apart_are_shuffled_blocks_not_gathers(results: dict) -> None:  # type: ignore[type-arg]
    _, (r,) = results["power"]
    assert r.candidate.origin == "rules:strided"
    assert "_mm256_loadu_ps(&((float *)(z))[2 * (i)" in r.candidate.function
    assert "gather" not in r.candidate.function


def test_every_member_computed_alike_is_one_flat_loop(results: dict) -> None:  # type: ignore[type-arg]
    """`p[i].x += v[i].x * dt` for x, y and z is `P[k] += V[k] * dt` over 3n floats: no shuffles at all."""
    _, (r,) = results["advance"]
    assert r.candidate.origin == "rules:elementwise"
    assert "_mm256_loadu_ps(&((float *)(p))[simdlens_part])" in r.candidate.function
    assert "permute" not in r.candidate.function and "blend" not in r.candidate.function


def test_the_overlap_check_bounds_whole_structures(results: dict) -> None:  # type: ignore[type-arg]
    """`soa_to_aos` writes only x and y of each vec3: the run-time check still spans every byte of
    p[0] .. p[n-1] (element 3*(n-1) + 2 and one past it, 3*(n-1) + 3)."""
    _, (r,) = results["soa_to_aos"]
    edit = "".join(e.new_text for e in r.candidate.edits)
    assert "&((float *)(p))[(3) * (0 + (1) * ((long long)(((n) > 0 ? (n) : 0)) - 1)) + (3)]" in edit, edit
    assert "&((float *)(p))[(3) * (0) + (0)]" in edit


CPP_PRE = """#include <vector>
#include <array>
#include <cstddef>
#include <cstdint>
struct Particle { float x, y, z, vx, vy, vz; };
struct vec3f { float x, y, z; };
struct Px { uint8_t r, g, b, a; };
"""

CPP_CASES = {  # C++ containers of structures: the same strided members as `Particle *ps`
    "vector_subscript": "void f(std::vector<Particle> &ps, float dt) {\n"
                        "  for (size_t i = 0; i < ps.size(); i++) ps[i].x += ps[i].vx * dt; }",
    "range_for_update": "void f(std::vector<Particle> &ps, float dt) {\n"
                        "  for (auto &p : ps) { p.x += p.vx * dt; p.y += p.vy * dt; p.z += p.vz * dt; } }",
    "range_for_energy": "float f(const std::vector<Particle> &ps) { float e = 0;\n"
                        "  for (const Particle &p : ps) e += p.vx * p.vx + p.vy * p.vy + p.vz * p.vz; return e; }",
    "range_for_scale_all": "void f(std::vector<vec3f> &v, float s) { for (vec3f &p : v) { p.x *= s; p.y *= s; p.z *= s; } }",
    "array_luma": "void f(const std::array<Px, 256> &px, uint8_t *__restrict y) {\n"
                  "  for (size_t i = 0; i < px.size(); i++) y[i] = (uint8_t)((77 * px[i].r + 150 * px[i].g + 29 * px[i].b) >> 8); }",
}


@pytest.fixture(scope="module")
def cpp_results(rule_settings: Settings) -> dict[str, tuple[Kernel, tuple[CandidateResult, ...]]]:
    return _verified_cases(CPP_CASES, CPP_PRE, "cpp", rule_settings)


@pytest.mark.parametrize("name", sorted(CPP_CASES))
def test_a_loop_over_a_container_of_structures_gets_a_verified_rewrite(name: str, cpp_results: dict) -> None:  # type: ignore[type-arg]
    """Verified in the user's file context, where `ps` is the std::vector: the edit reads its storage through
    `ps.data()` and asserts the element's layout there (`sizeof(ps[0])`, each member's offset)."""
    kernel, (r,) = cpp_results[name]
    assert r.verdict.status == Status.VERIFIED, r.verdict
    assert "built in your file's context" in r.verdict.detail
    edit = "".join(e.new_text for e in r.candidate.edits)
    root = next(p.name for p in kernel.params if p.role.value in ("in", "out", "inout") and "*" in p.spelled
                and any(t in p.spelled for t in ("Particle", "vec3f", "Px")))
    assert f"{root}.data()" in edit and f"sizeof({root}[0])" in edit and "__builtin_offsetof(" in edit, edit


MISREAD = [TypeFact("p[0]", "size 16", "p[]"),  # sizeof(vec3) misread
           TypeFact("p[0].y", "offset 8", "p[].y"),  # a member's offset misread
           TypeFact("p[0].y", "int32", "p[].y")]  # a member's type misread


@pytest.mark.parametrize("fact", MISREAD, ids=["size", "offset", "type"])
@pytest.mark.parametrize("where", ["reference", "rewrite"])
def test_a_misread_layout_fails_to_build_and_says_which(fact: TypeFact, where: str, results: dict,  # type: ignore[type-arg]
                                                        rule_settings: Settings) -> None:
    """The layout facts are compile-time assertions in the user's context: a reference whose harness
    assumes another layout cannot be verified against, and a rewrite that assumes one does not build;
    either way the reason names the member, and nothing is verified."""
    kernel, (r,) = results["advance"]
    candidate = replace(r.candidate, type_facts=(*r.candidate.type_facts, fact))
    if where == "reference":
        kernel = replace(kernel, type_facts=(*kernel.type_facts, fact), content_hash=kernel.content_hash + "-misread")
        candidate = replace(r.candidate, kernel_hash=kernel.content_hash)
    (checked,) = _verify(kernel, [candidate], rule_settings)
    assert checked.verdict.status == (Status.REJECTED if where == "reference" else Status.COMPILE_ERROR), checked.verdict
    said = f"simdlens misread the type of {fact.subject} (the compiler says it is not "
    assert checked.verdict.detail.startswith(("cannot verify: " if where == "reference" else "") + said), \
        checked.verdict.detail
