"""Re-analysing an edited document: only the loops an edit touched are judged again.

For the few documents edited most recently the engine keeps a `LiveDocument`: the text as a
`SourceDocument` (its tree-sitter tree re-parsed incrementally on every edit), the file context
(typedefs, macros, structs, globals; read again after every edit, in milliseconds, and compared by
what it declares) and, per applied edit, the region it touched: the whole function around it, or
the top-level units it reached into. `LiveDocument.update` takes the last published snapshot's
analyses (version B) and the edits since, and returns every loop of the newest text:

* loops in a region an edit touched since B, loops B did not have (a loop's id changes with its
  text), or every loop when the file's declarations changed, are judged again;
* loops whose reasons name a line ("contains the loop at line 14") that is now on another line
  are judged again (one loop: cheaper than rewriting the analysis's sentences);
* every other loop keeps its analysis (same text, same function around it, same declarations),
  moved to where it now is.

A document is not thread-safe: `update` and the analysis of a freshly opened document hold `lock`.
Nothing here knows about LSP; positions are bytes and `Point`s, as everywhere in the pipeline.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simdlens.analysis.document import SourceDocument, path_to
from simdlens.analysis.positions import LineIndex
from simdlens.core import Analysis, Kernel, Language, LoopSite, Point, Reason, Span
from simdlens.server.state import ByteEdit, map_range

log = logging.getLogger(__name__)

Region = tuple[int, int]


@dataclass(frozen=True)
class EditedDocument:
    """What an incremental analysis starts from: the last snapshot (`base_*`) and the edits since."""

    uri: str
    path: str
    language: Language
    version: int  # of `source`
    source: bytes
    base_version: int
    base_source: bytes
    base_analyses: tuple[Analysis, ...]  # the base snapshot's loops (without IR)
    edits: tuple[ByteEdit, ...]  # every edit after base_version, oldest first


@dataclass(frozen=True)
class Update:
    """The loops of the newest text: `judged` analysed again (with IR), the rest moved."""

    sites: tuple[LoopSite, ...]
    judged: tuple[Analysis, ...]
    kernels: Mapping[str, Kernel]  # of the judged loops (extracted lazily)
    moved: Mapping[str, Analysis]  # loop id -> the base analysis at its new position (no IR)
    errors: tuple[str, ...]


@dataclass
class _Applied:
    edit: ByteEdit
    regions: tuple[Region, ...]  # in the text right after `edit`


@dataclass
class LiveDocument:
    """One document's tree, loops and file context, kept current through edits."""

    document: SourceDocument
    ctx: Any  # FileContext | None
    ctx_errors: tuple[str, ...]
    version: int
    include_dirs: tuple[str, ...] = ()
    defines: Mapping[str, str] = field(default_factory=dict)
    defines_complete: bool = False  # the defines are all the build gives the file (see FileContext)
    origin: int = 0  # the version it was built from: edits before it are unknown to it
    context_changed_at: int = 0  # the newest version whose declarations differ from the one before
    applied: list[_Applied] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, source: bytes, path: str, language: Language, version: int,
              include_dirs: tuple[str, ...], defines: Mapping[str, str], defines_complete: bool = False) -> LiveDocument:
        """Parse `source` and read its declarations (a full parse: the starting point)."""
        document = SourceDocument(source, path, language)
        ctx, errors = file_context(document, include_dirs, defines, defines_complete)
        return cls(document, ctx, errors, version, include_dirs, dict(defines), defines_complete, origin=version,
                   context_changed_at=version)

    def update(self, request: EditedDocument,
               compact: Callable[[LoopSite], LoopSite] = lambda site: site) -> Update | None:
        """The loops of `request.source` (see the module doc); None when this document cannot say
        (it started after the base version, or its text is not the request's): analyse it all.
        `compact` is applied to the new site of every loop that moved."""
        from simdlens.analysis import analyze_loops

        base = request.base_version
        if base < self.origin or request.version < self.version:
            return None
        edited = in_class = False
        for edit in request.edits:
            if edit.version <= self.version:
                continue
            self.document.apply_edit(edit.start, edit.old_end, edit.text)
            region = edited_unit(self.document.tree.root_node, edit.start, edit.start + edit.new_length)
            self.applied.append(_Applied(edit, (region,)))
            edited = True
            in_class |= self._in_class((region,))
        self.version = request.version
        source = self.document.source
        if source != request.source:
            log.warning("incremental text of %s differs from the editor's; analysing it all", request.path)
            return None
        if edited:
            # Read again after every edit (milliseconds): declarations may sit anywhere, and positions
            # inside the context (typedefs in function bodies) move. Compared by what they declare.
            ctx, errors = file_context(self.document, self.include_dirs, self.defines, self.defines_complete,
                                       earlier=self.ctx)
            if in_class or not same_context(self.ctx, ctx):
                self.context_changed_at = self.version
            self.ctx, self.ctx_errors = ctx, errors
        self.applied = [a for a in self.applied if a.edit.version > base]
        regions = dirty_regions(self.applied)
        everything = self.context_changed_at > base
        old = {a.site.loop_id: a for a in request.base_analyses}
        lines, base_lines = _Lazy(source), _Lazy(request.base_source)
        sites = self.document.sites
        judge: list[LoopSite] = []
        moved: dict[str, Analysis] = {}
        for site in sites:
            previous = old.get(site.loop_id)
            if everything or previous is None or _touches(site.span, regions) or \
                    _names_a_moved_line(previous, base_lines, lines, request.edits, base):
                judge.append(site)
            else:
                moved[site.loop_id] = previous if site == previous.site else \
                    move_analysis(previous, compact(site), lines, request.edits, base)
        judged, kernels, errors = analyze_loops(judge, self.document.tree, source, self.ctx)
        return Update(sites, judged, kernels, moved, (*self.ctx_errors, *errors))

    def _in_class(self, regions: Iterable[Region]) -> bool:
        """C++: an edit inside a class body (its methods) may change what other functions' loops
        see (`size()` members): count it as a change of declarations."""
        if self.document.language != "cpp":
            return False
        root = self.document.tree.root_node
        for lo, hi in regions:
            node = root.descendant_for_byte_range(lo, max(lo, hi - 1))
            if node is not None and any(n.type == "field_declaration_list" for n in path_to(root, node)):
                return True
        return False


