"""The server's position codec: byte spans (tree-sitter, `core.Span`) <-> LSP ranges.

The counting itself is `simdlens.analysis.positions.LineIndex`; this module only speaks lsprotocol
and knows how the client's text becomes the bytes the pipeline parses.
"""

from __future__ import annotations

from lsprotocol import types

from simdlens.analysis.positions import Encoding, LineIndex
from simdlens.core import Span

__all__ = ["LineIndex", "encode_text", "encoding_of", "lsp_range", "offset_of", "span_of"]


def encoding_of(kind: object) -> Encoding:
    """The negotiated `PositionEncodingKind` as LineIndex's name for it (UTF-16 unless told)."""
    value = getattr(kind, "value", kind)
    return _ENCODINGS.get(str(value), "utf-16")


_ENCODINGS: dict[str, Encoding] = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


def encode_text(text: str) -> bytes:
    """The client's text as bytes; a lone surrogate survives (and makes the document "not UTF-8")."""
    return text.encode("utf-8", "surrogatepass")


def span_of(lines: LineIndex, start_byte: int, end_byte: int) -> Span:
    return Span(start_byte, end_byte, lines.byte_to_point(start_byte), lines.byte_to_point(end_byte))


def lsp_range(lines: LineIndex, span: Span, encoding: Encoding) -> types.Range:
    start, end = lines.span_to_lsp_range(span, encoding)
    return types.Range(types.Position(*start), types.Position(*end))


def offset_of(lines: LineIndex, position: types.Position, encoding: Encoding) -> int:
    return lines.lsp_to_byte(position.line, position.character, encoding)
