"""Rule-engine coverage on the analysis corpus (tests/fixtures/corpus).

For every loop the analysis judges vectorizable (with or without run-time checks): does the rule engine
propose a candidate for each ISA, and does the sandbox verify it against the scalar original? Loops the
rules refuse are listed by reason: that list is the rule engine's next work.

    .venv/bin/python benchmarks/rules_coverage.py [--isa avx2 --isa avx512] [--jobs 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from simdlens.analysis import analyze_file
from simdlens.analysis.parse import language_for
from simdlens.config import Settings
from simdlens.core import LoopVerdict
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


async def run(isas: list[str], jobs: int, corpus: Path, only: list[str] | None = None) -> dict[str, object]:
    settings = Settings(jobs=jobs)
    per_isa: dict[str, Counter[str]] = {isa: Counter() for isa in isas}
    refused: dict[str, list[str]] = defaultdict(list)
    failed: list[str] = []
    work = []
    total = 0
    for path in sorted(corpus.iterdir()):
        language = language_for(path)
        if language is None:
            continue
        source = path.read_bytes()
        fa = analyze_file(source, str(path), language)
        for a in fa.analyses:
            if a.verdict == LoopVerdict.NOT_VECTORIZABLE or (only and a.site.function not in only):
                continue
            total += 1
            where = f"{path.name}:{a.site.span.start.line + 1} ({a.site.function})"
            kernel = fa.kernels.get(a.site.loop_id)
            if kernel is None:
                refused["no kernel extracted by the analysis"].append(where)
                continue
            candidates = []
            for isa in isas:
                proposal = propose(a, kernel, isa, settings, source=source)
                candidates += proposal.candidates
                if proposal.candidates:
                    per_isa[isa]["candidate"] += 1
                for note in proposal.notes:
                    refused[f"{isa}: {note}"].append(where)
            if candidates:
                work.append((where, kernel, tuple(candidates)))

    async with Sandbox(settings) as sandbox:
        async def verify(where, kernel, candidates):  # type: ignore[no-untyped-def]
            return where, await sandbox.verify(kernel, candidates, bench=False)

        results = await asyncio.gather(*(verify(*w) for w in work))
    for where, res in results:
        for r in res:
            per_isa[r.candidate.isa][r.verdict.status.value] += 1
            if r.verdict.status.value != "verified":
                failed.append(f"{where} {r.candidate.isa} {r.candidate.origin}: {r.verdict.status.value} "
                              f"{r.verdict.detail[:160]}")
    return {"vectorizable_loops": total, "per_isa": {k: dict(v) for k, v in per_isa.items()},
            "refused": {k: v for k, v in sorted(refused.items())}, "failed": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--isa", action="append", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", action="append", default=None, help="only loops in these functions")
    args = parser.parse_args()
    start = time.monotonic()
    report = asyncio.run(run(args.isa or ["avx2", "avx512"], args.jobs, args.corpus, args.only))
    print(f"corpus: {args.corpus}  ({time.monotonic() - start:.0f} s)")
    print(f"loops judged vectorizable: {report['vectorizable_loops']}")
    for isa, counts in report["per_isa"].items():  # type: ignore[attr-defined]
        print(f"  {isa}: {counts.get('candidate', 0)} with a rule candidate, {counts.get('verified', 0)} verified, "
              f"{sum(v for k, v in counts.items() if k not in ('candidate', 'verified'))} not verified")
    print("refused, by reason:")
    for reason, where in report["refused"].items():  # type: ignore[attr-defined]
        print(f"  [{len(where)}] {reason}")
        for w in where:
            print(f"        {w}")
    if report["failed"]:
        print("candidates that did not verify:")
        for line in report["failed"]:  # type: ignore[attr-defined]
            print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
