"""In-program check of a small program with nests, in-place calls and large arrays.

`benchmarks/in_program/nest_kernels.c` holds the loops of a small program; `nest_main.c` calls each
function the way the program does: nests at their real sizes (column sweeps of 256 x 256 globals, whose
rewrites replace the whole nest; a 1024 x 1024 image scaled in place,
131,072 rows of 12 columns, a 256 x 256 global matrix), element-wise loops in place (`saxpy(x, x, a, n)`,
`clamp16(s, s, ...)`) and on 4M-element arrays, a dot product of an array with itself, a triangle of the
global matrix, the transposed product of a flat 1024 x 1024 matrix, gemm over VLAs (8 rows of C, the
whole i-j-k nest), two inner loops in one outer loop (a row dot product, then a row update), column
means with the counters declared at the function's top, a triangle with statements around its
inner loop, syrk's k-j order (a sum every k shares) and a row dot product into the same matrix. `--only FUNCTION` times only the named functions. This script

1. scans nest_kernels.c (`simdlens scan --json`, full benchmark protocol);
2. takes every verified rewrite: the ones simdlens OFFERS as wins (`"win": true`, the low end of the
   measured range beats -O3 -march=native at the deciding sizes) and, for comparison, the ones the
   previous rule would have offered (the median at the first cache-resident size >= 1.05);
3. applies each one's edits to a copy of the file and builds the program twice, original and edited,
   both `-O3 -march=native -falign-functions=64 -falign-loops=64`;
4. runs the two programs alternately (`--processes` pairs, the order swapped every pair), each timing
   `--rounds` samples of ~20 ms of calls and printing the median ns per call; the in-program ratio of
   a pair is original / edited; reported: the median of the pairs with their min–max.

A claim holds when the in-program median ratio is above 1.0. Exit status: 0 when every OFFERED win
holds, 1 otherwise. The machine's load average is printed: measure on a quiet machine when you can.

Usage: .venv/bin/python benchmarks/in_program_nest.py [--isa avx2] [--processes 5] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_audit import ROOT, apply_edits

from simdlens.sandbox.cpu import host_cpu
from simdlens.summary import WIN_MARGIN

HERE = ROOT / "benchmarks" / "in_program"
KERNELS = HERE / "nest_kernels.c"
MAIN = HERE / "nest_main.c"
BUILD = ["-O3", "-march=native", "-falign-functions=64", "-falign-loops=64", "-ffp-contract=off"]
CALLS = ("column_sweep", "column_recurrence", "column_recurrence_n", "mvt", "rows_global", "scale_rows", "short_rows",
         "saxpy", "clamp16", "total", "dot", "row_sums", "lower_columns", "gemv_t", "gemm_vla",
         "dot_then_update", "column_means", "lower_sums", "gram_kj", "factor_rows")


@dataclass(frozen=True)
class Rewrite:
    function: str
    line: int
    isa: str
    origin: str
    offered: bool  # simdlens offers it (the low-end rule)
    old_rule: bool  # the previous rule (median at the first cache-resident size) would have
    claimed: str  # "1.08x (1.06–1.11) at 4K, ..." vs -O3 -march=native
    edits: list  # type: ignore[type-arg]


def scan(isa: str) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, "-m", "simdlens", "scan", "--json", "--isa", isa, "--no-cache", str(KERNELS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"in_program_nest: simdlens scan failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def rewrites(doc: dict) -> tuple[list[Rewrite], list[str]]:  # type: ignore[type-arg]
    """Every verified, measured rewrite; and one line per loop of the program with none."""
    out, others = [], []
    for f in doc["files"]:
        for loop in f["loops"]:
            name = loop.get("function") or "?"
            line = loop["range"]["start"]["line"] + 1
            found = False
            for c in loop["candidates"]:
                sizes = (c.get("measurement") or {}).get("sizes") or []
                if c["status"] != "verified" or not sizes:
                    continue
                found = True
                native = [(s["n"], s["vs_native_autovec"]) for s in sizes if s.get("vs_native_autovec")]
                first = next((r for s in sizes if not s["memory_bound"] and (r := s.get("vs_native_autovec"))), None)
                claimed = ", ".join(f"{r['median']:.2f}x ({r['lo']:.2f}–{r['hi']:.2f}) at {n}"
                                    + (" (real)" if any(s["n"] == n and s.get("real") for s in sizes) else "")
                                    for n, r in native)
                out.append(Rewrite(name, line, c["isa"], c["origin"], bool(c.get("win")),
                                   bool(first and first["median"] >= WIN_MARGIN), claimed, c["edits"]))
            if not found and loop.get("role") != "outer":
                why = (loop.get("stopped") or {}).get("reason") or (loop.get("reasons") or ["—"])[0]
                others.append(f"{name} (line {line}): {why}")
    return out, others


def build(work: Path, kernels_text: str, tag: str) -> Path:
    src = work / f"kernels_{tag}.c"
    src.write_text(kernels_text, encoding="utf-8")
    exe = work / f"prog_{tag}"
    cmd = ["gcc", *BUILD, "-w", "-I", str(HERE), str(MAIN), str(src), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[:300])
    return exe


def time_call(exe: Path, function: str, rounds: int) -> float:
    out = subprocess.run([str(exe), function, str(rounds)], capture_output=True, text=True, timeout=600, check=True)
    return float(out.stdout.split("\t")[1])


def compare(original: Path, edited: Path, function: str, rounds: int, processes: int) -> tuple[float, float, float]:
    ratios = []
    for k in range(processes):
        order = (original, edited) if k % 2 == 0 else (edited, original)
        t = {exe: time_call(exe, function, rounds) for exe in order}
        ratios.append(t[original] / t[edited])
    return statistics.median(ratios), min(ratios), max(ratios)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isa", default=None, help="the ISA to rewrite for (default: the best this CPU runs)")
    ap.add_argument("--processes", type=int, default=5, help="original/edited process pairs (default 5)")
    ap.add_argument("--rounds", type=int, default=9, help="samples per process (default 9)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--only", action="append", default=[], metavar="FUNCTION",
                    help="time only these functions in the program (the scan still reads the whole file)")
    args = ap.parse_args(argv)
    isa = args.isa or host_cpu().best_isa
    if isa is None:
        print("in_program_nest: this CPU runs neither AVX2 nor AVX-512", file=sys.stderr)
        return 2
    load = os.getloadavg()
    found, others = rewrites(scan(isa))
    original_text = KERNELS.read_text(encoding="utf-8")
    rows = []
    with tempfile.TemporaryDirectory(prefix="simdlens-nestprog-") as tmp:
        work = Path(tmp)
        original = build(work, original_text, "original")
        for k, rw in enumerate(found):
            if args.only and rw.function not in args.only:
                rows.append((rw, None, "not timed in this run (--only)"))
                continue
            if not (rw.offered or rw.old_rule) or rw.function not in CALLS:
                rows.append((rw, None, "not offered by either rule"))
                continue
            try:
                edited = build(work, apply_edits(original_text, rw.edits), str(k))
            except RuntimeError as e:
                rows.append((rw, None, f"edited program does not build: {e}"))
                continue
            ratio = compare(original, edited, rw.function, args.rounds, args.processes)
            rows.append((rw, ratio, ""))
            print(f"  {rw.function} {rw.isa} {rw.origin}: {ratio[0]:.2f}x ({ratio[1]:.2f}–{ratio[2]:.2f})", file=sys.stderr)
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.processes} process pairs x "
          f"{args.rounds} rounds; {host_cpu().model}")
    print("| function | rewrite | offered now | offered by the median rule | claimed vs -O3 native (scan) "
          "| in the program: original / edited | holds |")
    print("|---|---|---|---|---|---|---|")
    for rw, ratio, note in rows:
        measured = f"{ratio[0]:.2f}x ({ratio[1]:.2f}–{ratio[2]:.2f})" if ratio else note
        holds = "—" if ratio is None else ("yes" if ratio[0] > 1.0 else "no")
        print(f"| `{rw.function}` (line {rw.line}) | {rw.isa} {rw.origin} | {'yes' if rw.offered else 'no'} | "
              f"{'yes' if rw.old_rule else 'no'} | {rw.claimed} | {measured} | {holds} |")
    for line in others:
        print(f"- no verified rewrite: {line}")
    offered = [(rw, r) for rw, r, _ in rows if rw.offered and r is not None]
    held = sum(1 for _, r in offered if r[0] > 1.0)
    print(f"\n{len(offered)} offered win(s) timed in the program; {held} faster there as claimed.")
    if args.json:
        args.json.write_text(json.dumps([{"function": rw.function, "isa": rw.isa, "origin": rw.origin,
                                          "offered": rw.offered, "old_rule": rw.old_rule, "claimed": rw.claimed,
                                          "in_program": r, "note": n} for rw, r, n in rows], indent=1),
                             encoding="utf-8")
    return 0 if held == len(offered) else 1


if __name__ == "__main__":
    sys.exit(main())
