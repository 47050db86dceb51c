"""The declarations a loop can see: declarators parsed into `Decl`, each function's parameters and
locals (`FunctionScope`, scanned once per function), and per-file facts kept while a file is analysed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter

from simdlens.analysis.build.c_types import COMPLEX_WORD, TYPE_NOISE
from simdlens.analysis.build.syntax import CONTROL, LOOP_TYPES, node_text, squash
from simdlens.analysis.rewritten import Rewrite, rewrites
from simdlens.core import LoopSite


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is several times slower, and these are many
class Decl:
    """A variable as declared: base type text, pointer depth, extents, qualifiers."""

    name: str
    type: str
    pointer: int = 0
    extents: tuple[str, ...] = ()
    const: bool = False
    volatile: bool = False
    restrict: bool = False
    atomic: bool = False
    static: bool = False
    reference: bool = False
    func_ptr: bool = False
    is_param: bool = False
    is_global: bool = False
    start: int = 0  # byte offset of the declaration
    scope: tuple[int, int] = (0, 1 << 62)  # the block it is visible in
    text: str = ""

    # Written out (the dataclass keeps it): compiled, this __init__ is native; the one dataclass generates
    # runs as Python, ~5x slower (a file makes several Decls per function).
    def __init__(self, name: str, type: str, pointer: int = 0, extents: tuple[str, ...] = (), const: bool = False,
                 volatile: bool = False, restrict: bool = False, atomic: bool = False, static: bool = False,
                 reference: bool = False, func_ptr: bool = False, is_param: bool = False, is_global: bool = False,
                 start: int = 0, scope: tuple[int, int] = (0, 1 << 62), text: str = "") -> None:
        self.name = name
        self.type = type
        self.pointer = pointer
        self.extents = extents
        self.const = const
        self.volatile = volatile
        self.restrict = restrict
        self.atomic = atomic
        self.static = static
        self.reference = reference
        self.func_ptr = func_ptr
        self.is_param = is_param
        self.is_global = is_global
        self.start = start
        self.scope = scope
        self.text = text

    @property
    def container(self) -> str:
        k = _CONTAINER_KINDS.get(self.type)
        return k if k is not None else container_kind(self.type)


_CONTAINER = re.compile(r"^(?:std::)?(vector|array|valarray|span)\s*<")

_CONTAINER_KINDS: dict[str, str] = {}


def container_kind(type_text: str) -> str:
    k = _CONTAINER_KINDS.get(type_text)
    if k is None:
        m = _CONTAINER.match(type_text)
        k = m.group(1) if m else ""
        if len(_CONTAINER_KINDS) > 4096:
            _CONTAINER_KINDS.clear()
        _CONTAINER_KINDS[type_text] = k
    return k


class Kinds:
    """Node kind ids of one grammar, for walks that compare ints rather than decode type names."""

    def __init__(self, lang: tree_sitter.Language) -> None:
        def kid(name: str, named: bool = True) -> int:
            return lang.id_for_node_kind(name, named) or -1

        self.identifier = kid("identifier")
        self.assignment = kid("assignment_expression")
        self.update = kid("update_expression")
        self.if_statement = kid("if_statement")
        self.switch_statement = kid("switch_statement")
        self.conditional = kid("conditional_expression")
        self.binary = kid("binary_expression")
        self.assign_plain = kid("=", False)
        self.logical = frozenset(kid(o, False) for o in ("&&", "||"))
        self.control = {kid(k): v for k, v in CONTROL.items() if kid(k) != -1}
        self.condition_kinds = frozenset(kid(k) for k in ("condition_clause", "parenthesized_expression"))
        # declarators
        self.type_qualifier = kid("type_qualifier")
        self.storage_class = kid("storage_class_specifier")
        self.pointer_qualifiers = frozenset(kid(k) for k in ("type_qualifier", "ms_pointer_modifier"))
        self.init_declarator = kid("init_declarator")
        self.pointer_declarator = kid("pointer_declarator")
        self.reference_declarator = kid("reference_declarator")
        self.array_declarator = kid("array_declarator")
        self.function_declarator = kid("function_declarator")
        self.parenthesized_declarator = kid("parenthesized_declarator")
        self.wrapping_declarators = frozenset(kid(k) for k in ("parenthesized_declarator", "attributed_declarator"))
        self.names = frozenset(kid(k) for k in ("identifier", "field_identifier"))


_KINDS: dict[int, Kinds] = {}


def kinds_of(lang: tree_sitter.Language) -> Kinds:
    k = _KINDS.get(id(lang))
    if k is None:
        k = _KINDS[id(lang)] = Kinds(lang)
    return k


def decls_of(node: tree_sitter.Node, kinds: Kinds, *, is_param: bool = False, is_global: bool = False,
             scope: tuple[int, int] = (0, 1 << 62)) -> list[Decl]:
    """The variables a `declaration` / `parameter_declaration` / `field_declaration` declares."""
    text = node_text(node).strip()
    # The same declaration text parses the same way: files repeat `float *restrict dst`, `int n`, ...
    key = (id(kinds), node.kind_id, text)
    shapes = _DECL_SHAPES.get(key)
    if shapes is None:
        if len(_DECL_SHAPES) > 8192:
            _DECL_SHAPES.clear()
        shapes = _DECL_SHAPES[key] = _decl_shapes(node, kinds, text)
    return [Decl(name, base, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr,
                 is_param, is_global, node.start_byte, scope, text)
            for name, base, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr in shapes]


# name, base type, pointer depth, extents, const, volatile, restrict, atomic, static, reference, func_ptr
_DeclShape = tuple[str, str, int, tuple[str, ...], bool, bool, bool, bool, bool, bool, bool]

_DECL_SHAPES: dict[tuple[int, int, str], list[_DeclShape]] = {}


# A parameter list's text -> (shape, declaration text, offset of the declaration in the list) per parameter.
_PARAM_SHAPES: dict[tuple[int, str], list[tuple[_DeclShape, str, int]]] = {}


def _param_decls(params: tree_sitter.Node, kinds: Kinds, scope: tuple[int, int]) -> list[Decl]:
    """The parameters a `parameter_list` declares. Files repeat whole parameter lists (`(float *restrict
    dst, const float *restrict src, int n)`), so the list's text is parsed once, not its nodes each time."""
    key = (id(kinds), node_text(params))
    entries = _PARAM_SHAPES.get(key)
    if entries is None:
        entries = []
        base = params.start_byte
        for p in params.named_children:
            if p.type in ("parameter_declaration", "optional_parameter_declaration"):
                text = node_text(p).strip()
                for d in decls_of(p, kinds, is_param=True, scope=scope):
                    name, base_type = d.name, d.type
                    err = p.next_sibling
                    if name in ("complex", "_Complex") and err is not None and err.type == "ERROR" \
                            and err.named_child_count == 1 and err.named_children[0].type == "identifier":
                        # `float complex w` without <complex.h> seen: `complex` parsed as the name, `w` an error
                        name, base_type = node_text(err.named_children[0]), f"{d.type} {d.name}"
                        text = f"{text} {name}"
                    entries.append(((name, base_type, d.pointer, d.extents, d.const, d.volatile, d.restrict, d.atomic,
                                     d.static, d.reference, d.func_ptr), text, p.start_byte - base))
        if len(_PARAM_SHAPES) > 4096:
            _PARAM_SHAPES.clear()
        _PARAM_SHAPES[key] = entries
    start = params.start_byte
    return [Decl(name, base_type, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr,
                 True, False, start + offset, scope, text)
            for (name, base_type, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr),
            text, offset in entries]


