"""Cost of the clang pass (semantic facts) per file: examples/, benchmarks/corpus/ and a generated big file.

    python benchmarks/clang_facts_speed.py [--runs 5] [--lines 10000]

For each file: the median wall time of `clang_facts.semantic_facts` with its in-memory cache cleared
before every run (a cold parse: what the server pays once per version of a file, in the background,
and `scan` once per file), next to the median of the tree-sitter analysis of the same file (the
instant path) for scale. Runs are interleaved (clang, tree-sitter, clang, …). The big file is the one
`analysis_speed.py` generates. Prints one line per file and the load average, because these machines
are shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _files(lines: int, tmp: Path) -> list[Path]:
    from analysis_speed import generate  # type: ignore[import-not-found]

    root = HERE.parent
    files = sorted((root / "examples").glob("*.c*")) + sorted((root / "benchmarks" / "corpus").glob("*.c*"))
    big = tmp / f"generated_{lines}.c"
    big.write_bytes(generate(lines))
    return [*files, big]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--tmp", default="/tmp", help="where the generated file is written")
    args = ap.parse_args(argv)

    from simdlens.analysis import analyze_file, clang_facts
    from simdlens.analysis.parse import language_for

    problem = clang_facts.libclang_problem()
    if problem:
        print(f"libclang unavailable: {problem}")
        return 1
    print(f"# {clang_facts.libclang_version()}; builtin headers: {clang_facts.builtin_headers()[1]}")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} interleaved runs")
    print(f"{'file':<28} {'lines':>6} {'clang pass ms':>14} {'tree-sitter analysis ms':>24} {'facts':>22}")
    clang_all: list[float] = []
    for path in _files(args.lines, Path(args.tmp)):
        source = path.read_bytes()
        language = language_for(str(path)) or "c"
        clang_ms: list[float] = []
        ts_ms: list[float] = []
        facts = None
        for _ in range(args.runs):
            clang_facts.clear_cache()
            t = time.perf_counter()
            facts = clang_facts.semantic_facts(source, str(path), language)
            clang_ms.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            analyze_file(source, str(path), language)
            ts_ms.append(1000 * (time.perf_counter() - t))
        assert facts is not None
        summary = (f"{len(facts.typedefs)} typedefs, {len(facts.macros)} macros" if facts.ok else facts.problem[:22])
        median = statistics.median(clang_ms)
        clang_all.append(median)
        lines = source.count(b"\n")
        print(f"{path.name:<28} {lines:>6} {median:>14.1f} {statistics.median(ts_ms):>24.1f} "
              f"{summary:>22}")
    print(f"# median over files of the clang pass: {statistics.median(clang_all):.1f} ms; "
          f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
