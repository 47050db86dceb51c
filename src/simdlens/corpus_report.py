"""The benchmark report: run the whole pipeline on the project's loop corpus and write what happened.

`simdlens bench` scans `benchmarks/corpus/` (every loop's function carries a
`// bench: domain=... category=... expect=...` line) for AVX2 and AVX-512 and turns the scan into
`docs/benchmarks.md`: verdicts against the expected ones, candidates by origin, what the sandbox
caught, how many rewrites beat the scalar build, a typical -O2 build and `-O3 -march=native`,
geometric-mean speedups per category, verification throughput, and - when a model is configured - the
model's pass@1 / pass@k per ISA. Every number in it comes from the scan it describes; nothing is typed
in by hand.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from simdlens.analysis.loops import QUALIFIER_ARGUMENTS
from simdlens.core import CandidateResult, LoopReport, LoopRole, Ratio, SizeMeasurement, Status
from simdlens.expert_set import ExpertRow
from simdlens.model.repair import ModelProposal, pass_at_k

_META = re.compile(r"//\s*bench:\s*(.*)")
# (a member defined outside its class template, `void Tensor<T>::add_(`, is named `Tensor::add_`, as the scan does)
_FUNC = re.compile(r"^[A-Za-z_][\w\s\*:<>&,]*?\b((?:[A-Za-z_]\w*(?:<[^<>()]*>)?::)*[A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class CorpusLoop:
    """One corpus entry: the function that holds the loop and its metadata."""

    path: str
    function: str
    domain: str
    category: str
    expect: str
    style: str = ""  # how the code is written (`style=` in the annotation, else by file; "" = textbook)


# Corpus files written in one of the styles real code uses (issue 14), for entries without `style=`.
STYLE_OF_FILE = {"dsp_pointers.c": "dsp_pointer", "hpc_2d.c": "hpc_2d", "complex_arith.c": "complex",
                 "templates.cpp": "template", "strided.c": "runtime_stride"}
STYLE_NAMES = {"dsp_pointer": "DSP pointer style (`*out++ = *a++ * *b++`)",
               "template": "C++ templates (class template members, deduced calls)",
               "hpc_2d": "macro-heavy HPC kernels over 2-D arrays",
               "complex": "complex arithmetic (`float complex`, typedefs)",
               "runtime_stride": "run-time strides (BLAS `x[i*incx]`, NumPy-ufunc byte steps)",
               "pointer_range": "`[begin, end)` pointer pairs (`for (; p < end; p++)`)"}


def read_corpus(root: Path) -> list[CorpusLoop]:
    """Every `// bench:` entry under `root`, tied to the function defined on the following lines."""
    entries: list[CorpusLoop] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".c", ".cc", ".cpp", ".cxx")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            meta = _META.search(line)
            if not meta:
                continue
            fields = dict(kv.split("=", 1) for kv in meta.group(1).split() if "=" in kv)
            func = next((QUALIFIER_ARGUMENTS.sub("", m.group(1)) for m in (_FUNC.match(s) for s in lines[i + 1:i + 4])
                         if m), "")
            entries.append(CorpusLoop(str(path), func, fields.get("domain", "?"), fields.get("category", "?"),
                                      fields.get("expect", "?"), fields.get("style", STYLE_OF_FILE.get(path.name, ""))))
    return entries


@dataclass(frozen=True)
class LoopOutcome:
    """What the pipeline made of one corpus loop."""

    entry: CorpusLoop
    report: LoopReport | None  # None: the analysis found no loop in that function

    @property
    def verdict(self) -> str:
        return self.report.analysis.verdict.value if self.report else "missing"

    def best(self, isa: str) -> CandidateResult | None:
        """The verified candidate of `isa` with the highest measured speedup over the scalar build."""
        if self.report is None:
            return None
        verified = [r for r in self.report.results if r.candidate.isa == isa and r.verdict.status is Status.VERIFIED]
        return max(verified, key=lambda r: _ratio(r, "vs_scalar") or 0.0, default=None)


def _first_size(result: CandidateResult) -> SizeMeasurement | None:
    m = result.measurement
    return m.sizes[0] if m and m.sizes else None


def _ratio_obj(result: CandidateResult, which: str) -> Ratio | None:
    size = _first_size(result)
    return getattr(size, which) if size else None


def _ratio(result: CandidateResult, which: str) -> float | None:
    r = _ratio_obj(result, which)
    return r.median if r else None


def primary_loop(loops: Sequence[LoopReport], function: str) -> LoopReport | None:
    """The loop of `function` a vectorizer would work on: the innermost (or outer-vectorizable) one."""
    mine = [lr for lr in loops if lr.analysis.site.function == function]
    for role in (LoopRole.OUTER_VECTORIZABLE, LoopRole.INNERMOST):
        picked = [lr for lr in mine if lr.analysis.site.role is role]
        if picked:
            return picked[0]
    return mine[0] if mine else None


def match_outcomes(entries: Iterable[CorpusLoop], loops_by_path: dict[str, Sequence[LoopReport]]) -> list[LoopOutcome]:
    return [LoopOutcome(e, primary_loop(loops_by_path.get(e.path, ()), e.function)) for e in entries]


def geomean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


@dataclass(frozen=True)
class BenchContext:
    """Facts about the run the report describes (all measured or read off the machine)."""

    cpu: str
    isa: Sequence[str]
    compiler: str
    isas: Sequence[str]
    wall_seconds: float
    quick: bool
    bench: bool
    date: str
    lsp_figures: dict[str, float] | None = None
    model: str = ""
    model_rates: Sequence[PassRate] = ()


# Attempt statuses that say the model server, the sandbox or the clock failed, not the model's code:
# such a loop says nothing about the model's pass rate and is left out of it (and counted as left out).
_NOT_JUDGED = frozenset({"unavailable", "auth", "protocol", "budget", "sandbox_error", "cancelled", "internal_error"})


@dataclass(frozen=True)
class PassRate:
    """How often the model's samples for one ISA were verified, over the corpus loops it was asked about."""

    isa: str
    loops: int  # loops whose every sample was judged by the sandbox
    k: int  # samples asked per loop
    pass_at_1: float  # mean over those loops of the unbiased estimate
    pass_at_k: float
    answers: int  # model answers (attempts, repair rounds included) over those loops
    first_round: int  # samples verified without feedback
    after_repair: int  # samples verified only after feedback
    left_out: int  # loops the server, the sandbox or the time budget failed on


