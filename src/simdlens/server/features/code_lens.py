"""Code lens: above each loop simdlens has something to say about, its status in words.

    verifying AVX2…
    AVX2 5.3x (4.9–5.6) vs your -O2 build — apply          -> simdlens.applyAndBenchmark
    compiler already vectorizes this loop (1.02x)           -> simdlens.showReport
    no safe rewrite: recurrence on a[i-1]                   -> simdlens.showReport / simdlens.verifyLoop
    not verified: no C compiler found                       -> simdlens.showReport

Every lens carries its command, so no `codeLens/resolve` round trip is needed. The server asks the
client to refresh lenses (`workspace/codeLens/refresh`) when verification results arrive.
"""

from __future__ import annotations

from lsprotocol import types

from simdlens import summary
from simdlens.core import LoopRole, LoopVerdict, Span
from simdlens.server.documents import APPLIED
from simdlens.server.features.commands import APPLY_AND_BENCHMARK, SHOW_REPORT, VERIFY_LOOP
from simdlens.server.positions import Encoding, lsp_range, span_of
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus
from simdlens.summary import Outcome


def lens_title(state: LoopState) -> tuple[str, str]:
    """(title, command id) for one loop; ("", "") when the loop gets no lens."""
    report = state.report
    isa = summary.isa_name(state.isa) if state.isa else "rewrite"
    finished = state.status in (LoopStatus.DONE, LoopStatus.FAILED)
    outcome = summary.outcome(report, finished)
    if outcome is Outcome.NOT_CANDIDATE:
        analysis = report.analysis
        if analysis.verdict is LoopVerdict.NOT_VECTORIZABLE and analysis.site.role is not LoopRole.OUTER:
            return f"no safe rewrite: {summary.failure_reason(report)}", SHOW_REPORT
        return "", ""
    if outcome is Outcome.WIN:
        line = summary.describe_best(summary.ranked_wins(report)[0])
        assert line.ratio is not None
        return f"{line.isa} {summary.short_ratio(line.ratio)} vs {line.baseline} — apply", APPLY_AND_BENCHMARK
    if outcome is Outcome.VERIFIED_UNMEASURED:
        line = summary.describe_best(summary.ranked_wins(report)[0])
        return f"{line.isa} verified (not benchmarked) — apply", APPLY_AND_BENCHMARK
    if outcome is Outcome.COMPILER_WINS:
        best = summary.best(report)
        ratio = summary.vs_compiler(best) if best else None
        suffix = f" ({ratio.median:.2f}x)" if ratio else ""
        return f"compiler already vectorizes this loop{suffix}", SHOW_REPORT
    if outcome is Outcome.NO_SAFE_REWRITE:
        return f"no safe rewrite: {summary.failure_reason(report)}", SHOW_REPORT
    # pending
    if state.status is LoopStatus.VERIFYING:
        return f"verifying {isa}…", SHOW_REPORT
    if state.status is LoopStatus.QUEUED:
        return f"{isa} verification queued", VERIFY_LOOP
    if state.status is LoopStatus.SKIPPED:
        return f"not verified: {state.detail}", VERIFY_LOOP if state.detail.startswith("verify on") else SHOW_REPORT
    if state.status is LoopStatus.FAILED:
        return f"verification failed: {state.detail}", VERIFY_LOOP
    return "vectorizable — verify", VERIFY_LOOP


def code_lenses(snapshot: DocumentSnapshot, encoding: Encoding) -> list[types.CodeLens]:
    if snapshot.skipped:
        return []
    lenses: list[types.CodeLens] = []
    covered = [note.span for note in snapshot.applied]
    for note in snapshot.applied:
        title = f"{note.title}…" if note.busy else note.title
        lenses.append(types.CodeLens(
            range=_first_line(snapshot, note.span, encoding),
            command=types.Command(title=title, command=SHOW_REPORT, arguments=[snapshot.uri]),
        ))
    for state in snapshot.loops:
        if state.detail == APPLIED or any(span.start_byte <= state.span.start_byte < span.end_byte for span in covered):
            continue  # a rewrite simdlens wrote: not offered again (its own lens speaks when it has one)
        title, command = lens_title(state)
        if not title:
            continue
        arguments: list[object] = [snapshot.uri, state.loop_id]
        if command == APPLY_AND_BENCHMARK:
            best = summary.ranked_wins(state.report)[0]
            arguments += [best.candidate.key, snapshot.version]
        elif command == SHOW_REPORT:
            arguments = [snapshot.uri]
        lenses.append(types.CodeLens(
            range=lsp_range(snapshot.lines, state.header, encoding),
            command=types.Command(title=title, command=command, arguments=arguments),
        ))
    return lenses


def _first_line(snapshot: DocumentSnapshot, span: Span, encoding: Encoding) -> types.Range:
    """The first line of a span: a lens sits above one line."""
    end = span.start_byte - span.start.column + len(snapshot.lines.line_text(span.start.line))
    return lsp_range(snapshot.lines, span_of(snapshot.lines, span.start_byte, max(end, span.start_byte)), encoding)