def _decl_shapes(node: tree_sitter.Node, kinds: Kinds, text: str) -> list[_DeclShape]:
    """`Decl` fields name .. func_ptr of each variable a declaration declares."""
    k = kinds
    type_node = node.child_by_field_name("type")
    base = " ".join(node_text(type_node).split())
    const = volatile = atomic = static = False
    if "const" in text or "volatile" in text or "_Atomic" in text or "static" in text:  # most have none
        for c in node.children:
            ck = c.kind_id
            if ck == k.type_qualifier:
                q = node_text(c)
                const |= q in ("const", "constexpr")
                volatile |= q == "volatile"
                atomic |= q == "_Atomic"
            elif ck == k.storage_class:
                static |= node_text(c) == "static"
    out: list[_DeclShape] = []
    for d in node.children_by_field_name("declarator"):
        pointer = 0
        extents: list[str] = []
        restrict = reference = func_ptr = False
        cur: tree_sitter.Node | None = d
        name = ""
        for _ in range(32):
            if cur is None:
                break
            t = cur.kind_id
            if t == k.init_declarator:
                cur = cur.child_by_field_name("declarator")
            elif t == k.pointer_declarator:
                pointer += 1
                for c in cur.children:
                    if c.kind_id in k.pointer_qualifiers and "restrict" in node_text(c):
                        restrict = True
                cur = cur.child_by_field_name("declarator")
            elif t == k.reference_declarator:
                reference = True
                cur = cur.named_child(0)
            elif t == k.array_declarator:
                extents.insert(0, node_text(cur.child_by_field_name("size")))
                cur = cur.child_by_field_name("declarator")
            elif t == k.function_declarator:
                inner = cur.child_by_field_name("declarator")
                if inner is not None and inner.kind_id == k.parenthesized_declarator:
                    func_ptr = True
                    cur = inner
                else:
                    cur = None
            elif t in k.wrapping_declarators:
                cur = cur.named_child(0)
            elif t in k.names:
                name = node_text(cur)
                break
            else:
                break
        if name in ("complex", "_Complex", "__complex__"):
            # `double complex s = 0;` without <complex.h> seen: the parser takes `complex` for the name
            # and `s` for an error; the variable is `s` of type `double complex`
            err = next((c for c in (*d.children, *node.children) if c.type == "ERROR"), None)
            real = next((c for c in err.children if c.type == "identifier"), None) if err is not None else None
            if real is not None:
                base, name = f"{base} {name}", node_text(real)
        if name:
            out.append((name, base, pointer, tuple(extents), const, volatile, restrict, atomic, static, reference,
                        func_ptr))
    return out


