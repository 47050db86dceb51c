"""An open document: its text, its tree-sitter tree and its loops, kept current through edits.

`SourceDocument(source, path, language)` parses once; `apply_edit(start_byte, old_end_byte, new_text)`
splices the text, tells tree-sitter about the edit, re-parses incrementally from the old tree, and
returns which loops were added, removed or changed, by loop id:

- a loop whose text is unchanged keeps its id even when it moved (lines inserted above it), and is
  not reported;
- a loop whose text changed gets a new id; it is reported in `changed` (new id) with its old id at the
  same position of `previous`, when it can be paired with the loop it replaced (same function, kind and
  depth); otherwise it is `added`, and the loop that went away `removed`.

An edit inside an inner loop also changes the text, hence the id, of the loops around it.

Only the top-level functions touched by the edit (and any range tree-sitter reports as structurally
changed) are searched for loops again; the other loops are reused. The positions of the loops below
the edit are moved lazily: `sites` brings them up to date when read, `site(loop_id)` one at a time,
and `loop_ids` needs no positions at all, so a keystroke costs nothing for the rest of the file.

LSP clients send a list of changes per notification, each relative to the text after the previous
one: call `apply_lsp_change` once per change, in order. A document is not thread-safe; keep one
document per thread or lock around edits.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass

import tree_sitter

from simdlens.analysis.loops import LoopRecord, loop_id_for, scan_loops
from simdlens.analysis.parse import parse
from simdlens.analysis.positions import Encoding, LineIndex, LspRange
from simdlens.core import Language, LoopSite, Point, Span

log = logging.getLogger(__name__)

_FUNCTION_TYPES = frozenset({"function_definition", "lambda_expression"})


@dataclass(frozen=True)
class ChangedLoops:
    """Loop ids affected by one edit."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # new ids of loops edited in place
    previous: tuple[str, ...] = ()  # the old id of each `changed` loop, same order
    # True when the edit touched text outside function bodies (declarations, macros, includes):
    # a `FileContext` built before the edit may be stale. False: it is still valid.
    context_changed: bool = True

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def current(self) -> tuple[str, ...]:
        """Ids that need (re-)analysis: added and changed."""
        return self.added + self.changed


@dataclass(frozen=True)
class _Edit:
    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start: Point
    old_end: Point
    new_end: Point

    @property
    def delta(self) -> int:
        return self.new_end_byte - self.old_end_byte

    def shift_point(self, p: Point) -> Point:
        """A point at or after the edit's old end, moved to where it is after the edit."""
        if p.line == self.old_end.line:
            return Point(self.new_end.line, p.column - self.old_end.column + self.new_end.column)
        lines = self.new_end.line - self.old_end.line
        return Point(p.line + lines, p.column) if lines else p

    def shift_span(self, s: Span) -> Span:
        """A span lying after the edit, moved by it."""
        d = self.new_end_byte - self.old_end_byte
        return Span(s.start_byte + d, s.end_byte + d, self.shift_point(s.start), self.shift_point(s.end))

    def shift_site(self, site: LoopSite) -> LoopSite:
        """A loop lying after the edit, moved by it (same id)."""
        d = self.new_end_byte - self.old_end_byte
        span = self.shift_span(site.span)
        h = site.header  # starts where the loop starts
        header = Span(h.start_byte + d, h.end_byte + d, span.start, self.shift_point(h.end))
        return LoopSite(site.path, site.language, site.kind, span, header, self.shift_span(site.body),
                        site.function, site.depth, site.role, site.loop_id)


class _Shift:
    """The combined move of a run of edits, for positions lying after all of them: bytes move by a
    total delta; a point moves to another line, and its column moves only on a line where an edit
    ended. Composing is O(1) per edit, so deferring many edits costs no more than deferring one."""

    def __init__(self) -> None:
        self.delta = 0
        self.lines = 0
        self.special: dict[int, tuple[int, int]] = {}  # old line -> (new line, column change)

    def then(self, e: _Edit) -> None:
        """Follow this shift by edit `e`."""
        a, b = e.old_end.line, e.new_end.line
        dc = e.new_end.column - e.old_end.column
        dl = b - a
        special = {line: ((b, c + dc) if nl == a else (nl + dl, c)) for line, (nl, c) in self.special.items()}
        first = a - self.lines  # the old line that lands on the edit's line
        if first not in special:
            special[first] = (b, dc)
        self.special = special
        self.lines += dl
        self.delta += e.delta

    def point(self, p: Point) -> Point:
        moved = self.special.get(p.line)
        if moved is not None:
            return Point(moved[0], p.column + moved[1])
        return Point(p.line + self.lines, p.column) if self.lines else p

    def span(self, s: Span) -> Span:
        return Span(s.start_byte + self.delta, s.end_byte + self.delta, self.point(s.start), self.point(s.end))

    def site(self, site: LoopSite) -> LoopSite:
        span = self.span(site.span)
        h = site.header  # starts where the loop starts
        header = Span(h.start_byte + self.delta, h.end_byte + self.delta, span.start, self.point(h.end))
        return LoopSite(site.path, site.language, site.kind, span, header, self.span(site.body),
                        site.function, site.depth, site.role, site.loop_id)


