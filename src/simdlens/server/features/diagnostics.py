"""Diagnostics: one short Hint/Information per interesting loop, on the loop header.

Codes are stable (editors and users filter on them):

    SL101  vectorizable (not verified yet, or no rewrite survived verification)
    SL102  verified rewrite available, with its measured speedup over the user's build
    SL103  the compiler's code is as fast: no verified rewrite is faster than -O3 -march=native (the compiler
           vectorizes the loop, or its scalar code is as fast)
    SL201  not vectorizable: the first reason

The `diagnostics` setting picks the verbosity: "all", "verified" (SL102 only) or "off".
"""

from __future__ import annotations

from lsprotocol import types

from simdlens import summary
from simdlens.core import LoopRole, LoopVerdict
from simdlens.server.documents import APPLIED
from simdlens.server.positions import Encoding, lsp_range
from simdlens.server.state import DocumentSnapshot, LoopState, LoopStatus
from simdlens.summary import Outcome

SOURCE = "simdlens"


def _diagnostic(snapshot: DocumentSnapshot, state: LoopState, encoding: Encoding) -> types.Diagnostic | None:
    report = state.report
    finished = state.status in (LoopStatus.DONE, LoopStatus.FAILED)
    outcome = summary.outcome(report, finished)
    hint, info = types.DiagnosticSeverity.Hint, types.DiagnosticSeverity.Information
    if outcome is Outcome.NOT_CANDIDATE:
        if report.analysis.verdict is not LoopVerdict.NOT_VECTORIZABLE or report.analysis.site.role is LoopRole.OUTER:
            return None  # outer loops of a nest: the inner loop carries the message
        code, severity = "SL201", hint
        message = f"not vectorizable: {summary.failure_reason(report)}"
    elif outcome in (Outcome.WIN, Outcome.VERIFIED_UNMEASURED):
        best = summary.ranked_wins(report)[0]
        line = summary.describe_best(best)
        code, severity = "SL102", info
        if line.ratio is None:
            message = f"verified {line.isa} rewrite available (not benchmarked)"
        else:
            message = f"verified {line.isa} rewrite: {summary.short_ratio(line.ratio)} vs {line.baseline}"
    elif outcome is Outcome.COMPILER_WINS:
        closest = summary.best(report)
        code, severity = "SL103", hint
        message = summary.not_a_win(closest) if closest is not None else "the compiler's code is as fast as any verified rewrite"
    else:
        code, severity = "SL101", hint
        checks = " with runtime overlap checks" if report.analysis.verdict is LoopVerdict.VECTORIZABLE_WITH_CHECKS else ""
        message = f"vectorizable loop{checks}"
        if outcome is Outcome.NO_SAFE_REWRITE:
            message += f"; no rewrite passed verification: {summary.failure_reason(report)}"
        elif state.status is LoopStatus.SKIPPED and state.detail:
            message += f" (not verified: {state.detail})"
    return types.Diagnostic(
        range=lsp_range(snapshot.lines, state.header, encoding),
        message=message,
        severity=severity,
        code=code,
        source=SOURCE,
        data={"loopId": state.loop_id},
    )


class Reuse:
    """The diagnostics of the last publish of one document, by loop: a loop whose state object is
    the same (only another loop's verification finished) keeps its diagnostic, so a result costs one
    diagnostic, not a thousand."""

    def __init__(self) -> None:
        self._key: tuple[object, str] | None = None
        self._by_loop: dict[str, tuple[LoopState, types.Diagnostic | None]] = {}

    def get(self, snapshot: DocumentSnapshot, state: LoopState, encoding: Encoding) -> types.Diagnostic | None:
        key = (snapshot.lines, encoding)  # positions depend on the text and the encoding
        if self._key is None or self._key[0] is not key[0] or self._key[1] != key[1]:
            self._key, self._by_loop = key, {}
        kept = self._by_loop.get(state.loop_id)
        if kept is not None and kept[0] is state:
            return kept[1]
        found = _diagnostic(snapshot, state, encoding)
        self._by_loop[state.loop_id] = (state, found)
        return found


def diagnostics(snapshot: DocumentSnapshot, verbosity: str, encoding: Encoding,
                reuse: Reuse | None = None) -> list[types.Diagnostic]:
    if verbosity == "off" or snapshot.skipped:
        return []
    make = reuse.get if reuse is not None else _diagnostic
    found = [d for s in snapshot.loops if s.detail != APPLIED and (d := make(snapshot, s, encoding)) is not None]
    if verbosity == "verified":
        found = [d for d in found if d.code == "SL102"]
    return found
