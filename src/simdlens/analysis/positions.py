"""Converting between simdlens's byte positions and LSP positions.

Inside simdlens every position is byte based (tree-sitter's unit): a `Span` holds byte offsets and
0-based (line, byte-column) `Point`s. Editors speak LSP positions: a 0-based line and a character
offset counted in UTF-16 code units (VS Code, the JSON report), UTF-8 bytes or UTF-32 code points,
whichever encoding the client negotiated. `LineIndex` converts both ways for one document text;
`node_span` (from `spans`) turns a tree-sitter node into a `Span`.

Two notions of line meet here. tree-sitter's rows (a `Point`'s line) end at "\\n" only; LSP lines
end at "\\n", "\\r\\n" or a lone "\\r", as the specification says. They differ only in a text with a
lone "\\r": there `LineIndex` keeps both, and converts between them through byte offsets. A "\\r"
before "\\n" belongs to the line ending, not the line's characters. Positions past the end of a line
clamp to the end of that line, lines past the end of the document clamp to its end, as the LSP
specification asks.
"""

from __future__ import annotations

import bisect
import re
from array import array
from typing import Literal

from simdlens.analysis.spans import node_span
from simdlens.core import Point, Span

Encoding = Literal["utf-8", "utf-16", "utf-32"]
LspPosition = tuple[int, int]
LspRange = tuple[LspPosition, LspPosition]

ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")

__all__ = ["ENCODINGS", "LineIndex", "join_spans", "node_span"]  # node_span is compiled, in analysis/spans.py


def join_spans(first: Span, last: Span) -> Span:
    """The span from the start of `first` to the end of `last`."""
    return Span(first.start_byte, last.end_byte, first.start, last.end)


def _units(text: bytes, encoding: Encoding) -> int:
    """How many code units of `encoding` the UTF-8 bytes `text` take."""
    if encoding == "utf-8":
        return len(text)
    s = text.decode("utf-8", errors="replace")
    if encoding == "utf-32" or s.isascii():
        return len(s)
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _bytes_for_units(line: bytes, units: int, encoding: Encoding) -> int:
    """The byte offset within `line` (UTF-8, no line ending) of `units` code units, clamped to the
    line; a position inside a character (e.g. between the halves of a surrogate pair) rounds down."""
    if units <= 0:
        return 0
    if encoding == "utf-8":
        n = min(units, len(line))
        # Never split a multi-byte character: back off continuation bytes.
        while 0 < n < len(line) and (line[n] & 0xC0) == 0x80:
            n -= 1
        return n
    if line.isascii():
        return min(units, len(line))
    s = line.decode("utf-8", errors="replace")
    count = 0
    offset = 0
    for ch in s:
        width = 2 if encoding == "utf-16" and ord(ch) > 0xFFFF else 1
        if count + width > units:
            break
        count += width
        offset += len(ch.encode("utf-8", errors="replace"))
    return min(offset, len(line))


_LONE_CR = re.compile(rb"\r(?!\n)")
_LSP_BREAK = re.compile(rb"\r\n?|\n")


