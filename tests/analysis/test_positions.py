"""Byte positions <-> LSP positions in UTF-8, UTF-16 and UTF-32, with non-ASCII text and CRLF."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis.parse import parse
from simdlens.analysis.positions import ENCODINGS, LineIndex, node_span
from simdlens.core import Point, Span

# "é" is 2 bytes in UTF-8 and 1 UTF-16 unit; "😀" is 4 bytes, 2 UTF-16 units (a surrogate pair), 1 code point.
TEXT = "int a; // é\nchar *s = \"😀\"; int b;\n".encode()


def test_ascii_prefix_is_the_same_in_every_encoding() -> None:
    idx = LineIndex(TEXT)
    for enc in ENCODINGS:
        assert idx.byte_to_lsp(4, enc) == (0, 4)
        assert idx.lsp_to_byte(0, 4, enc) == 4


@pytest.mark.parametrize(("encoding", "character"), [("utf-8", 18), ("utf-16", 16), ("utf-32", 15)])
def test_position_after_an_emoji(encoding: str, character: int) -> None:
    idx = LineIndex(TEXT)
    line1 = TEXT.index(b"\n") + 1
    b = TEXT.index(b"int b") - line1  # byte column of `int b` on line 1
    assert b == 18
    assert idx.point_to_lsp(Point(1, b), encoding) == (1, character)  # type: ignore[arg-type]
    assert idx.lsp_to_byte(1, character, encoding) == line1 + b  # type: ignore[arg-type]


def test_end_of_line_after_e_acute() -> None:
    idx = LineIndex(TEXT)
    end = TEXT.index(b"\n")
    assert idx.byte_to_lsp(end, "utf-8") == (0, 12)
    assert idx.byte_to_lsp(end, "utf-16") == (0, 11)
    assert idx.byte_to_lsp(end, "utf-32") == (0, 11)


def test_inside_a_surrogate_pair_rounds_down_to_the_character_start() -> None:
    idx = LineIndex(TEXT)
    line1 = TEXT.index(b"\n") + 1
    emoji = TEXT.index("😀".encode())
    # UTF-16 character 11 is the emoji's start; 12 is between its two halves.
    assert idx.lsp_to_byte(1, 11, "utf-16") == emoji
    assert idx.lsp_to_byte(1, 12, "utf-16") == emoji
    assert idx.lsp_to_byte(1, 13, "utf-16") == emoji + 4
    assert emoji - line1 == 11


def test_crlf_line_endings_are_not_characters_and_positions_clamp() -> None:
    src = b"int x;\r\nint y;\r\n"
    idx = LineIndex(src)
    assert idx.line_count == 3
    assert idx.lsp_to_byte(1, 0) == 8
    assert idx.lsp_to_byte(0, 100) == 6  # past the end of the line: before "\r\n"
    assert idx.lsp_to_byte(99, 0) == len(src)  # past the last line: end of document
    assert idx.byte_to_lsp(7) == (0, 6)  # the "\n" of a CRLF clamps to the end of the text
    assert idx.line_text(1) == b"int y;"


def test_span_to_lsp_range_from_a_tree_sitter_node() -> None:
    src = "/* é */ void f(int *a) { a[0] = 1; }\n".encode()
    tree = parse(src, "c")
    fn = tree.root_node.named_children[1]
    span = node_span(fn)
    idx = LineIndex(src)
    assert idx.span_to_lsp_range(span, "utf-16") == ((0, 8), (0, 36))
    assert idx.span_to_lsp_range(span, "utf-8") == ((0, 9), (0, 37))


_chars = st.sampled_from([*list("ab {}();\t"), "é", "😀", "\n", "\r\n", "中"])


@settings(max_examples=80, deadline=None)
@given(st.lists(_chars, max_size=40), st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_round_trip_at_every_character_boundary(chars: list[str], encoding: str) -> None:
    text = "".join(chars)
    src = text.encode()
    idx = LineIndex(src)
    offset = 0
    for ch in chars:
        for part in ([ch] if ch != "\r\n" else ["\r", "\n"]):
            if part == "\n" or (part == "\r"):
                offset += 1
                continue
            line, character = idx.byte_to_lsp(offset, encoding)  # type: ignore[arg-type]
            assert idx.lsp_to_byte(line, character, encoding) == offset  # type: ignore[arg-type]
            # The character count matches Python's own encoding of the line prefix.
            prefix = src[idx.line_start(line) : offset].decode()
            expected = {"utf-8": len(prefix.encode()), "utf-16": len(prefix.encode("utf-16-le")) // 2,
                        "utf-32": len(prefix)}[encoding]
            assert character == expected
            offset += len(part.encode())


def _lsp_lines(text: str) -> list[str]:
    """The document's lines as LSP counts them: "\\n", "\\r\\n" and a lone "\\r" end a line."""
    out, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            out.append(text[start:i])
            i += 2 if text[i : i + 2] == "\r\n" else 1
            start = i
        else:
            i += 1
    out.append(text[start:])
    return out


