"""The `Span` of a tree-sitter node, made without the interpreter.

The analysis makes a span for every loop, header, body, memory access and reason (~6,500 per 1,000
loops), so this one function is compiled with the analysis hot path (`_native.HOT_MODULES`);
`positions` re-exports it for the rest of simdlens.
"""

from __future__ import annotations

from typing import Protocol

from simdlens.core import Point, Span


class NodeLike(Protocol):
    @property
    def start_byte(self) -> int: ...
    @property
    def end_byte(self) -> int: ...
    @property
    def start_point(self) -> tuple[int, int]: ...
    @property
    def end_point(self) -> tuple[int, int]: ...


def node_span(node: NodeLike) -> Span:
    """The `Span` of a tree-sitter node."""
    s, e = node.start_point, node.end_point
    return new_span(node.start_byte, node.end_byte, new_point(s[0], s[1]), new_point(e[0], e[1]))


def new_span(start_byte: int, end_byte: int, start: Point, end: Point) -> Span:
    """`Span(start_byte, end_byte, start, end)`, faster."""
    span = _new(Span)
    _set_start_byte(span, start_byte)
    _set_end_byte(span, end_byte)
    _set_start(span, start)
    _set_end(span, end)
    return span


def new_point(line: int, column: int) -> Point:
    """`Point(line, column)`, faster."""
    point = _new(Point)
    _set_line(point, line)
    _set_column(point, column)
    return point


# A frozen dataclass's generated __init__ sets each field with object.__setattr__ by name; filling the
# slots directly makes the same objects in a third of the time, and compiled in half of that again
# (tests/analysis/test_positions.py checks they equal the ones the constructors make).
_new = object.__new__
_set_line, _set_column = Point.__dict__["line"].__set__, Point.__dict__["column"].__set__
_set_start_byte, _set_end_byte = Span.__dict__["start_byte"].__set__, Span.__dict__["end_byte"].__set__
_set_start, _set_end = Span.__dict__["start"].__set__, Span.__dict__["end"].__set__