def edited_unit(root: Any, start: int, end: int) -> Region:
    """The text an edit's new bytes [start, end) belong to, as whole units of the new tree: the
    outermost function around it, else every top-level unit it reaches into (declarations,
    namespaces, preprocessor blocks); bare text between units (blank lines, comments) is itself.
    A deletion (start == end) belongs to the units it falls strictly inside."""
    reach = end if end > start else start  # a unit must start before this to hold the edit

    def holds(node: Any) -> bool:
        return bool(node.start_byte < reach and start < node.end_byte)

    node = root.descendant_for_byte_range(start, max(start, end - 1))
    outermost = None
    if node is not None:  # the first function on the way down is the outermost (see `path_to`)
        outermost = next((n for n in path_to(root, node)[1:] if n.type in _FUNCTION_TYPES and holds(n)), None)
    if outermost is not None:
        return outermost.start_byte, outermost.end_byte
    lo, hi = start, end
    for child in root.children:
        if child.start_byte >= reach:
            break
        if holds(child):
            lo, hi = min(lo, child.start_byte), max(hi, child.end_byte)
    return lo, hi


_FUNCTION_TYPES = frozenset({"function_definition", "lambda_expression"})


def file_context(document: SourceDocument, include_dirs: tuple[str, ...], defines: Mapping[str, str],
                 defines_complete: bool = False, earlier: Any = None) -> tuple[Any, tuple[str, ...]]:
    """The document's `FileContext` (None, with an error line, when its declarations are unreadable)."""
    from simdlens.analysis.context import FileContext
    from simdlens.server.semantic import attach

    try:
        ctx = FileContext.build(document.source, document.path, document.language, tree=document.tree,
                                include_dirs=include_dirs, defines=dict(defines), defines_complete=defines_complete)
        return attach(ctx, document.source, document.path, document.language, include_dirs, defines, earlier), ()
    except Exception as exc:  # declarations unreadable: loops are still analysed, with less context
        log.exception("file context of %s", document.path)
        return None, (f"{document.path}: cannot read declarations: {exc}",)


