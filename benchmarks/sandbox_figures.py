"""Figures for the sandbox (issue 3 §8): protocol repeatability, cost of verifying and timing a
kernel, bubblewrap overhead. Prints a Markdown report (docs/sandbox.md quotes it).

    .venv/bin/python benchmarks/sandbox_figures.py [--repeats 3] [--json out.json]

Needs gcc or clang, bubblewrap, and an AVX2 host. Takes about a minute; run it on an idle machine —
other load shows up as spread, which is exactly what this script is meant to expose.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import tempfile
import time
from typing import Any

from simdlens.analysis.ir import FLOAT, INT32
from simdlens.config import BenchSettings, Settings
from simdlens.core import Candidate, Footprint, Kernel, KernelParam, ParamRole, Ratio
from simdlens.sandbox import Sandbox
from simdlens.sandbox.bench import describe
from simdlens.sandbox.isolate import Isolation, Limits

N = KernelParam("n", "int n", ParamRole.COUNT, INT32)


def kernel(name: str, source: str, params: tuple[KernelParam, ...], arrays: tuple[str, ...]) -> Kernel:
    signature = source.split("{", 1)[0].strip()
    return Kernel(
        name="simdlens_kernel", language="c", preamble="#include <stdint.h>", source=source, signature=signature,
        return_type=None, params=params, footprints=tuple(Footprint(a, "0", "n - 1") for a in arrays),
        trip_count="n > 0 ? n : 0", loop_id=name, content_hash=hashlib.sha256(source.encode()).hexdigest()[:16], size_param="n",
    )


SAXPY = kernel(
    "saxpy",
    "void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {\n"
    "    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];\n}\n",
    (KernelParam("y", "float *restrict y", ParamRole.INOUT, FLOAT), KernelParam("x", "const float *restrict x", ParamRole.IN, FLOAT),
     KernelParam("a", "float a", ParamRole.SCALAR, FLOAT), N),
    ("y", "x"),
)
SAXPY_AVX2 = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(x + i)), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = a * x[i] + y[i];
}
"""
SAXPY_AVX2_UNROLLED = """void simdlens_kernel(float *restrict y, const float *restrict x, float a, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(x + i)), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(x + i + 8)), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i < n; i++) y[i] = a * x[i] + y[i];
}
"""
ICOND = kernel(
    "icond",
    "void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {\n"
    "    for (int i = 0; i < n; i++) { if (a[i] > 0) c[i] = a[i] * 3; else c[i] = b[i]; }\n}\n",
    (KernelParam("c", "int32_t *restrict c", ParamRole.OUT, INT32), KernelParam("a", "const int32_t *restrict a", ParamRole.IN, INT32),
     KernelParam("b", "const int32_t *restrict b", ParamRole.IN, INT32), N),
    ("c", "a", "b"),
)
ICOND_AVX2 = """void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i pos = _mm256_cmpgt_epi32(va, _mm256_setzero_si256());
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_blendv_epi8(vb, _mm256_mullo_epi32(va, _mm256_set1_epi32(3)), pos));
    }
    for (; i < n; i++) { if (a[i] > 0) c[i] = a[i] * 3; else c[i] = b[i]; }
}
"""


def cand(k: Kernel, function: str) -> Candidate:
    return Candidate(kernel_hash=k.content_hash, isa="avx2", origin="rules:figures", function=function, edits=())


def fmt(r: Ratio | None) -> str:
    return describe(r) if r else "—"


