"""Which code the preprocessor certainly skips (`#if 0`, `#ifdef X` with X certainly undefined, ...),
decided only where it is certain, so that no loop is hidden on a guess; and the live branch of an
`#if` inside a loop body.
"""

from __future__ import annotations

import bisect
import re

import tree_sitter

from simdlens.analysis.context.file_context import FileContext
from simdlens.analysis.context.reader import node_text
from simdlens.analysis.parse import tokenize
from simdlens.core import Language

_DIRECTIVE = re.compile(rb"#[ \t]*(ifdef|ifndef|if|define|undef)\b")

_CONDITIONALS = frozenset({"preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef", "preproc_else"})

_RESERVED = re.compile(r"__|_[A-Z]")

_UNKNOWN = object()  # a macro whose definition is not known here (defined, or not, or with which value)

_GNU_PREDEFINED = frozenset({"unix", "linux", "i386"})  # gcc defines these in its default -std=gnu* modes


def _compiler_may_define(name: str) -> bool:
    """Whether the compiler itself may define `name` depending on its flags (`__AVX2__`, `_OPENMP`, `unix`)."""
    return bool(_RESERVED.match(name)) or name in _GNU_PREDEFINED


Regions = tuple[tuple[int, int], ...]

_region_cache: list[tuple[tree_sitter.Tree, bytes, object, _Conditions]] = []


def inactive_regions(tree: tree_sitter.Tree, source: bytes, language: Language,
                     ctx: FileContext | None = None) -> Regions:
    """The byte ranges of the file that the preprocessor certainly skips: the branches of `#if 0`,
    `#if 1 … #else`, `#ifdef X` when X is certainly not defined, and so on, sorted and disjoint.

    Only conditions simdlens can decide for sure count: integer literals, `defined(X)`, `#ifdef`,
    `#ifndef`, `!`, `&&`, `||` and comparisons over macros whose values it knows at that point of the
    file. Without `ctx` that is the file's own `#define`/`#undef`s only (a `-D` flag could define any
    other name); with `ctx` also its `-D` defines and the headers it read. A name defined nowhere
    counts as undefined only when that is certain: `ctx.defines_complete` (the compile database gave
    every -D), every `#include` was read (`<limits.h>` not being read hides CHAR_BIT, `<math.h>`
    M_PI) and the compiler does not define it itself (`__AVX2__`, `_OPENMP`, `unix`). Anything else
    keeps every branch: a loop is never hidden because of a guess."""
    return _conditions(tree, source, language, ctx).regions


def live_branch(tree: tree_sitter.Tree, source: bytes, language: Language,
                node: tree_sitter.Node) -> list[tree_sitter.Node] | None:
    """For an `#if`/`#ifdef` chain decided without the build's macros (as `inactive_regions` without a
    context decides it): the statements of the one branch that is compiled ([] when none is); None when
    it cannot be decided."""
    decided = _conditions(tree, source, language, None).live
    if node.start_byte not in decided:
        return None
    branch = decided[node.start_byte]
    if branch is None:
        return []
    skip = ("condition", "name", "alternative")
    return [c for i, c in enumerate(branch.children)
            if c.is_named and c.type != "comment" and branch.field_name_for_child(i) not in skip]


def _conditions(tree: tree_sitter.Tree, source: bytes, language: Language, ctx: FileContext | None) -> _Conditions:
    key = ctx if ctx is not None else language
    for t, s, k, done in _region_cache:
        if t is tree and s is source and k is key:
            return done
    done = _Conditions(tree, source, language, ctx)
    if b"#" in source:
        done.run()
    _region_cache.insert(0, (tree, source, key, done))
    del _region_cache[4:]
    return done


def in_regions(regions: Regions, byte: int) -> tuple[int, int] | None:
    """The region of `regions` (sorted, disjoint) that holds `byte`, or None."""
    k = bisect.bisect_right(regions, (byte, 1 << 62)) - 1
    return regions[k] if k >= 0 and regions[k][0] <= byte < regions[k][1] else None