class FunctionScope:
    """The declarations of one function (parameters and locals), scanned once and cached."""

    def __init__(self, fn: tree_sitter.Node | None, language: tree_sitter.Language) -> None:
        self.by_name: dict[str, list[Decl]] = {}
        self.node = fn
        self.kinds = kinds_of(language)
        self.outer: FunctionScope | None = None
        self._body: tree_sitter.Node | None = None
        self._language = language
        self._parsed_until = 0  # local declarations starting before this byte are in `by_name`
        if fn is None:
            return
        declarator = fn.child_by_field_name("declarator")
        for _ in range(8):
            if declarator is None or declarator.type in ("function_declarator", "abstract_function_declarator"):
                break
            declarator = declarator.child_by_field_name("declarator")
        if declarator is not None:
            params = declarator.child_by_field_name("parameters")
            if params is not None:
                for d in _param_decls(params, self.kinds, (fn.start_byte, fn.end_byte)):
                    self.by_name.setdefault(d.name, []).append(d)
        # Local declarations are found by a query and parsed when a name is asked for.
        self._body = fn.child_by_field_name("body")

    def _parse_locals(self, upto: int) -> None:
        """The local declarations starting before byte `upto` not parsed yet. A loop sees no declaration
        that starts after it, so the query only reads the function up to the loop being analysed."""
        lo = self._parsed_until
        self._parsed_until = upto
        if self._body is None:
            return
        if lo == 0:
            first = self._body.named_child(0)
            if first is None or first.start_byte >= upto - 1:
                return  # the loop is the function's first statement: nothing is declared before it
        cursor = tree_sitter.QueryCursor(_decl_query(self._language))
        cursor.set_byte_range(lo, upto)
        # The query hands over each declaration's parent (its scope): asking a node for its parent costs
        # a walk down from the root, quadratic over the counters of a deep loop nest.
        found: list[tuple[tree_sitter.Node, tree_sitter.Node]] = []
        for _i, m in cursor.matches(self._body):
            for c in m.get("d", []):
                if lo <= c.start_byte < upto:  # else an enclosing one parsed already, or one after `upto`
                    found.extend((c, parent) for parent in m.get("scope", []))
        found.sort(key=lambda pair: pair[0].start_byte)
        for c, parent in found:
            for d in decls_of(c, self.kinds, scope=(parent.start_byte, parent.end_byte)):
                self.by_name.setdefault(d.name, []).append(d)

    def lookup(self, name: str, at: int, end: int) -> Decl | None:
        best = self._lookup(name, at, end)
        if best is None and self.outer is not None:  # a lambda sees its enclosing function's variables
            return self.outer.lookup(name, at, end)
        return best

    def _lookup(self, name: str, at: int, end: int) -> Decl | None:
        if self._parsed_until <= at and self.node is not None:
            self._parse_locals(at + 1)
        best: Decl | None = None
        for d in self.by_name.get(name, ()):
            if d.is_param:
                if best is None:
                    best = d
                continue
            if d.start <= at and d.scope[0] <= at and end <= d.scope[1] and (best is None or best.is_param
                                                                             or d.start >= best.start):
                best = d
        return best


