"""Apply audit: does the one-click edit do exactly what the sandbox verified?

The sandbox verifies a kernel extracted from the loop; the code action splices vector code into the
user's real file. This script closes that gap independently of the pipeline's own harness:

1. `simdlens scan --json --no-bench --isa <isa>` over C/C++ files (default: examples/ and
   benchmarks/corpus/), in a private cache directory;
2. every candidate with status "verified" has its `edits` (LSP TextEdits: 0-based lines, UTF-16
   characters) applied, back to front, to a copy of its file;
3. the edited file must compile with `-O2 -c` without ISA flags (the #if guard's fallback) and with
   them (g++ for C++);
4. the function holding the loop is driven from a generated program that links the ORIGINAL file
   (compiled -O0, the ground truth) and the EDITED file (compiled -O2 with the ISA flags, its symbols
   made local except one function pointer) and compares every output buffer (whole allocation, so
   stray writes before or after the data show), and the return value, bit for bit, on random,
   special-value (NaN, +-0, +-inf, INT_MIN/INT_MAX, 0x80) and many-ties inputs, aligned and
   misaligned, at sizes 0..4099;
5. the edited function runs once more under -fsanitize=address,undefined with buffers exactly as
   large as the original function needs (found by running the original under ASan first), which
   catches reads past the end that the outputs cannot show.

Floats compare exactly, except when the candidate's caveats say it reassociates or contracts: then
within a relative 1e-4 (denominator at least 1) and NaN positions must match. NaN payloads are not
compared (C does not specify how they propagate). The edited file is compiled with
-ffp-contract=off, as the sandbox does: gcc's default contraction would otherwise change the
scalar tail's rounding relative to the -O0 ground truth. It is also compiled with -fno-tree-vectorize:
gcc 12's own vectorizer turns a complex multiply written in plain C (the user's scalar remainder) into
`vfmaddsub` even under -ffp-contract=off, so with -mfma the user's unedited loop already differs from
its -O0 build in the last bit (46% of random inputs for `c = a * b` on interleaved doubles). Intrinsics
are not touched by that flag: the audited vector code is the one the user gets.

Usage: .venv/bin/python benchmarks/apply_audit.py [PATH...] [--isa avx2 --isa avx512] [--json FILE]
Exit status: 0 when nothing failed (skips are not failures), 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import tree_sitter

from simdlens.analysis.parse import language_for, parse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (ROOT / "examples", ROOT / "benchmarks" / "corpus")
# How the edited file is built for the comparison (see the module docstring for why both).
EDITED_FP = ("-ffp-contract=off", "-fno-tree-vectorize")
ISA_FLAGS = {
    "avx2": ("-mavx2", "-mfma"),
    "avx512": ("-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"),
}
SIZES = (0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1000, 4099)
SIZE_NAMES = re.compile(
    r"^(n|count|len|length|width|height|pixels|frames|bins|nnz|rows|cols|size|num|nelem|nelems|samples)$"
    r"|^n_?[a-z]+$|^[a-z]+_(n|count|len|size)$|^num_?[a-z]+$"
)
STRIDE_NAMES = re.compile(r"^(d|dim|stride|ld|lda|ldb|step|k|off|offset|pitch|channels|taps)$|sh|bits")
INDEX_NAMES = re.compile(r"(^|_)(idx|ids|index|indices|cols|perm|offsets|rowptr|colidx)$")
RUN_TIMEOUT = 60.0
COMPILE_TIMEOUT = 120.0
# Failures a user would suffer; "skipped" is reported but is not a failure.
FAILURES = ("compile-fail-noflags", "compile-fail-flags", "MISMATCH", "sanitizer", "crash", "edit-error")


@dataclass(frozen=True)
class AuditRow:
    """One verified candidate and what the audit found."""

    file: str
    function: str
    line: int  # 1-based line of the loop
    isa: str
    origin: str
    result: str  # ok | one of FAILURES | skipped
    detail: str = ""
    caveats: tuple[str, ...] = ()
    edited_excerpt: str = field(default="", repr=False)


@dataclass(frozen=True)
class Param:
    """A parameter of the audited function, as the driver will feed it."""

    name: str
    kind: str  # buffer | vector | size | dim | scalar | matrix
    ctype: str  # element type for buffer/vector, the type for scalars
    index_like: bool = False
    stride_like: bool = False
    const: bool = False  # pointee is const
    restrict: bool = False
    extents: tuple[str, ...] = ()  # a matrix (`T A[R][C]`, `T A[n][m]`): each dimension's declared extent, as written


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple[Param, ...]
    returns_void: bool
    returns_pointer: bool = False


class Unsupported(Exception):
    """The function's signature cannot be driven (reported as skipped, never as passed)."""


# --------------------------------------------------------------------------------------- scanning


def run_scan(paths: list[Path], isa: str, cache_dir: Path, retries: int = 3, guard: str | None = None) -> dict:
    """The scan's JSON document for `paths` (re-run when the scan crashes: the pipeline is in flux)."""
    cmd = [str(ROOT / ".venv" / "bin" / "simdlens"), "scan", "--json", "--no-bench", "--isa", isa,
           "--cache-dir", str(cache_dir), *(("--guard", guard) if guard else ()), *map(str, paths)]
    last = ""
    for _ in range(retries):
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
        if proc.returncode == 0:
            try:
                return json.loads(proc.stdout)
            except json.JSONDecodeError as e:
                last = f"bad JSON: {e}"
                continue
        last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
    raise RuntimeError(f"simdlens scan --isa {isa} failed {retries} times: {last}")


# --------------------------------------------------------------------------------- applying edits

_LINE = re.compile(r"[^\r\n]*(\r\n|\r|\n|$)")


def _line_starts(text: str) -> list[int]:
    starts, pos = [0], 0
    for m in _LINE.finditer(text):
        if m.end() == pos and m.start() == len(text):
            break
        pos = m.end()
        if m.group(1):
            starts.append(pos)
        if pos >= len(text):
            break
    return starts