class _Conditions:
    """One pass over the file's directives in order, tracking what is known about each macro."""

    def __init__(self, tree: tree_sitter.Tree, source: bytes, language: Language, ctx: FileContext | None) -> None:
        self.root = tree.root_node
        self.source = source
        self.language = language
        self.known: dict[str, object] = {}  # name -> value text ("" for function-like), None = undefined
        self.complete = False
        self.inactive: list[tuple[int, int]] = []
        self.uncertain: list[tuple[int, int]] = []
        self.regions: Regions = ()
        # chain start byte -> the branch certainly compiled (None: none is); undecided chains are absent
        self.live: dict[int, tree_sitter.Node | None] = {}
        self.directives: list[tuple[str, tree_sitter.Node]] = []
        at = source.find(b"#")
        while at >= 0:
            m = _DIRECTIVE.match(source, at)
            if m is not None and not source[source.rfind(b"\n", 0, at) + 1:at].strip(b" \t"):
                tok = self.root.descendant_for_byte_range(at, at + 1)
                node = tok.parent if tok is not None else None
                if node is not None:
                    self.directives.append((m.group(1).decode(), node))
            at = source.find(b"#", at + 1)
        if ctx is not None:
            self.complete = ctx.defines_complete and not ctx.unread_includes and not ctx.notes
            for d in ctx.declarations:
                if d.kind == "macro" and d.origin != ctx.path and d.names:
                    name = d.names[0]
                    self.known[name] = _macro_text_value(d.text, name)  # as that header or -D flag says
        # A name the file itself defines or undefines is unknown until that directive: a header simdlens
        # read may have defined it first (its declaration then gives way to the file's).
        for kind, node in self.directives:
            name = self._directive_name(kind, node)
            if name and name not in self.known:
                self.known[name] = _UNKNOWN

    def run(self) -> Regions:
        for kind, node in self.directives:
            at = node.start_byte
            if any(lo <= at < hi for lo, hi in self.inactive):
                continue
            if kind in ("define", "undef"):
                name = self._directive_name(kind, node)
                if not name:
                    continue
                if any(lo <= at < hi for lo, hi in self.uncertain):
                    self.known[name] = _UNKNOWN
                elif kind == "undef":
                    self.known[name] = None
                else:
                    self.known[name] = (node_text(node.child_by_field_name("value")).strip()
                                        if node.type == "preproc_def" else "")
            elif node.type in ("preproc_if", "preproc_ifdef"):
                self._chain(node)
        self.inactive.sort()
        self.regions = tuple(self.inactive)
        return self.regions

    def _directive_name(self, kind: str, node: tree_sitter.Node) -> str:
        if kind == "define" and node.type in ("preproc_def", "preproc_function_def"):
            return node_text(node.child_by_field_name("name"))
        if kind == "undef" and node.type == "preproc_call":
            return node_text(node.child_by_field_name("argument")).strip()
        return ""

    def _chain(self, first: tree_sitter.Node) -> None:
        """Classify each branch of `#if … #elif … #else … #endif`."""
        earlier: bool | None = False  # whether an earlier branch was taken (None: cannot tell)
        node: tree_sitter.Node | None = first
        live: tree_sitter.Node | None = None
        undecided = False
        while node is not None and node.type in _CONDITIONALS:
            taken = True if node.type == "preproc_else" else self._decide(node)
            branch = _branch_range(node, self.source)
            if earlier is True or taken is False:
                if branch is not None:
                    self.inactive.append(branch)
            elif earlier is None or taken is None:
                undecided = True
                if branch is not None:
                    self.uncertain.append(branch)
            else:
                live = node
            if taken is True:  # this branch or an earlier one is taken: none after it
                earlier = True
            elif taken is None and earlier is False:
                earlier = None
            node = node.child_by_field_name("alternative")
        if not undecided:
            self.live[first.start_byte] = live

    def _decide(self, node: tree_sitter.Node) -> bool | None:
        if node.type in ("preproc_ifdef", "preproc_elifdef"):
            defined = self._defined(node_text(node.child_by_field_name("name")))
            if defined is None:
                return None
            return not defined if node_text(node.child(0)).rstrip().endswith("ndef") else defined
        toks = tokenize(node_text(node.child_by_field_name("condition")))
        try:
            return self._tri(toks) if toks else None
        except RecursionError:  # absurdly nested parentheses: cannot tell
            return None

    def _tri(self, toks: list[str]) -> bool | None:
        """True / False when the condition is certain, None when not; `0 && X` is false whatever X is."""
        if not toks or _split_top(toks, "?") != [toks]:
            return self._leaf(toks)
        for op in ("||", "&&"):
            parts = _split_top(toks, op)
            if len(parts) > 1:
                values = [self._tri(p) for p in parts]
                decisive = op == "||"
                if any(v is decisive for v in values):
                    return decisive
                return (not decisive) if all(v is (not decisive) for v in values) else None
        if toks[0] == "!" and _primary(toks[1:]):
            v = self._tri(toks[1:])
            return None if v is None else not v
        if toks[0] == "(" and _closing(toks, 0) == len(toks) - 1:
            return self._tri(toks[1:-1])
        return self._leaf(toks)

    def _leaf(self, toks: list[str]) -> bool | None:
        """Evaluate when every macro it names is known (a known-undefined one is 0, as in C)."""
        if not toks:
            return None
        macros: dict[str, str] = {}
        after_defined = False
        for i, tok in enumerate(toks):
            if not (tok[0].isalpha() or tok[0] == "_") or tok == "defined":
                after_defined = tok == "defined" or (after_defined and tok == "(")
                continue
            if tok in ("true", "false") and self.language == "cpp":
                continue
            if after_defined:  # defined(X) / defined X
                d = self._defined(tok)
                if d is None:
                    return None
                if d:
                    macros[tok] = "1"
            else:  # a value: a known object-like macro whose value is an integer expression
                value = self._value(tok)
                if value is None or (i + 1 < len(toks) and toks[i + 1] == "("):
                    return None
                macros.setdefault(tok, value)
            after_defined = False
        plain = FileContext("", self.language, macros={k: v for k, v in self.known.items() if isinstance(v, str)})
        for value in macros.values():  # every value used must itself evaluate: no unknown names inside
            if value not in ("0", "1") and plain.eval_int(value) is None:
                return None
        checker = FileContext("", self.language, macros={**plain.macros, **macros})
        v = checker._eval(" ".join(toks), frozenset(), preprocessor=True)
        return None if v is None else bool(v)

    def _value(self, name: str) -> str | None:
        """The replacement text of `name` in `#if`: "0" when it is certainly not defined."""
        value = self.known.get(name, _UNKNOWN if not self.complete or _compiler_may_define(name) else None)
        if value is None:
            return "0"
        return value if isinstance(value, str) and value else None

    def _defined(self, name: str) -> bool | None:
        if not name:
            return None
        if name == "__cplusplus":
            return self.language == "cpp"
        value = self.known.get(name, _UNKNOWN if not self.complete or _compiler_may_define(name) else None)
        if value is _UNKNOWN:
            return None
        return value is not None


