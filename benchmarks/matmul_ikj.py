"""The i-k-j matrix product in the sandbox: its inner `j` loop's rule rewrite (`A[i][k]` broadcast once
before the loop; FMA with contraction allowed), verified and timed in its `k` loop (`Kernel.nest`)
against -O3 -march=native, with and without `allow_contraction`.

Usage: .venv/bin/python benchmarks/matmul_ikj.py [--processes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile

from simdlens.analysis import analyze_file
from simdlens.config import BenchSettings, Settings
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

SOURCE = b"""\
#define N 128
float A[N][N], B[N][N], C[N][N];
void matmul_ikj(void) {
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++)
            for (int j = 0; j < N; j++)
                C[i][j] += A[i][k] * B[k][j];
}
"""


async def measure(processes: int, cache: str) -> None:
    fa = analyze_file(SOURCE, "matmul_ikj.c", "c")
    inner = fa.analyses[-1]
    kernel = fa.kernels[inner.site.loop_id]
    for contraction in (False, True):
        settings = Settings(cache_dir=cache, jobs=1, allow_contraction=contraction,
                            bench=BenchSettings(processes=processes))
        async with Sandbox(settings) as sandbox:
            candidates = propose(inner, kernel, "avx2", settings, source=SOURCE).candidates
            for result in await sandbox.verify(kernel, candidates, bench=True):
                sizes = result.measurement.sizes if result.measurement else ()
                figures = ", ".join(f"{s.vs_native_autovec.median:.2f}x ({s.vs_native_autovec.lo:.2f}–"
                                    f"{s.vs_native_autovec.hi:.2f}) at {s.n}" for s in sizes if s.vs_native_autovec)
                print(f"contraction={contraction} {result.candidate.origin}: {result.verdict.status.value}; "
                      f"vs -O3 -march=native: {figures or 'not measured'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=5)
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="simdlens-matmul-") as cache:
        asyncio.run(measure(args.processes, cache))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