def _point_at(source: bytes, offset: int) -> Point:
    line = source.count(b"\n", 0, offset)
    line_start = source.rfind(b"\n", 0, offset) + 1
    return Point(line, offset - line_start)


def _end_point(start: Point, text: bytes) -> Point:
    newlines = text.count(b"\n")
    if newlines == 0:
        return Point(start.line, start.column + len(text))
    return Point(start.line + newlines, len(text) - text.rfind(b"\n") - 1)


class SourceDocument:
    """One document's text, tree and loop sites (see the module doc)."""

    def __init__(self, source: bytes, path: str, language: Language) -> None:
        self.path = path
        self.language = language
        self.source = source
        self.version = 0
        self._inside_functions = True
        self._id_cache: dict[tuple[str | None, bytes, int], str] = {}
        self.tree = parse(source, language)
        self._index: LineIndex | None = None
        # The loops in source order. Sites from index `_tail` on have not yet been moved by the edits in
        # `_pending` (all of which lie before them): moving them is deferred until they are read, so
        # that typing costs nothing for the loops below the cursor.
        self._sites: list[LoopSite] = []
        self._tail = 0
        self._pending: _Shift | None = None
        self._texts: list[bytes] = []  # identity text of each site, for re-assigning ids
        self._index_of: dict[str, int] = {}
        self._assign([(r, r.text) for r in scan_loops(self.tree, source, language)], len(self._sites))

    # ---- reading --------------------------------------------------------------------------------

    @property
    def sites(self) -> tuple[LoopSite, ...]:
        """The document's loops, in source order."""
        self._settle(len(self._sites))
        return tuple(self._sites)

    @property
    def loop_ids(self) -> tuple[str, ...]:
        """The loop ids in source order (cheaper than `sites`: no positions are brought up to date)."""
        return tuple(s.loop_id for s in self._sites)

    def site(self, loop_id: str) -> LoopSite | None:
        """The site of one loop, up to date, or None."""
        i = self._index_of.get(loop_id)
        if i is None:
            return None
        site = self._sites[i]
        if i >= self._tail and self._pending is not None:
            site = self._pending.site(site)
        return site

    def _settle(self, upto: int) -> None:
        """Apply the pending shift to the deferred sites before index `upto`."""
        shift = self._pending
        if shift is None or upto <= self._tail:
            return
        sites = self._sites
        for i in range(self._tail, min(upto, len(sites))):
            sites[i] = shift.site(sites[i])
        self._tail = upto
        if upto >= len(sites):
            self._tail = len(sites)
            self._pending = None

    @property
    def line_index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.source)
        return self._index

    # ---- editing --------------------------------------------------------------------------------

    def apply_lsp_change(self, range_: LspRange | None, text: str, encoding: Encoding = "utf-16") -> ChangedLoops:
        """Apply one LSP `TextDocumentContentChangeEvent`: `range_` ((line, char), (line, char)) in the
        client's position encoding, or None to replace the whole text."""
        data = text.encode("utf-8")
        if range_ is None:
            return self.apply_edit(0, len(self.source), data)
        start, end = self.line_index.lsp_range_to_bytes(range_, encoding)
        return self.apply_edit(start, max(start, end), data)

    def apply_edit(self, start_byte: int, old_end_byte: int, new_text: bytes | str) -> ChangedLoops:
        """Replace bytes [start_byte, old_end_byte) with `new_text`, re-parse incrementally, and
        report the loops that changed. Offsets are clamped to the document."""
        if isinstance(new_text, str):
            new_text = new_text.encode("utf-8")
        old = self.source
        start_byte = max(0, min(start_byte, len(old)))
        old_end_byte = max(start_byte, min(old_end_byte, len(old)))
        start = _point_at(old, start_byte)
        old_end = _point_at(old, old_end_byte) if old_end_byte != start_byte else start
        edit = _Edit(start_byte, old_end_byte, start_byte + len(new_text), start, old_end, _end_point(start, new_text))
        source = old[:start_byte] + new_text + old[old_end_byte:]

        old_tree = self.tree
        old_tree.edit(
            start_byte=edit.start_byte, old_end_byte=edit.old_end_byte, new_end_byte=edit.new_end_byte,
            start_point=(start.line, start.column), old_end_point=(old_end.line, old_end.column),
            new_end_point=(edit.new_end.line, edit.new_end.column),
        )
        tree = parse(source, self.language, old_tree=old_tree)
        ranges = [(r.start_byte, r.end_byte) for r in old_tree.changed_ranges(tree)]
        ranges.append((edit.start_byte, edit.new_end_byte))

        self.source = source
        self.tree = tree
        self._index = None
        self.version += 1
        old_sites = list(self._sites)  # ids, functions, kinds and depths only: positions may be deferred
        self._inside_functions = True
        try:
            items = self._incremental_items(tree, source, edit, ranges)
        except Exception:  # never leave the document half-updated: fall back to a full scan
            log.exception("incremental loop update of %s failed; rescanning the file", self.path)
            items = None
        if items is None:
            self._pending = None
            records = scan_loops(tree, source, self.language)
            self._inside_functions = False
            self._assign([(r, r.text) for r in records], len(records))
        else:
            self._assign(*items)
        return _diff(old_sites, self._sites, context_changed=not self._inside_functions)

    # ---- internals ------------------------------------------------------------------------------

    def _incremental_items(
        self, tree: tree_sitter.Tree, source: bytes, edit: _Edit, ranges: list[tuple[int, int]]
    ) -> tuple[list[tuple[LoopSite | LoopRecord, bytes]], int] | None:
        """The loops of the new text, re-scanning only the region the edit touched: old sites (kept,
        moved, or left for `_pending` to move) and new records, in source order, with their identity
        texts; and the index where the deferred tail starts. None = do a full scan."""
        root = tree.root_node
        lo, hi = len(source), 0
        for a, b in ranges:
            r0, r1, in_function = _region_of(root, a, b)
            lo, hi = min(lo, r0), max(hi, r1)
            self._inside_functions &= in_function
        lo, hi = min(lo, edit.start_byte), max(hi, edit.new_end_byte)
        old_lo, old_hi = lo, hi - edit.delta
        if old_lo > edit.start_byte or old_hi < edit.old_end_byte:
            return None

        sites, texts, tail = self._sites, self._texts, self._tail
        pend = self._pending.delta if self._pending is not None else 0
        n_before = 0
        first_after = len(sites)
        for i, site in enumerate(sites):
            shift = pend if i >= tail else 0
            s, e = site.span.start_byte + shift, site.span.end_byte + shift
            if e <= old_lo:
                n_before = i + 1
            elif s >= old_hi:
                first_after = i
                break
            elif s < old_lo or e > old_hi:
                return None  # a loop straddles the region: the region is not a set of whole functions

        middle = scan_loops(tree, source, self.language, lo, hi) if hi > lo else []
        for rec in middle:
            if rec.span.start_byte < lo or rec.span.end_byte > hi:
                return None
        # Loops before the region leave the deferred tail: move them now.
        self._settle(n_before)
        # Old loops from index `tail` on still wait for the pending edits; with none pending, every loop
        # after the region can start waiting for this edit.
        tail = self._tail if self._pending is not None else first_after
        moved = edit.delta != 0 or edit.new_end != edit.old_end
        items: list[tuple[LoopSite | LoopRecord, bytes]] = list(zip(sites[:n_before], texts[:n_before], strict=True))
        items.extend((r, r.text) for r in middle)
        new_tail = len(items) + max(0, tail - first_after)
        for i in range(first_after, len(sites)):
            site = sites[i]
            if i < tail and moved:  # between the region and the deferred tail: move it now
                site = edit.shift_site(site)
            items.append((site, texts[i]))
        if moved:
            if self._pending is None:
                self._pending = _Shift()
            self._pending.then(edit)
        return items, new_tail

    def _assign(self, items: list[tuple[LoopSite | LoopRecord, bytes]], tail: int) -> None:
        """Give every loop its id (occurrence indices may have moved) and store the sites; those from
        `tail` on still await the pending edits."""
        seen: dict[tuple[str | None, bytes], int] = {}
        cache = self._id_cache
        out: list[LoopSite] = []
        for item, text in items:
            key = (item.function, text)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            ck = (item.function, text, occurrence)
            lid = cache.get(ck)
            if lid is None:
                lid = loop_id_for(text, item.function, occurrence)
                cache[ck] = lid
            if isinstance(item, LoopSite):
                out.append(item if item.loop_id == lid else dataclasses.replace(item, loop_id=lid))
            else:
                out.append(LoopSite(self.path, self.language, item.kind, item.span, item.header, item.body,
                                    item.function, item.depth, item.role, lid))
        if len(cache) > 4 * len(out) + 1024:
            cache.clear()
        self._sites = out
        self._tail = tail
        if tail >= len(out):
            self._pending = None
        self._texts = [text for _item, text in items]
        self._index_of = {s.loop_id: i for i, s in enumerate(out)}