def _split_top(toks: list[str], op: str) -> list[list[str]]:
    """`toks` split at the `op` tokens outside parentheses."""
    parts: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        depth += {"(": 1, ")": -1}.get(t, 0)
        if t == op and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _closing(toks: list[str], i: int) -> int:
    """The index of the `)` matching the `(` at `i` (-1 when unbalanced)."""
    depth = 0
    for j in range(i, len(toks)):
        depth += {"(": 1, ")": -1}.get(toks[j], 0)
        if depth == 0:
            return j
    return -1


def _primary(toks: list[str]) -> bool:
    """Whether `toks` is one operand `!` applies to: a parenthesised group, `defined X`, one token."""
    if len(toks) == 1:
        return True
    if toks[0] == "(":
        return _closing(toks, 0) == len(toks) - 1
    return toks[0] == "defined" and (len(toks) == 2 or (toks[1:2] == ["("] and _closing(toks, 1) == len(toks) - 1))


def _macro_text_value(text: str, name: str) -> object:
    """The replacement text of `#define NAME value` as written in a header ("" for a function-like macro)."""
    m = re.match(r"\s*#\s*define\s+" + re.escape(name) + r"(\(?)(.*)", text, re.DOTALL)
    if m is None:
        return _UNKNOWN
    return "" if m.group(1) else " ".join(tokenize(m.group(2)))