_DECL_QUERIES: dict[int, tree_sitter.Query] = {}


def _decl_query(lang: tree_sitter.Language) -> tree_sitter.Query:
    q = _DECL_QUERIES.get(id(lang))
    if q is None:
        q = tree_sitter.Query(lang, "(_ (declaration) @d) @scope")
        _DECL_QUERIES[id(lang)] = q
    return q


class _FileScan:
    def __init__(self, tree: tree_sitter.Tree) -> None:
        self.tree = tree  # keeps id(tree) valid while cached
        self.functions: dict[int, FunctionScope] = {}
        self.rewrites: tuple[Rewrite, ...] | None = None  # simdlens rewrites applied in the file
        self._size_members: dict[str, str] | None = None
        self._outermost: dict[int, int] = {}  # loop node id -> start of the outermost loop around it (or it)

    def outermost_loop_start(self, node: tree_sitter.Node, fn: tree_sitter.Node) -> int:
        """Start byte of the outermost loop of `fn` enclosing `node` (-1: none). Answers are kept per
        loop, so the loops of a deep nest walk their parents once between them, not once each."""
        chain: list[int] = []
        start = -1
        p = node.parent
        while p is not None and p.id != fn.id:
            if p.type in LOOP_TYPES:
                known = self._outermost.get(p.id)
                if known is not None:
                    start = known
                    break
                chain.append(p.id)
                start = p.start_byte
            p = p.parent
        for loop_id in chain:
            self._outermost[loop_id] = start
        return start

    def size_member(self, cls: str) -> str:
        """For a class of the file with `size() const { return m.size(); }`, the member m ("" if none)."""
        if self._size_members is None:
            self._size_members = _size_members(self.tree)
        return self._size_members.get(cls, "")

    def rewrites_in(self, source: bytes) -> tuple[Rewrite, ...]:
        if self.rewrites is None:
            self.rewrites = rewrites(source, self.tree)
        return self.rewrites


_SCANS: dict[int, _FileScan] = {}

_SIZE_QUERIES: dict[int, tree_sitter.Query] = {}


