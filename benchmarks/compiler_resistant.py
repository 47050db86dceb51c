"""Which corpus loops do gcc and clang leave scalar at `-O3 -march=native`? (the compiler-resistant set)

For every loop simdlens finds in the given files (outer loops of a nest excepted: their inner loop is
the candidate and the one the compilers report), this script asks each compiler's own vectorization
report whether it vectorized the loop:

    gcc      -O3 -march=native -fopt-info-vec-optimized -c FILE      ("FILE:LINE:COL: optimized: loop vectorized")
    clang-19 -O3 -march=native -Rpass=loop-vectorize -c FILE        ("FILE:LINE:COL: remark: vectorized loop")

A loop is matched by the line of its header (the line both compilers report). A loop neither reports
is compiler-resistant. With `--in-program FILE.json` (the `--json` output of `benchmarks/in_program.py`
on the same files: its rows are the wins simdlens offers, verified and measured at least
`summary.WIN_MARGIN` faster than `-O3 -march=native`) it says per loop whether such a win exists and
whether it held in the program (the program's median ratio above 1.0 at every size it was claimed at);
`--scan FILE.json` (`simdlens scan --json`) adds the verified wins without the program check.

Usage: .venv/bin/python benchmarks/compiler_resistant.py FILE... [--scan scan.json] [--in-program ip.json]
       [--gcc gcc] [--clang clang-19] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from simdlens.analysis import analyze_file
from simdlens.analysis.parse import language_for
from simdlens.core import LoopRole
from simdlens.summary import WIN_MARGIN

_GCC_DONE = re.compile(r":(\d+):\d+: optimized: loop vectorized")
_CLANG_DONE = re.compile(r":(\d+):\d+: remark: vectorized loop")


def vectorized_lines(compiler: str, path: Path, report: list[str], done: re.Pattern[str]) -> set[int]:
    """The source lines of `path` whose loops `compiler` reports vectorized at -O3 -march=native."""
    cpp = path.suffix in (".cpp", ".cc", ".cxx")
    std = ["-x", "c++", "-std=c++17"] if cpp else ["-std=c11"]
    proc = subprocess.run([compiler, *std, "-O3", "-march=native", *report, "-c", str(path), "-o", "/dev/null"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"{compiler} failed on {path}: {proc.stderr.strip().splitlines()[-1:]}")
    return {int(m.group(1)) for line in (proc.stderr + proc.stdout).splitlines()
            if str(path.name) in line and (m := done.search(line))}


def _families(source: bytes) -> dict[str, str]:
    """function -> the `category=` of its `// bench:` line (benchmarks/corpus/README.md)."""
    out = {}
    for m in re.finditer(rb"// bench:[^\n]*category=(\w+)[^\n]*\n(?:[^\n]*\n)??[^(\n]*?(\w+)\s*\(", source):
        out[m.group(2).decode()] = m.group(1).decode()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--gcc", default="gcc")
    ap.add_argument("--clang", default="clang-19")
    ap.add_argument("--scan", type=Path, help="simdlens scan --json output for the same files")
    ap.add_argument("--in-program", type=Path, help="benchmarks/in_program.py --json output")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    wins: dict[tuple[str, str], float] = {}
    if args.scan:
        for f in json.loads(args.scan.read_text())["files"]:
            for loop in f["loops"]:
                best = max((c["speedup"]["vs_native_autovec"] for c in loop["candidates"]
                            if c["status"] == "verified" and c.get("speedup")), default=0.0)
                if best >= WIN_MARGIN:
                    wins[(Path(f["path"]).name, loop["function"])] = best
    held: dict[tuple[str, str], float] = {}
    if args.in_program:  # its rows are the offered wins: the claimed ratio, and the program's at those sizes
        for row in json.loads(args.in_program.read_text()):
            key = (Path(row["file"]).name, row["function"])
            claimed, measured = row["claimed"], row["in_program"]
            wins.setdefault(key, max(claimed.values(), default=0.0))
            sizes = [n for n in claimed if n in measured] or list(measured)
            if sizes and not row.get("note"):
                held[key] = min(measured[n][0] for n in sizes)

    rows = []
    for path in args.files:
        source = path.read_bytes()
        fa = analyze_file(source, str(path), language_for(str(path)) or "c")
        by_gcc = vectorized_lines(args.gcc, path, ["-fopt-info-vec-optimized"], _GCC_DONE)
        by_clang = vectorized_lines(args.clang, path, ["-Rpass=loop-vectorize"], _CLANG_DONE)
        family = _families(source)
        for a in fa.analyses:
            if a.site.role == LoopRole.OUTER:
                continue  # the compilers report its inner loop, the candidate; this level is no loop of the set
            line = a.site.header.start.line + 1
            key = (path.name, a.site.function)
            rows.append({"file": path.name, "line": line, "function": a.site.function, "verdict": a.verdict.value,
                         "family": family.get(a.site.function, "?"),
                         "gcc": line in by_gcc, "clang": line in by_clang,
                         "resistant": line not in by_gcc and line not in by_clang,
                         "win": wins.get(key), "in_program": held.get(key)})
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print("| loop | simdlens verdict | gcc 12 | clang 19 | verified win vs -O3 native | in program |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        win = f"{r['win']:.2f}x" if r["win"] else "-"
        ip = f"{r['in_program']:.2f}x" if r["in_program"] else "-"
        print(f"| {r['file']}:{r['line']} `{r['function']}` | {r['verdict']} | {'vectorized' if r['gcc'] else 'scalar'} "
              f"| {'vectorized' if r['clang'] else 'scalar'} | {win} | {ip} |")
    resistant = [r for r in rows if r["resistant"]]
    won = [r for r in resistant if r["win"]]
    kept = [r for r in won if r["in_program"] and r["in_program"] > 1.0]
    for family in sorted({r["family"] for r in rows}):
        mine = [r for r in rows if r["family"] == family]
        gains = [r["win"] for r in mine if r["win"]]
        geo = statistics.geometric_mean(gains) if gains else None
        print(f"- {family}: {len(mine)} loops, {sum(r['resistant'] for r in mine)} compiler-resistant, {len(gains)} "
              f"verified wins" + (f" (geomean {geo:.2f}x)" if geo else "")
              + (f", {sum(1 for r in mine if r['in_program'] and r['in_program'] > 1.0)} held in the program"
                 if args.in_program else ""))
    print(f"\n{len(rows)} loops; {len(resistant)} compiler-resistant (neither gcc nor clang vectorizes them); "
          f"{len(won)} of those with a verified win over -O3 -march=native"
          + (f"; {len(kept)} held in the program" if args.in_program else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