_BRANCH_LINE = re.compile(rb"^[ \t]*#[ \t]*(ifdef|ifndef|if|elifdef|elifndef|elif|else|endif)\b", re.M)


def _directive_end(source: bytes, start: int, end: int) -> int:
    """Where the branch starting at `start` ends as the preprocessor pairs the directives: the next
    `#elif`/`#else`/`#endif` of its own level, searched up to `end`. The parser nests by braces as well, so
    `#ifdef __cplusplus` / `extern "C" {` / `#endif` reads as a branch reaching the closing `}`."""
    depth = 0
    for m in _BRANCH_LINE.finditer(source, start, end):
        kind = m.group(1)
        if kind.startswith(b"if"):
            depth += 1
        elif depth == 0:
            return m.start()
        elif kind == b"endif":
            depth -= 1
    return end


_directive_cache: list[tuple[bytes, list[tuple[int, bytes, str]]]] = []


def _branch_directives(source: bytes) -> list[tuple[int, bytes, str]]:
    """The file's `#if…`/`#el…`/`#endif` lines in order: (byte of the `#`, kind, the line). Read once per
    text (the kernels of a file each ask where they stand)."""
    for text, found in _directive_cache:
        if text is source:
            return found
    found = []
    for m in _BRANCH_LINE.finditer(source):
        hash_at = source.index(b"#", m.start())
        line_end = source.find(b"\n", hash_at)
        found.append((hash_at, m.group(1),
                      source[hash_at:line_end if line_end >= 0 else len(source)].decode("utf-8", "replace")))
    _directive_cache.insert(0, (source, found))
    del _directive_cache[4:]
    return found


def open_conditionals(source: bytes, pos: int) -> list[tuple[int, str, bool]]:
    """The `#if`/`#ifdef` groups open at byte `pos`, outermost first, as the directives pair up: (the byte
    of its `#`, its directive line, whether `pos` is in its first branch)."""
    stack: list[tuple[int, str, bool]] = []
    for hash_at, kind, line in _branch_directives(source):
        if hash_at >= pos:
            break
        if kind.startswith(b"if"):
            stack.append((hash_at, line, True))
        elif stack and kind == b"endif":
            stack.pop()
        elif stack:
            stack[-1] = (stack[-1][0], stack[-1][1], False)
    return stack


def _branch_range(node: tree_sitter.Node, source: bytes) -> tuple[int, int] | None:
    """The bytes of one branch's own lines: after its directive line, up to the next `#elif`/`#else`/`#endif`
    (as the directives pair up, never further than the parser's node: a skipped region only ever shrinks)."""
    start = None
    end = node.end_byte
    for i, child in enumerate(node.children):
        fname = node.field_name_for_child(i)
        if fname == "alternative":
            end = child.start_byte
            break
        if child.type == "#endif":
            end = child.start_byte
            break
        if fname in ("condition", "name") or (i == 0 and not child.is_named):
            start = child.end_byte
    if start is None or end <= start:
        return None
    return start, _directive_end(source, start, end)


def skipping_directive(tree: tree_sitter.Tree, source: bytes, ctx: FileContext, byte: int) -> str | None:
    """When the preprocessor skips `byte` with `ctx`'s macros: the directive that skips it as
    "`#ifdef NEVER_DEFINED` (line 12)"; None when the code there may be compiled."""
    try:
        region = in_regions(inactive_regions(tree, source, ctx.language, ctx), byte)
    except Exception:  # never lose a loop to a directive simdlens cannot read
        return None
    if region is None:
        return None
    at = region[0] - 1
    line_start = source.rfind(b"\n", 0, at) + 1
    line_end = source.find(b"\n", at)
    text = source[line_start:line_end if line_end >= 0 else len(source)].decode("utf-8", "replace")
    line = source.count(b"\n", 0, line_start) + 1
    return f"`{' '.join(text.split())[:80]}` (line {line})"