def model_pass_rates(outcomes: Sequence[LoopOutcome], proposals: Mapping[tuple[str, str], ModelProposal],
                     isas: Sequence[str], k: int) -> list[PassRate]:
    """pass@1 and pass@k per ISA over the corpus loops the model was asked about in this run."""
    rates = []
    for isa in isas:
        judged: list[ModelProposal] = []
        left_out = 0
        seen: set[str] = set()
        for o in outcomes:
            kernel = o.report.kernel if o.report else None
            if kernel is None or kernel.content_hash in seen:
                continue
            seen.add(kernel.content_hash)
            proposal = proposals.get((kernel.content_hash, isa))
            if proposal is None:
                continue  # not asked: the rule engine covered the loop
            if not proposal.attempts or any(a.status in _NOT_JUDGED for a in proposal.attempts):
                left_out += 1
            else:
                judged.append(proposal)
        if not judged and not left_out:
            continue
        rounds = [p.verified_round(s) for p in judged for s in {a.sample for a in p.attempts}]
        rates.append(PassRate(
            isa=isa, loops=len(judged), k=k,
            pass_at_1=statistics.fmean(pass_at_k(p.samples, p.verified_samples, 1) for p in judged) if judged else 0.0,
            pass_at_k=statistics.fmean(pass_at_k(p.samples, p.verified_samples, k) for p in judged) if judged else 0.0,
            answers=sum(len(p.attempts) for p in judged),
            first_round=sum(1 for r in rounds if r == 0), after_repair=sum(1 for r in rounds if r is not None and r > 0),
            left_out=left_out,
        ))
    return rates


