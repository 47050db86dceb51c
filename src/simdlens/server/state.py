"""Per-document state: immutable snapshots that the LSP features read, and the edit log that ties them.

Every change to a document produces a new `DocumentSnapshot` (version, bytes, line index, and one
`LoopState` per loop). Features only ever read one snapshot, so a hover never sees half an update, and
background work carries the snapshot it started from: when its result arrives the snapshot may be
stale, and `EditLog.map_offset` says whether (and where) its byte positions still exist in the newest
text. A result whose loop was touched by an edit is dropped; anywhere else it is moved along.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from simdlens.core import CandidateResult, Kernel, Language, LoopReport, Span, TextEdit
from simdlens.server.positions import LineIndex, span_of

_TEXTS: dict[str, str] = {}  # reason texts, function names, kernel preambles: the same few over and over


def shared_text(text: str) -> str:
    """One object for equal strings the server keeps for many loops (an editor holds thousands)."""
    if len(_TEXTS) > 200_000:  # bounded: a long session must not grow it forever
        _TEXTS.clear()
    return _TEXTS.setdefault(text, text)


def compact_kernel(kernel: Kernel | None) -> Kernel | None:
    """A kernel kept in a snapshot, its preamble (the file's includes and declarations, alike for
    every loop of a file) shared with the other loops'."""
    if kernel is None:
        return None
    return dataclasses.replace(kernel, preamble=shared_text(kernel.preamble))


class LoopStatus(enum.StrEnum):
    """Where one loop stands on its way from analysis to a measured rewrite."""

    ANALYSED = "analysed"  # not a verification candidate (not vectorizable, no kernel)
    QUEUED = "queued"
    VERIFYING = "verifying"
    DONE = "done"  # verification finished: results (verified or not) are in the report
    SKIPPED = "skipped"  # nothing compiled or run; `detail` says why (untrusted, no compiler, on demand)
    FAILED = "failed"  # the pipeline itself failed for this loop; `detail` says how


@dataclass(frozen=True, slots=True)
class LoopState:
    report: LoopReport
    status: LoopStatus
    detail: str = ""
    isa: str = ""  # the ISA being verified, for "verifying AVX2…"

    @property
    def loop_id(self) -> str:
        return self.report.analysis.site.loop_id

    @property
    def header(self) -> Span:
        return self.report.analysis.site.header

    @property
    def span(self) -> Span:
        return self.report.analysis.site.span

    @property
    def kernel_hash(self) -> str | None:
        return self.report.kernel.content_hash if self.report.kernel else None


@dataclass(frozen=True)
class AppliedNote:
    """The outcome of `simdlens.applyAndBenchmark` on the rewritten text, shown where it was applied."""

    span: Span  # the rewritten text in this snapshot
    title: str  # one line, e.g. "applied AVX2: 5.1x (4.8–5.3) vs the original loop"
    busy: bool = False  # still verifying/benchmarking


@dataclass(frozen=True)
class DocumentSnapshot:
    uri: str
    path: str
    version: int
    source: bytes
    language: Language | None
    lines: LineIndex
    loops: tuple[LoopState, ...] = ()
    skipped: str = ""  # why the document is not analysed at all ("" = it is)
    errors: tuple[str, ...] = ()
    applied: tuple[AppliedNote, ...] = ()
    _by_id: dict[str, LoopState] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.loop_id: s for s in self.loops})

    def loop(self, loop_id: str) -> LoopState | None:
        return self._by_id.get(loop_id)

    def loop_at(self, offset: int) -> LoopState | None:
        """The innermost loop whose header contains the byte offset."""
        hits = [s for s in self.loops if s.header.start_byte <= offset <= s.header.end_byte]
        return max(hits, key=lambda s: s.report.analysis.site.depth, default=None)

    def loops_touching(self, start: int, end: int) -> list[LoopState]:
        """Loops whose statement overlaps [start, end] (a code-action range or a cursor)."""
        return [s for s in self.loops if s.span.start_byte <= end and start <= s.span.end_byte]

    def with_loops(self, loops: Iterable[LoopState]) -> DocumentSnapshot:
        return dataclasses.replace(self, loops=tuple(loops), _by_id={})

    def replace_loop(self, state: LoopState) -> DocumentSnapshot:
        return self.with_loops(state if s.loop_id == state.loop_id else s for s in self.loops)

    def text(self, span: Span) -> bytes:
        return self.source[span.start_byte : span.end_byte]


@dataclass(frozen=True)
class ByteEdit:
    """One applied change: bytes [start, old_end) of version `version - 1` became `new_length` bytes."""

    version: int
    start: int
    old_end: int
    new_length: int
    text: bytes = b""  # the new bytes (new_length of them), for re-parsing incrementally


class EditLog:
    """The byte edits between document versions, to carry positions of old snapshots forward."""

    def __init__(self, limit: int = 2000) -> None:
        self._edits: list[ByteEdit] = []
        self._limit = limit
        self._oldest = 0  # versions older than this can no longer be mapped

    def record(self, edit: ByteEdit) -> None:
        self._edits.append(edit)
        if len(self._edits) > self._limit:
            dropped = self._edits[: len(self._edits) - self._limit]
            self._edits = self._edits[len(dropped) :]
            self._oldest = dropped[-1].version

    def forget_before(self, version: int) -> None:
        """A full-text replacement: nothing older can be mapped."""
        self._edits = [e for e in self._edits if e.version > version]
        self._oldest = max(self._oldest, version)

    def since(self, version: int) -> tuple[ByteEdit, ...] | None:
        """The edits made after `version`, oldest first; None when they are no longer all known."""
        if version < self._oldest:
            return None
        return tuple(e for e in self._edits if e.version > version)

    def map_range(self, start: int, end: int, since: int) -> tuple[int, int] | None:
        """Where bytes [start, end) of version `since` are now; None if an edit touched them."""
        if since < self._oldest:
            return None
        return map_range(self._edits, start, end, since)


def map_range(edits: Iterable[ByteEdit], start: int, end: int, since: int) -> tuple[int, int] | None:
    """Where bytes [start, end) of version `since` are after `edits`; None if one of them touched them."""
    for e in edits:
        if e.version <= since:
            continue
        if end <= e.start:
            continue  # the edit is entirely after the range
        if start >= e.old_end:
            delta = e.new_length - (e.old_end - e.start)
            start, end = start + delta, end + delta
            continue
        return None
    return start, end


def rebase_report(report: LoopReport, log: EditLog, since: int, lines: LineIndex) -> LoopReport | None:
    """Move the candidate edits of a report made at version `since` onto the newest text."""
    results: list[CandidateResult] = []
    for result in report.results:
        edits: list[TextEdit] = []
        for edit in result.candidate.edits:
            moved = log.map_range(edit.span.start_byte, edit.span.end_byte, since)
            if moved is None:
                return None
            edits.append(TextEdit(span_of(lines, *moved), edit.new_text))
        candidate = dataclasses.replace(result.candidate, edits=tuple(edits))
        results.append(dataclasses.replace(result, candidate=candidate))
    return dataclasses.replace(report, results=tuple(results))