def lsp_offset(text: str, starts: list[int], line: int, character: int) -> int:
    """The str index of an LSP position (0-based line, UTF-16 code units); raises on positions past the line."""
    if line >= len(starts):
        if line == len(starts) and character == 0:
            return len(text)
        raise ValueError(f"line {line} past the end of the file ({len(starts)} lines)")
    i, units = starts[line], 0
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while units < character:
        if i >= end or text[i] in "\r\n":
            raise ValueError(f"character {character} past the end of line {line}")
        units += 2 if ord(text[i]) > 0xFFFF else 1
        i += 1
    if units != character:
        raise ValueError(f"position {line}:{character} splits a surrogate pair")
    return i


def apply_edits(text: str, edits: list[dict]) -> str:
    """`text` with LSP TextEdits applied (all positions refer to the original text)."""
    starts = _line_starts(text)
    spans = []
    for order, e in enumerate(edits):
        r = e["range"]
        a = lsp_offset(text, starts, r["start"]["line"], r["start"]["character"])
        b = lsp_offset(text, starts, r["end"]["line"], r["end"]["character"])
        if b < a:
            raise ValueError(f"edit {order} ends before it starts")
        spans.append((a, b, order, e["newText"]))
    spans.sort(key=lambda s: (s[0], s[1], s[2]))
    for (_a1, b1, _, _), (a2, _b2, _, _) in itertools.pairwise(spans):
        if a2 < b1:
            raise ValueError("overlapping edits")
    # Back to front; for inserts at one position the later edit goes first so array order survives.
    for a, b, _, new in sorted(spans, key=lambda s: (s[0], s[2]), reverse=True):
        text = text[:a] + new + text[b:]
    return text


# -------------------------------------------------------------------------------- the signature


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _enclosing_function(tree: tree_sitter.Tree, byte: int) -> tree_sitter.Node | None:
    node = tree.root_node.descendant_for_byte_range(byte, byte)
    found = None
    while node is not None:
        if node.type == "function_definition":
            found = node  # keep the outermost: lambdas inside a function are not drivable
        node = node.parent
    return found


def function_signature(source: bytes, language: str, loop_line: int, loop_header: str,
                       pointer_return: bool = False) -> Signature:
    """The signature of the function holding the loop on 0-based `loop_line`, classified for the driver
    (`pointer_return`: a function returning a pointer is accepted; the differential driver cannot compare one)."""
    source = _COMPLEX_SPELLING.sub(lambda m: b"aud_c_" + re.sub(rb"[ \t]+", b"_", m.group(1) or m.group(2)), source)
    tree = parse(source, language)
    line_start = sum(len(x) for x in source.splitlines(keepends=True)[:loop_line])
    first = len(source[line_start:]) - len(source[line_start:].lstrip())
    fn = _enclosing_function(tree, line_start + first)
    if fn is None:
        raise Unsupported("loop not inside a function definition")
    parent = fn.parent
    while parent is not None:
        if parent.type in ("field_declaration_list", "class_specifier", "struct_specifier"):
            raise Unsupported("method (needs an object)")
        if parent.type in ("template_declaration",):
            raise Unsupported("template function")
        parent = parent.parent
    decl = fn.child_by_field_name("declarator")
    rtype = fn.child_by_field_name("type")
    returned: set[str] = set()
    while decl is not None and decl.type in ("pointer_declarator", "reference_declarator"):
        returned.add(decl.type)
        decl = decl.child_by_field_name("declarator") or next(
            (c for c in decl.named_children if c.type.endswith("declarator")), None)
    if decl is None or decl.type != "function_declarator":
        raise Unsupported("unusual function declarator")
    name_node = decl.child_by_field_name("declarator")
    if name_node is None or name_node.type != "identifier":
        raise Unsupported(f"function name is a {name_node.type if name_node else 'nothing'} (method or operator)")
    if "reference_declarator" in returned or (returned and not pointer_return):
        raise Unsupported("returns a pointer or reference")
    if any(c.type in ("storage_class_specifier",) and _text(c) == "inline" for c in fn.children):
        pass
    plist = decl.child_by_field_name("parameters")
    params: list[Param] = []
    header_ids = set(re.findall(r"[A-Za-z_]\w*", loop_header))
    # a bound of another loop of the nest (gram_mirror's `k < m` under the claimed `j < n`) is a size too:
    # driven as a random small scalar, the program would time another nest than the one the scan measured
    for node in _descendants(fn):
        cond = node.child_by_field_name("condition") if node.type == "for_statement" else None
        if cond is not None:
            header_ids |= set(re.findall(r"[A-Za-z_]\w*", _text(cond)))
    for p in plist.named_children if plist is not None else ():
        if p.type == "comment":
            continue
        if p.type != "parameter_declaration":
            raise Unsupported(f"parameter kind {p.type}")
        params.append(_classify_param(p, header_ids))
    if len(params) == 1 and params[0].kind == "void":
        params = []
    returns_void = rtype is not None and _text(rtype) == "void"
    sizes = [p for p in params if p.kind == "size"]
    if len(sizes) > 1:
        # Several size-like parameters (rows, cols): the one in the loop header takes the size.
        in_header = [p for p in sizes if p.name in header_ids]
        keep = in_header[:1] or sizes[:1]
        params = [p if p.kind != "size" or p in keep else Param(p.name, "dim", p.ctype) for p in params]
    qualified = _text(name_node)
    scope = fn.parent
    while scope is not None:
        if scope.type == "namespace_definition":
            ns = scope.child_by_field_name("name")
            if ns is None:
                raise Unsupported("function in an anonymous namespace")
            qualified = f"{_text(ns)}::{qualified}"
        scope = scope.parent
    params = [replace(p, ctype=_COMPLEX_PLACEHOLDER.sub(lambda m: f"{m.group(1).replace('_', ' ')} _Complex", p.ctype))
              for p in params]
    return Signature(qualified, tuple(params), returns_void, bool(returned))


# tree-sitter-c reads C99's `float complex` / `double _Complex` as a type and a stray name: the signature is
# parsed with one placeholder type name per complex type, spelled back as `T _Complex` for the driver
_COMPLEX_SPELLING = re.compile(rb"\b(long[ \t]+double|double|float)[ \t]+(?:complex|_Complex)\b"
                               rb"|\b(?:complex|_Complex)[ \t]+(long[ \t]+double|double|float)\b")
