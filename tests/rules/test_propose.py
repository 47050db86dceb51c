"""What `propose` gives the user: edits that splice the rewrite into their own file with their own
names, keep it buildable without the ISA flags, add the include; notes instead of candidates for loops
the rules do not cover; deterministic output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rules_support import analyse, apply_edits, needs_compiler

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.sandbox.cpu import host_cpu

PROGRAM = """#include <stdio.h>
#include <stdint.h>
struct particles { float *x; const float *v; int count; };

static float scale_sum(struct particles *p, float dt)
{
    float total = 0.0f;
    for (int i = 0; i < p->count; i++) {
        p->x[i] = p->x[i] + p->v[i] * dt;
    }
    for (int i = 0; i < p->count; i++) total += p->x[i] > 1.0f ? 1.0f : 0.0f;
    return total;
}

int main(void)
{
    static float x[1003], v[1003];
    for (int i = 0; i < 1003; i++) { x[i] = (float)(i % 17) * 0.125f - 1.0f; v[i] = (float)(i % 5) * 0.5f; }
    struct particles p = { x, v, 1003 };
    float t = scale_sum(&p, 0.75f);
    unsigned long long check = 0;  /* an integer hash: a float one is itself a scan candidate (reassociated) */
    for (int i = 0; i < 1003; i++) check = check * 1000003u + (unsigned long long)(long long)(x[i] * 4096.0f);
    printf("%.9g %llu\\n", t, check);
    return 0;
}
"""



def build_and_run(path: Path, source: bytes, flags: list[str], compiler: str = "gcc") -> str:
    path.write_bytes(source)
    exe = path.with_suffix(".out")
    proc = subprocess.run([compiler, "-O2", *flags, str(path), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:2000] + "\n" + source.decode()
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


def build_only(path: Path, source: bytes, flags: list[str]) -> None:
    path.write_bytes(source)
    proc = subprocess.run(["gcc", "-O2", *flags, "-c", str(path), "-o", str(path.with_suffix(".o"))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:2000]


def candidates_for(source: bytes, path: str, isa: str, settings: Settings, language: str = "c") -> list:  # type: ignore[type-arg]
    fa = analyze_file(source, path, language)  # type: ignore[arg-type]
    out = []
    for a in fa.analyses:
        kernel = fa.kernels.get(a.site.loop_id)
        if kernel is not None:
            out += propose(a, kernel, isa, settings, source=source).candidates
    return out


@needs_compiler
@pytest.mark.parametrize("guard", ["ifdef", "dispatch"])
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_edits_keep_the_program_buildable_and_equal(tmp_path: Path, isa: str, guard: str) -> None:
    source = PROGRAM.encode()
    settings = Settings(guard=guard)
    expected = build_and_run(tmp_path / "orig.c", source, [])
    cands = candidates_for(source, str(tmp_path / "orig.c"), isa, settings)
    assert len(cands) == 3  # the two loops of scale_sum, and main's `(float)(i % 17)` (division by a constant)
    # one candidate at a time (each edit set is against the original file), then both flag settings
    for cand in cands:
        edited = apply_edits(source, cand.edits)
        text = edited.decode()
        assert "p->x[" in text and "p->count" in text, "the edit must use the user's own names"
        assert text.count("#include <immintrin.h>") == 1
        assert build_and_run(tmp_path / "plain.c", edited, []) == expected  # no ISA flags: fallback or dispatch
        if guard == "ifdef" and not host_cpu().runs(isa):
            build_only(tmp_path / "isa.c", edited, list(cand.flags))  # this CPU cannot run the vector path
        else:
            assert build_and_run(tmp_path / "isa.c", edited, list(cand.flags)) == expected
        if guard == "ifdef":
            assert "#else" in text and any("not in your flags" in c for c in cand.caveats)
        else:
            assert "__builtin_cpu_supports" in text and "__attribute__((target(" in text


def test_candidate_function_has_the_kernel_signature() -> None:
    source, a, kernel = analyse("sig", """float dot(const float *x, const float *y, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}""")
    assert kernel is not None
    cand = propose(a, kernel, "avx2", Settings(), source=source).candidates[0]
    assert cand.function.startswith(kernel.signature)
    assert cand.origin == "rules:dot_product" and cand.isa == "avx2" and cand.kernel_hash == kernel.content_hash
    assert "_mm256_loadu_ps" in cand.function and "#if" not in cand.function  # the sandbox tests the vector code
    assert cand.flags == ("-mavx2",)


def test_contraction_only_when_allowed() -> None:
    code = """void axpy(float *restrict y, const float *restrict x, float a, int n) {
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}"""
    source, a, kernel = analyse("axpy", code)
    assert kernel is not None
    plain = propose(a, kernel, "avx2", Settings(), source=source).candidates[0]
    fused = propose(a, kernel, "avx2", Settings(allow_contraction=True), source=source).candidates[0]
    assert "fmadd" not in plain.function and "-mfma" not in plain.flags
    assert "_mm256_fmadd_ps" in fused.function and "-mfma" in fused.flags
    assert any("fused multiply-add" in c for c in fused.caveats)


def test_flags_caveat_follows_the_users_flags() -> None:
    source, a, kernel = analyse("inc", """void inc(int *restrict d, const int *restrict s, int n) {
    for (int i = 0; i < n; i++) d[i] = s[i] + 1;
}""")
    assert kernel is not None
    missing = propose(a, kernel, "avx2", Settings(), source=source, user_flags=("-O2",)).candidates[0]
    native = propose(a, kernel, "avx2", Settings(), source=source, user_flags=("-O2", "-march=native")).candidates[0]
    assert any("needs -mavx2" in c for c in missing.caveats)
    assert not any("needs -mavx2" in c for c in native.caveats)


@pytest.mark.parametrize(("code", "note"), [
    ("""void idiv(long long *restrict d, const long long *restrict a, long long k, int n) {
    for (int i = 0; i < n; i++) d[i] = a[i] / k;
}""", "rules: integer division"),
    ("""void scatter(float *restrict out, const float *restrict a, const int *restrict idx, int n) {
    for (int i = 0; i < n; i++) out[idx[i]] = a[i];
}""", "rules: scatter"),
])
def test_uncovered_loops_get_a_note_and_no_candidate(code: str, note: str) -> None:
    source, a, kernel = analyse("refused", code)
    if kernel is None:
        pytest.skip("the analysis already refuses this loop")
    proposal = propose(a, kernel, "avx2", Settings(), source=source)
    assert proposal.candidates == ()
    assert proposal.notes and proposal.notes[0].startswith(note)


def test_not_vectorizable_and_unknown_isa_give_notes() -> None:
    _source, a, kernel = analyse("rec", """void rec(float *a, int n) {
    for (int i = 1; i < n; i++) a[i] = a[i - 1] * 0.5f;
}""")
    assert kernel is None
    _, ok, kernel2 = analyse("ok", """void ok(float *restrict a, int n) {
    for (int i = 0; i < n; i++) a[i] = a[i] * 0.5f;
}""")
    assert kernel2 is not None
    assert propose(a, kernel2, "avx2", Settings()).notes == ("rules: the loop is not vectorizable",)
    assert "no ISA table for neon" in propose(ok, kernel2, "neon", Settings()).notes[0]


def test_deterministic_and_without_source() -> None:
    source, a, kernel = analyse("det", """void det(double *restrict d, const double *restrict s, int n) {
    for (int i = n - 1; i >= 0; i--) d[i] = s[i] < 0 ? -s[i] : s[i];
}""")
    assert kernel is not None
    one = propose(a, kernel, "avx512", Settings(), source=source)
    two = propose(a, kernel, "avx512", Settings(), source=source)
    assert one == two
    bare = propose(a, kernel, "avx512", Settings()).candidates[0]
    assert len(bare.edits) == 1 and "defined(__AVX512F__)" in bare.edits[0].new_text
    assert bare.function == one.candidates[0].function


@needs_compiler
def test_cpp_file_edit_compiles_with_gpp(tmp_path: Path) -> None:
    code = b"""#include <vector>
#include <cstdio>
float total(const std::vector<float> &v) {
    float s = 0.0f;
    for (size_t i = 0; i < v.size(); i++) s += v[i] * 2.0f;
    return s;
}
int main() { std::vector<float> v(1001, 0.5f); std::printf("%g\\n", total(v)); }
"""
    cands = candidates_for(code, str(tmp_path / "t.cpp"), "avx2", Settings(), language="cpp")
    if not cands:
        pytest.skip("no rule candidate for this C++ loop")
    edited = apply_edits(code, cands[0].edits)
    expected = build_and_run(tmp_path / "o.cpp", code, [], "g++")
    assert build_and_run(tmp_path / "e.cpp", edited, list(cands[0].flags), "g++") == expected
