"""Measure rule candidates of named `rule_loops.SPECIAL` cases through the sandbox (not a test; the figures
of docs/rules.md "Division by a constant, byte tables, byte compress" come from it).

    .venv/bin/python tests/rules/measure_cases.py div_box_blur div_const_u32 compress_int8

For each case and ISA: the verdict, then per size ns/element of the user's -O2 build, gcc -O3
-march=native and the candidate, with the ratios (median of 5 processes, min-max).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import rule_loops
from rules_support import ISAS, analyse

from simdlens.config import SandboxSettings, Settings
from simdlens.core import Ratio
from simdlens.rules import propose
from simdlens.sandbox import Sandbox


def _ratio(r: Ratio | None) -> str:
    return "-" if r is None else f"{r.median:.2f}x ({r.lo:.2f}-{r.hi:.2f})"


async def measure(names: list[str], quick: bool) -> None:
    settings = Settings(cache_dir=tempfile.mkdtemp(prefix="simdlens-measure-"), jobs=2,
                        sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=60.0))
    async with Sandbox(settings) as sandbox:
        for name in names:
            source, analysis, kernel = analyse(name, rule_loops.SPECIAL[name])
            if kernel is None:
                print(f"{name}: no kernel")
                continue
            candidates = []
            for isa in ISAS:
                proposal = propose(analysis, kernel, isa, settings, source=source)
                candidates += proposal.candidates
                for note in proposal.notes:
                    print(f"{name} {isa}: {note}")
            for result in await sandbox.verify(kernel, tuple(candidates), bench=True, quick=quick):
                print(f"{name} {result.candidate.isa}: {result.verdict.status.value} ({result.candidate.origin})")
                for size in result.measurement.sizes if result.measurement else ():
                    ns = size.ns_per_element
                    print(f"    n={size.n} {size.label}: -O2 {ns.get('user_flags', 0):.4f}, -O3 native "
                          f"{ns.get('native_autovec', 0):.4f}, candidate {ns.get('candidate', 0):.4f} ns/element; "
                          f"vs -O2 {_ratio(size.vs_user_flags)}, vs native {_ratio(size.vs_native_autovec)}"
                          + (" (memory bound)" if size.memory_bound else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", choices=sorted(rule_loops.SPECIAL), metavar="case")
    parser.add_argument("--quick", action="store_true", help="one size (faster, less data)")
    args = parser.parse_args()
    asyncio.run(measure(args.cases, args.quick))


if __name__ == "__main__":
    main()