_COMPLEX_PLACEHOLDER = re.compile(r"\baud_c_(long_double|double|float)\b")


_RESTRICT = ("restrict", "__restrict", "__restrict__")


def _descendants(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    out = []
    for c in node.children:
        out.append(c)
        out.extend(_descendants(c))
    return out


def alias_pairs(params: tuple[Param, ...]) -> list[tuple[int, int]]:
    """(i, j) buffer pairs C allows to overlap (neither restrict) where one is written: j is placed inside i's buffer."""
    pairs = []
    for i, a in enumerate(params):
        for j, b in enumerate(params):
            if (i != j and a.kind == b.kind == "buffer" and a.ctype == b.ctype and not a.restrict and not b.restrict
                    and not (a.const and b.const) and not b.const):
                pairs.append((i, j))
    return pairs


ALIAS_DELTAS = (0, 1, -1, 2, 7, -7, 8, -8, 16, 33)


def _classify_param(p: tree_sitter.Node, header_ids: set[str]) -> Param:
    tnode = p.child_by_field_name("type")
    decl = p.child_by_field_name("declarator")
    if tnode is None:
        raise Unsupported("parameter without a type")
    ttext = _text(tnode)
    if decl is None:
        if ttext == "void":
            return Param("", "void", "void")
        raise Unsupported("unnamed parameter")
    if tnode.type in ("struct_specifier", "union_specifier", "class_specifier", "enum_specifier"):
        raise Unsupported(f"{ttext} parameter")
    depth, node = 0, decl
    ref = False
    extents: list[str] = []  # the array declarators' sizes, last dimension first
    while node.type != "identifier":
        if node.type in ("pointer_declarator", "array_declarator"):
            depth += 1
            if node.type == "array_declarator":
                size = node.child_by_field_name("size")
                extents.append(_text(size) if size is not None else "")
        elif node.type == "reference_declarator":
            ref = True
        elif node.type in ("function_declarator", "parenthesized_declarator"):
            raise Unsupported("function pointer parameter")
        else:
            raise Unsupported(f"parameter declarator {node.type}")
        nxt = node.child_by_field_name("declarator") or next(
            (c for c in node.named_children if c.type.endswith("declarator") or c.type == "identifier"), None)
        if nxt is None:
            raise Unsupported("unnamed parameter")
        node = nxt
    name = _text(node)
    vec = re.fullmatch(r"(?:std::)?vector\s*<\s*([\w:\s]+?)\s*>", ttext)
    if ref and vec and depth == 0:
        return Param(name, "vector", vec.group(1))
    if ref:
        raise Unsupported(f"reference parameter {ttext} &{name}")
    if "<" in ttext:
        raise Unsupported(f"parameter type {ttext}")
    if depth > 1 and len(extents) == depth and all(extents[:-1]) and decl.type == "array_declarator":
        # `T A[R][C]` (C only: the timing driver in in_program.py feeds it; the differential driver does not)
        return Param(name, "matrix", ttext, extents=tuple(reversed(extents)))
    if depth > 1:
        raise Unsupported(f"pointer-to-pointer parameter {name}")
    if depth == 1:
        if ttext == "void":
            raise Unsupported(f"void * parameter {name}")
        quals = {_text(c) for c in p.children if c.type == "type_qualifier"}
        restrict = any(c.type in ("ms_restrict_modifier", "ms_pointer_modifier") or _text(c) in _RESTRICT
                       for c in _descendants(decl))
        return Param(name, "buffer", ttext, index_like=bool(INDEX_NAMES.search(name)), const="const" in quals,
                     restrict=restrict)
    if SIZE_NAMES.match(name) or (name in header_ids and not STRIDE_NAMES.match(name)):
        return Param(name, "size", ttext)
    return Param(name, "scalar", ttext, stride_like=bool(STRIDE_NAMES.match(name)))


# ------------------------------------------------------------------------------------ the driver

DRIVER_RUNTIME = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <float.h>
/* a complex type's part (GNU __real__ of a real type is itself); AUD_ISFLT is 2 for complex types */
#define AUD_PART(T) __typeof__(__real__ (T)0)
#define AUD_ISBOOL(T) ((T)2 == (T)1)
#define AUD_ISFLT(T) (AUD_ISBOOL(T) || (AUD_PART(T))0.5 == (AUD_PART(T))0 ? 0 : sizeof(T) == 2 * sizeof(AUD_PART(T)) ? 2 : 1)
#define AUD_ISSGN(T) ((AUD_PART(T))-1 < (AUD_PART(T))0)
static uint64_t aud_rng;
static uint64_t aud_next(void) { aud_rng ^= aud_rng << 13; aud_rng ^= aud_rng >> 7; aud_rng ^= aud_rng << 17; return aud_rng; }
static double aud_unit(void) { return (double)(aud_next() >> 11) * (1.0 / 9007199254740992.0); }
static const char *aud_modes[] = {"random", "special", "ties", "random-misaligned"};
static int aud_tol;
static double aud_span = 4.0; /* random floats are uniform in [-aud_span, aud_span) */
/* mode: 0 random, 1 special values, 2 few distinct values (ties) */
static void aud_fill(void *p, size_t cnt, size_t sz, int isflt, int sgn, int isbool, int mode, int idx, size_t n) {
    unsigned char *b = (unsigned char *)p;
    if (isflt == 2) { cnt *= 2; sz /= 2; }  /* complex: its real and imaginary parts */
    for (size_t i = 0; i < cnt; i++) {
        uint64_t r = aud_next();
        if (isbool) { unsigned char v = (unsigned char)(r & 1); memcpy(b + i * sz, &v, 1); continue; }
        if (idx) {
            uint64_t v = n ? r % n : 0;
            if (sz == 1) { uint8_t x = (uint8_t)v; memcpy(b + i * sz, &x, 1); }
            else if (sz == 2) { uint16_t x = (uint16_t)v; memcpy(b + i * sz, &x, 2); }
            else if (sz == 4) { uint32_t x = (uint32_t)v; memcpy(b + i * sz, &x, 4); }
            else { memcpy(b + i * sz, &v, 8); }
            continue;
        }
        if (isflt) {
            double v;
            if (mode == 2) v = (double)((int)(r % 4) - 1);
            else if (mode == 1 && (r >> 40) % 4 == 0) {
                static const double sp_exact[] = {NAN, 0.0, -0.0, INFINITY, -INFINITY, 1.0, -1.0, 4.9e-324, 0.5, FLT_MAX, -FLT_MAX};
                int k = (int)((r >> 20) % (aud_tol ? 9 : 11));
                v = sp_exact[k];
                if (k == 7 && sz == 4) v = 1.4e-45;
            } else v = (aud_unit() * 2.0 - 1.0) * aud_span;
            if (sz == 4) { float f = (float)v; memcpy(b + i * sz, &f, 4); }
            else if (sz == 8) { memcpy(b + i * sz, &v, 8); }
            else { long double l = v; memset(b + i * sz, 0, sz); memcpy(b + i * sz, &l, sz < sizeof l ? sz : sizeof l); }
            continue;
        }
        uint64_t v = r;
        if (mode == 2) v = (uint64_t)((int64_t)(r % 4) - 1);
        else if (mode == 1 && (r >> 40) % 4 == 0) {
            int k = (int)((r >> 20) % 6);
            uint64_t top = (uint64_t)1 << (sz * 8 - 1);
            uint64_t sp[] = {top, top - 1, 0, ~(uint64_t)0, 1, 0x80};
            v = sp[k];
        } else if (sz >= 4) {
            /* wide ints stay moderate so sums and products of the ORIGINAL do not overflow (that is UB) */
            int64_t m = sz == 4 ? (1 << 20) : ((int64_t)1 << 40);
            v = sgn ? (uint64_t)((int64_t)(r % (uint64_t)(2 * m)) - m) : r % (uint64_t)(2 * m);
        }
        if (sz == 1) { uint8_t x = (uint8_t)v; memcpy(b + i * sz, &x, 1); }
        else if (sz == 2) { uint16_t x = (uint16_t)v; memcpy(b + i * sz, &x, 2); }
        else if (sz == 4) { uint32_t x = (uint32_t)v; memcpy(b + i * sz, &x, 4); }
        else { memcpy(b + i * sz, &v, 8); }
    }
}
static void aud_show(char *out, size_t cap, const void *p, size_t sz, int isflt, int sgn) {
    if (isflt == 2) {
        char re[64], im[64];
        aud_show(re, sizeof re, p, sz / 2, 1, sgn);
        aud_show(im, sizeof im, (const char *)p + sz / 2, sz / 2, 1, sgn);
        snprintf(out, cap, "%s + %s i", re, im);
        return;
    }
    if (isflt && sz == 4) { float f; uint32_t u; memcpy(&f, p, 4); memcpy(&u, p, 4); snprintf(out, cap, "%.9g (0x%08x)", (double)f, u); }
    else if (isflt && sz == 8) { double d; uint64_t u; memcpy(&d, p, 8); memcpy(&u, p, 8); snprintf(out, cap, "%.17g (0x%016llx)", d, (unsigned long long)u); }
    else {
        uint64_t u = 0; memcpy(&u, p, sz > 8 ? 8 : sz);
        int64_t s = (int64_t)u;
        if (sgn && sz < 8 && (u >> (sz * 8 - 1)) & 1) s = (int64_t)(u | (~(uint64_t)0 << (sz * 8)));
        if (sgn) snprintf(out, cap, "%lld", (long long)s); else snprintf(out, cap, "%llu", (unsigned long long)u);
    }
}
/* index of the first differing element, or -1 */
static long aud_cmp(const void *a, const void *b, size_t cnt, size_t sz, int isflt) {
    if (isflt == 2) { long k = aud_cmp(a, b, 2 * cnt, sz / 2, 1); return k < 0 ? k : k / 2; }
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *p = x + i * sz, *q = y + i * sz;
        if (isflt && (sz == 4 || sz == 8)) {
            double u, v;
            if (sz == 4) { float f, g; memcpy(&f, p, 4); memcpy(&g, q, 4); u = f; v = g; }
            else { memcpy(&u, p, 8); memcpy(&v, q, 8); }
            if (isnan(u) || isnan(v)) { if (isnan(u) && isnan(v)) continue; return (long)i; }
            if (aud_tol) {
                if (u == v) continue;
                double m = fabs(u) > fabs(v) ? fabs(u) : fabs(v);
                if (isinf(u) || isinf(v) || fabs(u - v) > 1e-4 * (m > 1.0 ? m : 1.0)) return (long)i;
                continue;
            }
            if (memcmp(p, q, sz) != 0) return (long)i;
        } else if (memcmp(p, q, sz) != 0) return (long)i;
    }
    return -1;
}
static size_t aud_sizes[] = {AUD_SIZES};
"""


def build_driver(sig: Signature, language: str, tolerant: bool, has_size: bool) -> str:
    """The driver's source; it is appended to (C) or follows the #include of (C++) the ORIGINAL file."""
    cpp = language == "cpp"
    P = sig.params
    L: list[str] = []
    w = L.append
    ptr_decl = "extern \"C\" " if cpp else "extern "
    w(f"{ptr_decl}__typeof__(&{sig.name}) aud_edit_ptr;")
    if cpp:
        w("#include <vector>")
    w(DRIVER_RUNTIME.replace("AUD_SIZES", ", ".join(map(str, SIZES if has_size else (1000,)))))
    for i, p in enumerate(P):
        w(f"typedef {p.ctype} aud_t{i};")
    w("#define AUD_CLS(T) sizeof(T), AUD_ISFLT(T), AUD_ISSGN(T), AUD_ISBOOL(T)")
    w("static long aud_scalar_i(int stride, int mode) {")
    w("    if (stride) return 1 + (long)(aud_next() % 7);")
    w("    if (mode == 2) return (long)(aud_next() % 4) - 1;")
    w("    return (long)(aud_next() % 19) - 9; }")
    w("static double aud_scalar_f(int mode) { if (mode == 2) return (double)((int)(aud_next() % 4) - 1);")
    w("    return aud_unit() * 4.0 - 2.0; }")
    pairs = alias_pairs(P)
    configs = [(i, j, d) for i, j in pairs for d in ALIAS_DELTAS]
    w("static const long aud_alias[][3] = {" + ", ".join(f"{{{i}, {j}, {d}}}" for i, j, d in configs) +
      ("" if configs else "{-1, -1, 0}") + "};")
    w("static int aud_fail(const char *what, long idx, long n, int trial, int mode, const char *e, const char *g) {")
    w('    if (trial >= 4) printf("MISMATCH size=%ld trial=%d mode=aliased(param %ld inside param %ld at %+ld) what=%s index=%ld expected=%s got=%s\\n", n, trial, aud_alias[trial - 4][1], aud_alias[trial - 4][0], aud_alias[trial - 4][2], what, idx, e, g);')
    w('    else printf("MISMATCH size=%ld trial=%d mode=%s what=%s index=%ld expected=%s got=%s\\n", n, trial, aud_modes[mode], what, idx, e, g);')
    w("    return 1; }")
    w("int main(int argc, char **argv) {")
    w("    int asan = argc > 1 && strcmp(argv[1], \"edit\") == 0 ? 2 : argc > 1 && strcmp(argv[1], \"orig\") == 0 ? 1 : 0;")
    w("    size_t mult = argc > 2 ? (size_t)atol(argv[2]) : 1;")
    w("    size_t pad = argc > 3 ? (size_t)atol(argv[3]) : 0;")
    w(f"    aud_tol = {1 if tolerant else 0};")
    w("    long checks = 0;")
    # Past the listed sizes come negative trip counts (signed size parameters only): no iteration may run.
    sizes = [p for p in P if p.kind == "size"]
    neg_ok = " && ".join(f"AUD_ISSGN(aud_t{P.index(p)})" for p in sizes) or "0"
    w("    static const long aud_negs[] = {-1, -8, -100};")
    w("    size_t aud_ns = sizeof aud_sizes / sizeof aud_sizes[0];")
    w("    for (size_t si = 0; si < aud_ns + 3; si++) {")
    w(f"    if (si >= aud_ns && (asan || !({neg_ok}))) break;")
    w("    size_t n = si < aud_ns ? aud_sizes[si] : 0;")
    w("    long aud_sizev = si < aud_ns ? (long)n : aud_negs[si - aud_ns];")
    w(f"    int aud_trials = asan ? 1 : 4 + {len(configs)};")
    w("    for (int trial = 0; trial < aud_trials; trial++) {")
    w("    int atr = trial >= 4 ? trial - 4 : -1;")
    w("    int mode = trial >= 3 ? 0 : trial;")
    w("    int tight = asan && mult > 0;")
    w("    size_t off = tight ? 0 : (trial >= 2 ? 33 : 32);")
    w("    size_t cnt = tight ? mult * n + pad : 8 * n + 128;")
    w("    aud_rng = 0x9E3779B97F4A7C15ull ^ (n * 1315423911ull) ^ ((uint64_t)trial << 32);")
    args_o, args_e = [], []
    for i, p in enumerate(P):
        t = f"aud_t{i}"
        if p.kind == "buffer":
            w(f"    {t} *aud_o{i} = ({t} *)malloc(cnt * sizeof({t}) + 1);")
            w(f"    {t} *aud_e{i} = ({t} *)malloc(cnt * sizeof({t}) + 1);")
            w(f"    aud_fill(aud_o{i}, cnt, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}), AUD_ISBOOL({t}), mode, "
              f"{int(p.index_like)}, n);")
            w(f"    memcpy(aud_e{i}, aud_o{i}, cnt * sizeof({t}));")
            args_o.append(f"aud_po{i}")
            args_e.append(f"aud_pe{i}")
        elif p.kind == "vector":
            w(f"    std::vector<{t}> aud_o{i}(n), aud_e{i}(n);")
            w(f"    if (n) aud_fill(aud_o{i}.data(), n, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}), AUD_ISBOOL({t}), "
              f"mode, {int(p.index_like)}, n);")
            w(f"    aud_e{i} = aud_o{i};")
            args_o.append(f"aud_o{i}")
            args_e.append(f"aud_e{i}")
        elif p.kind == "size":
            w(f"    {t} aud_s{i} = ({t})aud_sizev;")
            args_o.append(f"aud_s{i}")
            args_e.append(f"aud_s{i}")
        elif p.kind == "dim":
            w(f"    {t} aud_s{i} = ({t})3;")
            args_o.append(f"aud_s{i}")
            args_e.append(f"aud_s{i}")
        else:
            w(f"    {t} aud_s{i} = AUD_ISFLT({t}) ? ({t})aud_scalar_f(mode) : ({t})aud_scalar_i({int(p.stride_like)}, mode);")
            args_o.append(f"aud_s{i}")
            args_e.append(f"aud_s{i}")
    for i, p in enumerate(P):
        if p.kind != "buffer":
            continue
        t = f"aud_t{i}"
        w(f"    {t} *aud_po{i} = aud_o{i} + off, *aud_pe{i} = aud_e{i} + off;")
        for a, b in pairs:
            if b == i:
                w(f"    if (atr >= 0 && aud_alias[atr][0] == {a} && aud_alias[atr][1] == {i}) {{")
                w(f"        aud_po{i} = ({t} *)(void *)aud_o{a} + off + aud_alias[atr][2];")
                w(f"        aud_pe{i} = ({t} *)(void *)aud_e{a} + off + aud_alias[atr][2]; }}")
    call_o = f"{sig.name}({', '.join(args_o)})"
    call_e = f"aud_edit_ptr({', '.join(args_e)})"
    if sig.returns_void:
        w(f"    if (asan != 2) {call_o};")
        w(f"    if (asan != 1) {call_e};")
    else:
        w(f"    __typeof__({call_o}) aud_ro, aud_re;")
        w("    memset(&aud_ro, 0, sizeof aud_ro); memset(&aud_re, 0, sizeof aud_re);")
        w(f"    if (asan != 2) aud_ro = {call_o};")
        w(f"    if (asan != 1) aud_re = {call_e};")
    w("    char aud_x[96], aud_y[96];")
    w("    if (!asan) {")
    if not sig.returns_void:
        w("        typedef __typeof__(aud_ro) aud_rt;")
        w("        if (aud_cmp(&aud_ro, &aud_re, 1, sizeof(aud_rt), AUD_ISFLT(aud_rt)) >= 0) {")
        w("            aud_show(aud_x, sizeof aud_x, &aud_ro, sizeof(aud_rt), AUD_ISFLT(aud_rt), AUD_ISSGN(aud_rt));")
        w("            aud_show(aud_y, sizeof aud_y, &aud_re, sizeof(aud_rt), AUD_ISFLT(aud_rt), AUD_ISSGN(aud_rt));")
        w("            return aud_fail(\"return\", 0, aud_sizev, trial, trial == 3 ? 3 : mode, aud_x, aud_y); }")
    for i, p in enumerate(P):
        t = f"aud_t{i}"
        if p.kind in ("buffer", "vector"):
            data_o = f"aud_o{i}" + (".data()" if p.kind == "vector" else "")
            data_e = f"aud_e{i}" + (".data()" if p.kind == "vector" else "")
            count = "cnt" if p.kind == "buffer" else "n"
            base = "off" if p.kind == "buffer" else "0"
            w("        {")
            w(f"        long aud_k = aud_cmp({data_o}, {data_e}, {count}, sizeof({t}), AUD_ISFLT({t}));")
            if p.kind == "vector":
                w(f"        if (aud_o{i}.size() != aud_e{i}.size()) return aud_fail(\"{p.name}.size()\", 0, aud_sizev, trial, mode, \"?\", \"?\");")
            w("        if (aud_k >= 0) {")
            w(f"            aud_show(aud_x, sizeof aud_x, {data_o} + aud_k, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}));")
            w(f"            aud_show(aud_y, sizeof aud_y, {data_e} + aud_k, sizeof({t}), AUD_ISFLT({t}), AUD_ISSGN({t}));")
            w(f"            return aud_fail(\"{p.name}\", aud_k - (long){base}, aud_sizev, trial, trial == 3 ? 3 : mode, aud_x, aud_y); }}")
            w("        }")
    w("    }")
    w("    checks++;")
    for i, p in enumerate(P):
        if p.kind == "buffer":
            w(f"    free(aud_o{i}); free(aud_e{i});")
    w("    }}")
    w('    printf("OK checks=%ld\\n", checks);')
    w("    return 0;")
    w("}")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------------ compiling