def _region_of(root: tree_sitter.Node, start: int, end: int) -> tuple[int, int, bool]:
    """The byte range of whole top-level units around [start, end): the outermost function containing
    it (and True), or else the top-level declarations it touches (and False).

    In broken code a block inside an ERROR node takes its function name from the node before it
    (see `loops`), so the unit after the region is included too when it may be such a block.
    """
    node = root.descendant_for_byte_range(start, end)
    outermost, parent = _outermost_function(root, node) if node is not None else (None, None)
    if outermost is not None:
        hi = outermost.end_byte
        if parent is not None and parent.type == "ERROR":
            following = outermost.next_sibling
            if following is not None:
                hi = max(hi, following.end_byte)
        return outermost.start_byte, hi, True
    lo, hi = start, end
    # Not `first_child_for_byte`: in py-tree-sitter 0.26 it returns a dangling node when no child
    # ends after the offset (use crashes the interpreter).
    for child in root.children:
        if child.end_byte < start:
            continue
        lo, hi = min(lo, child.start_byte), max(hi, child.end_byte)
        if child.start_byte > end:
            break  # the first unit after the edit: included (see above)
    return lo, hi, False


def _outermost_function(root: tree_sitter.Node, node: tree_sitter.Node,
                        ) -> tuple[tree_sitter.Node | None, tree_sitter.Node | None]:
    """The outermost function (definition or lambda) around `node` (itself included), and its parent."""
    path = path_to(root, node)
    for above, here in itertools.pairwise(path):
        if here.type in _FUNCTION_TYPES:
            return here, above
    return None, None


