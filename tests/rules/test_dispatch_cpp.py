"""`guard = "dispatch"` in C++: the call converts `char *` to the helper's `int8_t *` explicitly, the helper
brings the <stdint.h> its signature needs, a std::vector / std::array is passed as its `.data()`, and only
loops whose storage cannot be named (a std::valarray) fall back to the `#if` guard. The edited files build
with and without the ISA flags, and run to the original program's output."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from rules_support import apply_edits

from simdlens.analysis import analyze_file
from simdlens.config import SandboxSettings, Settings
from simdlens.core import Candidate, Kernel, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

SOURCE = b"""int count_neg(const char *s, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += s[i] < 0;
    return c;
}
"""

# A file that uses containers: every loop used to lose dispatch because the file mentions std::vector.
CONTAINERS = b"""#include <array>
#include <cstdint>
#include <valarray>
#include <vector>

void scale(std::vector<float> &out, const std::vector<float> &in, float s)
{
    for (std::size_t i = 0; i < out.size(); i++)
        out[i] = in[i] * s;
}

float total(const std::vector<float> &v)
{
    float t = 0.0f;
    for (float x : v)
        t += x;
    return t;
}

void add64(std::array<int, 64> &a, const std::array<int, 64> &b)
{
    for (int i = 0; i < 64; i++)
        a[i] += b[i];
}

int sum(const int *a, int n)
{
    int t = 0;
    for (int i = 0; i < n; i++)
        t += a[i];
    return t;
}

void twice(std::valarray<int> &a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = a[i] * 2;
}
"""

MAIN = """
#include <cstdio>
int main()
{
    std::vector<float> in(1003), out(1003);
    for (int i = 0; i < 1003; i++) in[i] = (float)(i % 17) - 8.0f;
    scale(out, in, 0.5f);
    std::array<int, 64> a{}, b{};
    for (int i = 0; i < 64; i++) { a[i] = i; b[i] = 3 * i - 7; }
    add64(a, b);
    std::valarray<int> va(100);
    for (int i = 0; i < 100; i++) va[i] = i;
    twice(va, 100);
    long check = 0;
    for (int i = 0; i < 64; i++) check += a[i];
    for (int i = 0; i < 100; i++) check += va[i];
    std::printf("%.3f %.3f %d %ld\\n", (double)out[1002], (double)total(in), sum(a.data(), 64), check);
    return 0;
}
"""

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")



def dispatch_candidates(source: bytes, path: str) -> dict[str, tuple[Kernel, Candidate]]:
    """The AVX2 candidate of each function's loop, proposed with `guard = "dispatch"`."""
    fa = analyze_file(source, path, "cpp")
    out = {}
    for analysis in fa.analyses:
        kernel = fa.kernels.get(analysis.site.loop_id)
        if kernel is None:
            continue
        proposal = propose(analysis, kernel, "avx2", Settings(guard="dispatch"), source=source)
        for cand in proposal.candidates:
            out[analysis.site.function] = (kernel, cand)
    return out


def compile_cpp(path: Path, flags: list[str], *, link: bool = False) -> subprocess.CompletedProcess[str]:
    out = path.with_suffix(".out" if link else ".o")
    return subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Werror", *flags, *([] if link else ["-c"]),
                           str(path), "-o", str(out)], capture_output=True, text=True)


def dispatched(cand: Candidate) -> bool:
    return any("__builtin_cpu_supports" in e.new_text for e in cand.edits)


@needs_gxx
def test_dispatch_rewrite_of_a_char_loop_builds_as_cpp(tmp_path: Path) -> None:
    (_, cand), = dispatch_candidates(SOURCE, "neg.cpp").values()
    assert dispatched(cand)
    path = tmp_path / "neg.cpp"
    path.write_bytes(apply_edits(SOURCE, cand.edits))
    for flags in ([], ["-mavx2", "-mfma"]):
        proc = compile_cpp(path, flags)
        assert proc.returncode == 0, proc.stderr + path.read_text()


def test_containers_are_dispatched_through_their_storage_and_valarray_falls_back() -> None:
    found = dispatch_candidates(CONTAINERS, "containers.cpp")
    assert {f for f, (_, c) in found.items() if dispatched(c)} == {"scale", "total", "add64", "sum"}
    _, twice = found["twice"]
    assert not dispatched(twice)
    assert any("run-time dispatch is not possible" in c for c in twice.caveats)
    assert "#if defined(__AVX2__)" in twice.edits[-1].new_text
    (_, scale) = found["scale"]
    call = next(e.new_text for e in scale.edits if "__builtin_cpu_supports" in e.new_text)
    assert "(float *)(out).data()" in call and "(const float *)(in).data()" in call and "out.size()" in call


@needs_gxx
@pytest.mark.sandbox
def test_dispatched_container_rewrites_are_verified_and_the_edited_program_agrees(tmp_path: Path) -> None:
    found = dispatch_candidates(CONTAINERS, str(tmp_path / "containers.cpp"))
    settings = Settings(cache_dir=str(tmp_path / "cache"), jobs=2,
                        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0))

    async def verify_all() -> dict[str, Status]:
        async with Sandbox(settings) as sandbox:
            results = await asyncio.gather(*(sandbox.verify(k, [c], bench=False) for k, c in found.values()))
        return {f: r[0].verdict.status for f, r in zip(found, results, strict=True)}

    # The helper a dispatch edit outlines is the candidate's function under another name: what the sandbox tests.
    assert asyncio.run(verify_all()) == dict.fromkeys(found, Status.VERIFIED)

    original = tmp_path / "original.cpp"
    original.write_bytes(CONTAINERS + MAIN.encode())
    proc = compile_cpp(original, [], link=True)
    assert proc.returncode == 0, proc.stderr
    expected = subprocess.run([str(original.with_suffix(".out"))], capture_output=True, text=True, check=True).stdout
    for function, (_, cand) in found.items():  # std::valarray takes the #if fallback: it must build and agree too
        edited = tmp_path / f"{function}.cpp"
        edited.write_bytes(apply_edits(CONTAINERS, cand.edits) + MAIN.encode())
        for flags in ([], ["-mavx2", "-mfma"]):
            proc = compile_cpp(edited, flags, link=True)
            assert proc.returncode == 0, proc.stderr + edited.read_text()
            run = subprocess.run([str(edited.with_suffix(".out"))], capture_output=True, text=True, check=True)
            assert run.stdout == expected, (function, flags, edited.read_text())