def _units(text: str, encoding: str) -> int:
    return len(text.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(text.encode()) \
        if encoding == "utf-8" else len(text)


def test_a_lone_cr_ends_an_lsp_line_but_not_a_tree_sitter_row() -> None:
    text = "int a;\rint b; // é\r\nint c;\nint d;\r"
    idx = LineIndex(text.encode())
    b = text.encode().index(b"int b")
    assert idx.byte_to_lsp(b, "utf-16") == (1, 0)  # the editor's second line
    assert idx.byte_to_point(b) == Point(0, b)  # tree-sitter's first row
    assert idx.point_to_lsp(Point(0, b), "utf-16") == (1, 0)
    assert idx.lsp_to_byte(1, 0, "utf-16") == b
    assert idx.lsp_to_byte(1, 99, "utf-16") == text.encode().index(b"\r\n")  # clamps before the line ending
    assert idx.lsp_to_byte(2, 4, "utf-16") == text.encode().index(b"int c") + 4
    assert idx.lsp_to_byte(4, 0, "utf-16") == len(text.encode())  # after the final lone \r: an empty line
    assert idx.byte_to_lsp(len(text.encode()), "utf-16") == (4, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "é", "😀", "\n", "\r", "\r\n", "\t"]), max_size=40),
       st.sampled_from(ENCODINGS))
def test_lsp_positions_follow_lsp_lines_whatever_the_line_endings(chars: list[str], encoding: str) -> None:
    text = "".join(chars)
    data = text.encode()
    idx = LineIndex(data)
    lines = _lsp_lines(text)
    offset = 0
    for number, line in enumerate(lines):
        for cut in range(len(line) + 1):
            character = _units(line[:cut], encoding)
            byte = offset + len(line[:cut].encode())
            assert idx.lsp_to_byte(number, character, encoding) == byte  # type: ignore[arg-type]
            assert idx.byte_to_lsp(byte, encoding) == (number, character)  # type: ignore[arg-type]
            point = idx.byte_to_point(byte)  # tree-sitter's row and byte column, whatever LSP counts
            assert point.line == data.count(b"\n", 0, byte)
            assert idx.point_to_lsp(point, encoding) == (number, character)  # type: ignore[arg-type]
        offset += len(line.encode())
        rest = text.encode()[offset:]
        offset += 2 if rest.startswith(b"\r\n") else 1 if rest[:1] in (b"\r", b"\n") else 0


def test_node_span_makes_the_objects_the_constructors_make() -> None:
    """node_span fills the slots of Span and Point directly: every field set, equal, hashing and printing alike."""
    source = b"int f(int *a, int n) {\n  for (int i = 0; i < n; i++)\n    a[i] = 2 * a[i];\n  return 0;\n}\n"
    nodes = [parse(source, "c").root_node]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        got = node_span(node)
        s, e = node.start_point, node.end_point
        want = Span(node.start_byte, node.end_byte, Point(s[0], s[1]), Point(e[0], e[1]))
        assert got == want and hash(got) == hash(want) and repr(got) == repr(want)
        for obj in (got, got.start, got.end):
            assert all(hasattr(obj, f.name) for f in dataclasses.fields(obj))
