"""Code lens: above each loop simdlens has something to say about, its status in words.

    verifying AVX2…
    AVX2 5.3x (4.9–5.6) vs your -O2 build — apply          -> simdlens.applyAndBenchmark
    compiler already vectorizes this loop (1.02x)           -> simdlens.showReport
    no safe rewrite: recurrence on a[i-1]                   -> simdlens.showReport / simdlens.verifyLoop
    not verified: no C compiler found                       -> simdlens.showReport

A client that declares it resolves lenses (`codeLens.resolveSupport` with "command", LSP 3.18)
gets them without commands, each with `data` naming its loop, and asks `codeLens/resolve` for the
ones it shows: a 10,000-line file's thousand lenses are then cheap to send. Other clients get every
lens with its command. The server asks the client to refresh lenses (`workspace/codeLens/refresh`)
when verification results arrive.
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
        if best is not None and ratio is not None and ratio.median >= summary.WIN_MARGIN:
            # faster at the headline size, yet not offered: say why (noisy, some sizes only, slower from memory)
            return summary.not_a_win(best).replace("-O3 -march=native", "the compiler"), SHOW_REPORT
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


def lens_command(snapshot: DocumentSnapshot, state: LoopState) -> types.Command | None:
    """The command (title and click) of one loop's lens; None when the loop gets no lens."""
    title, command = lens_title(state)
    if not title:
        return None
    arguments: list[object] = [snapshot.uri, state.loop_id]
    if command == APPLY_AND_BENCHMARK:
        best = summary.ranked_wins(state.report)[0]
        arguments += [best.candidate.key, snapshot.version]
    elif command == SHOW_REPORT:
        arguments = [snapshot.uri]
    return types.Command(title=title, command=command, arguments=arguments)


def resolve(snapshot: DocumentSnapshot | None, lens: types.CodeLens) -> types.CodeLens:
    """Fill in the command of a lens sent without one, from the newest snapshot."""
    data = lens.data if isinstance(lens.data, dict) else {}
    if lens.command is not None:
        return lens
    state = snapshot.loop(str(data.get("loopId", ""))) if snapshot is not None else None
    command = lens_command(snapshot, state) if snapshot is not None and state is not None else None
    # The loop changed since the lens was sent: a refresh is on its way; until then say so.
    lens.command = command or types.Command(title="simdlens: updating…", command="")
    return lens


def code_lenses(snapshot: DocumentSnapshot, encoding: Encoding, *, lazy: bool = False) -> list[types.CodeLens]:
    """The document's lenses; `lazy`: loops' lenses without their commands (see the module doc)."""
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
        if lazy:
            if not lens_title(state)[0]:
                continue
            lenses.append(types.CodeLens(range=lsp_range(snapshot.lines, state.header, encoding),
                                         data={"uri": snapshot.uri, "loopId": state.loop_id}))
            continue
        command = lens_command(snapshot, state)
        if command is not None:
            lenses.append(types.CodeLens(range=lsp_range(snapshot.lines, state.header, encoding), command=command))
    return lenses


def _first_line(snapshot: DocumentSnapshot, span: Span, encoding: Encoding) -> types.Range:
    """The first line of a span: a lens sits above one line."""
    end = span.start_byte - span.start.column + len(snapshot.lines.line_text(span.start.line))
    return lsp_range(snapshot.lines, span_of(snapshot.lines, span.start_byte, max(end, span.start_byte)), encoding)
