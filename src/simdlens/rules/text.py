"""Source-text plumbing for rewrites: renaming, finding the loop in a kernel, indentation, includes.

Everything here works on text and byte offsets; nothing knows about vectorization.
"""

from __future__ import annotations

import re

from simdlens.analysis.parse import parse
from simdlens.core import Language, Point, Span, TextEdit

_LOOPS = ("for_statement", "while_statement", "do_statement", "for_range_loop")


def rename_text(text: str, renames: dict[str, str]) -> str:
    """Replace each user expression (`p->x`, `v.size()`, `n`) by its kernel name, longest first."""
    for src in sorted(renames, key=len, reverse=True):
        dst = renames[src]
        if not src or src == dst:
            continue
        parts = [p for p in re.split(r"(->|\.|\(\))", src) if p]
        pattern = r"\s*".join(re.escape(p) for p in parts).replace(r"\(\)", r"\(\s*\)")
        text = re.sub(r"(?<![\w.>])" + pattern + r"(?!\w)", dst, text)
    return text


def kernel_loop_span(function: str, language: Language) -> tuple[int, int] | None:
    """Character offsets of the loop statement at the top level of the kernel function's body."""
    data = function.encode("utf-8")
    tree = parse(data, language)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            body = node.child_by_field_name("body")
            if body is None:
                return None
            for child in body.named_children:
                if child.type in _LOOPS:
                    start = len(data[:child.start_byte].decode("utf-8"))
                    end = len(data[:child.end_byte].decode("utf-8"))
                    return start, end
            return None
        stack.extend(reversed(node.named_children))
    return None


def line_indent(source: bytes | None, span: Span) -> tuple[str, int | None]:
    """The whitespace before the loop on its first line and that line's start byte (None when the
    loop does not start its line, or the source is unknown)."""
    if source is None:
        return " " * span.start.column, None
    line_start = source.rfind(b"\n", 0, span.start_byte) + 1
    prefix = source[line_start:span.start_byte]
    if prefix.strip():
        indent = re.match(rb"[ \t]*", prefix)
        return (indent.group(0).decode() if indent else ""), None
    return prefix.decode("utf-8", "replace"), line_start


def include_edit(source: bytes, before: int) -> TextEdit | None:
    """Insert `#include <immintrin.h>` after the file's last #include above `before`, if it is missing."""
    if re.search(rb"#\s*include\s*[<\"](immintrin|x86intrin)\.h[>\"]", source):
        return None
    offset = 0
    for m in re.finditer(rb"^[ \t]*#[ \t]*include[^\n]*\n", source[:before], re.M):
        offset = m.end()
    line = source.count(b"\n", 0, offset)
    at = Span(offset, offset, Point(line, 0), Point(line, 0))
    return TextEdit(at, "#include <immintrin.h>\n")


def enclosing_function_start(source: bytes, span: Span, language: Language) -> tuple[int, int] | None:
    """(byte, line) where the file-scope function holding `span` starts, for inserting a helper before it."""
    tree = parse(source, language)
    node = tree.root_node.descendant_for_byte_range(span.start_byte, span.end_byte)
    while node is not None and node.type != "function_definition":
        node = node.parent
    if node is None or node.parent is None or node.parent.type != "translation_unit":
        return None
    start = node.start_byte
    # keep a template<> or attribute line attached to its function: insert above the function's line
    line_start = source.rfind(b"\n", 0, start) + 1
    return line_start, source.count(b"\n", 0, line_start)