def _compiler(language: str) -> str:
    return "g++" if language == "cpp" else "gcc"


def _compile(args: list[str], cwd: Path) -> tuple[bool, str]:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=COMPILE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, "compiler timed out"
    errs = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    return proc.returncode == 0, (errs[0] if errs else proc.stderr.strip()[:300])


def _clang(language: str) -> tuple[str, ...]:
    """clang too when installed: users build with it, and it rejects things gcc lets pass."""
    for name in ("clang-19", "clang"):
        found = shutil.which(name.replace("clang", "clang++") if language == "cpp" else name)
        if found:
            return (found,)
    return ()


_WARNING = re.compile(r"warning: (.*)$")


def _new_warnings(cc: str, flags: list[str], inc: list[str], orig: Path, edited: Path, work: Path) -> list[str]:
    """-Wall -Wextra warnings the edit adds (a -Werror build would break on them)."""
    def warnings(src: Path) -> list[str]:
        proc = subprocess.run([cc, "-O2", *flags, "-Wall", "-Wextra", "-fsyntax-only", *inc, str(src)],
                              capture_output=True, text=True, cwd=work, timeout=COMPILE_TIMEOUT)
        return [m.group(1).strip() for ln in proc.stderr.splitlines() if (m := _WARNING.search(ln))]
    before = warnings(orig)
    added = []
    for w in warnings(edited):
        if w in before:
            before.remove(w)
        else:
            added.append(w)
    return added


