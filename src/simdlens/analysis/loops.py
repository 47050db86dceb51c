"""Finding the loops of a file: every `for`, `while` and `do … while` at any depth.

`find_loops(tree, source, path, language)` returns one `LoopSite` per loop statement, in source order,
inside functions, C++ methods (in-class ones are named `Class::f`, out-of-class ones as written,
`A::f`), lambdas (function `"<lambda>"`) and templates. A C++ range-based `for (x : v)` is a FOR loop
too. Loops inside ERROR nodes are still found, so a syntax error elsewhere in a file does not hide
well-formed loops; when the parser lost the header of their function, its name is recovered from the
declarator just before the body when there is one.

Spans:
- `span`   the whole loop statement;
- `header` `for (...)` / `while (...)` through the closing parenthesis; for a `do … while` loop the
  `do` keyword (the start of the loop, where the reader's eye is);
- `body`   the loop body statement.

Roles (`LoopRole`): INNERMOST when no loop is nested inside; OUTER when one is; OUTER_VECTORIZABLE for
a perfectly nested 2-deep `for` nest whose inner `for` runs a small constant number of times
(fewer than 8, e.g. `for (k = 0; k < 3; k++)`), where vectorizing the outer level is the better choice.
This is a syntactic check; the legality stage may refine it (an inner loop carrying a dependence on
its own induction variable also favours the outer level).

Ids: `loop_id` is a short sha256 of the loop's identity text (comments dropped, whitespace removed
except where two tokens would join: layout-insensitive, token-exact), the enclosing function's name
and the occurrence index among identical loops in that function. A loop holding 8 loops or more stands for
its inner loops by a digest of their identity texts (so deep nests cost linear time, not quadratic). Moving or reformatting a loop keeps
its id; editing any token of it (or of a loop inside it) changes it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from typing import NamedTuple

import tree_sitter

from simdlens.analysis.context import FileContext, in_regions, inactive_regions
from simdlens.analysis.parse import normalized_tokens
from simdlens.analysis.spans import new_point, new_span, node_span
from simdlens.core import Language, LoopKind, LoopRole, LoopSite, Span

_LOOP_KINDS = {
    "for_statement": LoopKind.FOR,
    "for_range_loop": LoopKind.FOR,
    "while_statement": LoopKind.WHILE,
    "do_statement": LoopKind.DO_WHILE,
}
_FUNCTION_TYPES = frozenset({"function_definition", "lambda_expression"})
_CLASS_TYPES = frozenset({"class_specifier", "struct_specifier", "union_specifier"})
_DECLARATOR_WRAPPERS = frozenset({
    "function_declarator", "pointer_declarator", "reference_declarator", "parenthesized_declarator",
    "attributed_declarator",
})
log = logging.getLogger(__name__)
# A loop holding this many loops or more gets a composite identity text (`_composite_identity`).
COMPOSITE_IDENTITY_LOOPS = 8
SHORT_TRIP_COUNT = 8  # an inner loop running fewer times than this is too short to vectorize on its own

# Loops are found from their keywords: a regex finds `for`/`while`/`do` in the text, tree-sitter says
# which of them start a loop statement (not a comment, a string, a macro body or a do-while's `while`).
# This is several times faster than a tree-sitter query over the whole tree.
_KEYWORD = re.compile(rb"\b(?:for|while|do)\b")
_COMMENT = re.compile(rb"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)")
# Between two whitespace-separated chunks a space must stay where removing it would join two tokens into
# another: after a word character, before a word character or a quote; after an operator character,
# before one that would make a longer operator (`+ +`, `- >`, `< <=`, `/ *`, ...). By the chunk's last
# byte: the first bytes of the next chunk that need the space.
_WORD = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_SPACE_BEFORE: dict[int, bytes] = {
    **{c: _WORD + b".$'\"" for c in _WORD + b".$"},
    ord("+"): b"+=", ord("-"): b"-=>", ord("*"): b"=", ord("/"): b"=/*", ord("%"): b"=:>", ord("^"): b"=",
    ord("!"): b"=", ord("="): b"=>", ord("&"): b"&=", ord("|"): b"|=", ord("<"): b"<=:%", ord(">"): b">=*",
    ord(":"): b":>", ord("#"): b"#",
}
# A number ending in an exponent letter, then a space and a sign (`1e -5`): joining would make one
# pp-number of it, so such texts take the exact path.
_EXPONENT_SIGN = re.compile(rb"[eEpP]\s+[-+]")  # cheap pre-check: the full pattern is slow to search
_SPLIT_EXPONENT = re.compile(rb"(?<![A-Za-z0-9_$.])\.?[0-9][0-9A-Za-z_.]*[eEpP]\s+[-+]")


_COMMENT_OR_LITERAL = re.compile(rb"""(//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?""")


def _drop_comment(m: re.Match[bytes]) -> bytes:
    return b" " if m.group(1) is not None else m.group(0)


def identity_text(text: bytes) -> bytes:
    """A compact whitespace- and comment-insensitive form of `text` that changes whenever a token
    changes (spaces kept only where tokens would otherwise join). Used for loop ids: it is much
    cheaper than `normalized_tokens`. Texts with quotes or a split exponent (`1e -5`) go through the
    exact tokenizer."""
    # (`find`, not `in`: `bytes in bytes` first tries the needle as an int and raises and clears a TypeError)
    if text.find(b"//") >= 0 or text.find(b"/*") >= 0:
        if text.find(b'"') >= 0 or text.find(b"'") >= 0:  # a comment may hold a quote, a string may hold `//`
            text = _COMMENT_OR_LITERAL.sub(_drop_comment, text)
        else:
            text = _COMMENT.sub(b" ", text)
    if (text.find(b'"') >= 0 or text.find(b"'") >= 0 or text.find(b"\x01") >= 0
            or (_EXPONENT_SIGN.search(text) and _SPLIT_EXPONENT.search(text))):
        # The exact token stream; the \x02 marker keeps it apart from every compact form.
        return b"\x02" + normalized_tokens(text).encode("utf-8")
    chunks = text.split()
    if not chunks:
        return b""
    out = [chunks[0]]
    last = chunks[0][-1]
    for chunk in chunks[1:]:
        follow = _SPACE_BEFORE.get(last)
        if follow is not None and chunk[0] in follow:
            out.append(b" ")
        out.append(chunk)
        last = chunk[-1]
    return b"".join(out)


def normalized_text(node: tree_sitter.Node, source: bytes) -> str:
    """Whitespace- and comment-insensitive text of a node: its tokens joined by single spaces.

    Two pieces of code that differ only in layout or comments get the same text; any change to a
    token changes it. Reusable for content hashes.
    """
    return normalized_tokens(source[node.start_byte : node.end_byte])


def loop_id_for(text: bytes, function: str | None, occurrence: int) -> str:
    """The stable id of a loop: sha256 of its identity text, its function and its occurrence index."""
    h = hashlib.sha256(f"{function or ''}\0{occurrence}\0".encode())
    h.update(text)
    return h.hexdigest()[:16]


class LoopRecord(NamedTuple):
    """A found loop before ids are assigned: its site fields plus its identity text (a named tuple:
    cheap to create, there is one per loop)."""

    kind: LoopKind
    span: Span
    header: Span
    body: Span
    function: str | None
    depth: int
    role: LoopRole
    text: bytes  # `identity_text` of the loop

    @property
    def key(self) -> tuple[str | None, bytes]:
        return self.function, self.text


def find_loops(tree: tree_sitter.Tree, source: bytes, path: str, language: Language, *,
               ctx: FileContext | None = None) -> tuple[LoopSite, ...]:
    """Every loop of the file, in source order (outer loops before the loops inside them), except
    those the preprocessor skips (`#if 0`; with `ctx`, also branches its macros and `-D` defines rule
    out: see `context.inactive_regions`)."""
    return assign_ids(scan_loops(tree, source, language, ctx=ctx), path, language)


def assign_ids(
    records: Iterable[LoopRecord], path: str, language: Language, cache: dict[tuple[str | None, bytes, int], str] | None = None
) -> tuple[LoopSite, ...]:
    """Turn records (in source order) into `LoopSite`s with their stable ids.

    `cache` maps (function, text, occurrence) to an id already computed, to skip re-hashing.
    """
    seen: dict[tuple[str | None, bytes], int] = {}
    out: list[LoopSite] = []
    for r in records:
        key = r.key
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        ck = (r.function, r.text, occurrence)
        lid = cache.get(ck) if cache is not None else None
        if lid is None:
            lid = loop_id_for(r.text, r.function, occurrence)
            if cache is not None:
                cache[ck] = lid
        out.append(LoopSite(path, language, r.kind, r.span, r.header, r.body, r.function, r.depth, r.role, lid))
    return tuple(out)


def scan_loops(
    tree: tree_sitter.Tree, source: bytes, language: Language, start_byte: int = 0, end_byte: int | None = None,
    *, ctx: FileContext | None = None,
) -> list[LoopRecord]:
    """The loops of `tree` starting in [start_byte, end_byte), in source order, except those in
    preprocessor branches that are certainly skipped (see `find_loops`).

    When a range is given, the caller must make it cover whole top-level functions, so that each
    loop's enclosing loops and function are inside it too.
    """
    end = len(source) if end_byte is None else end_byte
    keywords = [(m.start(), m.end()) for m in _KEYWORD.finditer(source, start_byte, end)]
    if keywords:
        try:
            skipped = inactive_regions(tree, source, language, ctx)
        except Exception:  # deciding `#if`s must never cost the file its loops
            log.exception("preprocessor conditions of a %s file", language)
            skipped = ()
        if skipped:  # dead code, as an editor greys it out: not a loop of the program
            keywords = [k for k in keywords if in_regions(skipped, k[0]) is None]
    if not keywords:
        return []
    nodes, wheres = _walk_to_loops(tree, keywords)
    if not nodes:
        return []

    found_fn: list[str | None] = []
    found_depth: list[int] = []
    children: list[list[int]] = [[] for _ in nodes]
    known = _found_in(tree)
    for i, (node, where) in enumerate(zip(nodes, wheres, strict=True)):
        known_fn: tree_sitter.Node | bool | None = where.function_node
        if known_fn is not False:  # False: in broken code (an ERROR node), not known
            known[node.start_byte] = (node, known_fn if isinstance(known_fn, tree_sitter.Node) else None)
        if where.loop >= 0:
            children[where.loop].append(i)
        found_fn.append(where.function)
        found_depth.append(where.depth)

    # Inner loops first: a big loop's identity text is built from its inner loops' (nested loops
    # would otherwise cost time and memory quadratic in their depth, each holding all the others' text).
    texts: list[bytes] = [b""] * len(nodes)
    inside = [0] * len(nodes)  # loops nested in each, at any depth (layout-insensitive, unlike its length)
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        s, e = node.start_byte, node.end_byte
        inside[i] = sum(1 + inside[k] for k in children[i])
        if inside[i] >= COMPOSITE_IDENTITY_LOOPS:
            texts[i] = _composite_identity(source, s, e, [(nodes[k].start_byte, nodes[k].end_byte, texts[k])
                                                           for k in children[i]])
        else:
            texts[i] = identity_text(source[s:e])
    records: list[LoopRecord] = []
    for i, node in enumerate(nodes):
        kind = _LOOP_KINDS[node.type]
        body = node.child_by_field_name("body")
        span = node_span(node)
        header, body_span = _header_and_body(node, body, kind, span)
        kids = children[i]
        if not kids:
            role = LoopRole.INNERMOST
        elif len(kids) == 1 and _short_perfect_inner(node, body, nodes[kids[0]], not children[kids[0]], source):
            role = LoopRole.OUTER_VECTORIZABLE
        else:
            role = LoopRole.OUTER
        records.append(LoopRecord(kind, span, header, body_span, found_fn[i], found_depth[i], role, texts[i]))
    return records


def _composite_identity(source: bytes, start: int, end: int, inner: list[tuple[int, int, bytes]]) -> bytes:
    """The identity text of the loop [start, end) holding the loops `inner` (start, end, identity text; in
    source order): its own text between them, compacted, and a digest of each inner loop's text. Like
    `identity_text`, any token changed in it or in an inner loop changes it; layout does not."""
    out = [b"\x03"]  # a marker: apart from `identity_text`'s forms
    at = start
    for s, e, text in inner:
        piece = identity_text(source[at:s])
        out += [len(piece).to_bytes(4, "little"), piece, hashlib.sha256(text).digest()]
        at = e
    piece = identity_text(source[at:end])
    out += [len(piece).to_bytes(4, "little"), piece]
    return b"".join(out)


class _Where(NamedTuple):
    """What encloses a node, up to its function: the function's name and node (None outside any
    function, False when an ERROR node cut the way up), the nearest found loop around it (index, -1
    when none) and how many loop statements lie between it and its function."""

    function: str | None
    function_node: tree_sitter.Node | bool | None
    loop: int
    depth: int


_OUTSIDE = _Where(None, None, -1, 0)
_CONTEXT_TYPES = frozenset({*_LOOP_KINDS, *_FUNCTION_TYPES, "ERROR"})  # the nodes `_inside` changes anything for


def _walk_to_loops(tree: tree_sitter.Tree, keywords: list[tuple[int, int]]) -> tuple[list[tree_sitter.Node], list[_Where]]:
    """The loop statements that the keywords at `keywords` ((start, end) in source order) begin, with what
    encloses each. One walk down the tree, carrying the enclosing function and loops along: linear in
    nesting depth (a node's `parent` is not: tree-sitter finds it by walking down from the root, so
    walking up from every loop was cubic in depth)."""
    cursor = tree.walk()
    names: dict[int, str | None] = {}
    index_of: dict[int, int] = {}  # loop node id -> its index in `nodes`
    root = tree.root_node
    # The path from the root to the cursor: each node, what encloses it and what encloses its children
    # (None below an ERROR node: that depends on the child).
    path: list[tuple[tree_sitter.Node, _Where | None, _Where | None]] = [
        (root, None, _inside(root, _OUTSIDE, index_of, names))]
    ends = [root.end_byte]  # of the nodes on the path: each holds the previous keyword, so starts before this one
    nodes: list[tree_sitter.Node] = []
    wheres: list[_Where] = []
    for start, end in keywords:
        while len(path) > 1 and end > ends[-1]:
            cursor.goto_parent()
            path.pop()
            ends.pop()
        while cursor.goto_first_child_for_byte(start) is not None:  # down to the smallest node holding the keyword
            child = cursor.node
            child_end = child.end_byte if child is not None else -1
            if child is None or child.start_byte > start or end > child_end:
                cursor.goto_parent()
                break
            inner = path[-1][2]
            # Below an ERROR node, its child is the body of a function whose header was lost, if any.
            here = _Where(_recover_function_name(child), False, -1, 0) if inner is None else inner
            path.append((child, here, _inside(child, here, index_of, names) if child.type in _CONTEXT_TYPES else here))
            ends.append(child_end)
        if len(path) < 2:
            continue
        loop, where, _ = path[-2]  # the keyword token's parent: a loop statement when it starts there
        if where is None or loop.type not in _LOOP_KINDS or loop.start_byte != start or loop.id in index_of:
            continue
        index_of[loop.id] = len(nodes)
        path[-2] = (loop, where, _inside(loop, where, index_of, names))
        nodes.append(loop)
        wheres.append(where)
    return nodes, wheres


def _inside(node: tree_sitter.Node, where: _Where, index_of: dict[int, int], names: dict[int, str | None]) -> _Where | None:
    """What encloses the children of `node`, which `where` encloses (None: `node` is an ERROR node)."""
    t = node.type
    if t in _LOOP_KINDS:
        return _Where(where.function, where.function_node, index_of.get(node.id, where.loop), where.depth + 1)
    if t in _FUNCTION_TYPES:
        key = node.id
        if key not in names:
            names[key] = _function_name(node)
        return _Where(names[key], node, -1, 0)
    if t == "ERROR":
        return None
    return where

# Syntax-tree levels below a loop that the analysis follows. Its builder recurses once or more per level;
# the compiled (mypyc) build has no recursion limit and overflows the C stack instead (about 400 bytes
# a level: 1,000 levels fit in any thread's stack many times over), and the pure-Python build would
# stop at its recursion limit anyway. Deeper loops are refused with a reason, the same in both.
MAX_NESTING = 1000


def nested_beyond(node: tree_sitter.Node, limit: int = MAX_NESTING) -> bool:
    """Whether the syntax tree below `node` is more than `limit` levels deep. Iterative, and it only
    walks down subtrees big enough to be that deep (a subtree of n nodes is at most n levels deep)."""
    if node.descendant_count <= limit:
        return False
    cursor = node.walk()
    depth = 0  # of the cursor's node below `node`
    descend = True
    while True:
        if descend and cursor.goto_first_child():
            depth += 1
            if depth > limit:
                return True
        else:
            while not cursor.goto_next_sibling():
                if depth <= 1:
                    return False
                cursor.goto_parent()
                depth -= 1
        here = cursor.node
        descend = here is not None and here.descendant_count > limit - depth

# The loop statement nodes of the last trees scanned, with their enclosing function nodes (None outside
# any function), by start byte: the analysis needs both for every loop, and finding them again from a
# `LoopSite` costs a search of the tree and two walks up its parents.
_FOUND: dict[int, tuple[tree_sitter.Tree, dict[int, tuple[tree_sitter.Node, tree_sitter.Node | None]]]] = {}


def _found_in(tree: tree_sitter.Tree) -> dict[int, tuple[tree_sitter.Node, tree_sitter.Node | None]]:
    entry = _FOUND.get(id(tree))
    if entry is None or entry[0] is not tree:
        if len(_FOUND) >= 2:
            _FOUND.clear()
        entry = _FOUND[id(tree)] = (tree, {})
    return entry[1]


def found_loop(tree: tree_sitter.Tree, start_byte: int,
               end_byte: int) -> tuple[tree_sitter.Node, tree_sitter.Node | None] | None:
    """The loop statement node spanning [start_byte, end_byte) of `tree` and its enclosing function node,
    if a scan of this tree found it (else None: search the tree)."""
    entry = _FOUND.get(id(tree))
    if entry is None or entry[0] is not tree:
        return None
    got = entry[1].get(start_byte)
    if got is None or got[0].start_byte != start_byte or got[0].end_byte != end_byte:
        return None
    return got


def _header_and_body(node: tree_sitter.Node, body: tree_sitter.Node | None, kind: LoopKind, span: Span) -> tuple[Span, Span]:
    if body is None:  # only in broken code
        return span, span
    body_span = node_span(body)
    if kind == LoopKind.DO_WHILE:
        first = node.child(0) if node.child_count else None
        return (node_span(first) if first is not None else span), body_span
    # The token before the body (not `body.prev_sibling`: that walks down from the root). The body is
    # almost always the last child: then reading two children avoids making a node of every token.
    before = None
    count = node.child_count
    last = node.child(count - 1) if count else None
    if last is not None and last.id == body.id:
        before = node.child(count - 2) if count >= 2 else None
    else:
        for child in node.children:
            if child.id == body.id:
                break
            before = child
    if before is None or before.end_byte <= node.start_byte:
        return new_span(span.start_byte, body_span.start_byte, span.start, body_span.start), body_span
    end = before.end_point
    return new_span(span.start_byte, before.end_byte, span.start, new_point(end[0], end[1])), body_span


QUALIFIER_ARGUMENTS = re.compile(r"<[^<>]*>(?=::)")


def _function_name(node: tree_sitter.Node) -> str | None:
    if node.type == "lambda_expression":
        return "<lambda>"
    decl = node.child_by_field_name("declarator")
    for _ in range(16):
        if decl is None or decl.type not in _DECLARATOR_WRAPPERS:
            break
        inner = decl.child_by_field_name("declarator")
        if inner is None and decl.type != "function_declarator" and decl.named_child_count:
            inner = decl.named_child(0)
        decl = inner
    if decl is None or decl.text is None:
        return None
    name = "".join(decl.text.decode("utf-8", "replace").split())
    if "<" in name:  # `Tensor<T>::add_`, defined outside its class template: named as inside it, `Tensor::add_`
        name = QUALIFIER_ARGUMENTS.sub("", name)
    if "::" not in name:
        cls = _enclosing_class(node)
        if cls:
            name = f"{cls}::{name}"
    return name


def _recover_function_name(block: tree_sitter.Node) -> str | None:
    """In broken code, the name of the function whose body is `block` (a `{ … }` directly inside an
    ERROR node): the last function declarator just before it, if any."""
    if block.type != "compound_statement":
        return None
    prev = block.prev_named_sibling
    if prev is None:
        return None
    best: tree_sitter.Node | None = None
    todo = [prev]
    budget = 200
    while todo and budget:
        budget -= 1
        n = todo.pop()
        if n.type == "function_declarator" and (best is None or n.end_byte > best.end_byte):
            best = n
        todo.extend(n.named_children)
    if best is None or best.end_byte < prev.end_byte - 2:
        return None
    inner = best.child_by_field_name("declarator")
    return "".join(inner.text.decode("utf-8", "replace").split()) if inner is not None and inner.text else None


def _enclosing_class(node: tree_sitter.Node) -> str | None:
    parent = node.parent
    for _ in range(4):  # function_definition <- [template_declaration] <- field_declaration_list <- class
        if parent is None:
            return None
        if parent.type in _CLASS_TYPES:
            name = parent.child_by_field_name("name")
            return name.text.decode("utf-8", "replace") if name is not None and name.text else None
        parent = parent.parent
    return None


def _short_perfect_inner(
    outer: tree_sitter.Node, outer_body: tree_sitter.Node | None, inner: tree_sitter.Node, inner_is_innermost: bool,
    source: bytes,
) -> bool:
    """True for `for (...) { for (k = c0; k < C; k++) ... }` with C - c0 < 8, and nothing else in the
    outer body."""
    if outer.type != "for_statement" or inner.type != "for_statement" or not inner_is_innermost:
        return False
    if outer_body is None:
        return False
    if outer_body.id != inner.id:
        if outer_body.type != "compound_statement":
            return False
        stmts = [c for c in outer_body.named_children if c.type != "comment"]
        if len(stmts) != 1 or stmts[0].id != inner.id:
            return False
    trip = constant_trip_count(inner)
    return trip is not None and 0 < trip < SHORT_TRIP_COUNT


def _int_literal(node: tree_sitter.Node | None) -> int | None:
    if node is None or node.type != "number_literal" or node.text is None:
        return None
    return parse_int_literal(node.text.decode("ascii", "replace"))


def parse_int_literal(text: str) -> int | None:
    """The value of a C integer literal ("42", "0x2Au", "010", "1'000", "8ULL"), or None."""
    t = text.replace("'", "").rstrip("uUlLzZ")
    try:
        if len(t) > 1 and t[0] == "0" and t[1:].isdigit():
            return int(t, 8)
        return int(t, 0)
    except ValueError:
        return None


def constant_trip_count(loop: tree_sitter.Node) -> int | None:
    """The trip count of `for (iv = c0; iv < C; iv++)` (also `<=`, `!=`, `++iv`, `iv += 1`) when both
    bounds are integer literals; None otherwise."""
    init = loop.child_by_field_name("initializer")
    cond = loop.child_by_field_name("condition")
    update = loop.child_by_field_name("update")
    if init is None or cond is None or update is None:
        return None
    iv: str | None = None
    start: int | None = None
    if init.type == "declaration":
        d = init.child_by_field_name("declarator")
        if d is not None and d.type == "init_declarator":
            name = d.child_by_field_name("declarator")
            iv = name.text.decode() if name is not None and name.text else None
            start = _int_literal(d.child_by_field_name("value"))
    elif init.type == "assignment_expression":
        left = init.child_by_field_name("left")
        iv = left.text.decode() if left is not None and left.text else None
        start = _int_literal(init.child_by_field_name("right"))
    if iv is None or start is None:
        return None
    if cond.type != "binary_expression":
        return None
    left, op, right = cond.child_by_field_name("left"), cond.child_by_field_name("operator"), cond.child_by_field_name("right")
    if left is None or op is None or left.text is None or left.text.decode() != iv:
        return None
    bound = _int_literal(right)
    if bound is None:
        return None
    if not _is_unit_increment(update, iv):
        return None
    opt = op.type
    if opt in ("<", "!="):
        return max(0, bound - start)
    if opt == "<=":
        return max(0, bound - start + 1)
    return None


def _is_unit_increment(update: tree_sitter.Node, iv: str) -> bool:
    text = update.text.decode("utf-8", "replace") if update.text else ""
    compact = "".join(text.split())
    return compact in (f"{iv}++", f"++{iv}", f"{iv}+=1", f"{iv}={iv}+1")
