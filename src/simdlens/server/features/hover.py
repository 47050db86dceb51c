"""Hover on a loop header: one line first, then a compact table; the details live in the report.

    **simdlens:** verified AVX-512 rewrite, 6.2x (5.9–6.6) vs your -O2 build at 4K · reassociates additions

    | rewrite | 4K (L1) | 64K (L2) | 1M (memory-bound) |
    | AVX-512 | 6.2x (5.9–6.6) | 3.1x (2.9–3.3) | 1.3x (1.0–1.6) |

The lead line is the verdict, the best speedup with its range and size, and the main caveat; the table
has one row per verified rewrite and one column per measured size (speedup over the user's build).
The long form (ns per element per variant, every caveat, rejected candidates, a preview of the
rewrite) is `loop_report_markdown`, used by `simdlens.showReport`; the code action previews the edit.
Text from the analysis and the sandbox is escaped for markdown (`__AVX512F__` is code, not bold).
Everything is read from the snapshot; a hover never computes, compiles or waits.
"""

from __future__ import annotations

import re

from lsprotocol import types

from simdlens import summary
from simdlens.core import CandidateResult, LoopReport, Ratio, Status
from simdlens.server.features.measured import per_size, size_name, times_range
from simdlens.server.positions import Encoding, lsp_range
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus
from simdlens.summary import Outcome

_VERDICT_WORDS = {
    "vectorizable": "vectorizable",
    "vectorizable_with_checks": "vectorizable with runtime overlap checks",
    "not_vectorizable": "not vectorizable",
}
PREVIEW_LINES = 40
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")
# a word holding a character markdown would act on (`__AVX512F__`, `#if`, `a*b`): shown as code
_CODE_WORD = re.compile(r"(?<!\S)([^\s`]*[_*#|<>~\\][^\s`]*?)([,.;:!?]*)(?!\S)")


def escape(text: str) -> str:
    """Plain text for markdown: words that markdown would turn into emphasis, headings, tables or HTML
    become code spans (`#if` `defined(__AVX512F__)`), which every client shows as written (a backslash
    escape would show as a backslash in clients that do not render markdown, like Neovim 0.7); text
    already in code spans (the analysis's reasons use them) stays as it is."""
    return "".join(part if _CODE_SPAN.fullmatch(part) else _CODE_WORD.sub(r"`\1`\2", part)
                   for part in _CODE_SPAN.split(text))


def _ns(value: float | None) -> str:
    return f"{value:.3g}" if value is not None else "–"


def measurement_table(result: CandidateResult) -> list[str]:
    """The long table (report): ns per element of every variant and both speedups, per size."""
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
    lines.append(f"ns per element, median of {_processes(result)} processes; {escape(m.compiler)}, {escape(m.cpu)}.")
    builds = [f"{size.n}: {note}" for size in m.sizes if (note := summary.build_note(result, size))]
    if builds:  # the lower of the rewrite's two builds is the ratio shown
        lines.append(f"vs -O3 -march=native, the lower of the rewrite's two builds: {escape('; '.join(builds))}.")
    if any(s.memory_bound for s in m.sizes):
        lines.append("Memory-bound sizes do not repeat well: read their ranges, not the medians.")
    return lines


def _processes(result: CandidateResult) -> int:
    m = result.measurement
    return max((s.vs_user_flags.runs for s in m.sizes if s.vs_user_flags), default=1) if m else 1


def _status_line(state: LoopState) -> str:
    finished = state.status in (LoopStatus.DONE, LoopStatus.FAILED)
    outcome = summary.outcome(state.report, finished)
    if outcome is Outcome.WIN:
        best = summary.ranked_wins(state.report)[0]
        line = summary.describe_best(best)
        assert line.ratio is not None
        size = summary.headline(best)
        at = f" at {size_name(size.n)}" if size is not None else ""
        depends = f"; {per_size(best, skip=size.n if size else None)}" if summary.size_dependent(best) else ""
        return f"verified {line.isa} rewrite, **{times_range(line.ratio)}** vs {line.baseline}{at}{depends}"
    if outcome is Outcome.VERIFIED_UNMEASURED:
        return "a verified rewrite is available (not benchmarked)"
    if outcome is Outcome.COMPILER_WINS:
        closest = summary.best(state.report)
        why = summary.not_a_win(closest) if closest is not None else ""
        if why.startswith("the compiler already") or not why:
            return "the compiler already vectorizes this loop: no verified rewrite is faster than `-O3 -march=native`"
        return escape(why)
    if outcome is Outcome.NO_SAFE_REWRITE:
        return f"no safe rewrite: {escape(summary.failure_reason(state.report))}"
    if state.status is LoopStatus.VERIFYING:
        return f"verifying {summary.isa_name(state.isa) if state.isa else 'rewrites'}…"
    if state.status is LoopStatus.QUEUED:
        return "queued for verification"
    if state.status is LoopStatus.SKIPPED:
        return f"not verified: {escape(state.detail)}"
    if state.status is LoopStatus.FAILED:
        return f"verification failed: {escape(state.detail)}"
    return ""


def _failures(report: LoopReport) -> list[str]:
    out = []
    for r in report.results:
        if r.verdict.status is Status.VERIFIED:
            continue
        detail = f": {escape(r.verdict.detail)}" if r.verdict.detail else ""
        out.append(f"- {summary.isa_name(r.candidate.isa)} `{r.candidate.origin}` — {r.verdict.status.value.replace('_', ' ')}{detail}")
    return out