class LineIndex:
    """Line starts of one document text, for byte <-> LSP position conversion.

    `line_start`, `line_text`, `line_count` and `byte_to_point` count tree-sitter's rows; every method
    with `lsp` in its name counts LSP lines (see the module doc)."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        # machine ints, not a list of Python ints: 80 KB instead of 360 KB for 10,000 lines (an editor keeps one per file)
        starts = array("q", [0])
        offset = 0
        for line in source.split(b"\n")[:-1]:
            offset += len(line) + 1
            starts.append(offset)
        self._starts = starts
        self._lsp_starts = starts  # the same lines unless a lone "\r" ends one
        if b"\r" in source and _LONE_CR.search(source):
            lsp = array("q", [0])
            lsp.extend(m.end() for m in _LSP_BREAK.finditer(source))
            self._lsp_starts = lsp

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        return self._starts[max(0, min(line, len(self._starts) - 1))]

    def _line_end(self, line: int) -> int:
        """Byte offset of the end of `line`'s text (before "\\r\\n" / "\\n")."""
        if line + 1 < len(self._starts):
            end = self._starts[line + 1] - 1
            if end > self._starts[line] and self.source[end - 1 : end] == b"\r":
                end -= 1
            return end
        end = len(self.source)
        if end > self._starts[line] and self.source[end - 1 : end] == b"\r":
            end -= 1
        return end

    def _lsp_line_end(self, line: int) -> int:
        """Byte offset of the end of LSP line `line`'s text (before its "\\r", "\\n" or "\\r\\n")."""
        starts = self._lsp_starts
        if starts is self._starts:
            return self._line_end(line)
        if line + 1 >= len(starts):
            return len(self.source)
        end = starts[line + 1] - 1  # the last byte of the line break
        if self.source[end : end + 1] == b"\n" and end > starts[line] and self.source[end - 1 : end] == b"\r":
            end -= 1
        return end

    def line_text(self, line: int) -> bytes:
        """The bytes of `line` without its line ending."""
        line = max(0, min(line, len(self._starts) - 1))
        return self.source[self._starts[line] : self._line_end(line)]

    def byte_to_point(self, offset: int) -> Point:
        offset = max(0, min(offset, len(self.source)))
        line = bisect.bisect_right(self._starts, offset) - 1
        return Point(line, offset - self._starts[line])

    def point_to_lsp(self, point: Point | tuple[int, int], encoding: Encoding = "utf-16") -> LspPosition:
        """LSP (line, character) of a tree-sitter point (line, byte column)."""
        line, column = (point.line, point.column) if isinstance(point, Point) else point
        if line >= len(self._starts):
            return self.byte_to_lsp(len(self.source), encoding)
        line = max(0, line)
        start = self._starts[line]
        if self._lsp_starts is not self._starts:  # the row may hold several LSP lines: go through its byte
            end = self._starts[line + 1] - 1 if line + 1 < len(self._starts) else len(self.source)
            byte = min(start + max(0, column), end)
            if 0 < byte < len(self.source) and self.source[byte - 1 : byte + 1] == b"\r\n":
                byte -= 1  # not between the halves of a line ending
            return self._byte_to_lsp(byte, encoding)
        end = self._line_end(line)
        byte = min(start + max(0, column), end)
        return line, _units(self.source[start:byte], encoding)

    def byte_to_lsp(self, offset: int, encoding: Encoding = "utf-16") -> LspPosition:
        """LSP (line, character) of a byte offset (clamped to the document)."""
        if self._lsp_starts is not self._starts:
            return self._byte_to_lsp(max(0, min(offset, len(self.source))), encoding)
        return self.point_to_lsp(self.byte_to_point(offset), encoding)

    def _byte_to_lsp(self, offset: int, encoding: Encoding) -> LspPosition:
        line = bisect.bisect_right(self._lsp_starts, offset) - 1
        start = self._lsp_starts[line]
        return line, _units(self.source[start : min(offset, self._lsp_line_end(line))], encoding)

    def lsp_to_byte(self, line: int, character: int, encoding: Encoding = "utf-16") -> int:
        """Byte offset of an LSP position; past the end of a line clamps to the line's end, past the
        last line to the end of the document."""
        if line < 0:
            return 0
        starts = self._lsp_starts
        if line >= len(starts):
            return len(self.source)
        start = starts[line]
        text = self.source[start : self._lsp_line_end(line)]
        return start + _bytes_for_units(text, character, encoding)

    def lsp_to_point(self, line: int, character: int, encoding: Encoding = "utf-16") -> Point:
        return self.byte_to_point(self.lsp_to_byte(line, character, encoding))

    def span_to_lsp_range(self, span: Span, encoding: Encoding = "utf-16") -> LspRange:
        """The LSP range ((line, character), (line, character)) of a span."""
        return self.point_to_lsp(span.start, encoding), self.point_to_lsp(span.end, encoding)

    def lsp_range_to_bytes(self, rng: LspRange, encoding: Encoding = "utf-16") -> tuple[int, int]:
        (l1, c1), (l2, c2) = rng
        return self.lsp_to_byte(l1, c1, encoding), self.lsp_to_byte(l2, c2, encoding)

    # Names from the architecture notes' contract.
    to_lsp = point_to_lsp
    from_lsp = lsp_to_byte