def render(outcomes: Sequence[LoopOutcome], ctx: BenchContext, chart: str | None = None) -> str:
    """The markdown report."""
    out: list[str] = []
    w = out.append
    n = len(outcomes)
    found = sum(1 for o in outcomes if o.report is not None)
    w("# simdlens benchmark report\n")
    w(f"Generated by `simdlens bench` on {ctx.date}. Every figure below comes from that run.\n")
    w("## Machine\n")
    w(f"- CPU: {ctx.cpu}\n- ISA extensions used: {', '.join(ctx.isas) or 'none'}\n- Compiler: {ctx.compiler}")
    w(f"- Benchmark protocol: {'one size (quick)' if ctx.quick else 'L1 / L2 / memory-bound sizes'}"
      f"{'' if ctx.bench else ' (timing disabled)'}; 5 sandboxed processes, median of per-process ratios\n")

    w("## Loops and verdicts\n")
    w(f"{n} corpus loops, {found} found by the analysis.\n")
    agree = sum(1 for o in outcomes if o.verdict == o.entry.expect)
    w(f"Verdict agrees with the corpus annotation for {agree} of {n} loops.\n")
    w("| verdict | loops | expected by the corpus |")
    w("|---|---:|---:|")
    got = Counter(o.verdict for o in outcomes)
    want = Counter(o.entry.expect for o in outcomes)
    for v in sorted(set(got) | set(want)):
        w(f"| {v} | {got.get(v, 0)} | {want.get(v, 0)} |")
    disagreements = [o for o in outcomes if o.verdict != o.entry.expect]
    if disagreements:
        w("\nDisagreements (the analysis' verdict, then the annotation):\n")
        for o in disagreements:
            reason = o.report.analysis.reasons[0].message if o.report and o.report.analysis.reasons else ""
            w(f"- `{Path(o.entry.path).name}:{o.entry.function}`: {o.verdict} vs {o.entry.expect} — {reason}")
    w("")

    results = [r for o in outcomes if o.report for r in o.report.results]
    w("## Candidates and the sandbox\n")
    w("| ISA | origin | candidates | verified | mismatch | sanitizer | compile error | other |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    groups: dict[tuple[str, str], list[CandidateResult]] = defaultdict(list)
    for r in results:
        groups[(r.candidate.isa, r.candidate.origin.split(":")[0])].append(r)
    for (isa, origin), rs in sorted(groups.items()):
        st = Counter(r.verdict.status for r in rs)
        other = len(rs) - sum(st[s] for s in (Status.VERIFIED, Status.MISMATCH, Status.SANITIZER, Status.COMPILE_ERROR))
        w(f"| {isa} | {origin} | {len(rs)} | {st[Status.VERIFIED]} | {st[Status.MISMATCH]} | {st[Status.SANITIZER]} "
          f"| {st[Status.COMPILE_ERROR]} | {other} |")
    caught = [r for r in results if r.verdict.status in (Status.MISMATCH, Status.SANITIZER, Status.CRASH)]
    if caught:
        w("\nWrong rewrites the sandbox caught:\n")
        for r in caught:
            w(f"- {r.candidate.isa} {r.candidate.origin}: {r.verdict.status.value} — {r.verdict.detail}")
    no_candidate = [o for o in outcomes if o.report and o.verdict != "not_vectorizable" and not o.report.results]
    if no_candidate:
        w("\nVectorizable loops with no candidate (the rule engine's reasons):\n")
        for o in no_candidate:
            assert o.report is not None
            note = "; ".join(o.report.notes) or "no rule applies"
            w(f"- `{Path(o.entry.path).name}:{o.entry.function}` ({o.entry.category}): {note}")
    w("")

    styled = [o for o in outcomes if o.entry.style]
    if styled:
        out.extend(render_styles(styled, ctx.isas))

    if ctx.bench:
        w("## Speedups (best verified rewrite per loop, L1-resident size)\n")
        for isa in ctx.isas:
            best = [(o, o.best(isa)) for o in outcomes]
            measured = [(o, b) for o, b in best if b is not None and _ratio(b, "vs_scalar") is not None]
            w(f"### {isa.upper()}\n")
            if not measured:
                w("No measured rewrites.\n")
                continue
            faster = {k: sum(1 for _, b in measured if (_ratio(b, k) or 0) > 1.0)
                      for k in ("vs_scalar", "vs_user_flags", "vs_native_autovec")}
            w(f"{len(measured)} loops with a measured, verified rewrite; faster than the scalar build: "
              f"{faster['vs_scalar']}, than a typical -O2 build: {faster['vs_user_flags']}, "
              f"than `-O3 -march=native`: {faster['vs_native_autovec']}.\n")
            w("| category | loops | geomean vs scalar | vs -O2 | vs -O3 -march=native | range vs native |")
            w("|---|---:|---:|---:|---:|---|")
            by_cat: dict[str, list[CandidateResult]] = defaultdict(list)
            for o, b in measured:
                by_cat[o.entry.category].append(b)
            for cat, rs in [*sorted(by_cat.items()), ("**all**", [b for _, b in measured])]:
                nat = [v for v in (_ratio(r, "vs_native_autovec") for r in rs) if v]
                rng = f"{min(nat):.2f}–{max(nat):.2f}" if nat else "–"
                w(f"| {cat} | {len(rs)} | {_fmt(geomean([_ratio(r, 'vs_scalar') or 0 for r in rs]))} "
                  f"| {_fmt(geomean([_ratio(r, 'vs_user_flags') or 0 for r in rs]))} "
                  f"| {_fmt(geomean(nat))} | {rng} |")
            spreads = [q.spread for _, b in measured if (q := _ratio_obj(b, "vs_native_autovec"))]
            if spreads:
                w(f"\nRepeatability: the median relative min–max range across the 5 processes is "
                  f"{statistics.median(spreads) * 100:.1f}% (largest {max(spreads) * 100:.1f}%); "
                  f"{sum(1 for s in spreads if s > 0.10)} loops are marked noisy (> 10%).\n")
            w("\n<details><summary>Per loop</summary>\n")
            w("| loop | category | vs scalar | vs -O2 | vs native | noisy |")
            w("|---|---|---:|---:|---:|---|")
            for o, b in measured:
                nat_r = _ratio_obj(b, "vs_native_autovec")
                noisy = "yes" if nat_r is not None and nat_r.noisy else ""
                w(f"| {Path(o.entry.path).name}:{o.entry.function} | {o.entry.category} "
                  f"| {_fmt(_ratio(b, 'vs_scalar'))} | {_fmt(_ratio(b, 'vs_user_flags'))} "
                  f"| {_fmt(_ratio(b, 'vs_native_autovec'))} | {noisy} |")
            w("\n</details>\n")
        if chart:
            w(f"![speedup of each verified rewrite against the compiler's own vectorization]({chart})\n")

    w("## Throughput\n")
    verified_loops = sum(1 for o in outcomes if o.report and o.report.results)
    per_min = verified_loops / (ctx.wall_seconds / 60) if ctx.wall_seconds > 0 else 0.0
    w(f"{verified_loops} loops went through the sandbox in {ctx.wall_seconds:.0f} s of wall time on this machine: "
      f"{per_min:.1f} loops per minute ({'with' if ctx.bench else 'without'} benchmarking, cold cache).\n")
    if ctx.lsp_figures:
        w("## Language server latency\n")
        w("Measured by `benchmarks/lsp_latency.py` on a generated 10,000-line file.\n")
        w("| figure | value |")
        w("|---|---:|")
        for name, value in ctx.lsp_figures.items():
            unit = " MB" if "RSS" in name else "" if name in ("files open", "lines", "loops") else " ms"
            w(f"| {name} | {value:.1f}{unit} |")
        w("")
    w("## Model\n")
    w(f"{ctx.model or 'No model server was configured for this run; the figures above are the rule engine alone.'}\n")
    if ctx.model:
        _render_pass_rates(w, ctx.model_rates)
    return "\n".join(out) + "\n"


def _render_pass_rates(w: Callable[[str], None], rates: Sequence[PassRate]) -> None:
    if not rates:
        w("The model was not asked about any corpus loop in this run (the rule engine covered them all).\n")
        return
    k = rates[0].k
    w(f"Loops the rule engine could not rewrite were sent to the model, {k} sample(s) per loop, each run to "
      "its end (up to the configured repair rounds); a sample passes when the sandbox verifies one of its "
      "answers. pass@k is the unbiased estimate 1 - C(n-c, k) / C(n, k), averaged over loops.\n")
    w(f"| ISA | loops | pass@1 | pass@{k} | answers | verified first time | verified after repair | left out |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rates:
        w(f"| {r.isa} | {r.loops} | {_fmt(r.pass_at_1) if r.loops else '–'} | {_fmt(r.pass_at_k) if r.loops else '–'} "
          f"| {r.answers} | {r.first_round} | {r.after_repair} | {r.left_out} |")
    if any(r.left_out for r in rates):
        w("\n\"Left out\": loops where the model server or the sandbox failed, or the loop's time budget ran "
          "out, before every sample was judged; they are not in the rates.")
    w("")


def write_chart(outcomes: Sequence[LoopOutcome], isas: Sequence[str], path: Path) -> bool:
    """A PNG of each loop's speedup against `-O3 -march=native` (needs the optional matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    measured = [o for o in outcomes if any(_best_native(o, isa) for isa in isas)]
    row = {o.entry.function: y for y, o in enumerate(measured)}
    fig, ax = plt.subplots(figsize=(10, 0.25 * max(8, len(measured)) + 1.5))
    for k, isa in enumerate(isas):
        points = [(v, row[o.entry.function] + 0.2 * k) for o in measured if (v := _best_native(o, isa))]
        ax.scatter([x for x, _ in points], [y for _, y in points], label=isa.upper(), s=18)
    ax.axvline(1.0, color="grey", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(measured)), [o.entry.function for o in measured], fontsize=7)
    ax.set_xlabel("speedup over the loop built with -O3 -march=native (log scale)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _best_native(outcome: LoopOutcome, isa: str) -> float | None:
    best = outcome.best(isa)
    return _ratio(best, "vs_native_autovec") if best else None


def _stop_reason(o: LoopOutcome, isas: Sequence[str]) -> str:
    """Why a loop ends without a verified rewrite: the analysis' reason, the rule engine's note or the
    sandbox's verdict, in that order (the stage that stopped it)."""
    if o.report is None:
        return "the analysis found no loop in this function"
    a = o.report.analysis
    if a.verdict.value == "not_vectorizable":
        return f"analysis: {a.reasons[0].message}" if a.reasons else "analysis: not vectorizable"
    if o.report.kernel is None:
        return "no kernel could be extracted"
    if not o.report.results:
        return "; ".join(o.report.notes) or "rules: no rule applies"
    r = next((r for r in o.report.results if r.candidate.isa in isas), o.report.results[0])
    return f"sandbox ({r.candidate.isa}): {r.verdict.status.value} — {r.verdict.detail}"


def render_styles(outcomes: Sequence[LoopOutcome], isas: Sequence[str]) -> list[str]:
    """The section on the styles real code is written in: per style, how many loops get a verified
    rewrite (on any ISA of the run), how many are vectorizable but end without one, how many are
    refused, and every loop's stopping reason."""
    out = ["## Loops written the way real code is\n",
           "Corpus files in the styles of issue 14 (written for this project). \"verified\": a rewrite "
           "verified by the sandbox on at least one ISA of this run; \"vectorizable, no verified rewrite\": "
           "the analysis accepts the loop but no rewrite was verified; \"refused\": the analysis judges it not "
           "vectorizable.\n",
           "| style | loops | verified | vectorizable, no verified rewrite | refused |", "|---|---:|---:|---:|---:|"]
    by_style: dict[str, list[LoopOutcome]] = defaultdict(list)
    for o in outcomes:
        by_style[o.entry.style].append(o)

    def verified(o: LoopOutcome) -> bool:
        return any(o.best(isa) is not None for isa in isas)

    totals = [0, 0, 0, 0]
    for style, items in sorted(by_style.items()):
        ok = sum(1 for o in items if verified(o))
        refused = sum(1 for o in items if not verified(o) and o.verdict in ("not_vectorizable", "missing"))
        row = [len(items), ok, len(items) - ok - refused, refused]
        totals = [t + x for t, x in zip(totals, row, strict=True)]
        out.append(f"| {STYLE_NAMES.get(style, style)} | " + " | ".join(map(str, row)) + " |")
    out.append("| **all** | " + " | ".join(map(str, totals)) + " |")
    for style, items in sorted(by_style.items()):
        stopped = [(o, _stop_reason(o, isas)) for o in items if not verified(o)]
        if not stopped:
            continue
        out.append(f"\n{STYLE_NAMES.get(style, style)}: why the other loops stop\n")
        for o, why in stopped:
            out.append(f"- `{Path(o.entry.path).name}:{o.entry.function}` ({o.entry.category}, {o.verdict}): "
                       f"{why[:300]}")
    out.append("")
    return out


# --------------------------------------------------------------------------------------------------
# simdlens vs the expert reference set (benchmarks/expert, simdlens.expert_set)

EXPERT_HEADING = "## simdlens vs hand-tuned expert kernels"
EXPERT_GOAL = 0.95


def _speed(expert_ns: float | None, ours_ns: float | None) -> float | None:
    return expert_ns / ours_ns if expert_ns and ours_ns else None


def render_expert(rows: Sequence[ExpertRow], *, quick: bool, load: str = "", command: str = "", date: str = "") -> str:
    """The expert section: per category, simdlens's rewrite and the expert kernel timed in the same runs."""
    out: list[str] = [EXPERT_HEADING, ""]
    w = out.append
    w("Every corpus category has at least one loop hand-tuned the way a SIMD engineer writes it "
      "(`benchmarks/expert/<category>.c`, linked to its corpus loop by an `// expert:` line). The expert "
      "kernel and simdlens's rule rewrite of the same loop go through the same sandbox in one batch: "
      "the differential test against the original loop, then interleaved timing in the same processes. "
      f"simdlens / expert is the expert's time over simdlens's (1.00x: as fast; the goal is ≥ {EXPERT_GOAL:.2f}x).\n")
    if command or load:
        w(f"Command: `{command}`" + (f", run {date}" if date else "") + (f"; load average before the run: {load}" if load else "")
          + ("; one (L1-resident) size" if quick else "") + ".\n")
    w("| category | corpus loop | ISA | simdlens rewrite | expert | ns/element simdlens | ns/element expert | "
      "ns/element -O3 -march=native | simdlens / expert |")
    w("|---|---|---|---|---|---:|---:|---:|---:|")
    behind: list[str] = []
    for row in rows:
        e = row.expert
        ours = row.simdlens
        status = ours.verdict.status.value if ours else "no rewrite"
        family = f"{ours.candidate.origin} ({status})" if ours else "no rewrite"
        theirs = row.reference.verdict.status.value if row.reference else "not run"
        speeds = []
        for k, n in enumerate(row.sizes()):
            s = _speed(row.ns("expert", k), row.ns("simdlens", k))
            if s is not None:
                speeds.append(f"{s:.2f}x" + (f" at {n // 1024}K" if len(row.sizes()) > 1 else ""))
        w(f"| {e.category} | `{e.corpus}:{e.function}` | {e.isa} | {family} | {theirs} | "
          f"{_fmt(row.ns('simdlens'), 3)} | {_fmt(row.ns('expert'), 3)} | {_fmt(row.ns('native'), 3)} | "
          f"{', '.join(speeds) or '–'} |")
        first = _speed(row.ns("expert"), row.ns("simdlens"))
        technique = _technique(e.block)
        if ours is None or ours.verdict.status is not Status.VERIFIED:
            why = "; ".join(row.notes) or "no verified rewrite"
            behind.append(f"- {e.category} `{e.function}`: simdlens has no verified rewrite ({why}); "
                          f"the expert: {technique}")
        elif first is not None and round(first, 2) < EXPERT_GOAL:  # as the table shows it
            behind.append(f"- {e.category} `{e.function}` ({first:.2f}x): the expert {technique}")
    w("")
    if behind:
        w(f"Where simdlens is behind (below {EXPERT_GOAL:.2f}x of the expert, or no rewrite), and what the expert "
          "does differently:\n")
        out.extend(behind)
        w("")
    else:
        w(f"simdlens reaches {EXPERT_GOAL:.2f}x of the expert in every category.\n")
    return "\n".join(out)


def _technique(block: str) -> str:
    """The expert block's first comment: what the hand-tuned code does."""
    m = re.search(r"/\*(.*?)\*/", block, re.S)
    return " ".join(m.group(1).split()) if m else "hand-tuned intrinsics"


def splice_expert_section(document: str, section: str) -> str:
    """`document` with its expert section replaced by `section` (appended when it has none)."""
    start = document.find(EXPERT_HEADING)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    nxt = document.find("\n## ", start + len(EXPERT_HEADING))
    rest = document[nxt + 1:] if nxt >= 0 else ""
    return document[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