def _run(exe: Path, args: list[str], cwd: Path) -> tuple[int, str]:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    try:
        proc = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=RUN_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return -999, "timed out"
    return proc.returncode, (proc.stdout + proc.stderr)


def _sanitizer_line(out: str) -> str:
    for ln in out.splitlines():
        if "ERROR: AddressSanitizer" in ln or "runtime error:" in ln:
            return ln.strip()[:300]
    return (out.strip().splitlines() or ["(no output)"])[-1][:300]


def _edited_tu(edited: Path, text: str, fn: str, language: str) -> str:
    """A translation unit exporting the EDITED function as `aud_edit_ptr` (all else kept local)."""
    if language == "cpp":
        pre = "\n".join(ln for ln in text.splitlines() if re.match(r"\s*#\s*include\s*<", ln))
        return (f"{pre}\nnamespace aud_edit {{\n#include \"{edited}\"\n}}\n"
                f"extern \"C\" {{ extern __typeof__(&aud_edit::{fn}) aud_edit_ptr; }}\n"
                f"__typeof__(&aud_edit::{fn}) aud_edit_ptr = &aud_edit::{fn};\n")
    return f"#include \"{edited}\"\n__typeof__(&{fn}) aud_edit_ptr = &{fn};\n"


def audit_candidate(path: Path, rel: str, loop: dict, cand: dict, work: Path, guard: str | None = None) -> AuditRow:
    language = language_for(path) or "c"
    isa = cand["isa"]
    line0 = loop["range"]["start"]["line"]
    base = AuditRow(file=rel, function=loop.get("function") or "?", line=line0 + 1, isa=isa, origin=cand["origin"],
                    result="ok", caveats=tuple(cand.get("caveats", ())))

    def row(result: str, detail: str) -> AuditRow:
        return replace(base, result=result, detail=detail)

    original = path.read_bytes().decode("utf-8")  # not read_text: it would turn \r\n into \n
    try:
        edited = apply_edits(original, cand["edits"])
    except ValueError as e:
        return row("edit-error", str(e))
    excerpt = "".join(difflib.unified_diff(original.splitlines(keepends=True), edited.splitlines(keepends=True),
                                           f"a/{rel}", f"b/{rel}", n=2))
    base = replace(base, edited_excerpt=excerpt)
    ext = path.suffix
    work.mkdir(parents=True, exist_ok=True)
    orig_file = work / f"original{ext}"
    edit_file = work / f"edited{ext}"
    orig_file.write_bytes(original.encode("utf-8"))
    edit_file.write_bytes(edited.encode("utf-8"))
    cc = _compiler(language)
    inc = ["-x", "c++" if language == "cpp" else "c", "-I", str(path.parent)]  # -x: a .h is not a PCH
    flags = list(ISA_FLAGS[isa])
    ok, msg = _compile([cc, "-O2", "-c", *inc, str(edit_file), "-o", str(work / "noflags.o")], work)
    if not ok:
        return row("compile-fail-noflags", f"{cc}: {msg}")
    for clang in _clang(language):
        for mode, extra in (("noflags", []), ("flags", flags)):
            ok, msg = _compile([clang, "-O2", *extra, "-c", *inc, str(edit_file), "-o", str(work / "clang.o")], work)
            if not ok:
                return row(f"compile-fail-{mode}", f"{Path(clang).name}: {msg}")
    if re.search(r"^\s*#\s*pragma\s+omp\b", original, re.M):
        # The file uses OpenMP, so its users build with -fopenmp: `#pragma omp simd` must still precede a loop.
        ok, msg = _compile([cc, "-O2", *flags, "-fopenmp", "-c", *inc, str(edit_file), "-o", str(work / "omp.o")], work)
        if not ok:
            return row("compile-fail-flags", f"{cc} -fopenmp: {msg}")
    new_warnings = _new_warnings(cc, flags, inc, orig_file, edit_file, work)

    def flags_check() -> AuditRow | None:
        good, text = _compile([cc, "-O2", *flags, "-c", *inc, str(edit_file), "-o", str(work / "flags.o")], work)
        return None if good else row("compile-fail-flags", f"{cc}: {text}")

    lines = original.splitlines()
    header = lines[line0] if line0 < len(lines) else ""
    try:
        sig = function_signature(original.encode("utf-8"), language, line0, header)
        if any(p.kind == "matrix" for p in sig.params):
            raise Unsupported("2-D array parameter")
    except Unsupported as e:
        return flags_check() or row("skipped", str(e))
    has_size = any(p.kind in ("size", "vector") for p in sig.params)
    tolerant = any(re.search(r"reassociat|contract", c, re.I) for c in cand.get("caveats", ()))
    driver_src = f"#include \"{orig_file}\"\n" + build_driver(sig, language, tolerant, has_size)
    (work / f"driver{ext}").write_text(driver_src, encoding="utf-8")
    (work / f"edit_tu{ext}").write_text(_edited_tu(edit_file, edited, sig.name, language), encoding="utf-8")
    std = ["-std=gnu++17"] if language == "cpp" else []
    libs = ["-lm"]

    # The edited TU doubles as the with-ISA-flags compile check (it only adds a line after the file).
    # With --guard dispatch the user builds WITHOUT ISA flags and the CPU check picks the vector code.
    run_flags = [] if guard == "dispatch" else flags
    ok, msg = _compile([cc, *std, "-O2", *run_flags, *EDITED_FP, *inc, "-c", str(work / f"edit_tu{ext}"),
                        "-o", str(work / "edit_tu.o")], work)
    if not ok:
        return flags_check() or row("skipped", f"cannot wrap the edited file: {msg}")
    ok, msg = _compile([cc, *std, "-O0", "-w", *inc, "-c", str(work / f"driver{ext}"), "-o", str(work / "driver.o")], work)
    if not ok:
        return row("skipped", f"cannot drive this signature: {msg}")
    cpp_localize = False
    if language == "c":
        subprocess.run(["objcopy", "--keep-global-symbol=aud_edit_ptr", str(work / "edit_tu.o")], check=True, cwd=work)
    ok, msg = _compile([cc, str(work / "driver.o"), str(work / "edit_tu.o"), *libs, "-o", str(work / "audit")], work)
    if not ok and language == "cpp":  # extern "C" functions escape the namespace: localize them too
        subprocess.run(["objcopy", "--keep-global-symbol=aud_edit_ptr", str(work / "edit_tu.o")], check=True, cwd=work)
        ok, msg = _compile([cc, str(work / "driver.o"), str(work / "edit_tu.o"), *libs, "-o", str(work / "audit")], work)
        cpp_localize = True
    if not ok:
        return row("skipped", f"driver link failed: {msg}")
    rc, out = _run(work / "audit", [], work)
    if rc == -999:
        return row("crash", "differential run timed out")
    last = (out.strip().splitlines() or [""])[-1]
    if rc != 0:
        if "MISMATCH" in out:
            mm = next(ln for ln in out.splitlines() if ln.startswith("MISMATCH"))
            return row("MISMATCH", mm[len("MISMATCH "):])
        return row("crash", f"differential run exit {rc}: {last[:200]}")
    checks = last

    # Sanitizer run: tight buffers, as large as the ORIGINAL needs.
    san = ["-fsanitize=address,undefined", "-fno-sanitize=signed-integer-overflow", "-fno-sanitize-recover=all",
           "-fno-omit-frame-pointer", "-g"]
    if language == "cpp":
        san.append("-D_GLIBCXX_SANITIZE_VECTOR=1")
    ok, msg = _compile([cc, *std, "-O0", "-w", *san, *inc, "-c", str(work / f"driver{ext}"), "-o", str(work / "driver_san.o")], work)
    ok2, msg2 = _compile([cc, *std, "-O2", *run_flags, *EDITED_FP, *san, *inc, "-c", str(work / f"edit_tu{ext}"),
                          "-o", str(work / "edit_san.o")], work)
    if not (ok and ok2):
        return row("ok", f"{checks}; sanitizer build failed: {msg or msg2}")
    if language == "c" or cpp_localize:
        subprocess.run(["objcopy", "--keep-global-symbol=aud_edit_ptr", str(work / "edit_san.o")], check=True, cwd=work)
    ok, msg = _compile([cc, *san, str(work / "driver_san.o"), str(work / "edit_san.o"), *libs, "-o", str(work / "audit_san")], work)
    if not ok:
        return row("ok", f"{checks}; sanitizer link failed: {msg}")
    # Smallest buffers (k * n + pad elements, no slack before the start) the ORIGINAL runs clean with.
    mult, probe = None, ""
    for k, pad in ((1, 0), (2, 0), (3, 0), (4, 0), (8, 0), (1, 8), (4, 8), (8, 8), (8, 64)):
        rc, probe = _run(work / "audit_san", ["orig", str(k), str(pad)], work)
        if rc == 0:
            mult = (k, pad)
            break
        if "runtime error:" in probe:
            break  # UB in the ORIGINAL (its own bug on these inputs), not a too-small buffer
    if mult is None and "runtime error:" in probe:
        return row("ok", f"{checks}; sanitizer run skipped: the ORIGINAL has undefined behaviour "
                   f"on the test inputs: {_sanitizer_line(probe)}")
    if mult is None:
        # Generous buffers (8n + 128 at +32): still catches wild accesses.
        rc, out = _run(work / "audit_san", ["edit", "0"], work)
        note = "original needs more than 8n elements or reads before the start: generous buffers"
    else:
        rc, out = _run(work / "audit_san", ["edit", str(mult[0]), str(mult[1])], work)
        note = f"tight buffers ({mult[0]}n{f' + {mult[1]}' if mult[1] else ''} elements)"
    if rc != 0:
        return row("sanitizer", f"{note}: {_sanitizer_line(out)}")
    warn = f"; {len(new_warnings)} new -Wall -Wextra warning(s): {new_warnings[0]}" if new_warnings else ""
    if "\r\n" in original and re.search(r"(?<!\r)\n", "".join(e["newText"] for e in cand["edits"])):
        warn += "; the edit writes \\n line ends into a \\r\\n file"
    return row("ok", f"{checks}; sanitizer clean, {note}{warn}")


