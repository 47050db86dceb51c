"""Figures for docs/rules.md "Reduction accumulators" and "Saturating add/sub": a dot product and a
saturating int16 add, timed through the sandbox (median of its 5 processes, interleaved variants)
as -O3 -march=native, simdlens before (one accumulator / widen-add-clamp), simdlens now, and a
hand-written expert kernel - all in one batch, so in the same runs.

    SIMDLENS_PURE_PYTHON=1 .venv/bin/python benchmarks/expert_figures.py [--quick]

The "before" variants are the same rule engine with the ISA table capped at one accumulator, or with
the saturating-store recognition switched off.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import simdlens.rules as rules_module
import simdlens.rules.lower as lower_module
from simdlens.analysis import analyze_file
from simdlens.config import SandboxSettings, Settings
from simdlens.core import Candidate, CandidateResult, Kernel
from simdlens.expert_set import ExpertKernel, expert_candidate, read_expert_set
from simdlens.rules import propose
from simdlens.rules.tables import load_isa
from simdlens.sandbox import Sandbox

DOT = """float dot(const float *x, const float *y, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}
"""

# the expert set's own dot product (benchmarks/expert/linalg.c, `sdot`: the same names x, y, n, s)
DOT_EXPERT = next(e.block for e in read_expert_set(Path(__file__).resolve().parent / "expert")
                  if e.corpus == "linalg.c" and e.function == "sdot")

SAT = """#include <stdint.h>
void sat_add(int16_t *restrict out, const int16_t *restrict a, const int16_t *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        int s = a[i] + b[i];
        if (s > 32767) s = 32767;
        if (s < -32768) s = -32768;
        out[i] = s;
    }
}
"""

SAT_EXPERT = """int i = 0;
for (; i + 32 <= n; i += 32) {
    __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + i)), a1 = _mm256_loadu_si256((const __m256i *)(a + i + 16));
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i)), b1 = _mm256_loadu_si256((const __m256i *)(b + i + 16));
    _mm256_storeu_si256((__m256i *)(out + i), _mm256_adds_epi16(a0, b0));
    _mm256_storeu_si256((__m256i *)(out + i + 16), _mm256_adds_epi16(a1, b1));
}
for (; i < n; i++) {
    int s = a[i] + b[i];
    if (s > 32767) s = 32767;
    if (s < -32768) s = -32768;
    out[i] = s;
}"""


def _kernel(name: str, code: str) -> tuple[bytes, object, Kernel]:
    source = code.encode()
    fa = analyze_file(source, f"/tmp/{name}.c", "c")
    (analysis,) = fa.analyses
    kernel = fa.kernels[analysis.site.loop_id]
    return source, analysis, kernel


def _rule_candidate(source: bytes, analysis: object, kernel: Kernel, settings: Settings, origin: str,
                    patch: Callable[[], Callable[[], None]] | None = None) -> Candidate:
    undo = patch() if patch else None
    try:
        (cand,) = propose(analysis, kernel, "avx2", settings, source=source).candidates  # type: ignore[arg-type]
    finally:
        if undo:
            undo()
    return dataclasses.replace(cand, origin=origin)


def _one_accumulator() -> Callable[[], None]:
    return _accumulators(1)


def _four_accumulators() -> Callable[[], None]:
    return _accumulators(4)


def _accumulators(count: int) -> Callable[[], None]:
    """The avx2 table with every reduction held in `count` accumulators."""
    base = load_isa("avx2")
    table = dataclasses.replace(base, max_accumulators=count, loads_per_cycle=100.0,
                                chains={key: (float(count), 1.0) for key in base.chains})
    saved = rules_module.load_isa
    rules_module.load_isa = lambda name: table  # type: ignore[assignment]

    def undo() -> None:
        rules_module.load_isa = saved
    return undo


def _no_saturate() -> Callable[[], None]:
    saved = lower_module.saturating_stores
    lower_module.saturating_stores = lambda body, loop: body  # type: ignore[assignment]

    def undo() -> None:
        lower_module.saturating_stores = saved
    return undo


def _show(title: str, results: tuple[CandidateResult, ...]) -> None:
    print(f"## {title}")
    first = results[0].measurement
    if first is None:
        print("  not measured:", [r.verdict.status.value + " " + r.verdict.detail[:200] for r in results])
        return
    for k, size in enumerate(first.sizes):
        native = size.ns_per_element.get("native_autovec")
        print(f"  n={size.n}: -O3 -march=native {native:.3f} ns/element")
        for r in results:
            m = r.measurement
            if m is None or len(m.sizes) <= k:
                print(f"    {r.candidate.origin}: {r.verdict.status.value} {r.verdict.detail[:120]}")
                continue
            s = m.sizes[k]
            vs = s.vs_native_autovec
            spread = f"{vs.median:.2f}x ({vs.lo:.2f}-{vs.hi:.2f})" if vs else "-"
            print(f"    {r.candidate.origin:28s} {s.ns_per_element['candidate']:.3f} ns/element, vs -O3 -march=native {spread}")


async def main(quick: bool) -> None:
    settings = Settings(cache_dir=tempfile.mkdtemp(prefix="simdlens-figures-"), jobs=2,
                        sandbox=SandboxSettings(cpu_seconds=20, wall_seconds=120.0))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print("load average:", load, "| cpus:", os.cpu_count())
    async with Sandbox(settings) as sandbox:
        source, analysis, kernel = _kernel("dot", DOT)
        batch = [_rule_candidate(source, analysis, kernel, settings, "simdlens 1 accumulator", _one_accumulator),
                 _rule_candidate(source, analysis, kernel, settings, "simdlens N accumulators"),
                 _rule_candidate(source, analysis, kernel, settings, "simdlens 4 accumulators", _four_accumulators),
                 dataclasses.replace(expert_candidate(kernel, ExpertKernel("-", 0, "linalg", "-", "dot", "avx2", True,
                                                                           DOT_EXPERT)), origin="expert 4 FMA chains")]
        print(f"(simdlens N = {load_isa('avx2').accumulators('add', 'float', 2)} for this loop)")
        _show("dot product (float)", await sandbox.verify(kernel, batch, bench=True, quick=quick))
        source, analysis, kernel = _kernel("sat", SAT)
        batch = [_rule_candidate(source, analysis, kernel, settings, "simdlens widen+add+clamp", _no_saturate),
                 _rule_candidate(source, analysis, kernel, settings, "simdlens adds_epi16"),
                 dataclasses.replace(expert_candidate(kernel, ExpertKernel("-", 0, "audio", "-", "sat_add", "avx2", False,
                                                                           SAT_EXPERT)), origin="expert adds_epi16 x2")]
        _show("saturating int16 add", await sandbox.verify(kernel, batch, bench=True, quick=quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one (L1-resident) size only")
    asyncio.run(main(parser.parse_args().quick))
