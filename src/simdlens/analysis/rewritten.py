"""Loops that are already vectorized: hand-written SIMD intrinsics, and rewrites simdlens applied.

A rewrite simdlens writes into the user's file looks like

    #if defined(__AVX2__)
        {
            /* simdlens rules:elementwise (avx2, 8 lanes) */
            ... vector loop, scalar tail loop ...
        }
    #else
        for (...) { the original loop }
    #endif

Every loop of it - the vector loop, the tail, lane-reduction loops and the original kept under `#else`
- must not be proposed again. `rewrites(source, tree)` finds those regions from the marker comment
(`/* simdlens rules:… */` or `/* simdlens model:… */`): the `#if … #endif` group around the marker,
and the `{ … }` block that carries it (a rewrite placed without a preprocessor guard).
`uses_intrinsics(text)` tells a loop written with SIMD types or intrinsic calls (x86 `__m256`,
`_mm256_add_ps(…)`, Arm NEON `float32x4_t`, SVE `svfloat32_t`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter

_MARKER = re.compile(rb"/\*\s*simdlens\s+(rules|model)\s*:\s*([\w.+-]+)\s*(?:\(([^)]*)\))?")
_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b", re.MULTILINE)
_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.DOTALL)
# SIMD vector and mask types, and calls of x86 intrinsics (`_mm_`, `_mm256_`, `_mm512_`).
_INTRINSIC = re.compile(
    rb"\b(?:__m(?:64|128|256|512)(?:[dih]|bh)?|__mmask(?:8|16|32|64)"
    rb"|(?:float|int|uint|poly|bfloat)(?:8|16|32|64)x\d+(?:x[234])?_t"
    rb"|sv(?:float|int|uint|bfloat)(?:8|16|32|64)_t|svbool_t)\b"
    rb"|\b_mm(?:256|512)?_\w+\s*\(")


@dataclass(frozen=True)
class Rewrite:
    """A byte range of the file that holds one simdlens rewrite, and what wrote it."""

    start: int
    end: int
    origin: str  # "rules:elementwise", "model:qwen2.5-coder"
    isa: str  # "avx2", "" when the marker does not say

    @property
    def description(self) -> str:
        return f"{self.origin}, {self.isa}" if self.isa else self.origin


def rewrites(source: bytes, tree: tree_sitter.Tree | None = None) -> tuple[Rewrite, ...]:
    """The regions of `source` that belong to a rewrite simdlens applied."""
    if b"simdlens" not in source:
        return ()
    directives = [(m.start(), m.end(), m.group(1)) for m in _DIRECTIVE.finditer(source)]
    out: list[Rewrite] = []
    for m in _MARKER.finditer(source):
        detail = (m.group(3) or b"").decode("utf-8", "replace")
        isa = detail.split(",")[0].strip()
        origin = f"{m.group(1).decode()}:{m.group(2).decode('utf-8', 'replace')}"
        group = _directive_group(directives, m.start(), len(source))
        if group is not None:
            out.append(Rewrite(group[0], group[1], origin, isa))
        block = _block_of(tree, m.start()) if tree is not None else None
        if block is not None:
            out.append(Rewrite(block[0], block[1], origin, isa))
    return tuple(out)


def rewrite_containing(regions: tuple[Rewrite, ...], start: int, end: int) -> Rewrite | None:
    """The rewrite a loop spanning `start..end` belongs to, if any."""
    for r in regions:
        if r.start <= start and end <= r.end:
            return r
    return None


# Every name `_INTRINSIC` finds contains "__m", "_mm", "sv" or digit-x-digit and "_t": checking for those
# first is several times cheaper than the full search, and almost no loop has any.
_NEON_HINT = re.compile(rb"\dx\d")


def uses_intrinsics(text: bytes) -> str:
    """The first SIMD type or intrinsic call in `text` (comments ignored), or ""."""
    # (`find`, not `in`: `bytes in bytes` first tries the needle as an int and raises and clears a TypeError)
    if (text.find(b"__m") < 0 and text.find(b"_mm") < 0 and text.find(b"sv") < 0
            and (text.find(b"_t") < 0 or _NEON_HINT.search(text) is None)):
        return ""
    m = _INTRINSIC.search(text)
    if m is None:
        return ""
    m = _INTRINSIC.search(_COMMENT.sub(b" ", text))
    return m.group(0).rstrip(b"( \t\n").decode("utf-8", "replace") if m is not None else ""


def _directive_group(directives: list[tuple[int, int, bytes]], pos: int, size: int) -> tuple[int, int] | None:
    """The `#if … #endif` group (all of its branches) that contains `pos`."""
    start = None
    depth = 0
    for d_start, _d_end, kind in reversed([d for d in directives if d[0] < pos]):
        if kind == b"endif":
            depth += 1
        elif kind in (b"if", b"ifdef", b"ifndef"):
            if depth == 0:
                start = d_start
                break
            depth -= 1
    if start is None:
        return None
    depth = 0
    for _d_start, d_end, kind in (d for d in directives if d[0] > pos):
        if kind in (b"if", b"ifdef", b"ifndef"):
            depth += 1
        elif kind == b"endif":
            if depth == 0:
                return start, d_end
            depth -= 1
    return start, size  # an unterminated group runs to the end of the file


def _block_of(tree: tree_sitter.Tree, pos: int) -> tuple[int, int] | None:
    """The `{ … }` block whose own statements include the comment at `pos`."""
    node: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(pos, pos + 1)
    if node is None or node.type != "comment":
        return None
    parent = node.parent
    if parent is None or parent.type != "compound_statement":
        return None
    return parent.start_byte, parent.end_byte
