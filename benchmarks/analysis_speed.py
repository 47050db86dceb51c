"""How fast is the analysis stage on a big file?

Generates a 10,000-line C file with about 1,000 varied loops, then measures

1. full analysis: parse + find loops + file context + analyse every loop
   (`simdlens.analysis.analyze_file`; when that is not available, parse + find_loops + FileContext only,
   and the table says so);
2. incremental re-analysis after a one-line edit inside one loop: `SourceDocument.apply_edit`
   (incremental re-parse, re-finding loops in the touched function) plus analysing only the loops the
   edit changed.

Each figure is the median over several runs, with the min..max spread. Goals (issue 2, section 8):
full <= 150 ms, re-analysis <= 20 ms on the project's 2-core machine.

    .venv/bin/python benchmarks/analysis_speed.py [--runs 9] [--lines 10000] [--write FILE]
    .venv/bin/python benchmarks/analysis_speed.py --hostile [--runs 3]
    .venv/bin/python benchmarks/analysis_speed.py --stages [--runs 5]

`--hostile` times hostile files instead (issue 17): N nested `for` loops for growing N (the loop
search must stay linear in depth: time / N should not grow with N), and the deep-nesting inputs that
crashed the compiled build (each must end with "too deeply nested", quickly). `--stages` splits the full
analysis into its stages instead (CPU ms each: parse, file context, finding loops, building the IR, judging,
the nest passes), to say where the time goes.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from simdlens.analysis.context import FileContext
from simdlens.analysis.document import SourceDocument
from simdlens.analysis.loops import find_loops
from simdlens.analysis.parse import parse

GOAL_FULL_MS = 150.0
GOAL_EDIT_MS = 20.0

# Loop templates: {n} is a fresh index; each body is a handful of lines, like real kernels.
_TEMPLATES = [
    """void scale_{n}(float *restrict dst, const float *restrict src, float k, int n)
{{
    for (int i = 0; i < n; i++) {{
        dst[i] = src[i] * k;
    }}
}}
""",
    """float dot_{n}(const float *a, const float *b, size_t n)
{{
    float s = 0.0f;
    for (size_t i = 0; i < n; ++i)
        s += a[i] * b[i];
    return s;
}}
""",
    """void brighten_{n}(pixel_t *img, int n, int add)
{{
    for (int i = 0; i < n; i++) {{
        int v = img[i] + add;
        img[i] = v > 255 ? 255 : (v < 0 ? 0 : v);
    }}
}}
""",
    """void blur_{n}(float out[H][W], const float in[H][W])
{{
    for (int y = 1; y < H - 1; y++) {{
        for (int x = 1; x < W - 1; x++) {{
            out[y][x] = (in[y][x - 1] + in[y][x] + in[y][x + 1]) / 3.0f;
        }}
    }}
}}
""",
    """int find_{n}(const unsigned char *p, int n, unsigned char key)
{{
    int i = 0;
    while (i < n) {{
        if (p[i] == key)
            return i;
        i++;
    }}
    return -1;
}}
""",
    """void prefix_{n}(int *a, int n)
{{
    for (int i = 1; i < n; i++) {{
        a[i] = a[i - 1] + a[i]; /* a recurrence */
    }}
}}
""",
    """void transform_{n}(float (*out)[3], const float (*in)[3], const float m[3][3], int n)
{{
    for (int i = 0; i < n; i++) {{
        for (int k = 0; k < 3; k++)
            out[i][k] = m[k][0] * in[i][0] + m[k][1] * in[i][1] + m[k][2] * in[i][2];
    }}
}}
""",
    """long count_{n}(const short *v, long n, short t)
{{
    long c = 0;
    long i = n;
    do {{
        --i;
        c += v[i] > t;
    }} while (i > 0);
    return c;
}}
""",
    """void clampmix_{n}(double *d, const double *a, const double *b, int n)
{{
    for (int i = n - 1; i >= 0; i -= 1) {{
        double t = 0.25 * a[i] + 0.75 * b[i];
        d[i] = fmin(fmax(t, -1.0), 1.0);
    }}
}}
""",
    """int gather_{n}(int *dst, const int *src, const int *idx, int n)
{{
    int packed = 0;
    for (int i = 0; i < n; i++) {{
        if (src[idx[i]] > 0)
            dst[packed++] = src[idx[i]];
    }}
    return packed;
}}
""",
]

_PRELUDE = """#include <stddef.h>
#include <stdint.h>
#include <math.h>