def path_to(root: tree_sitter.Node, node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The nodes from `root` down to `node` (both included), found walking down from the root: linear
    in depth. Walking up `node.parent` is not (tree-sitter finds a parent by walking down from the
    root): from 50,000 nested braces it took minutes."""
    cursor = root.walk()
    path = [root]
    s, e = node.start_byte, node.end_byte
    while path[-1].id != node.id:
        if cursor.goto_first_child_for_byte(s) is None:
            break
        child = cursor.node
        if child is None or child.start_byte > s or e > child.end_byte:
            break
        path.append(child)
    if path[-1].id == node.id:
        return path
    up = [node]  # not on the way down (a zero-width node at a child's edge): the slow way up
    while (parent := up[-1].parent) is not None:
        up.append(parent)
    return up[::-1]


def _diff(old: list[LoopSite], new: list[LoopSite], context_changed: bool) -> ChangedLoops:
    old_ids = {s.loop_id for s in old}
    new_ids = {s.loop_id for s in new}
    gone = [s for s in old if s.loop_id not in new_ids]
    came = [s for s in new if s.loop_id not in old_ids]
    if not gone and not came:
        return ChangedLoops(context_changed=context_changed)
    # Pair loops edited in place: same function, kind and depth, in source order.
    pool: dict[tuple[str | None, str, int], list[LoopSite]] = {}
    for s in gone:
        pool.setdefault((s.function, s.kind.value, s.depth), []).append(s)
    added: list[str] = []
    changed: list[str] = []
    previous: list[str] = []
    for s in came:
        candidates = pool.get((s.function, s.kind.value, s.depth))
        if candidates:
            changed.append(s.loop_id)
            previous.append(candidates.pop(0).loop_id)
        else:
            added.append(s.loop_id)
    paired = set(previous)
    removed = tuple(s.loop_id for s in gone if s.loop_id not in paired)
    return ChangedLoops(tuple(added), removed, tuple(changed), tuple(previous), context_changed)
