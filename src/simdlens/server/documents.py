"""Open documents: their bytes as the client edits them, and how a new analysis meets old results.

The client's incremental changes are applied to our own byte copy of the text (positions converted
through the negotiated encoding), and each one is recorded in the document's `EditLog`, so results
computed for an older version can be moved to the newest one - or dropped when the edit touched them.

`merge` builds a fresh snapshot from a new analysis: a loop whose kernel is unchanged keeps its
verification results (moved along the edits); a new or changed loop starts over.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from simdlens import summary
from simdlens.core import Kernel, Language, LoopReport
from simdlens.server.positions import Encoding, LineIndex, encode_text, span_of
from simdlens.server.state import (
    AppliedNote,
    ByteEdit,
    DocumentSnapshot,
    EditLog,
    LoopState,
    LoopStatus,
    rebase_report,
)

APPLIED = "part of an applied rewrite"  # detail of the loops inside a rewrite simdlens wrote


@dataclass(frozen=True)
class Change:
    """One content change as the client sent it: a range in client units, or None for the whole text."""

    text: str
    start: tuple[int, int] | None = None
    end: tuple[int, int] | None = None


@dataclass
class OpenDocument:
    uri: str
    path: str
    language: Language | None
    version: int
    source: bytes
    log: EditLog = field(default_factory=EditLog)
    snapshot: DocumentSnapshot | None = None
    applied: list[tuple[int, AppliedNote]] = field(default_factory=list)  # (version of its span, note)
    _lines: LineIndex | None = field(default=None, repr=False, compare=False)
    judged_at: dict[str, int] = field(default_factory=dict)  # loop id -> the version it was last analysed at

    def lines_of(self, source: bytes) -> LineIndex:
        """The line index of `source` (built once per text: every edit and every snapshot needs one)."""
        if self._lines is None or self._lines.source is not source:
            self._lines = LineIndex(source)
        return self._lines

    def apply(self, version: int, changes: Iterable[Change], encoding: Encoding) -> None:
        source = self.source
        for change in changes:
            if change.start is None or change.end is None:
                self.log.forget_before(version)
                source = encode_text(change.text)
                continue
            lines = self.lines_of(source)
            start = lines.lsp_to_byte(*change.start, encoding)
            end = max(start, lines.lsp_to_byte(*change.end, encoding))
            new = encode_text(change.text)
            source = source[:start] + new + source[end:]
            self.log.record(ByteEdit(version, start, end, len(new), new))
        self.source = source
        self.version = version

    def applied_notes(self, lines: LineIndex) -> tuple[AppliedNote, ...]:
        """The applyAndBenchmark notes whose text is still where it was."""
        kept: list[tuple[int, AppliedNote]] = []
        for since, note in self.applied:
            moved = self.log.map_range(note.span.start_byte, note.span.end_byte, since)
            if moved is not None:
                kept.append((self.version, dataclasses.replace(note, span=span_of(lines, *moved))))
        self.applied = kept
        return tuple(note for _, note in kept)


_MARKER = b"/* simdlens "  # the first line of every rewrite simdlens writes
_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|endif)\b[^\n]*", re.MULTILINE)


def rewritten_regions(source: bytes) -> list[tuple[int, int]]:
    """Byte ranges holding a rewrite simdlens wrote (the `#if ISA ... #else original #endif` around
    it): their loops - vector, tail and the kept original - are not offered for rewriting again."""
    if _MARKER not in source:
        return []
    directives = [(m.start(), m.end(), m.group(1)) for m in _DIRECTIVE.finditer(source)]
    regions: list[tuple[int, int]] = []
    pos = source.find(_MARKER)
    while pos != -1:
        start = end = None
        depth = 0
        for d_start, _, kind in reversed([d for d in directives if d[0] < pos]):
            if kind == b"endif":
                depth += 1
            elif depth == 0:
                start = d_start
                break
            else:
                depth -= 1
        depth = 0
        for _, d_end, kind in (d for d in directives if d[0] > pos):
            if kind != b"endif":
                depth += 1
            elif depth == 0:
                end = d_end
                break
            else:
                depth -= 1
        if start is not None and end is not None:
            regions.append((start, end))
            pos = source.find(_MARKER, end)
        else:
            pos = source.find(_MARKER, pos + 1)
    return regions


def fresh_state(report: LoopReport, waiting: str) -> LoopState:
    """The state of a loop nobody has verified yet; `waiting` is why it is not queued ("" = queued)."""
    if not summary.is_candidate(report):
        return LoopState(report, LoopStatus.ANALYSED)
    if waiting:
        return LoopState(report, LoopStatus.SKIPPED, waiting)
    return LoopState(report, LoopStatus.QUEUED)


def carry_over(old: LoopState, new: LoopReport, log: EditLog, since: int, lines: LineIndex,
               kernels: Mapping[str, Kernel | None], *, moved: bool = False) -> LoopState | None:
    """`old`'s verification state on the re-analysed loop `new` (same loop id, hence same text), if its
    kernel is unchanged (a typedef or macro may have changed) and its edits still apply. `moved`: the
    analysis was not redone (nothing the loop depends on changed), so neither is the kernel: it moves."""
    if old.status in (LoopStatus.ANALYSED, LoopStatus.SKIPPED):
        return None
    kernel = old.report.kernel
    if kernel is not None and moved:
        if kernel.loop_span is not None:
            where = log.map_range(kernel.loop_span.start_byte, kernel.loop_span.end_byte, since)
            if where is None:
                return None
            kernel = dataclasses.replace(kernel, loop_span=span_of(lines, *where))
    elif kernel is not None:
        now = kernels.get(old.loop_id)
        if now is None or now.content_hash != kernel.content_hash:
            return None
        kernel = now
    rebased = rebase_report(old.report, log, since, lines)
    if rebased is None:
        return None
    report = dataclasses.replace(new, kernel=kernel, results=rebased.results, notes=rebased.notes or new.notes)
    return LoopState(report, old.status, old.detail, old.isa)


def merge(doc: OpenDocument, version: int, source: bytes, reports: Iterable[LoopReport], errors: tuple[str, ...],
          waiting: str, kernels: Mapping[str, Kernel | None] | None = None,
          moved: Collection[str] = ()) -> DocumentSnapshot:
    """A snapshot of `doc` at `version` from a new analysis, keeping what is still true of the old one.
    `moved`: loops whose analysis was carried over from the old snapshot rather than redone."""
    lines = doc.lines_of(source)
    old = doc.snapshot
    applied = doc.applied_notes(lines) if version == doc.version else ()
    regions = [(n.span.start_byte, n.span.end_byte) for n in applied] + rewritten_regions(source)
    states: list[LoopState] = []
    for report in reports:
        loop = report.analysis.site.span
        in_helper = (report.analysis.site.function or "").startswith("simdlens_")  # a dispatch helper
        if in_helper or any(start <= loop.start_byte and loop.end_byte <= end for start, end in regions):
            states.append(LoopState(report, LoopStatus.ANALYSED, APPLIED))
            continue  # the rewrite's own vector and tail loops: measured as a whole, not one by one
        loop_id = report.analysis.site.loop_id
        previous = old.loop(loop_id) if old else None
        kept = carry_over(previous, report, doc.log, old.version, lines, kernels or {},
                          moved=loop_id in moved) if previous and old else None
        states.append(kept or fresh_state(report, waiting))
    return DocumentSnapshot(
        uri=doc.uri, path=doc.path, version=version, source=source, language=doc.language, lines=lines,
        loops=tuple(states), errors=errors, applied=applied,
    )