#define W 640
#define H 480
typedef uint8_t pixel_t;

"""


def generate(lines: int, seed: int = 1) -> bytes:
    """A C file of about `lines` lines built from the templates, in a shuffled order."""
    rng = random.Random(seed)
    parts = [_PRELUDE]
    count = _PRELUDE.count("\n")
    n = 0
    while count < lines:
        t = _TEMPLATES[rng.randrange(len(_TEMPLATES))].format(n=n)
        # A doc comment on every function, as in real code (and ~1 loop per 10 lines overall).
        t = f"/*\n * Kernel {n}: {t.split('(')[0].split()[-1]}.\n */\n" + t
        parts.append(t + "\n")
        count += t.count("\n") + 1
        n += 1
    return "".join(parts).encode()


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _time(fn: Callable[[], Any], runs: int) -> list[tuple[float, float]]:
    """(wall ms, process CPU ms) per run. CPU time is what the step costs on a quiet machine; the
    wall time also shows what other processes on this machine took from it."""
    out = []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(((time.perf_counter() - w0) * 1000.0, (time.process_time() - c0) * 1000.0))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--write", help="also write the generated file here")
    ap.add_argument("--hostile", action="store_true", help="time deep nesting instead (issue 17)")
    ap.add_argument("--stages", action="store_true", help="CPU time of each stage of the full analysis instead")
    args = ap.parse_args(argv)
    if args.hostile:
        return hostile(args.runs)
    if args.stages:
        return stages(generate(args.lines), args.runs)
    # The analyser logs each loop it fails on; count those (below) instead of flooding the table.
    logging.getLogger("simdlens").addHandler(logging.NullHandler())
    logging.getLogger("simdlens").propagate = False

    load_before = os.getloadavg()[0]
    source = generate(args.lines)
    if args.write:
        with open(args.write, "wb") as f:
            f.write(source)
    path = "generated.c"
    tree = parse(source, "c")
    sites = find_loops(tree, source, path, "c")
    line_count = source.count(b"\n")
    print(f"generated {line_count} lines, {len(sites)} loops, {len(source) // 1024} KB")
    from simdlens._native import HOT_PATH

    print(f"analysis hot path: {HOT_PATH.why}")

    # The analyser proper is written alongside this front end; measure it when it is there.
    analyze_file = _optional("simdlens.analysis", "analyze_file")
    analyze_loops = _optional("simdlens.analysis", "analyze_loops")

    def front() -> None:
        t = parse(source, "c")
        find_loops(t, source, path, "c")
        FileContext.build(source, path, "c", tree=t)

    rows: list[tuple[str, list[tuple[float, float]], float | None]] = []
    rows.append(("parse", _time(lambda: parse(source, "c"), args.runs), None))
    rows.append(("find_loops", _time(lambda: find_loops(tree, source, path, "c"), args.runs), None))
    rows.append(("FileContext.build", _time(lambda: FileContext.build(source, path, "c", tree=tree), args.runs), None))
    rows.append(("parse + find + context", _time(front, args.runs), None if analyze_file else GOAL_FULL_MS))
    if analyze_file is not None:
        result = analyze_file(source, path, "c")
        verdicts = Counter(str(a.verdict) for a in result.analyses)
        print(f"analyze_file: {len(result.analyses)} loops judged {dict(verdicts)}, "
              f"{len(result.kernels)} kernels, {len(result.errors)} errors")
        if result.errors:
            print(f"  first error: {result.errors[0]}")
        rows.append(("full analysis (analyze_file)",
                     _time(lambda: analyze_file(source, path, "c"), args.runs), GOAL_FULL_MS))
    else:
        print("note: simdlens.analysis.analyze_file is not available: 'full' covers parse + find + context only")

    # Incremental: a one-line edit inside one loop body, alternating between two texts so every run
    # really changes the loop.
    doc = SourceDocument(source, path, "c")
    ctx = FileContext.build(source, path, "c", tree=doc.tree)
    anchor = b"dst[i] = src[i] * k;"
    pos = source.index(anchor, len(source) // 2)
    texts = [b"dst[i] = src[i] * k + 1.0f;", anchor]
    state: dict[str, Any] = {"i": 0, "len": len(anchor), "changed": 0, "ctx": ctx}

    apply_times: list[tuple[float, float]] = []
    analyse_times: list[tuple[float, float]] = []

    def edit() -> None:
        new = texts[state["i"] % 2]
        state["i"] += 1
        w0, c0 = time.perf_counter(), time.process_time()
        changed = doc.apply_edit(pos, pos + state["len"], new)
        w1, c1 = time.perf_counter(), time.process_time()
        state["len"] = len(new)
        state["changed"] = len(changed.current)
        if analyze_loops is not None:
            sites = [site for lid in changed.current if (site := doc.site(lid)) is not None]
            if changed.context_changed:  # not the case for this edit; kept for the honest general path
                state["ctx"] = FileContext.build(doc.source, path, "c", tree=doc.tree)
            analyze_loops(sites, doc.tree, doc.source, state["ctx"])
        apply_times.append(((w1 - w0) * 1000.0, (c1 - c0) * 1000.0))
        analyse_times.append(((time.perf_counter() - w1) * 1000.0, (time.process_time() - c1) * 1000.0))

    label = "edit + re-analyse changed loops" if analyze_loops is not None else "edit + re-find loops (no analyser)"
    total = _time(edit, args.runs * 3)
    rows.append(("  apply_edit (re-parse, re-find)", apply_times, None))
    if analyze_loops is not None:
        rows.append(("  analyze_loops (changed only)", analyse_times, None))
    rows.append((label, total, GOAL_EDIT_MS))

    # Positions of the loops below an edit are brought up to date lazily, when first read (the
    # server reads them when it publishes diagnostics): what that costs after one edit.
    settle_times: list[tuple[float, float]] = []
    for _ in range(args.runs):
        edit()
        w0, c0 = time.perf_counter(), time.process_time()
        _ = doc.sites
        settle_times.append(((time.perf_counter() - w0) * 1000.0, (time.process_time() - c0) * 1000.0))
    rows.append(("  then reading all sites", settle_times, None))
    print(f"loops changed per edit: {state['changed']}")

    # Other processes on a small machine inflate wall time (and, less, CPU time): say how busy it was.
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs; "
          f"{args.runs} runs per step")
    print(f"{'step':<34} {'median ms':>10} {'min':>8} {'max':>8} {'cpu ms':>8}  goal (on median wall time)")
    for name, samples, goal in rows:
        wall = [w for w, _c in samples]
        med = statistics.median(wall)
        cpu = statistics.median(c for _w, c in samples)
        verdict = "" if goal is None else (f"<= {goal:.0f} ms  " + ("ok" if med <= goal else "MISSED"))
        print(f"{name:<34} {med:>10.1f} {min(wall):>8.1f} {max(wall):>8.1f} {cpu:>8.1f}  {verdict}")
    return 0


def stages(source: bytes, runs: int) -> int:
    """CPU ms of each stage of `analyze_file` on `source`, run one after another as it runs them."""
    import gc

    from simdlens._native import HOT_PATH
    from simdlens.analysis import _column_sweeps, _only_inner_loops
    from simdlens.analysis.build import build_loop
    from simdlens.analysis.build.declarations import release_file_scans
    from simdlens.analysis.legality import judge, refine_outer

    logging.getLogger("simdlens").addHandler(logging.NullHandler())
    logging.getLogger("simdlens").propagate = False
    load_before = os.getloadavg()[0]
    names = ("parse", "FileContext.build", "find_loops", "build_loop (IR)", "judge", "column sweeps + refine_outer")
    times: dict[str, list[float]] = {name: [] for name in (*names, "total")}
    for _ in range(runs):
        gc.disable()  # as analyze_file does while it runs
        marks = [time.process_time()]
        tree = parse(source, "c")
        marks.append(time.process_time())
        ctx = FileContext.build(source, "generated.c", "c", tree=tree)
        marks.append(time.process_time())
        sites = find_loops(tree, source, "generated.c", "c", ctx=ctx)
        marks.append(time.process_time())
        built = [build_loop(site, tree, source, ctx) for site in sites]
        marks.append(time.process_time())
        analyses = [judge(site, loop, reasons, ctx) for site, (loop, reasons) in zip(sites, built, strict=True)]
        marks.append(time.process_time())
        _column_sweeps(analyses, tree, source, ctx)
        for i, inner in list(_only_inner_loops(analyses)):
            analyses[i] = refine_outer(analyses[i], inner, source)
        marks.append(time.process_time())
        gc.enable()
        release_file_scans()
        for name, t0, t1 in zip(names, marks, marks[1:], strict=False):  # (one more mark than stages)
            times[name].append((t1 - t0) * 1000.0)
        times["total"].append((marks[-1] - marks[0]) * 1000.0)
    print(f"analysis hot path: {HOT_PATH.why}")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {runs} runs, CPU ms")
    print(f"{'stage':<30} {'median':>8} {'min':>8} {'max':>8}")
    for name, samples in times.items():
        print(f"{name:<30} {statistics.median(samples):>8.1f} {min(samples):>8.1f} {max(samples):>8.1f}")
    return 0


def hostile(runs: int) -> int:
    """find_loops and analyze_file on nests of N loops, and on the inputs that crashed the compiled build."""
    from simdlens._native import HOT_PATH
    from simdlens.analysis import analyze_file

    logging.getLogger("simdlens").addHandler(logging.NullHandler())
    logging.getLogger("simdlens").propagate = False
    load_before = os.getloadavg()[0]
    print(f"analysis hot path: {HOT_PATH.why}")
    print(f"{'input':<40} {'find_loops ms':>14} {'per loop us':>12} {'analyze_file ms':>16}  verdict")
    for n in (500, 1000, 2000, 4000):
        source = ("void f(float *a, int n) {\n" + "for (int i = 0; i < n; i++)\n" * n + "a[0] += 1;\n}\n").encode()
        tree = parse(source, "c")
        found = statistics.median(w for w, _c in _time(functools.partial(find_loops, tree, source, "n.c", "c"), runs))
        whole = statistics.median(w for w, _c in _time(functools.partial(analyze_file, source, "n.c", "c"), runs))
        print(f"{f'{n} nested for loops':<40} {found:>14.1f} {1000 * found / n:>12.1f} {whole:>16.1f}")
    deep = {
        "35,000-term sum": "void f(float *a, float *b, int n) { for (int i = 0; i < n; i++) a[i] = "
                           + " + ".join(["b[i]"] * 35_000) + "; }\n",
        "50,000 nested braces": "void f(float *a, int n) { for (int i = 0; i < n; i++) " + "{" * 50_000
                                + "a[i] = 0;" + "}" * 50_000 + " }\n",
        "20,000 nested ifs": "void f(float *a, int n) { for (int i = 0; i < n; i++) { " + "if (a[i] > 0) " * 20_000
                             + "a[i] = 0; } }\n",
        "50,000 casts": "void f(float *a, int n) { for (int i = 0; i < n; i++) a[i] = " + "(float)" * 50_000
                        + "a[i]; }\n",
    }
    for name, text in deep.items():
        source = text.encode()
        result = analyze_file(source, "deep.c", "c")
        whole = statistics.median(w for w, _c in _time(functools.partial(analyze_file, source, "deep.c", "c"), runs))
        reasons = "; ".join(r.message for a in result.analyses for r in a.reasons)
        print(f"{name:<40} {'':>14} {'':>12} {whole:>16.1f}  {reasons[:60]}")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs; "
          f"median of {runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