# -------------------------------------------------------------------------------------- driving


def _audit_safely(path: Path, rel: str, loop: dict, cand: dict, work: Path, guard: str | None) -> AuditRow:
    """audit_candidate, with a failure of the audit itself reported as a row ("audit-error"), not a crash."""
    try:
        return audit_candidate(path, rel, loop, cand, work, guard)
    except Exception as e:
        return AuditRow(file=rel, function=loop.get("function") or "?", line=loop["range"]["start"]["line"] + 1,
                        isa=cand.get("isa", "?"), origin=cand.get("origin", "?"), result="audit-error",
                        detail=f"{type(e).__name__}: {e}")


def audit(paths: list[Path], isas: list[str], *, jobs: int = 2, keep: Path | None = None,
          cache_dir: Path | None = None, guard: str | None = None,
          log: Callable[[AuditRow], None] | None = None) -> list[AuditRow]:
    """Scan `paths` for each ISA and audit every verified candidate."""
    base = Path(tempfile.mkdtemp(prefix="simdlens-apply-audit-"))
    try:
        tasks = []
        for isa in isas:
            doc = run_scan(paths, isa, cache_dir or base / "cache", guard=guard)
            for f in doc.get("files", []):
                fpath = Path(f["path"])
                full = fpath if fpath.is_absolute() else ROOT / fpath
                for loop in f.get("loops", []):
                    for cand in loop.get("candidates", []):
                        if cand.get("status") == "verified" and cand.get("isa") == isa:
                            rel = os.path.relpath(full, ROOT) if full.is_relative_to(ROOT) else str(full)
                            tasks.append((full, rel, loop, cand))
        work_root = keep or base / "work"
        rows: list[AuditRow] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futs = []
            for i, (full, rel, loop, cand) in enumerate(tasks):
                name = f"{i:03d}-{Path(rel).stem}-{loop.get('function', 'fn')}-{cand['isa']}".replace(":", "_")
                futs.append(pool.submit(_audit_safely, full, rel, loop, cand, work_root / name, guard))
            for fut in futs:
                row = fut.result()
                rows.append(row)
                if log:
                    log(row)
        return rows
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def format_table(rows: list[AuditRow]) -> str:
    head = ("file:function", "isa", "origin", "result")
    body = [(f"{r.file}:{r.line}:{r.function}", r.isa, r.origin,
             r.result + (f" ({r.detail})" if r.result != "ok" else f" [{r.detail}]")) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(3)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head[:3], widths, strict=True)) + "  " + head[3]]
    for b in body:
        out.append("  ".join(c.ljust(w) for c, w in zip(b[:3], widths, strict=True)) + "  " + b[3])
    return "\n".join(out)