def _size_members(tree: tree_sitter.Tree) -> dict[str, str]:
    """Classes of the file whose `size() const` method returns a member's `.size()`: class -> member."""
    lang = tree.language
    q = _SIZE_QUERIES.get(id(lang))
    if q is None:
        try:
            q = _SIZE_QUERIES[id(lang)] = _size_query(lang)
        except tree_sitter.QueryError:  # a grammar without methods in classes (C)
            return {}
    out: dict[str, str] = {}
    for _i, m in tree_sitter.QueryCursor(q).matches(tree.root_node):
        def one(key: str, m: dict[str, list[tree_sitter.Node]] = m) -> str:
            nodes = m.get(key) or []
            return node_text(nodes[0]) if nodes else ""

        if (one("fn") == "size" and one("size") == "size" and one("q") == "const"
                and squash(one("params")) == "()" and squash(one("args")) == "()"):
            out[one("cls")] = one("member")
    return out


def _size_query(lang: tree_sitter.Language) -> tree_sitter.Query:
    return tree_sitter.Query(lang, """
            (_ name: (type_identifier) @cls
               body: (field_declaration_list
                 (function_definition
                   declarator: (function_declarator
                     declarator: (field_identifier) @fn
                     parameters: (parameter_list) @params
                     (type_qualifier) @q)
                   body: (compound_statement
                     . (return_statement
                         (call_expression
                           function: (field_expression argument: (identifier) @member
                                                       field: (field_identifier) @size)
                           arguments: (argument_list) @args)) .))))""")


def file_scan(tree: tree_sitter.Tree) -> _FileScan:
    scan = _SCANS.get(id(tree))
    if scan is None or scan.tree is not tree:
        if len(_SCANS) > 8:
            _SCANS.clear()
        scan = _FileScan(tree)
        _SCANS[id(tree)] = scan
    return scan


def release_file_scans() -> None:
    """Forget the per-tree scans: they are useful only while one file is analysed."""
    _SCANS.clear()


def enclosing_function(node: tree_sitter.Node) -> tree_sitter.Node | None:
    p = node.parent
    while p is not None:
        if p.type in ("function_definition", "lambda_expression"):
            return p
        p = p.parent
    return None


def function_scope(tree: tree_sitter.Tree, fn: tree_sitter.Node | None) -> FunctionScope:
    scan = file_scan(tree)
    key = fn.start_byte if fn is not None else -1
    sc = scan.functions.get(key)
    if sc is None:
        sc = FunctionScope(fn, tree.language)
        if fn is not None and fn.type == "lambda_expression":
            sc.outer = function_scope(tree, enclosing_function(fn))
        scan.functions[key] = sc
    return sc


def loop_node(tree: tree_sitter.Tree, site: LoopSite) -> tree_sitter.Node | None:
    n: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(site.span.start_byte, site.span.end_byte)
    while n is not None and not (n.start_byte == site.span.start_byte and n.end_byte == site.span.end_byte
                                 and n.type in LOOP_TYPES):
        n = n.parent
    return n


def complex_spelling(d: Decl) -> str:
    """`float complex` when the declaration's text spells a complex type that its parsed base type
    (`float`) lost, else ""."""
    # (every spelling COMPLEX_WORD finds holds "omplex": a plain substring test skips the regex for most)
    if not d.text or "omplex" not in d.text or not COMPLEX_WORD.search(d.text) or COMPLEX_WORD.search(d.type):
        return ""
    m = re.match(r"(.*?)[\s*&(]*\b" + re.escape(d.name) + r"\b", d.text, re.DOTALL)
    head = m.group(1) if m else ""
    if not COMPLEX_WORD.search(head):
        return ""
    words = [w for w in re.findall(r"[A-Za-z_]\w*", head) if w not in TYPE_NOISE and w not in (
        "restrict", "__restrict", "__restrict__")]
    return " ".join(words)