async def repeatability(settings: Settings, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for k, fn in ((SAXPY, SAXPY_AVX2), (ICOND, ICOND_AVX2)):
        runs = []
        for _ in range(repeats):
            async with Sandbox(settings) as sandbox:  # a fresh process tree and build each time
                (res,) = await sandbox.verify(k, [cand(k, fn)], bench=True, quick=True)
            assert res.measurement is not None, res.verdict
            runs.append(res.measurement.sizes[0])
        medians = {what: [getattr(s, what).median for s in runs] for what in ("vs_scalar", "vs_user_flags", "vs_native_autovec")}
        rows.append({
            "kernel": k.loop_id, "n": runs[0].n,
            "runs": [{w: fmt(getattr(s, w)) for w in medians} for s in runs],
            "spread": {w: (max(v) - min(v)) / statistics.median(v) for w, v in medians.items()},
        })
    return rows


async def cost(settings: Settings) -> dict[str, float]:
    out: dict[str, float] = {}
    two = [cand(SAXPY, SAXPY_AVX2), cand(SAXPY, SAXPY_AVX2_UNROLLED)]
    with tempfile.TemporaryDirectory() as cold_cache:
        cold = settings.replace(cache_dir=cold_cache)
        async with Sandbox(cold) as sandbox:
            t = time.monotonic()
            await sandbox.verify(SAXPY, two, bench=True)
            out["verify+bench, 2 candidates, 3 sizes, cold (no PCH yet)"] = time.monotonic() - t
    async with Sandbox(settings) as sandbox:
        await sandbox.verify(ICOND, [cand(ICOND, ICOND_AVX2)], bench=False)  # warm the PCH cache
        t = time.monotonic()
        await sandbox.verify(SAXPY, two, bench=True)
        out["verify+bench, 2 candidates, 3 sizes, PCH warm"] = time.monotonic() - t
        t = time.monotonic()
        await sandbox.verify(SAXPY, two, bench=True, quick=True)
        out["verify+bench, 2 candidates, quick (1 size), kernel built"] = time.monotonic() - t
        t = time.monotonic()
        extra = [cand(SAXPY, SAXPY_AVX2.replace("int i = 0;", f"int i = 0; /* {k} */")) for k in range(4)]
        await sandbox.verify(SAXPY, extra, bench=False)
        out["verify only, per candidate (kernel built, PCH warm)"] = (time.monotonic() - t) / len(extra)
    return out


async def bwrap_overhead(runs: int = 20) -> dict[str, float]:
    out = {}
    for label, iso in (("bubblewrap + rlimits", Isolation.detect()), ("rlimits only", Isolation(bwrap=None))):
        if label.startswith("bubble") and not iso.sandboxed:
            continue
        times = []
        for _ in range(runs):
            r = await iso.run(["/bin/true"], limits=Limits(wall_seconds=10))
            times.append(r.wall)
        out[label] = statistics.median(times)
    if len(out) == 2:
        out["overhead of bubblewrap per run"] = out["bubblewrap + rlimits"] - out["rlimits only"]
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    settings = Settings(cache_dir=tempfile.mkdtemp(prefix="simdlens-figures-"), jobs=1,
                        bench=BenchSettings(sizes=(4096, 65536, 1048576), processes=5))
    rep = await repeatability(settings, args.repeats)
    costs = await cost(settings)
    bw = await bwrap_overhead()
    print("## Repeatability (n = 4096, 5 processes each, repeated runs)\n")
    for row in rep:
        print(f"### {row['kernel']}\n")
        print("| run | vs scalar | vs user flags (-O2) | vs -O3 -march=native |\n|---|---|---|---|")
        for i, r in enumerate(row["runs"], 1):
            print(f"| {i} | {r['vs_scalar']} | {r['vs_user_flags']} | {r['vs_native_autovec']} |")
        sp = row["spread"]
        print(f"| spread of the reported median | {sp['vs_scalar']:.1%} | {sp['vs_user_flags']:.1%} | {sp['vs_native_autovec']:.1%} |\n")
    print("## Cost\n\n| what | seconds |\n|---|---|")
    for k, v in costs.items():
        print(f"| {k} | {v:.2f} |")
    print("\n## Isolation overhead (median of 20 runs of /bin/true)\n\n| what | ms |\n|---|---|")
    for k, v in bw.items():
        print(f"| {k} | {v * 1000:.1f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"repeatability": rep, "cost_seconds": costs, "isolation_seconds": bw}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