def summary(rows: list[AuditRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.result] = counts.get(r.result, 0) + 1
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    failed = sum(v for k, v in counts.items() if k in FAILURES)
    return f"apply audit: {len(rows)} verified candidates; {parts}; {failed} failure(s)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="C/C++ files or directories (default: examples/ benchmarks/corpus/)")
    ap.add_argument("--isa", action="append", choices=sorted(ISA_FLAGS), help="repeatable (default: avx2 and avx512)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="candidates audited at once (default 2)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    ap.add_argument("--keep", type=Path, help="keep the generated sources and binaries under this directory")
    ap.add_argument("--guard", choices=("ifdef", "dispatch"), help="passed to simdlens scan (default: its default)")
    ap.add_argument("--cache-dir", type=Path, help="scan cache directory (default: a fresh temporary one)")
    ap.add_argument("--excerpts", action="store_true", help="print the edited code of every failing candidate")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in (args.paths or DEFAULT_PATHS)]
    for p in paths:
        if not p.exists():
            print(f"apply_audit: no such path: {p}", file=sys.stderr)
            return 2
    rows = audit(paths, args.isa or ["avx2", "avx512"], jobs=args.jobs, keep=args.keep, cache_dir=args.cache_dir, guard=args.guard,
                 log=lambda r: print(f"  {r.file}:{r.function} {r.isa}: {r.result}", file=sys.stderr))
    print(format_table(rows))
    print(summary(rows))
    if args.excerpts:
        for r in rows:
            if r.result in FAILURES:
                print(f"\n=== {r.file}:{r.line} {r.function} {r.isa} {r.origin}: {r.result} {r.detail}\n{r.edited_excerpt}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    return 1 if any(r.result in FAILURES for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