def _best_per_isa(report: LoopReport) -> dict[str, CandidateResult]:
    by_isa: dict[str, CandidateResult] = {}
    for result in summary.verified(report):
        current = by_isa.get(result.candidate.isa)
        if current is None or (summary.vs_compiler(result) or _ZERO).median > (summary.vs_compiler(current) or _ZERO).median:
            by_isa[result.candidate.isa] = result
    return by_isa


def _main_caveat(result: CandidateResult | None) -> str:
    if result is None or not result.candidate.caveats:
        return ""
    semantic = summary.semantic_caveats(result)
    main = (semantic or list(result.candidate.caveats))[0]
    return main.split(" (", 1)[0]  # the lead line has room for its first clause


def _verdict(state: LoopState) -> str:
    analysis = state.report.analysis
    return _VERDICT_WORDS.get(analysis.verdict.value, analysis.verdict.value)


def compact_table(results: list[CandidateResult]) -> list[str]:
    """One row per verified rewrite, one column per measured size: speedup over the user's build."""
    measured = [r for r in results if r.measurement is not None and r.measurement.sizes]
    if not measured:
        return []
    sizes = measured[0].measurement.sizes if measured[0].measurement else ()
    level = summary.user_opt_level(measured[0]) or "your build"
    heads = [f"{size_name(s.n)} ({'memory-bound' if s.memory_bound else s.label})" for s in sizes]
    lines = [f"| vs {level} | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(sizes)]
    for result in measured:
        by_n = {s.n: s.vs_user_flags for s in result.measurement.sizes} if result.measurement else {}
        cells = [times_range(ratio) if (ratio := by_n.get(s.n)) is not None else "–" for s in sizes]
        lines.append(f"| {summary.isa_name(result.candidate.isa)} | " + " | ".join(cells) + " |")
    best = measured[0]
    size = summary.headline(best)
    native = size.vs_native_autovec if size else None
    m = best.measurement
    assert m is not None
    note = summary.build_note(best, size) if size is not None else ""
    against = (f" {summary.isa_name(best.candidate.isa)} vs `-O3 -march=native` at {size_name(size.n)}: "
               f"{times_range(native)}{f' ({escape(note)})' if note else ''}." if size is not None and native is not None else "")
    lines += ["", f"Median (min–max) of {_processes(best)} processes.{against} {escape(m.compiler)}, {escape(m.cpu)}."]
    return lines


def hover_markdown(state: LoopState) -> str:
    """The hover: a lead line (verdict, best speedup with range, main caveat), the compact table, the
    reasons; the rewrite itself is previewed by the code action, the long table is in the report."""
    report = state.report
    analysis = report.analysis
    site = analysis.site
    best = summary.best(report)
    ranked = summary.ranked_wins(report)
    status = _status_line(state) or _verdict(state)
    caveat = _main_caveat(ranked[0] if ranked else None)
    lead = f"**simdlens:** {status}" + (f" · {escape(caveat)}" if caveat else "")
    parts = [lead]
    rows = ranked or ([best] if best is not None else [])
    rows += [r for r in _best_per_isa(report).values() if r not in rows]
    table = compact_table(rows)
    if table:
        parts.append("\n".join(table))
    where = f" in `{site.function}`" if site.function else ""
    about = [f"`{site.kind.value}` loop{where}: {_verdict(state)}"]
    # the template instantiation the loop was read for is always said, however many reasons come first
    shown = [*analysis.reasons[:3], *(r for r in analysis.reasons[3:] if r.code == "instantiation")]
    about += [escape(r.message) for r in shown]
    if report.notes:
        about += [escape(n) for n in report.notes[:2]]
    parts.append("\n".join(f"- {line}" for line in about))
    failures = _failures(report)
    if failures and not ranked:
        parts.append("Rejected:\n" + "\n".join(failures[:3]))
    more = "The code action applies the rewrite; " if ranked else ""
    parts.append(f"{more}the *simdlens: Show Report* command shows every timing and the rewritten code.")
    return "\n\n".join(parts)


def loop_report_markdown(state: LoopState) -> str:
    """The long form, for the report: reasons, a table per ISA and size, caveats, rejected candidates,
    notes and a preview of the best rewrite."""
    report = state.report
    analysis = report.analysis
    site = analysis.site
    where = f" in `{site.function}`" if site.function else ""
    parts = [f"**simdlens** — `{site.kind.value}` loop{where}: {_verdict(state)}"]
    if analysis.reasons:
        parts.append("\n".join(f"- {escape(r.message)}" for r in analysis.reasons))
    status = _status_line(state)
    if status:
        plain = status.replace("**", "")
        parts.append(f"**{plain[0].upper()}{plain[1:]}.**" if not plain.endswith("…") else f"*{plain}*")
    for isa, result in _best_per_isa(report).items():
        cached = " (cached)" if result.cached else ""
        parts.append(f"**{summary.isa_name(isa)}** — `{result.candidate.origin}`, verified{cached}\n\n"
                     + "\n".join(measurement_table(result)))
        if result.candidate.caveats:
            parts.append("Caveats: " + "; ".join(escape(c) for c in result.candidate.caveats))
    failures = _failures(report)
    if failures:
        parts.append("Rejected candidates:\n" + "\n".join(failures))
    if report.notes:
        parts.append("\n".join(f"- {escape(n)}" for n in report.notes))
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
    if state is None:  # the cursor in the header line's indentation (Neovim's `6G`, then K)
        point = snapshot.lines.byte_to_point(offset)
        text = snapshot.lines.line_text(point.line)
        if not text[:point.column].strip():
            state = snapshot.loop_at(offset - point.column + len(text) - len(text.lstrip()))
    if state is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=hover_markdown(state)),
        range=lsp_range(snapshot.lines, state.header, encoding),
    )


_ZERO = Ratio(0.0, 0.0, 0.0, 0)