def same_context(a: Any, b: Any) -> bool:
    """Whether two file contexts declare the same things (fields that hold positions, such as the
    scopes of typedefs in function bodies, leave them out of their comparison)."""
    if a is None or b is None:
        return a is b
    return all(getattr(a, f.name) == getattr(b, f.name) for f in dataclasses.fields(a) if not f.name.startswith("_"))


def shift_region(region: Region, edit: ByteEdit) -> Region:
    """A region of the text before `edit`, in the text after it (grown to cover the edit if it overlaps)."""
    lo, hi = region
    delta = edit.new_length - (edit.old_end - edit.start)
    if hi < edit.start:
        return region
    if lo > edit.old_end:
        return lo + delta, hi + delta
    return min(lo, edit.start), max(hi + delta, edit.start + edit.new_length)


def dirty_regions(applied: Sequence[_Applied]) -> list[Region]:
    """The regions the edits touched, in the newest text."""
    regions: list[Region] = []
    for a in applied:
        regions = [shift_region(r, a.edit) for r in regions]
        regions.extend(a.regions)
    return regions


def _touches(span: Span, regions: Iterable[Region]) -> bool:
    return any(span.start_byte <= hi and lo <= span.end_byte for lo, hi in regions)


class _Lazy:
    """A line index built on first use (most updates move no reason that has a position)."""

    def __init__(self, source: bytes) -> None:
        self._source = source
        self._index: LineIndex | None = None

    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self._source)
        return self._index

    def byte_to_point(self, offset: int) -> Point:
        return self.index.byte_to_point(offset)


# How the analysis's reasons name a line (1-based): "contains the loop at line 14", "the inner loop at
# line 14 runs…", "…also read in the loop (line 14)", "`#ifdef NEVER` (line 3)" (analysis/build/, analysis/context/).
_LINE_MENTION = re.compile(r"\bline (\d+)\b")


@functools.lru_cache(maxsize=4096)
def _mentioned_lines(message: str) -> tuple[int, ...]:
    """The 0-based lines a reason's message names (most name none)."""
    return tuple(int(m.group(1)) - 1 for m in _LINE_MENTION.finditer(message))


def _names_a_moved_line(previous: Analysis, base_lines: _Lazy, lines: _Lazy, edits: Sequence[ByteEdit],
                        since: int) -> bool:
    """Whether one of `previous`'s reasons (made at version `since`) names a line whose number the
    edits changed (or whose first byte they touched): its message would be stale if moved. The line
    may lie outside the loop (an `#ifdef` above its function), so the loop's own shift does not say."""
    for reason in previous.reasons:
        for line in _mentioned_lines(reason.message):
            if line < 0:
                continue
            if line >= base_lines.index.line_count:
                return True
            start = base_lines.index.line_start(line)
            # the line's first byte: text inserted right at its start moves it too
            where = map_range(edits, start, start + 1, since)
            if where is None or lines.byte_to_point(where[0]).line != line:
                return True
    return False


def _with_site(analysis: Analysis, site: LoopSite) -> Analysis:
    """A copy of the (frozen) analysis on another site."""
    return dataclasses.replace(analysis, site=site)


def move_analysis(previous: Analysis, site: LoopSite, lines: LineIndex | _Lazy, edits: Sequence[ByteEdit],
                  since: int) -> Analysis:
    """`previous` (made at version `since`) on the loop's new site: the loop and the function around it
    are unchanged, so everything inside moved by the same number of bytes."""
    if site == previous.site:
        return previous
    if all(r.span is None for r in previous.reasons):  # the editor's analyses: only the site moves
        return _with_site(previous, site)
    delta = site.span.start_byte - previous.site.span.start_byte
    old = previous.site.span
    reasons: list[Reason] = []
    for reason in previous.reasons:
        span = reason.span
        if span is not None:
            if old.start_byte <= span.start_byte and span.end_byte <= old.end_byte:
                where: tuple[int, int] | None = (span.start_byte + delta, span.end_byte + delta)
            else:
                where = map_range(edits, span.start_byte, span.end_byte, since)
            span = None if where is None else Span(where[0], where[1], lines.byte_to_point(where[0]),
                                                    lines.byte_to_point(where[1]))
        reasons.append(reason if span is reason.span else Reason(reason.code, reason.message, span))
    return dataclasses.replace(previous, site=site, reasons=tuple(reasons))
