"""Hover on a loop header: the verdict and its reasons, the measured table, caveats, the best rewrite.

The table has one block per ISA and one row per problem size: how long the original takes per
element built scalar, with the user's flags and with `-O3 -march=native`, and the rewrite, with the
speedup ranges across processes and a "memory-bound" label where ratios do not repeat. Everything is
read from the snapshot; a hover never computes, compiles or waits.
"""

from __future__ import annotations

from lsprotocol import types

from simdlens import summary
from simdlens.core import CandidateResult, LoopReport, Ratio, Status
from simdlens.server.positions import Encoding, lsp_range
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus
from simdlens.summary import Outcome

_VERDICT_WORDS = {
    "vectorizable": "vectorizable",
    "vectorizable_with_checks": "vectorizable with runtime overlap checks",
    "not_vectorizable": "not vectorizable",
}
PREVIEW_LINES = 40


def _ns(value: float | None) -> str:
    return f"{value:.3g}" if value is not None else "–"


def measurement_table(result: CandidateResult) -> list[str]:
    m = result.measurement
    if m is None or not m.sizes:
        return ["*verified; not benchmarked (benchmarks are disabled)*"]
    level = summary.user_opt_level(result) or "your flags"
    lines = [
        f"| n | scalar | {level} | -O3 -march=native | {summary.isa_name(result.candidate.isa)} | vs {level} | vs -O3 native |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in m.sizes:
        ns = size.ns_per_element
        label = f"{size.n} ({size.label}{', memory-bound' if size.memory_bound else ''})"
        lines.append(
            f"| {label} | {_ns(ns.get('scalar'))} | {_ns(ns.get('user_flags'))} | {_ns(ns.get('native_autovec'))} | "
            f"{_ns(ns.get('candidate'))} | {summary.ratio_text(size.vs_user_flags)} | "
            f"{summary.ratio_text(size.vs_native_autovec)} |"
        )
    lines.append("")
    lines.append(f"ns per element, median of {max((s.vs_user_flags.runs for s in m.sizes if s.vs_user_flags), default=1)} "
                 f"processes; {m.compiler}, {m.cpu}.")
    if any(s.memory_bound for s in m.sizes):
        lines.append("Memory-bound sizes do not repeat well: read their ranges, not the medians.")
    return lines


def _status_line(state: LoopState) -> str:
    finished = state.status in (LoopStatus.DONE, LoopStatus.FAILED)
    outcome = summary.outcome(state.report, finished)
    if outcome is Outcome.WIN:
        line = summary.describe_best(summary.ranked_wins(state.report)[0])
        assert line.ratio is not None
        return f"**Verified {line.isa} rewrite: {summary.ratio_text(line.ratio)} faster than {line.baseline}.**"
    if outcome is Outcome.VERIFIED_UNMEASURED:
        return "**A verified rewrite is available (not benchmarked).**"
    if outcome is Outcome.COMPILER_WINS:
        return ("**The compiler already vectorizes this loop:** no verified rewrite is faster than "
                "`-O3 -march=native`, so none is offered.")
    if outcome is Outcome.NO_SAFE_REWRITE:
        return f"**No safe rewrite:** {summary.failure_reason(state.report)}"
    if state.status is LoopStatus.VERIFYING:
        return f"*Verifying {summary.isa_name(state.isa) if state.isa else 'rewrites'}…*"
    if state.status is LoopStatus.QUEUED:
        return "*Queued for verification.*"
    if state.status is LoopStatus.SKIPPED:
        return f"*Not verified: {state.detail}.*"
    if state.status is LoopStatus.FAILED:
        return f"*Verification failed: {state.detail}.*"
    return ""


def _failures(report: LoopReport) -> list[str]:
    out = []
    for r in report.results:
        if r.verdict.status is Status.VERIFIED:
            continue
        detail = f": {r.verdict.detail}" if r.verdict.detail else ""
        out.append(f"- {summary.isa_name(r.candidate.isa)} `{r.candidate.origin}` — {r.verdict.status.value.replace('_', ' ')}{detail}")
    return out


def hover_markdown(state: LoopState) -> str:
    report = state.report
    analysis = report.analysis
    site = analysis.site
    where = f" in `{site.function}`" if site.function else ""
    parts = [f"**simdlens** — `{site.kind.value}` loop{where}: {_VERDICT_WORDS.get(analysis.verdict.value, analysis.verdict.value)}"]
    if analysis.reasons:
        parts.append("\n".join(f"- {r.message}" for r in analysis.reasons))
    status = _status_line(state)
    if status:
        parts.append(status)
    by_isa: dict[str, CandidateResult] = {}
    for result in summary.verified(report):
        current = by_isa.get(result.candidate.isa)
        if current is None or (summary.vs_compiler(result) or _ZERO).median > (summary.vs_compiler(current) or _ZERO).median:
            by_isa[result.candidate.isa] = result
    for isa, result in by_isa.items():
        cached = " (cached)" if result.cached else ""
        parts.append(f"**{summary.isa_name(isa)}** — `{result.candidate.origin}`, verified{cached}\n\n" + "\n".join(measurement_table(result)))
        if result.candidate.caveats:
            parts.append("Caveats: " + "; ".join(result.candidate.caveats))
    failures = _failures(report)
    if failures:
        parts.append("Rejected candidates:\n" + "\n".join(failures))
    if report.notes:
        parts.append("\n".join(f"- {n}" for n in report.notes))
    best = summary.best(report)
    if best is not None and best.candidate.edits:
        text = "\n".join(e.new_text for e in best.candidate.edits if e.new_text.strip())
        lines = text.splitlines()
        if len(lines) > PREVIEW_LINES:
            lines = [*lines[:PREVIEW_LINES], f"/* … {len(lines) - PREVIEW_LINES} more lines */"]
        fence = "```"
        parts.append(f"Best rewrite ({summary.isa_name(best.candidate.isa)}):\n\n{fence}c\n" + "\n".join(lines) + f"\n{fence}")
    return "\n\n".join(parts)


def hover(snapshot: DocumentSnapshot, offset: int, encoding: Encoding) -> types.Hover | None:
    if snapshot.skipped:
        return None
    state = snapshot.loop_at(offset)
    if state is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=hover_markdown(state)),
        range=lsp_range(snapshot.lines, state.header, encoding),
    )


_ZERO = Ratio(0.0, 0.0, 0.0, 0)
