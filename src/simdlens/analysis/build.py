"""From a tree-sitter loop to the loop IR, with C's typing rules.

`build_loop(site, tree, source, ctx)` normalises the loop header to `for (iv = lower; iv cmp upper;
iv += step)` with a trip-count expression, and turns the body into IR statements whose expressions
carry C's types after the usual conversions (integer promotions, usual arithmetic conversions,
conversion on assignment: every conversion is an explicit `Cast`, `implicit=True` when C inserts it).
Scalars written in the body are classified on the way (reduction, min/max, argmin/argmax, linear
induction, carried value, pack counter, private temporary); anything the IR cannot express faithfully
becomes a `Reason` instead of a guess. The function never raises on strange input.

Forms understood in the header: `<`, `<=`, `!=`, `>`, `>=` (also with the counter on the right),
`i++`, `++i`, `i--`, `i += c`, `i -= c`, `i = i + c`, counters declared outside the loop, bounds that
are expressions or macros, `for (...; i < n && cond; ...)` (a search: `cond` becomes an early exit),
`while (i < n) { ...; i++; }`, and pointer-walking loops (`while (n--) *d++ = *s++ * k;`), whose
iterations are counted by a synthetic counter `simdlens_k`. Loops that are SIMD code already (written
with intrinsics, or part of a rewrite simdlens applied: see `rewritten`) are refused before anything else.

Array storage: `Access.root` names the storage dependence and alias tests compare: the variable
("a", "img"), or the member path for struct members ("p->x", "s.v"), or the container for C++
`std::vector` / `std::array` ("v"); `Access.base` is C text for the (loop-invariant) pointer indexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import tree_sitter

from simdlens.analysis import mathcalls
from simdlens.analysis.context import annotate_reasons, live_branch, skipping_directive
from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    INT32,
    INT64,
    IV,
    UINT32,
    UINT64,
    Access,
    ArgReduce,
    Array,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    CType,
    Exit,
    Expr,
    If,
    LastValue,
    Let,
    Load,
    LoopIR,
    Moved,
    Pack,
    Reduce,
    ReduceOp,
    Scalar,
    ScalarRole,
    Select,
    Step,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.loops import found_loop
from simdlens.analysis.positions import node_span
from simdlens.analysis.rewritten import Rewrite, rewrite_containing, rewrites, uses_intrinsics
from simdlens.core import LoopKind, LoopRole, LoopSite, Reason, Span

WALK_IV = "simdlens_k"  # the synthetic counter of pointer-walking loops

# --------------------------------------------------------------------------------------------------
# C types
# --------------------------------------------------------------------------------------------------

_RANK = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 3, "uint32": 3, "int64": 4, "uint64": 4}

_BUILTIN = {
    "char": "int8", "signed char": "int8", "unsigned char": "uint8", "short": "int16", "short int": "int16",
    "signed short": "int16", "signed short int": "int16", "unsigned short": "uint16",
    "unsigned short int": "uint16", "int": "int32", "signed": "int32", "signed int": "int32",
    "unsigned": "uint32", "unsigned int": "uint32", "long": "int64", "long int": "int64", "signed long": "int64",
    "long long": "int64", "long long int": "int64", "signed long long": "int64", "unsigned long": "uint64",
    "unsigned long int": "uint64", "unsigned long long": "uint64", "unsigned long long int": "uint64",
    "float": "float", "double": "double", "_Bool": "uint8", "bool": "uint8",
    "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16", "int32_t": "int32",
    "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64", "size_t": "uint64", "ssize_t": "int64",
    "ptrdiff_t": "int64", "intptr_t": "int64", "uintptr_t": "uint64",
}


_BUILTIN_CTYPES: dict[str, CType | None] = {}


class _CtxCache:
    """Answers that depend only on the file context (types of spellings, constant expressions),
    remembered for the file's loops: the same few spellings and bounds come back in every loop."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx  # keeps id(ctx) valid while cached
        self.ctypes: dict[str, CType | None] = {}
        self.ints: dict[str, int | None] = {}


_CTX_CACHES: dict[int, _CtxCache] = {}


def _ctx_cache(ctx: Any) -> _CtxCache:
    c = _CTX_CACHES.get(id(ctx))
    if c is None or c.ctx is not ctx:
        if len(_CTX_CACHES) > 8:
            _CTX_CACHES.clear()
        c = _CTX_CACHES[id(ctx)] = _CtxCache(ctx)
    return c


def ctype_of(spelling: str, ctx: Any) -> CType | None:
    """The canonical scalar type of a spelling ("unsigned char", "pixel_t"), or None."""
    t = _BUILTIN_CTYPES.get(spelling)
    if t is not None:
        return t
    cache = _ctx_cache(ctx).ctypes
    if spelling in cache:
        return cache[spelling]
    t = _ctype_of(spelling, ctx)
    if t is not None and t.name == _BUILTIN.get(_plain_spelling(spelling)):
        if len(_BUILTIN_CTYPES) > 4096:
            _BUILTIN_CTYPES.clear()
        _BUILTIN_CTYPES[spelling] = t  # a builtin spelling means the same in every file
    else:
        cache[spelling] = t
    return t


def _plain_spelling(spelling: str) -> str:
    return " ".join(w for w in spelling.replace("std::", "").split() if w not in ("const", "volatile", "static",
                                                                                  "register", "struct"))


_COMPLEX_WORD = re.compile(r"\b(?:_Complex|__complex__|complex)\b")
_STD_COMPLEX = re.compile(r"\b(?:std\s*::\s*)?complex\s*<\s*([^<>]+?)\s*>")
_TYPE_NOISE = frozenset({"const", "volatile", "static", "register", "typedef", "extern", "inline"})


def complex_type(spelling: str, ctx: Any, depth: int = 0) -> tuple[bool, CType | None]:
    """(is it a complex type, its CType with `is_complex`) for `float complex`, `_Complex double`,
    `std::complex<float>` and typedefs / macros naming one; (True, None) for a complex type of other
    parts (long double, integers)."""
    m = _STD_COMPLEX.search(spelling)
    words = [w for w in re.findall(r"[A-Za-z_]\w*", spelling) if w not in _TYPE_NOISE]
    if "struct" in words or "union" in words or "class" in words:
        return False, None
    if m is not None:
        parts = m.group(1)
    elif _COMPLEX_WORD.search(spelling):
        parts = _COMPLEX_WORD.sub(" ", spelling)
    else:
        if len(words) != 1 or depth > 8 or ctx is None:
            return False, None
        typedefs = getattr(ctx, "typedefs", {})
        td = typedefs.get(words[0])
        if td is None:  # `typedef double _Complex z_t;` can be filed under the wrong name by the fallback reader
            td = next((x for x in typedefs.values() if _COMPLEX_WORD.search(str(x.text))
                       and re.search(r"\b" + re.escape(words[0]) + r"\s*;\s*$", str(x.text))), None)
        if td is not None:  # the typedef's own text: `typedef float complex sample32f_t;`
            inner = re.sub(r"^\s*typedef\b|\b" + re.escape(words[0]) + r"\b|;\s*$", " ", str(td.text))
            inner = re.sub(r"^\s*using\s*=", " ", inner)
            found, t = complex_type(inner, ctx, depth + 1)
        else:
            body = getattr(ctx, "macros", {}).get(words[0])
            if body is None:
                return False, None
            found, t = complex_type(str(body), ctx, depth + 1)
        return found, (CType(t.name, spelling.strip(), True) if t is not None else None)
    part = _ctype_of(" ".join(parts.split()), ctx) if parts.strip() else None
    if part is None or not part.is_float or part.is_complex:
        return True, None
    return True, CType(part.name, " ".join(spelling.split()), True)


def _ctype_of(spelling: str, ctx: Any) -> CType | None:
    is_complex, cx = complex_type(spelling, ctx)
    if is_complex:
        return cx
    s = " ".join(w for w in spelling.replace("std::", "").split() if w not in ("const", "volatile", "static",
                                                                                "register", "struct"))
    name = _BUILTIN.get(s)
    if name is not None:
        return CType(name, spelling.strip())
    resolve = getattr(ctx, "resolve_type", None)
    if resolve is not None:
        try:
            t = resolve(spelling)
        except Exception:  # a colleague's resolver must never take the analysis down
            t = None
        if t is not None:
            return t if t.spelling else CType(t.name, spelling.strip())
    # `#define REAL double`: an object-like macro naming a type (until the clang pass answers it)
    words = [w for w in spelling.split() if w not in ("const", "volatile", "static", "register")]
    body = getattr(ctx, "macros", {}).get(words[0]) if len(words) == 1 else None
    if body is not None and re.fullmatch(r"[A-Za-z_][\w\s]*", str(body).strip()) and str(body).strip() != words[0]:
        t = _ctype_of(str(body).strip(), ctx)
        if t is not None:
            return CType(t.name, spelling.strip(), t.is_complex)
    return None


def promote(t: CType) -> CType:
    """C's integer promotions: anything narrower than int becomes int."""
    if t.is_float or _RANK[t.name] >= 3:
        return t
    return INT32


def usual(a: CType, b: CType) -> CType:
    """C's usual arithmetic conversions (LP64)."""
    if a.name == "double" or b.name == "double":
        return DOUBLE if a.name != "double" else a
    if a.name == "float" or b.name == "float":
        return FLOAT if a.name != "float" else a
    a, b = promote(a), promote(b)
    if a.name == b.name:
        return a
    if a.signed == b.signed:
        return a if _RANK[a.name] > _RANK[b.name] else b
    u, s = (a, b) if not a.signed else (b, a)
    if _RANK[u.name] >= _RANK[s.name]:
        return u
    return s  # a wider signed type represents every value of the unsigned one (LP64)


_BOOL_SPELLINGS = frozenset({"bool", "_Bool", "const bool", "const _Bool"})


def convert(e: Expr, t: CType) -> Expr:
    """`e` converted to `t` as C would do implicitly (no node when the machine type is the same).

    Conversion to `_Bool` / `bool` is `e != 0` (2 becomes 1), not a truncation, so it is spelled out."""
    et = expr_type(e)
    if t.spelling in _BOOL_SPELLINGS and et.spelling not in _BOOL_SPELLINGS:
        if not (isinstance(e, Binary) and e.op in ("<", "<=", ">", ">=", "==", "!=", "&&", "||")) and not (
                isinstance(e, Unary) and e.op == "!"):
            e = Binary("!=", e, Cast(Const(0, INT32, "0"), et, implicit=True) if et.name != "int32"
                       else Const(0, INT32, "0"), INT32)
        return Cast(e, t, implicit=True)
    if et.name == t.name:
        return e
    return Cast(e, t, implicit=True)


# --------------------------------------------------------------------------------------------------
# Declarations visible to a loop
# --------------------------------------------------------------------------------------------------


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

    @property
    def container(self) -> str:
        k = _CONTAINER_KINDS.get(self.type)
        return k if k is not None else _container_kind(self.type)


_CONTAINER = re.compile(r"^(?:std::)?(vector|array|valarray|span)\s*<")
_DECIMAL = re.compile(r"\d+[uUlL]*")
_CONSTANT_CHARS = re.compile(r"[\w\s()+\-*/%<>]+")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_CONTAINER_KINDS: dict[str, str] = {}


def _container_kind(type_text: str) -> str:
    k = _CONTAINER_KINDS.get(type_text)
    if k is None:
        m = _CONTAINER.match(type_text)
        k = m.group(1) if m else ""
        if len(_CONTAINER_KINDS) > 4096:
            _CONTAINER_KINDS.clear()
        _CONTAINER_KINDS[type_text] = k
    return k


def _text(node: tree_sitter.Node | None) -> str:
    t = node.text if node is not None else None
    return t.decode("utf-8", "replace") if t is not None else ""


def _squash(text: str) -> str:
    return "".join(text.split())


class _Kinds:
    """Node kind ids of one grammar, for walks that compare ints rather than decode type names."""

    def __init__(self, lang: tree_sitter.Language) -> None:
        def kid(name: str, named: bool = True) -> int:
            return lang.id_for_node_kind(name, named) or -1

        self.identifier = kid("identifier")
        self.assignment = kid("assignment_expression")
        self.update = kid("update_expression")
        self.if_statement = kid("if_statement")
        self.conditional = kid("conditional_expression")
        self.binary = kid("binary_expression")
        self.assign_plain = kid("=", False)
        self.logical = frozenset(kid(o, False) for o in ("&&", "||"))
        self.control = {kid(k): v for k, v in _CONTROL.items() if kid(k) != -1}
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


_KINDS: dict[int, _Kinds] = {}


def _kinds(lang: tree_sitter.Language) -> _Kinds:
    k = _KINDS.get(id(lang))
    if k is None:
        k = _KINDS[id(lang)] = _Kinds(lang)
    return k


def _decls_of(node: tree_sitter.Node, kinds: _Kinds, *, is_param: bool = False, is_global: bool = False,
              scope: tuple[int, int] = (0, 1 << 62)) -> list[Decl]:
    """The variables a `declaration` / `parameter_declaration` / `field_declaration` declares."""
    text = _text(node).strip()
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


def _param_decls(params: tree_sitter.Node, kinds: _Kinds, scope: tuple[int, int]) -> list[Decl]:
    """The parameters a `parameter_list` declares. Files repeat whole parameter lists (`(float *restrict
    dst, const float *restrict src, int n)`), so the list's text is parsed once, not its nodes each time."""
    key = (id(kinds), _text(params))
    entries = _PARAM_SHAPES.get(key)
    if entries is None:
        entries = []
        base = params.start_byte
        for p in params.named_children:
            if p.type in ("parameter_declaration", "optional_parameter_declaration"):
                text = _text(p).strip()
                for d in _decls_of(p, kinds, is_param=True, scope=scope):
                    entries.append(((d.name, d.type, d.pointer, d.extents, d.const, d.volatile, d.restrict, d.atomic,
                                     d.static, d.reference, d.func_ptr), text, p.start_byte - base))
        if len(_PARAM_SHAPES) > 4096:
            _PARAM_SHAPES.clear()
        _PARAM_SHAPES[key] = entries
    start = params.start_byte
    return [Decl(name, base_type, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr,
                 True, False, start + offset, scope, text)
            for (name, base_type, pointer, extents, const, volatile, restrict, atomic, static, reference, func_ptr),
            text, offset in entries]


def _decl_shapes(node: tree_sitter.Node, kinds: _Kinds, text: str) -> list[_DeclShape]:
    """`Decl` fields name .. func_ptr of each variable a declaration declares."""
    k = kinds
    type_node = node.child_by_field_name("type")
    base = " ".join(_text(type_node).split())
    const = volatile = atomic = static = False
    if "const" in text or "volatile" in text or "_Atomic" in text or "static" in text:  # most have none
        for c in node.children:
            ck = c.kind_id
            if ck == k.type_qualifier:
                q = _text(c)
                const |= q in ("const", "constexpr")
                volatile |= q == "volatile"
                atomic |= q == "_Atomic"
            elif ck == k.storage_class:
                static |= _text(c) == "static"
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
                    if c.kind_id in k.pointer_qualifiers and "restrict" in _text(c):
                        restrict = True
                cur = cur.child_by_field_name("declarator")
            elif t == k.reference_declarator:
                reference = True
                cur = cur.named_child(0)
            elif t == k.array_declarator:
                extents.insert(0, _text(cur.child_by_field_name("size")))
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
                name = _text(cur)
                break
            else:
                break
        if name in ("complex", "_Complex", "__complex__"):
            # `double complex s = 0;` without <complex.h> seen: the parser takes `complex` for the name
            # and `s` for an error; the variable is `s` of type `double complex`
            err = next((c for c in (*d.children, *node.children) if c.type == "ERROR"), None)
            real = next((c for c in err.children if c.type == "identifier"), None) if err is not None else None
            if real is not None:
                base, name = f"{base} {name}", _text(real)
        if name:
            out.append((name, base, pointer, tuple(extents), const, volatile, restrict, atomic, static, reference,
                        func_ptr))
    return out


class _FunctionScope:
    """The declarations of one function (parameters and locals), scanned once and cached."""

    def __init__(self, fn: tree_sitter.Node | None, language: tree_sitter.Language) -> None:
        self.by_name: dict[str, list[Decl]] = {}
        self.node = fn
        self.kinds = _kinds(language)
        self.outer: _FunctionScope | None = None
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
        for c in cursor.captures(self._body).get("d", []):
            if not lo <= c.start_byte < upto:
                continue  # an enclosing declaration parsed already, or one starting after `upto`
            parent = c.parent
            scope = (parent.start_byte, parent.end_byte) if parent is not None else (0, 1 << 62)
            for d in _decls_of(c, self.kinds, scope=scope):
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
        q = tree_sitter.Query(lang, "(declaration) @d")
        _DECL_QUERIES[id(lang)] = q
    return q


class _FileScan:
    def __init__(self, tree: tree_sitter.Tree) -> None:
        self.tree = tree  # keeps id(tree) valid while cached
        self.functions: dict[int, _FunctionScope] = {}
        self.rewrites: tuple[Rewrite, ...] | None = None  # simdlens rewrites applied in the file
        self._size_members: dict[str, str] | None = None

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
            return _text(nodes[0]) if nodes else ""

        if (one("fn") == "size" and one("size") == "size" and one("q") == "const"
                and _squash(one("params")) == "()" and _squash(one("args")) == "()"):
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


def _file_scan(tree: tree_sitter.Tree) -> _FileScan:
    scan = _SCANS.get(id(tree))
    if scan is None or scan.tree is not tree:
        if len(_SCANS) > 8:
            _SCANS.clear()
        scan = _FileScan(tree)
        _SCANS[id(tree)] = scan
    return scan


def enclosing_function(node: tree_sitter.Node) -> tree_sitter.Node | None:
    p = node.parent
    while p is not None:
        if p.type in ("function_definition", "lambda_expression"):
            return p
        p = p.parent
    return None


def function_scope(tree: tree_sitter.Tree, fn: tree_sitter.Node | None) -> _FunctionScope:
    scan = _file_scan(tree)
    key = fn.start_byte if fn is not None else -1
    sc = scan.functions.get(key)
    if sc is None:
        sc = _FunctionScope(fn, tree.language)
        if fn is not None and fn.type == "lambda_expression":
            sc.outer = function_scope(tree, enclosing_function(fn))
        scan.functions[key] = sc
    return sc


def loop_node(tree: tree_sitter.Tree, site: LoopSite) -> tree_sitter.Node | None:
    n: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(site.span.start_byte, site.span.end_byte)
    while n is not None and not (n.start_byte == site.span.start_byte and n.end_byte == site.span.end_byte
                                 and n.type in _LOOP_TYPES):
        n = n.parent
    return n


_LOOP_TYPES = frozenset({"for_statement", "while_statement", "do_statement", "for_range_loop"})

# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------


class _Unsupported(Exception):
    def __init__(self, code: str, message: str, node: tree_sitter.Node | None = None) -> None:
        super().__init__(message)
        self.reason = Reason(code, message, node_span(node) if node is not None else None)


_NO_SYMBOLS: dict[str, int] = {}  # shared by every `_Aff` without symbols: never written to
# Roles of scalars the loop writes (a set: reading enum members costs more than a hash lookup)
_WRITTEN_ROLES = frozenset({ScalarRole.REDUCTION, ScalarRole.INDUCTION, ScalarRole.CARRIED, ScalarRole.ARG_VALUE,
                            ScalarRole.ARG_INDEX, ScalarRole.COUNTER, ScalarRole.LOCAL, ScalarRole.LAST})
_USE_PATTERNS: dict[str, re.Pattern[bytes]] = {}  # name -> a mention of it (`_used_after`)


class _Use:
    """One mention of a name in the loop body: where, whether it writes it, whether under a condition.
    A plain class, not a dataclass: compiled, it is built ~5x faster (0.02 vs 0.12 µs), and there are
    many (~8,000 per 1,000 loops)."""

    __slots__ = ("cond", "pos", "write")

    def __init__(self, pos: int, write: bool, cond: bool) -> None:
        self.pos = pos
        self.write = write
        self.cond = cond


class _Aff:
    """A subscript as `coeff*iv + offset + sum(sym[s] * s)` over loop-invariant symbols `s`. Never
    mutated once built (its `sym` may be shared)."""

    __slots__ = ("coeff", "offset", "sym")

    def __init__(self, coeff: int, offset: int, sym: dict[str, int] | None = None) -> None:
        self.coeff = coeff
        self.offset = offset
        self.sym: dict[str, int] = sym if sym is not None else _NO_SYMBOLS

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Aff) and (self.coeff, self.offset, self.sym) == (other.coeff, other.offset,
                                                                                   other.sym)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"_Aff(coeff={self.coeff!r}, offset={self.offset!r}, sym={self.sym!r})"

    def add(self, o: _Aff, sign: int = 1) -> _Aff:
        if not self.sym and not o.sym:
            return _Aff(self.coeff + sign * o.coeff, self.offset + sign * o.offset)
        sym = dict(self.sym)
        for k, v in o.sym.items():
            sym[k] = sym.get(k, 0) + sign * v
        return _Aff(self.coeff + sign * o.coeff, self.offset + sign * o.offset, {k: v for k, v in sym.items() if v})

    def scale(self, k: int) -> _Aff:
        if not self.sym:
            return _Aff(self.coeff * k, self.offset * k)
        return _Aff(self.coeff * k, self.offset * k, {s: v * k for s, v in self.sym.items() if v * k})

    @property
    def symbolic(self) -> str:
        if not self.sym:
            return ""
        parts = []
        for s in sorted(self.sym):
            v = self.sym[s]
            term = s if v == 1 else f"-{s}" if v == -1 else f"{v}*{s}"
            parts.append(term)
        return "+".join(parts).replace("+-", "-")


_ARITH = {"+", "-", "*", "/", "%", "&", "|", "^"}
_CMP = {"<", "<=", ">", ">=", "==", "!="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_REDUCE_OPS = {"+": ReduceOp.ADD, "-": ReduceOp.SUB, "*": ReduceOp.MUL, "&": ReduceOp.AND, "|": ReduceOp.OR,
               "^": ReduceOp.XOR}
_CONTROL = {"goto_statement": ("goto", "uses goto"), "switch_statement": ("switch", "contains a switch"),
            "gnu_asm_expression": ("asm", "contains inline assembly"), "asm_statement": ("asm", "contains inline assembly"),
            "labeled_statement": ("goto", "contains a label (goto target)"),
            "try_statement": ("exception", "contains try/catch"), "throw_statement": ("exception", "throws")}


def build_loop(site: LoopSite, tree: tree_sitter.Tree, source: bytes, ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]]:
    """The loop at `site` as IR, plus the reasons anything could not be expressed. Never raises."""
    try:
        if getattr(ctx, "unread_includes", None) is not None:  # a FileContext: it knows the build's macros
            skipped = skipping_directive(tree, source, ctx, site.span.start_byte)
            if skipped is not None:  # only when the caller's find_loops did not already leave it out
                return None, (Reason("inactive", f"in code the preprocessor skips with this build's macros: {skipped}",
                                     site.header),)
        scoped = getattr(ctx, "at", None)
        if scoped is not None:  # with the typedefs its function declared before it (`typedef double dd;`)
            ctx = scoped(site.span.start_byte)
        found = found_loop(tree, site.span.start_byte, site.span.end_byte)
        node = found[0] if found is not None else loop_node(tree, site)
        if node is None:
            return None, (Reason("parse", "the loop could not be found in the syntax tree", site.header),)
        if node.has_error:
            gnu = _GNU_COMPLEX_PART.search(source, node.start_byte, node.end_byte)
            if gnu is not None:  # tree-sitter does not know these unary operators
                return None, (_complex_part_reason(gnu.group().decode(), site.header),)
            expanded = _expanded_build(site, tree, source, ctx)  # `for (…) BODY(i)`: read clang's expansion
            if expanded is not None:
                return expanded
            return None, annotate_reasons((Reason("syntax_error", "the loop has a syntax error", site.header),), ctx)
        done = _already_vectorized(site, node, tree, source)
        if done is not None:
            return None, (done,)
        if site.role != LoopRole.INNERMOST:
            inner = _first_inner_loop(node)
            line = inner.start_point[0] + 1 if inner is not None else 0
            if site.role == LoopRole.OUTER_VECTORIZABLE and inner is not None:
                # the inner loop runs a few constant times: unrolled, the outer loop is an ordinary candidate
                b = _Builder(site, node, found[1] if found is not None else enclosing_function(node), tree, source,
                             ctx)
                b.unroll = inner
                ir, reasons = b.run()
                if ir is not None:
                    return ir, (Reason("outer_vectorizable", f"the inner loop at line {line} runs a few constant "
                                       "times: analysed unrolled, for vectorizing this outer loop", site.header),
                                *reasons)
                return None, (Reason("outer_loop", f"contains the short inner loop at line {line}: a candidate for "
                                     "outer-loop vectorization, but not analysable", site.header), *reasons)
            return None, (Reason("outer_loop", f"contains the loop at line {line}: the inner loop is the candidate",
                                 site.header),)
        fn = found[1] if found is not None else enclosing_function(node)
        b = _Builder(site, node, fn, tree, source, ctx)
        ir, reasons = b.run()
        for r in reasons:  # `__m256 *v` used without any intrinsic call: still SIMD code
            if r.code == "unknown_type" and (simd := uses_intrinsics(r.message.encode())):
                return None, (Reason("intrinsics", f"already written with SIMD types ({simd})", site.header),)
        if ir is None and any(r.code in ("macro", "unknown_identifier") for r in reasons):
            expanded = _expanded_build(site, tree, source, ctx)  # a statement macro, a macro-made declaration
            if expanded is not None and expanded[0] is not None:
                return expanded
        return ir, annotate_reasons(reasons, ctx)
    except RecursionError:
        return None, (Reason("too_complex", "the loop is too deeply nested to analyse", site.header),)


def _expanded_build(site: LoopSite, tree: tree_sitter.Tree, source: bytes,
                    ctx: Any) -> tuple[LoopIR | None, tuple[Reason, ...]] | None:
    """The loop built from its text with clang's expansion of the function-like macros it uses (a body
    that is `BODY(i)`, a statement macro); None without facts, without such macros, or when the
    expanded text does not parse either. Positions after an expansion are those of the expanded text."""
    from simdlens.analysis.clang_facts import expanded_text

    lo, hi = site.span.start_byte, site.span.end_byte
    expanded = expanded_text(getattr(ctx, "facts", None), source, lo, hi)
    if expanded is None:
        return None
    text, what = expanded
    delta = len(text) - len(source)
    from simdlens.analysis.parse import parse

    new_tree = parse(text, site.language)
    wider = replace(site, span=replace(site.span, end_byte=hi + delta))
    node = new_tree.root_node.descendant_for_byte_range(lo, lo + 1)
    while node is not None and not (node.type in _LOOP_TYPES and node.start_byte == lo):
        node = node.parent
    if node is None or node.end_byte != hi + delta or node.has_error:
        return None
    b = _Builder(wider, node, enclosing_function(node), new_tree, text, ctx)
    ir, reasons = b.run()
    note = Reason("macro_expanded", f"read through clang's expansion of {what}", site.header)
    return ir, annotate_reasons((note, *reasons), ctx)


def _already_vectorized(site: LoopSite, node: tree_sitter.Node, tree: tree_sitter.Tree, source: bytes) -> Reason | None:
    """A loop of a rewrite simdlens applied (vector loop, tail, or the original kept under #else), or
    a loop written with SIMD intrinsics: proposing it again would vectorize vectorized code."""
    regions = _file_scan(tree).rewrites_in(source)
    if regions:
        rw = rewrite_containing(regions, site.span.start_byte, site.span.end_byte)
        if rw is not None:
            return Reason("simdlens_rewrite", f"part of a simdlens rewrite ({rw.description})", site.header)
    if site.role == LoopRole.OUTER:
        return None  # its inner loop says it
    found = uses_intrinsics(source[node.start_byte:node.end_byte])
    if found:
        return Reason("intrinsics", f"already written with SIMD intrinsics ({found})", site.header)
    return None


def _first_inner_loop(node: tree_sitter.Node) -> tree_sitter.Node | None:
    stack = list(reversed(node.named_children))
    while stack:
        n = stack.pop()
        if n.type in _LOOP_TYPES:
            return n
        stack.extend(reversed(n.named_children))
    return None


def _wrapper_kind_ids() -> frozenset[int]:
    """Kind ids that are `parenthesized_expression` / `condition_clause` in the C or the C++ grammar (a
    cheap pre-test: most nodes `_strip` sees are neither, and reading an int costs less than a name)."""
    from simdlens.analysis.parse import grammar

    ids: set[int] = set()
    for g in (grammar("c"), grammar("cpp")):
        ids.update(i for i in range(g.node_kind_count)
                   if g.node_kind_for_id(i) in ("parenthesized_expression", "condition_clause"))
    return frozenset(ids)


_WRAPPER_KIND_IDS = _wrapper_kind_ids()


def _strip(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.kind_id in _WRAPPER_KIND_IDS and node.type in ("parenthesized_expression",
                                                                                    "condition_clause"):
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            return node
        node = inner[0]
    return node


def _field(node: tree_sitter.Node, name: str) -> tree_sitter.Node:
    c = node.child_by_field_name(name)
    if c is None:
        raise _Unsupported("unsupported", f"cannot read this {node.type.replace('_', ' ')}", node)
    return c


def _op(node: tree_sitter.Node) -> str:
    o = node.child_by_field_name("operator")
    return o.type if o is not None else ""  # an operator token's node type is its text


def _stmts_of(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    if node is None:
        return []
    if node.type == "compound_statement":
        return [c for c in node.named_children if c.type != "comment"]
    return [node]


def _index_node(sub: tree_sitter.Node) -> tree_sitter.Node:
    idx = sub.child_by_field_name("index")
    if idx is None:
        lst = sub.child_by_field_name("indices")
        if lst is not None:
            kids = [c for c in lst.named_children if c.type != "comment"]
            if len(kids) == 1:
                return kids[0]
        raise _Unsupported("unsupported", "unsupported subscript", sub)
    return idx


class _Builder:
    def __init__(self, site: LoopSite, node: tree_sitter.Node, fn: tree_sitter.Node | None, tree: tree_sitter.Tree,
                 source: bytes, ctx: Any) -> None:
        self.site = site
        self.node = node
        self.fn = fn
        self.tree = tree
        self.source = source
        self.ctx = ctx
        self.cpp = site.language == "cpp"
        self.scope = function_scope(tree, fn)
        self.reasons: list[Reason] = []
        self.iv = ""
        self.iv_type = INT32
        self.locals: dict[str, CType] = {}
        self.scopes: list[set[str]] = []  # names declared in each enclosing block of the body, innermost last
        self.local_aff: dict[str, _Aff] = {}
        self.arrays: dict[str, Array] = {}
        self.scalars: dict[str, Scalar] = {}
        self.uses: dict[str, list[_Use]] = {}
        self.written_names: set[str] = set()  # identifiers the body assigns or steps
        self.walkers: dict[str, int] = {}  # pointer -> elements advanced per iteration
        self.walked: dict[str, int] = {}  # pointer -> elements advanced so far in this iteration
        self.written_outer: set[str] = set()
        self.exclude: tree_sitter.Node | None = None  # the while loop's own increment statement
        self.body_node: tree_sitter.Node | None = None
        self.pointer_walk = False
        self._decl_cache: dict[str, Decl | None] = {}
        self._ints: dict[str, int | None] = {}  # _int_text answers
        self.range_ref: tuple[str, Access] | None = None  # `for (T &x : v)`: x is v[k]
        self.macro_args: list[dict[str, Expr]] = []  # arguments of the function-like macros being expanded
        self.macro_args_seen: set[str] = set()  # object-like macros being read from clang's expansion
        self.unroll: tree_sitter.Node | None = None  # a short inner loop analysed unrolled
        self.count_var: str | None = None  # the count of a pointer walk (`while (n--)`)
        self.count_move = (0, 0)  # how the loop moves count_var: per iteration, once more at the end
        self._reduce_ops: dict[str, str] = {}  # reduction variable -> its operator
        self.header_reads: set[str] = set()
        self.walk_alias: dict[str, str] = {}  # `for (T *p = a; ...)`: p walks the array a
        self.setup: list[str] = []  # declarations before the loop its condition needs (`const float *end = p + n;`)
        self._outermost_start: int | None = None  # start of the outermost enclosing loop (-1: none), once known
        self._invariant_vars: dict[str, Var] = {}  # `_ident` answers for variables declared outside the body
        self._bases: dict[str, tuple[str, str, CType, Decl | None]] = {}  # `_base` answers for named arrays

    # ---- entry ---------------------------------------------------------------------------------

    def run(self) -> tuple[LoopIR | None, tuple[Reason, ...]]:
        try:
            header = self._header()
        except _Unsupported as e:
            return None, (e.reason,)
        body = self.body_node
        if body is None:
            return None, (Reason("parse", "the loop has no body", self.site.header),)
        # read by the condition before each iteration's body (a bound the body changes has its own reason)
        self.header_reads = set(self.scalars) - set(_IDENTIFIER.findall(header["upper"]))
        if _PARENTHESISED_NAME.search(self.source, body.start_byte, body.end_byte):
            body = self._without_misread_casts(body)
        self._scan_uses(body)
        pre: list[Stmt] = header.pop("exits")
        stmts = pre + self._block(_stmts_of(body), cond=False)
        bound_names = set(_IDENTIFIER.findall(header["upper"])) - {self.iv}
        if self.pointer_walk and self.count_var:  # stepped by the excluded statement or the header only
            bound_names.discard(self.count_var)
        for name in sorted(bound_names):
            if name in self.written_names:
                self.reasons.append(Reason("not_counted", f"the body changes {name}, which the loop bound uses: the "
                                           "trip count is not known on entry", self.site.header))
        iv_live = self._used_after(self.iv) if not header["declared"] else False
        for name, sc in list(self.scalars.items()):
            if sc.role in _WRITTEN_ROLES and (name not in self.locals or sc.decl):  # body-declared: never live
                live = self._used_after(name)
                if live != sc.live_out:
                    self.scalars[name] = Scalar(sc.name, sc.type, sc.role, live, sc.decl)
        unrolled = 0
        if self.pointer_walk and self.walkers and not any(isinstance(x, IV) for st in stmts for x in _stmt_ivs(st)):
            again = reroll(stmts, self.walkers)
            if again is not None and self.count_move[1] == 0:
                stmts, unrolled = again
                header["trip"] = header["upper"] = f"(({unrolled}) * ({header['trip']}))"
                self.walkers = {name: 1 for name in self.walkers}
        moved: list[Moved] = []
        if self.walkers or self.count_var:
            for name in sorted(self.walkers):
                if name not in self.walk_alias and self._used_after(name):  # a header's pointer dies with it
                    moved.append(Moved(name, self.walkers[name], 0, pointer=True))
            if self.count_var and self._used_after(self.count_var):
                moved.append(Moved(self.count_var, self.count_move[0], self.count_move[1], every=max(unrolled, 1)))
        if self.pointer_walk:
            self.reasons.append(Reason("pointer_walk", "walks pointers (" + ", ".join(sorted(self.walkers))
                                       + "): counted with a synthetic counter"
                                       + (f"; the body is {unrolled} hand-unrolled copies of one iteration" if unrolled
                                          else ""), self.site.header))
        ir = LoopIR(
            iv=self.iv, iv_type=self.iv_type, lower=header["lower"], upper=header["upper"], cmp=header["cmp"],
            step=header["step"], trip_count=header["trip"], body=tuple(stmts),
            arrays=tuple(sorted(self.arrays.values(), key=lambda a: a.root)),
            scalars=tuple(sorted(self.scalars.values(), key=lambda s: s.name)),
            iv_declared_in_loop=header["declared"], iv_live_out=iv_live,
            runs_at_least_once=header.get("once", False), moved=tuple(moved), setup=tuple(self.setup),
        )
        return ir, tuple(self.reasons)

    def _without_misread_casts(self, body: tree_sitter.Node) -> tree_sitter.Node:
        """The body re-read where the parser took a parenthesised value for a cast (`(k) + a[i] * 2`):
        the file parsed again with those parentheses blanked, which moves no byte."""
        def is_value(name: str) -> bool:
            if ctype_of(name, self.ctx) is not None:
                return False
            ctx = self.ctx
            return (name == self.iv or self._iv_decl(name) is not None
                    or (ctx is not None and (name in getattr(ctx, "macros", {})
                                             or name in getattr(ctx, "enum_constants", {}))))

        fixed = _unparenthesised_values(self.source, body, is_value)
        if fixed is None:
            return body
        from simdlens.analysis.parse import parse

        root = parse(fixed, self.site.language).root_node

        def same(old: tree_sitter.Node) -> tree_sitter.Node | None:
            new = root.descendant_for_byte_range(old.start_byte, old.end_byte)
            while new is not None and (new.start_byte, new.end_byte, new.type) != (old.start_byte, old.end_byte,
                                                                                     old.type):
                new = new.parent if new.parent is not None and new.parent.end_byte <= old.end_byte else None
            return new

        new_body = same(body)
        new_exclude = same(self.exclude) if self.exclude is not None else None
        if new_body is None or new_body.has_error or (self.exclude is not None and new_exclude is None):
            return body
        self.body_node, self.exclude = new_body, new_exclude
        return new_body

    # ---- header --------------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        node = self.node
        kind = self.site.kind
        if node.type == "for_range_loop":
            return self._range_header(node)
        if kind == LoopKind.FOR:
            return self._for_header(node)
        if kind == LoopKind.WHILE:
            return self._while_header(node)
        return self._do_header(node)

    def _iv_decl(self, name: str) -> Decl | None:
        """The declaration of `name` visible at the loop (function scope first, then globals)."""
        if name in self._decl_cache:
            return self._decl_cache[name]
        d = self.scope.lookup(name, self.node.start_byte, self.node.end_byte) or self._global(name)
        self._decl_cache[name] = d
        return d

    def _global(self, name: str) -> Decl | None:
        g = getattr(self.ctx, "globals", {}).get(name) if self.ctx is not None else None
        if g is None:
            member = self._member(name)
            declared = getattr(self.ctx, "declaration", None)  # clang's: `REAL VEC(x, N)` parameters
            g = declared(name, self.node.start_byte, self.site.function or "") if member is None and \
                declared is not None else None
            if g is None:
                return member
        param = getattr(g, "param", False)
        return Decl(g.name, g.type, g.pointer, tuple(g.extents), g.const, g.volatile, g.restrict, g.atomic, g.static,
                    getattr(g, "reference", False), False, param, not param, 0, (0, 1 << 62), g.text)

    def _member(self, name: str) -> Decl | None:
        """In a C++ method, a field of its class used without `this->`."""
        fn = self.site.function or ""
        if not self.cpp or "::" not in fn:
            return None
        cls = fn.rsplit("::", 1)[0]
        struct_of = getattr(self.ctx, "struct_of", None)
        st = struct_of(cls) if struct_of is not None else None
        f = st.field(name) if st is not None else None
        if f is None:
            return None
        return Decl(f.name, f.type, f.pointer, tuple(f.extents), f.const, f.volatile, f.restrict, f.atomic,
                    text=f.text)

    def _for_header(self, node: tree_sitter.Node) -> dict[str, Any]:
        init = node.child_by_field_name("initializer")
        cond = _strip(node.child_by_field_name("condition"))
        updates = node.children_by_field_name("update")
        self.body_node = node.child_by_field_name("body")
        declared = False
        lower = ""
        iv = ""
        iv_type: CType | None = None
        if init is not None:
            if init.type == "declaration":
                ds = _decls_of(init, _kinds(self.tree.language))
                values = [d.child_by_field_name("value") for d in init.children_by_field_name("declarator")]
                if len(ds) == 1 and values[0] is not None and ds[0].pointer == 1 and not ds[0].extents:
                    return self._pointer_for_header(node, ds[0], values[0])
                if len(ds) != 1 or values[0] is None or ds[0].pointer or ds[0].extents:
                    raise _Unsupported("unsupported_loop", "the loop header declares more than one counter or a "
                                       "pointer", init)
                iv, declared, lower = ds[0].name, True, _text(values[0])
                iv_type = ctype_of(ds[0].type, self.ctx)
                if iv_type is None:
                    raise _Unsupported("unknown_type", f"unknown counter type '{ds[0].type}'", init)
            elif init.type == "assignment_expression" and _op(init) == "=":
                left = _strip(init.child_by_field_name("left"))
                if left is None or left.type != "identifier":
                    raise _Unsupported("unsupported_loop", "the loop header initialises something other than a counter",
                                       init)
                iv, lower = _text(left), _text(init.child_by_field_name("right"))
            else:
                raise _Unsupported("unsupported_loop", "the loop header initialises several variables", init)
        if cond is None:
            raise _Unsupported("not_counted", "the loop has no condition: it runs until a break", node)
        exits: list[Stmt] = []
        conjuncts = self._conjuncts(cond)
        step_info: tuple[str, int] | None = None
        walkers: dict[str, int] = {}
        flat_updates: list[tree_sitter.Node] = []
        for u in updates:
            flat_updates.extend(self._comma_parts(u) if u.type == "comma_expression" else [u])
        counter_cmp = None
        if not iv:
            # no initialiser: the counter is whatever the condition compares and the update steps
            for u in flat_updates:
                name = self._updated_name(u)
                if name and any(self._cmp_on(c, name) for c in conjuncts):
                    iv = name
                    break
        counter_test: tuple[str, str] | None = None
        for c in conjuncts:
            if iv and counter_cmp is None:
                counter_test = self._cmp_on(c, iv)
                if counter_test is not None:
                    counter_cmp = c
        if not iv or counter_cmp is None or counter_test is None:
            raise _Unsupported("not_counted", "the loop condition does not compare a counter with a bound", cond)
        for u in flat_updates:
            name = self._updated_name(u)
            if name == iv:
                if step_info is not None:
                    raise _Unsupported("unsupported_loop", f"{iv} is updated twice in the header", u)
                step_info = (iv, self._step_of(u, iv))
            elif name and self._is_pointer(name):
                walkers[name] = walkers.get(name, 0) + self._step_of(u, name)
            else:
                raise _Unsupported("unsupported_loop", f"the loop header updates '{_text(u)}'", u)
        if step_info is None:
            raise _Unsupported("not_counted", f"the loop header does not step {iv}", node)
        step = step_info[1]
        decl = None if declared else self._iv_decl(iv)
        if iv_type is None:
            if decl is None:
                raise _Unsupported("unknown_type", f"cannot find the declaration of the counter {iv}", node)
            if decl.pointer or decl.extents:
                raise _Unsupported("unsupported_loop", f"the counter {iv} is a pointer", node)
            iv_type = ctype_of(decl.type, self.ctx)
            if iv_type is None:
                raise _Unsupported("unknown_type", f"unknown counter type '{decl.type}'", node)
            if not lower:
                lower = iv
        if iv_type.is_float:
            raise _Unsupported("float_counter", f"the counter {iv} is a floating-point variable", node)
        self.iv, self.iv_type = iv, iv_type
        cmp, upper = counter_test
        self._register_bound(counter_cmp, iv)
        if init is not None and declared:
            for v in init.children_by_field_name("declarator"):
                val = v.child_by_field_name("value")
                if val is not None:
                    self._safe(lambda val=val: self._expr(val))
        elif init is not None:
            self._safe(lambda: self._expr(_field(init, "right")))
        trip = self._trip(lower, upper, cmp, step, iv_type, counter_cmp)
        self._walk_setup(self.body_node)
        for name, w in walkers.items():
            self.walkers[name] = self.walkers.get(name, 0) + w
        if self.walkers and (_squash(lower) != "0" or step != 1):
            # `for (; n >= 8; n -= 8) { ...; p += 8; }`: iterations are not the counter's values
            if len(conjuncts) > 1:
                raise _Unsupported("pointer_walk", "pointers advance in a loop with several conditions that does "
                                   "not count from 0 by 1", node)
            return self._walk_counted_by(iv, iv_type, step, trip, node, skip=None)
        for c in conjuncts:
            if c is counter_cmp:
                continue
            # Conditions after the counter test are only evaluated while the counter is in range.
            e = self._expr(c)
            exits.append(Exit(Unary("!", e, INT32), "break", span=node_span(c)))
        if exits:
            self.written_outer.add(iv)
        return {"lower": lower.strip(), "upper": upper.strip(), "cmp": cmp, "step": step, "trip": trip,
                "declared": declared, "exits": exits}

    def _range_header(self, node: tree_sitter.Node) -> dict[str, Any]:
        """`for (T &x : v)` / `for (T x : v)` over a std::vector, std::array or array: x is v[k]."""
        self.body_node = node.child_by_field_name("body")
        rng = _strip(node.child_by_field_name("right"))
        decl = node.child_by_field_name("declarator")
        if rng is None or decl is None or rng.type not in ("identifier", "field_expression"):
            raise _Unsupported("unsupported_loop", "range-based for over something other than a named container", node)
        reference = decl.type == "reference_declarator"
        name_node = decl.named_child(0) if reference else decl
        if name_node is None or name_node.type != "identifier":
            raise _Unsupported("unsupported_loop", "range-based for with a structured binding", node)
        root, base, elem, d = self._base(rng)
        if d is None or (d.pointer and not d.container):
            raise _Unsupported("unsupported_loop", "range-based for over a pointer", node)
        if d.container in ("vector", "span"):
            upper = f"{_squash(_text(rng))}.size()"
            self.scalars[upper] = Scalar(upper, UINT64, ScalarRole.INVARIANT)
        elif d.container == "array":
            m = re.search(r",\s*([^>]+)>", d.type)
            upper = m.group(1).strip() if m else ""
        elif d.extents and not d.is_param:
            upper = d.extents[0]
        else:
            upper = ""
        if not upper:
            raise _Unsupported("unsupported_loop", f"cannot tell how many elements {_text(rng)} has", node)
        spelled = " ".join(_text(node.child_by_field_name("type")).split())
        var_t = elem if spelled in ("auto", "") else ctype_of(spelled, self.ctx)
        if var_t is None:
            raise _Unsupported("unknown_type", f"unknown type '{spelled}'", node)
        if reference and var_t.name != elem.name:
            raise _Unsupported("type_error", "a reference of another type than the elements", node)
        self.iv, self.iv_type = WALK_IV, UINT64
        self._note_array(root, d, elem)
        acc = Access(root, base, elem, 1, 0, "", None, node_span(rng))
        name = _text(name_node)
        pre: list[Stmt] = []
        if reference:
            self.range_ref = (name, acc)
        else:
            self.locals[name] = var_t
            self.scalars[name] = Scalar(name, var_t, ScalarRole.LOCAL)
            pre.append(Let(name, var_t, convert(Load(acc), var_t), node_span(decl)))
        self.reasons.append(Reason("range_for", f"a range-based for over {_text(rng)}: counted by a synthetic "
                                   "counter", self.site.header))
        return {"lower": "0", "upper": upper, "cmp": "<", "step": 1, "trip": f"(({upper}) > 0 ? ({upper}) : 0)",
                "declared": True, "exits": pre}

    def _while_header(self, node: tree_sitter.Node) -> dict[str, Any]:
        cond = _strip(node.child_by_field_name("condition"))
        body = node.child_by_field_name("body")
        self.body_node = body
        if cond is None:
            raise _Unsupported("not_counted", "the loop has no condition", node)
        # while (n--) / while (n-- > 0): a pointer walk counted by n
        counted = None
        if cond.type == "update_expression" and _op(cond) == "--" and self._postfix(cond):
            counted = _strip(cond.child_by_field_name("argument"))
        elif cond.type == "binary_expression" and _op(cond) in (">", "!="):
            left, right = _strip(cond.child_by_field_name("left")), _strip(cond.child_by_field_name("right"))
            if (left is not None and left.type == "update_expression" and _op(left) == "--" and self._postfix(left)
                    and right is not None and _text(right).strip() == "0"):
                counted = _strip(left.child_by_field_name("argument"))
        if counted is not None and counted.type == "identifier":
            name = _text(counted)
            decl = self._iv_decl(name)
            t = ctype_of(decl.type, self.ctx) if decl is not None and not decl.pointer else None
            if t is None or t.is_float:
                raise _Unsupported("unknown_type", f"cannot type the count {name}", cond)
            self._walk_setup(body)
            if not self.walkers:
                raise _Unsupported("not_counted", f"while ({name}--) without pointers that advance: nothing to "
                                   "index by", node)
            self.iv, self.iv_type = WALK_IV, INT64
            self.pointer_walk = True
            self.count_var = name
            self.count_move = (-1, -1)  # tested once more than the body runs, and decremented by that test too
            # the count itself: passed in, counted down by the loop (not read in the body)
            self.scalars[name] = Scalar(name, t, ScalarRole.INVARIANT, decl=decl.text if decl else "")
            return {"lower": "0", "upper": name, "cmp": "<", "step": 1, "trip": f"(({name}) > 0 ? ({name}) : 0)",
                    "declared": True, "exits": []}
        ended = self._end_pointer_header(node, cond, body)
        if ended is not None:
            return ended
        conjuncts = self._conjuncts(cond)
        stmts = _stmts_of(body)
        last = stmts[-1] if stmts else None
        if last is None or last.type != "expression_statement" or not last.named_children:
            raise _Unsupported("not_counted", "the while loop does not end by stepping a counter", node)
        upd = last.named_children[0]
        name = self._updated_name(upd)
        counter_cmp = next((c for c in conjuncts if name and self._cmp_on(c, name) is not None), None)
        if not name or counter_cmp is None:
            raise _Unsupported("not_counted", "the while loop is not counted (no counter compared with a bound and "
                               "stepped at the end of the body)", cond)
        step = self._step_of(upd, name)
        decl = self._iv_decl(name)
        t = ctype_of(decl.type, self.ctx) if decl is not None and not decl.pointer and not decl.extents else None
        if t is None or t.is_float:
            raise _Unsupported("unknown_type", f"cannot type the counter {name}", cond)
        self.iv, self.iv_type = name, t
        self.exclude = last
        if self._has_continue(body):
            raise _Unsupported("not_counted", f"'continue' skips the increment of {name} at the end of the body", node)
        cmp, upper = self._cmp_on(counter_cmp, name)  # type: ignore[misc]
        self._register_bound(counter_cmp, name)
        trip = self._trip(name, upper, cmp, step, t, counter_cmp)
        if node.type == "while_statement":
            self._walk_setup(body)
            if self.walkers:  # `while (blk > 0u) { *d++ = ...; blk--; }`: the CMSIS-DSP style
                if len(conjuncts) > 1:
                    raise _Unsupported("pointer_walk", "pointers advance in a while loop with several conditions",
                                       node)
                return self._walk_counted_by(name, t, step, trip, node, skip=last)
        exits: list[Stmt] = []
        for c in conjuncts:
            if c is not counter_cmp:
                e = self._expr(c)
                exits.append(Exit(Unary("!", e, INT32), "break", span=node_span(c)))
        return {"lower": name, "upper": upper.strip(), "cmp": cmp, "step": step, "trip": trip, "declared": False,
                "exits": exits}

    def _do_header(self, node: tree_sitter.Node) -> dict[str, Any]:
        """`do { ...; i++; } while (i < n);` (or `do { ... } while (++i < n);`): the counted while form,
        except that the first iteration runs before the test, so the trip count is max(1, the while
        loop's)."""
        cond = _strip(node.child_by_field_name("condition"))
        stepped = self._prefix_step_test(cond) if cond is not None else None
        if stepped is not None and cond is not None:
            header = self._do_prefix_header(node, cond, *stepped)
        else:
            stmts = _stmts_of(node.child_by_field_name("body"))
            last = stmts[-1] if stmts else None
            name = self._updated_name(last.named_children[0]) if (
                last is not None and last.type == "expression_statement" and last.named_children) else ""
            on_counter = self._cmp_on(cond, name) if cond is not None and name else None
            if on_counter is None:
                raise _Unsupported("unsupported_loop", "do-while: only `do { …; i++; } while (i < n);` (a counter "
                                   "stepped at the end of the body or by `++i` in the test, and compared with a "
                                   "bound) is normalised", cond or node)
            if on_counter[0] == "!=":
                raise _Unsupported("not_counted", f"do-while with '{name} != …': when {name} starts at the bound the "
                                   "loop does not stop there", cond)
            try:
                header = self._while_header(node)
            except _Unsupported as e:
                e.reason = Reason(e.reason.code, e.reason.message.replace("the while loop", "the do-while loop"),
                                  e.reason.span)
                raise
        name, t, step = self.iv, self.iv_type, header["step"]
        # The forced first iteration steps the counter before any test: from the end of its range it wraps
        # around, and the test then holds again (an unsigned counter counting down from 0, a narrow one).
        if t.bits < 32 or (not t.signed and step < 0):
            raise _Unsupported("not_counted", f"do-while with a{' narrow' if t.bits < 32 else 'n unsigned'} counter "
                               f"{name} ({t.spelling or t.name}) counting {'down' if step < 0 else 'up'}: the first "
                               "step can wrap it around before the test", cond)
        trip = header["trip"]
        lower, cmp = header["lower"], header["cmp"]
        if not t.signed and step > 0 and cmp in ("<", "<="):
            # From the top of its range the first step wraps the counter to 0, where the test holds again
            # (`i = UINT_MAX` runs n + 1 times). Count the first iteration, then the while loop from the
            # stepped value, in the counter's type: the same count whenever nothing wraps.
            unsigned = "unsigned int" if t.bits == 32 else "unsigned long long"
            after = self._trip(f"(({unsigned})(({lower}) + {step}u))", header["upper"], cmp, step, t, cond or node)
            header["trip"] = f"(1 + {after})"
            header["once"] = True
            return header
        if trip.isdigit():
            trip = str(max(1, int(trip)))
        elif trip.endswith(" : 0)"):  # `(first test holds ? count : 0)`: a failing first test still runs once
            trip = trip[:-len(" : 0)")] + " : 1)"
        else:
            trip = f"(({trip}) > 0 ? ({trip}) : 1)"
        header["trip"] = trip
        header["once"] = True
        return header

    def _prefix_step_test(self, cond: tree_sitter.Node) -> tuple[str, int, str, tree_sitter.Node] | None:
        """`++i < n` / `n > --i`: (counter, step, comparison with the counter on the left, bound), else None."""
        if cond.type != "binary_expression" or _op(cond) not in ("<", "<=", ">", ">=", "!="):
            return None
        for side, other, flip in (("left", "right", False), ("right", "left", True)):
            u = _strip(cond.child_by_field_name(side))
            bound = cond.child_by_field_name(other)
            if u is None or bound is None or u.type != "update_expression" or self._postfix(u):
                continue
            arg = _strip(u.child_by_field_name("argument"))
            if arg is not None and arg.type == "identifier":
                op = _FLIP[_op(cond)] if flip else _op(cond)
                return _text(arg), (1 if _op(u) == "++" else -1), op, bound
        return None

    def _do_prefix_header(self, node: tree_sitter.Node, cond: tree_sitter.Node, name: str, step: int, cmp: str,
                          bound: tree_sitter.Node) -> dict[str, Any]:
        """`do { body } while (++i < n);`: the body runs at i, then i is stepped and tested."""
        if cmp == "!=":
            raise _Unsupported("not_counted", f"do-while with '{name} != …': when {name} starts at the bound the "
                               "loop does not stop there", cond)
        self.body_node = node.child_by_field_name("body")
        decl = self._iv_decl(name)
        t = ctype_of(decl.type, self.ctx) if decl is not None and not decl.pointer and not decl.extents else None
        if t is None or t.is_float:
            raise _Unsupported("unknown_type", f"cannot type the counter {name}", cond)
        self.iv, self.iv_type = name, t
        got = self._safe(lambda: self._expr(bound))  # typed, so the names it uses become kernel parameters
        if got is not None and expr_type(got).is_float:
            self.reasons.append(Reason("float_counter", "the bound is a floating-point value", node_span(bound)))
        upper = _text(bound).strip()
        trip = self._trip(name, upper, cmp, step, t, cond)
        return {"lower": name, "upper": upper, "cmp": cmp, "step": step, "trip": trip, "declared": False,
                "exits": []}

    def _register_bound(self, c: tree_sitter.Node, iv: str) -> None:
        """Type the bound so the variables it names are known (kernels pass them in)."""
        for side in ("left", "right"):
            x = _strip(c.child_by_field_name(side))
            if x is not None and not (x.type == "identifier" and _text(x) == iv):
                got = self._safe(lambda x=x: self._expr(x))
                if got is not None and expr_type(got).is_float:
                    self.reasons.append(Reason("float_counter", "the bound is a floating-point value", node_span(x)))


    def _walk_trip(self, count: tree_sitter.Node, cond: tree_sitter.Node, step: int) -> str:
        """The trip count of a pointer walk over `count` elements, `step` per iteration, as C text."""
        got = self._safe(lambda: self._expr(count))  # typed, so the names it uses become kernel parameters
        if got is not None and expr_type(got).is_float:
            raise _Unsupported("type_error", "a floating-point pointer offset", count)
        n = f"({_squash(_text(count))})"
        rounded = n if step == 1 or _op(cond) == "!=" else f"({n} + {step - 1})"
        return f"({n} > 0 ? {rounded} / {step} : 0)" if step > 1 else f"({n} > 0 ? {n} : 0)"
    def _end_pointer_header(self, node: tree_sitter.Node, cond: tree_sitter.Node,
                            body: tree_sitter.Node | None) -> dict[str, Any] | None:
        """`const T *end = p + n; while (p < end) { ... *p++ ... }` (or `p != end`): a pointer walk of
        ceil(n / step) iterations. None when the condition is not a pointer compared with such an end."""
        if cond.type != "binary_expression" or _op(cond) not in ("<", "!=", ">"):
            return None
        left, right = _strip(cond.child_by_field_name("left")), _strip(cond.child_by_field_name("right"))
        if left is None or right is None or left.type != "identifier" or right.type != "identifier":
            return None
        p, end = (_text(left), _text(right)) if _op(cond) != ">" else (_text(right), _text(left))
        pd, ed = self._iv_decl(p), self._iv_decl(end)
        if pd is None or ed is None or not pd.pointer or not ed.pointer or ed.is_param or ed.is_global:
            return None
        span = self._end_value(ed, p)
        if span is None:
            raise _Unsupported("not_counted", f"the loop runs until {p} reaches {end}, and {end} is not declared "
                               f"as `{end} = {p} + count` in this function", cond)
        value, count = span
        between = self.source[value.end_byte:node.start_byte].decode("utf-8", "replace")
        for name in {p, end, *_IDENTIFIER.findall(_text(count))}:
            if re.search(r"(?:\+\+|--)\s*" + re.escape(name) + r"\b|(?<![\w.>])" + re.escape(name)
                         + r"\s*(?:\+\+|--|[-+*/%&|^]?=(?!=))", between):
                raise _Unsupported("not_counted", f"{name} changes between the declaration of {end} and the loop",
                                   cond)
        self._walk_setup(body)
        step = self.walkers.get(p, 0)
        if step <= 0:
            raise _Unsupported("not_counted", f"the loop runs until {p} reaches {end}, and {p} does not move "
                               "forward once per iteration", cond)
        if end in self.walkers or re.search(r"(?<![\w.>])" + re.escape(end) + r"\s*(?:\+\+|--|[-+]?=(?!=))|"
                                            r"(?:\+\+|--)\s*" + re.escape(end) + r"\b", _text(body)):
            raise _Unsupported("not_counted", f"the body changes the end pointer {end}", cond)
        trip = self._walk_trip(count, cond, step)
        self.iv, self.iv_type = WALK_IV, INT64
        self.pointer_walk = True
        const = "const " if ed.const else ""
        self.setup.append(f"{const}{ed.type} {'*' * ed.pointer}{end} = {p} + ({_squash(_text(count))});")
        return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}

    def _pointer_for_header(self, node: tree_sitter.Node, d: Decl, value: tree_sitter.Node) -> dict[str, Any]:
        """`for (const T *p = a; p < a + n; p++)` / `p < end` / `p != end` (end = a + n declared before):
        p walks the array a, ceil(n / step) iterations."""
        p = d.name
        base_node = _strip(value)
        cond = _strip(node.child_by_field_name("condition"))
        bd = self._iv_decl(_text(base_node)) if base_node is not None and base_node.type == "identifier" else None
        refuse = _Unsupported("unsupported_loop", f"the loop header declares the pointer {p}: only `{p} = a; "
                              f"{p} < a + n` (or an end pointer declared as a + n) is understood", node)
        if bd is None or base_node is None or cond is None or cond.type != "binary_expression" \
                or _op(cond) not in ("<", "!=", ">") or not bd.pointer or bd.extents:
            raise refuse
        base = _text(base_node)
        left, right = _strip(cond.child_by_field_name("left")), _strip(cond.child_by_field_name("right"))
        mine, bound = (left, right) if _op(cond) != ">" else (right, left)
        if mine is None or bound is None or mine.type != "identifier" or _text(mine) != p:
            raise refuse
        count: tree_sitter.Node | None = None
        end_decl = ""
        if bound.type == "binary_expression" and _op(bound) == "+":
            a, b = _strip(bound.child_by_field_name("left")), _strip(bound.child_by_field_name("right"))
            if a is not None and a.type == "identifier" and _text(a) == base:
                count = b
            elif b is not None and b.type == "identifier" and _text(b) == base:
                count = a
        elif bound.type == "identifier":
            ed = self._iv_decl(_text(bound))
            got = self._end_value(ed, base) if ed is not None and ed.pointer and not ed.is_param else None
            if got is not None and ed is not None:
                count = got[1]
                between = self.source[got[0].end_byte:node.start_byte].decode("utf-8", "replace")
                for name in {base, _text(bound), *_IDENTIFIER.findall(_text(count))}:
                    if re.search(r"(?:\+\+|--)\s*" + re.escape(name) + r"\b|(?<![\w.>])" + re.escape(name)
                                 + r"\s*(?:\+\+|--|[-+*/%&|^]?=(?!=))", between):
                        raise _Unsupported("not_counted", f"{name} changes between the declaration of "
                                           f"{_text(bound)} and the loop", cond)
                const = "const " if ed.const else ""
                end_decl = f"{const}{ed.type} {'*' * ed.pointer}{_text(bound)} = {base} + ({_squash(_text(count))});"
        if count is None:
            raise refuse
        walkers: dict[str, int] = {}
        for u in node.children_by_field_name("update"):
            for part in self._comma_parts(u) if u.type == "comma_expression" else [u]:
                name = self._updated_name(part)
                if not name or not (name == p or self._is_pointer(name)):
                    raise _Unsupported("unsupported_loop", f"the loop header updates '{_text(part)}'", part)
                walkers[name] = walkers.get(name, 0) + self._step_of(part, name)
        self.walk_alias[p] = base
        self._walk_setup(self.body_node)
        for name, w in walkers.items():
            self.walkers[name] = self.walkers.get(name, 0) + w
        step = self.walkers.get(p, 0)
        if step <= 0:
            raise _Unsupported("not_counted", f"{p} does not move forward once per iteration", node)
        trip = self._walk_trip(count, cond, step)
        self.iv, self.iv_type = WALK_IV, INT64
        self.pointer_walk = True
        if end_decl:
            self.setup.append(end_decl)
        return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}

    def _end_value(self, d: Decl, p: str) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
        """For `T *end = p + count;`: (the initialiser, count)."""
        node = self.tree.root_node.descendant_for_byte_range(d.start, d.start)
        while node is not None and node.type != "declaration":
            node = node.parent
        if node is None:
            return None
        for dn in node.children_by_field_name("declarator"):
            value = dn.child_by_field_name("value") if dn.type == "init_declarator" else None
            inner = dn.child_by_field_name("declarator")
            while inner is not None and inner.type != "identifier":
                inner = inner.child_by_field_name("declarator")
            if value is None or inner is None or _text(inner) != d.name:
                continue
            v = _strip(value)
            if v is None or v.type != "binary_expression" or _op(v) != "+":
                return None
            a, b = _strip(v.child_by_field_name("left")), _strip(v.child_by_field_name("right"))
            if a is not None and b is not None and a.type == "identifier" and _text(a) == p:
                return value, b
            if a is not None and b is not None and b.type == "identifier" and _text(b) == p:
                return value, a
        return None

    def _walk_counted_by(self, name: str, t: CType, step: int, trip: str, node: tree_sitter.Node,
                         skip: tree_sitter.Node | None) -> dict[str, Any]:
        """Pointers walk in a loop whose counter `name` does not count iterations from 0 by 1: count them
        with the synthetic counter instead, and `name` becomes a count the loop moves by `step`."""
        mention = re.compile(r"(?<![\w.>])" + re.escape(name) + r"\b")
        for c in _stmts_of(self.body_node):
            if (skip is None or c.id != skip.id) and mention.search(_text(c)):
                raise _Unsupported("pointer_walk", f"pointers advance in a loop whose counter {name} does not count "
                                   f"from 0 by 1 and is read in the body: index the pointers by {name} instead",
                                   c)
        decl = self._iv_decl(name)
        self.iv, self.iv_type = WALK_IV, INT64
        self.pointer_walk = True
        self.count_var = name
        self.count_move = (step, 0)
        self.scalars[name] = Scalar(name, t, ScalarRole.INVARIANT, decl=decl.text if decl else "")
        return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}

    def _postfix(self, upd: tree_sitter.Node) -> bool:
        arg = upd.child_by_field_name("argument")
        return arg is not None and arg.start_byte == upd.start_byte

    def _walk_setup(self, body: tree_sitter.Node | None) -> None:
        """Find pointers incremented once per iteration, unconditionally: `*d++`, `p++;`, `p += 2;`."""
        if body is None:
            return
        # the tree walk only when a pointer is among the names the body steps or assigns (a regex is cheap)
        stepped = {a or b for a, b in _STEPPED_NAMES.findall(self.source, body.start_byte, body.end_byte)}
        if not any(self._is_pointer(name.decode("utf-8", "replace")) for name in stepped):
            return
        stack: list[tuple[tree_sitter.Node, bool]] = [(body, False)]
        while stack:
            n, cond = stack.pop()
            t = n.type
            if t in ("update_expression", "assignment_expression"):
                name = self._updated_name(n)
                if name and self._is_pointer(name):
                    try:
                        step: int | None = self._step_of(n, name)
                    except _Unsupported:
                        if t != "assignment_expression" or _op(n) != "=":
                            raise
                        step = None  # `p = q`: not a walk (the statement itself says why it is refused)
                    if step is not None and cond:
                        raise _Unsupported("pointer_walk", f"{name} advances only under a condition", n)
                    if step is not None:
                        self.walkers[name] = self.walkers.get(name, 0) + step
            c_cond = cond or t in ("if_statement", "conditional_expression") or (
                t == "binary_expression" and _op(n) in ("&&", "||"))
            for c in n.named_children:
                stack.append((c, c_cond and not (t == "if_statement" and c.type == "condition_clause")
                              and not (t == "if_statement" and c.type == "parenthesized_expression")))

    def _conjuncts(self, cond: tree_sitter.Node) -> list[tree_sitter.Node]:
        out: list[tree_sitter.Node] = []
        stack = [cond]
        while stack:
            c = _strip(stack.pop())
            if c is None:
                continue
            if c.type == "binary_expression" and _op(c) == "&&":
                stack.append(_field(c, "right"))
                stack.append(_field(c, "left"))
            else:
                out.append(c)
        return out

    def _cmp_on(self, c: tree_sitter.Node, iv: str) -> tuple[str, str] | None:
        """`iv cmp bound` (flipped when the counter is on the right), or None."""
        if c.type != "binary_expression":
            return None
        op = _op(c)
        if op not in ("<", "<=", ">", ">=", "!="):
            return None
        left, right = _strip(c.child_by_field_name("left")), _strip(c.child_by_field_name("right"))
        if left is not None and left.type == "identifier" and _text(left) == iv and right is not None:
            return op, _text(right)
        if right is not None and right.type == "identifier" and _text(right) == iv and left is not None:
            return _FLIP[op], _text(left)
        return None

    def _comma_parts(self, n: tree_sitter.Node) -> list[tree_sitter.Node]:
        if n.type != "comma_expression":
            return [n]
        return self._comma_parts(_field(n, "left")) + self._comma_parts(_field(n, "right"))

    def _updated_name(self, u: tree_sitter.Node) -> str:
        u2 = _strip(u)
        if u2 is None:
            return ""
        if u2.type == "update_expression":
            a = _strip(u2.child_by_field_name("argument"))
            return _text(a) if a is not None and a.type == "identifier" else ""
        if u2.type == "assignment_expression":
            a = _strip(u2.child_by_field_name("left"))
            return _text(a) if a is not None and a.type == "identifier" else ""
        return ""

    def _step_of(self, u: tree_sitter.Node, name: str) -> int:
        u = _strip(u) or u
        if u.type == "update_expression":
            return 1 if _op(u) == "++" else -1
        op = _op(u)
        right = _field(u, "right")
        if op in ("+=", "-="):
            v = self._int_const(right)
            if v is None:
                raise _Unsupported("variable_step", f"{name} {op} {_text(right)}: the step is not a constant", u)
            return v if op == "+=" else -v
        if op == "=":
            r = _strip(right)
            if r is not None and r.type == "binary_expression" and _op(r) in ("+", "-"):
                left, rr = _strip(r.child_by_field_name("left")), r.child_by_field_name("right")
                if left is not None and _text(left) == name and rr is not None:
                    v = self._int_const(rr)
                    if v is not None:
                        return v if _op(r) == "+" else -v
                if _op(r) == "+" and rr is not None and _text(_strip(rr)) == name and left is not None:
                    v = self._int_const(left)
                    if v is not None:
                        return v
        raise _Unsupported("variable_step", f"'{_text(u)}' is not a constant step", u)

    def _trip(self, lower: str, upper: str, cmp: str, step: int, t: CType, cnode: tree_sitter.Node) -> str:
        L, U = f"({lower.strip()})", f"({upper.strip()})"
        if step == 0:
            raise _Unsupported("not_counted", "the counter does not change", cnode)
        if step > 0 and cmp in (">", ">="):
            raise _Unsupported("not_counted", "the counter grows but the condition waits for it to fall", cnode)
        if step < 0 and cmp in ("<", "<="):
            raise _Unsupported("not_counted", "the counter falls but the condition waits for it to grow", cnode)
        if t.bits < 32:
            # a narrow counter wraps (or overflows) before reaching a bound outside its range
            lo_t, hi_t = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, (1 << t.bits) - 1)
            ub = self._int_text(upper)
            if ub is None or not lo_t <= ub <= hi_t or (cmp == "<=" and ub == hi_t) or (cmp == ">=" and ub == lo_t):
                raise _Unsupported("not_counted", f"the counter is {t.spelling or t.name} ({t.bits} bits): a bound "
                                   "outside its range makes it wrap and the loop never end", cnode)
        if step < 0 and cmp == ">=" and not t.signed:
            uv = self._int_text(upper)
            if uv == 0:
                raise _Unsupported("unsigned_wrap", f"{self.iv or 'the counter'} is unsigned, so '>= 0' is always "
                                   "true: it wraps around at 0 and the loop never ends", cnode)
        s = abs(step)
        lv, uv2 = self._int_text(lower), self._int_text(upper)
        if cmp == "!=":
            if s != 1:
                if lv is not None and uv2 is not None and (uv2 - lv) % step == 0 and (uv2 - lv) // step >= 0:
                    return str((uv2 - lv) // step)
                raise _Unsupported("not_counted", f"stepping by {step} with '!=' may jump over the bound", cnode)
            return f"({U} - {L})" if step > 0 else f"({L} - {U})"
        # Both bounds constant and non-negative: signed and unsigned comparisons agree, count here.
        if lv is not None and uv2 is not None and lv >= 0 and uv2 >= 0:
            if step > 0:
                span = uv2 - lv if cmp == "<" else uv2 - lv + 1
            else:
                span = lv - uv2 if cmp == ">" else lv - uv2 + 1
            return str(max(0, (span + s - 1) // s))
        if lower.strip() == "0" and step > 0:
            if cmp == "<":
                return f"({U} > 0 ? {U} : 0)" if s == 1 else f"({U} > 0 ? ({U} + {s - 1}) / {s} : 0)"
            return f"({U} >= 0 ? {U} / {s} + 1 : 0)" if s > 1 else f"({U} >= 0 ? {U} + 1 : 0)"
        hi, lo = (U, L) if step > 0 else (L, U)
        if cmp in ("<", ">"):
            return f"({hi} > {lo} ? ({hi} - {lo}" + (f" + {s - 1}) / {s}" if s > 1 else ")") + " : 0)"
        return f"({hi} >= {lo} ? ({hi} - {lo})" + (f" / {s}" if s > 1 else "") + " + 1 : 0)"

    def _int_text(self, text: str) -> int | None:
        if text in self._ints:
            return self._ints[text]
        v = self._ints[text] = self._int_text_uncached(text)
        return v

    def _int_text_uncached(self, text: str) -> int | None:
        t = text.strip()
        if _DECIMAL.fullmatch(t):
            return int(t.rstrip("uUlL"))
        ev = getattr(self.ctx, "eval_int", None)
        if ev is None:
            return None
        if t.isascii() and t.isidentifier():  # a bare name (`n`, `LEN`): what the regexes below find
            if self._is_variable(t):
                return None
        elif not _CONSTANT_CHARS.fullmatch(t) or any(self._is_variable(w) for w in _IDENTIFIER.findall(t)):
            return None
        cache = _ctx_cache(self.ctx).ints
        if t in cache:
            return cache[t]
        try:
            v = ev(t)
        except Exception:
            v = None
        cache[t] = v if isinstance(v, int) else None
        return cache[t]

    def _is_variable(self, name: str) -> bool:
        return self._iv_decl(name) is not None and not self._is_macro(name)

    def _int_const(self, node: tree_sitter.Node) -> int | None:
        n = _strip(node)
        if n is None:
            return None
        if n.type == "number_literal":
            c = _literal(_text(n))
            return c.value if isinstance(c.value, int) and not c.type.is_float else None
        if n.type == "identifier" and self._is_variable(_text(n)):
            return None
        if n.type in ("identifier", "binary_expression", "unary_expression", "sizeof_expression", "cast_expression"):
            return self._int_text(_text(n))
        return None

    def _is_macro(self, name: str) -> bool:
        return bool(self.ctx is not None and (name in getattr(self.ctx, "macros", {})
                                              or name in getattr(self.ctx, "enum_constants", {})))

    def _is_pointer(self, name: str) -> bool:
        if name in self.walk_alias:
            return True
        d = self._iv_decl(name)
        return d is not None and d.pointer > 0 and not d.extents

    # ---- body checks ------------------------------------------------------------------------------

    def _scan_uses(self, body: tree_sitter.Node) -> None:
        """Where every identifier in the body is read or written, and whether under a condition; and
        the control flow the IR cannot express (goto, switch, asm, ...), as reasons.

        A plain walk comparing kind ids: for a loop body this is several times cheaper than a
        tree-sitter query, whose fixed cost per call dominates on small trees."""
        k = _kinds(self.tree.language)
        identifier, assignment, update = k.identifier, k.assignment, k.update
        if_statement, conditional, binary = k.if_statement, k.conditional, k.binary
        control = k.control
        src = self.source
        uses = self.uses
        written_names = self.written_names
        written: dict[int, bool] = {}  # start byte of a written identifier -> whether it is also read

        def use(n: tree_sitter.Node, cond: bool) -> None:
            start = n.start_byte
            name = src[start:n.end_byte].decode("utf-8", "replace")
            lst = uses.get(name)
            if lst is None:
                lst = uses[name] = []
            also_read = written.get(start)
            if also_read is None:
                lst.append(_Use(start, False, cond))
            else:
                written_names.add(name)
                lst.append(_Use(start, True, cond))
                if also_read:
                    lst.append(_Use(start, False, cond))  # x++ and x += e also read x

        stack: list[tuple[tree_sitter.Node, bool]] = [(body, False)]
        pop, push = stack.pop, stack.append
        while stack:
            n, cond = pop()
            kind = n.kind_id
            kids = None
            if kind == identifier:
                use(n, cond)
                continue
            if kind == assignment:
                left = n.child_by_field_name("left")
                if left is not None and left.kind_id == identifier:
                    op = n.child_by_field_name("operator")
                    written[left.start_byte] = op is None or op.kind_id != k.assign_plain
            elif kind == update:
                arg = n.child_by_field_name("argument")
                if arg is not None and arg.kind_id == identifier:
                    written[arg.start_byte] = True
            elif kind == if_statement:
                for c in n.named_children:
                    push((c, cond or c.kind_id not in k.condition_kinds))
                continue
            elif kind == conditional:
                for i, c in enumerate(n.named_children):
                    push((c, cond or i > 0))
                continue
            elif kind == binary:
                kids = n.children
                op_node = kids[1] if len(kids) == 3 else n.child_by_field_name("operator")
                if op_node is not None and op_node.kind_id in k.logical:  # the right side runs only sometimes
                    for c in reversed(kids[1:]):
                        push((c, True))
                    push((kids[0], cond))
                    continue
            elif kind in control:
                hit = control[kind]
                self.reasons.append(Reason(hit[0], hit[1], node_span(n)))
            # Identifiers are recorded at once (an assignment above has marked them written already);
            # leaves (tokens, literals, type and field names) hold nothing and are not visited.
            for c in kids if kids is not None else n.children:
                if c.kind_id == identifier:
                    use(c, cond)
                elif c.child_count:
                    push((c, cond))

    def _used_after(self, name: str) -> bool:
        """Whether `name` may be read after the loop: any later mention in the function, or any mention
        in an enclosing loop (its next iteration comes back here)."""
        fn = self.fn
        if fn is None:
            return True
        pat = _USE_PATTERNS.get(name)
        if pat is None:
            if len(_USE_PATTERNS) > 4096:
                _USE_PATTERNS.clear()
            pat = _USE_PATTERNS[name] = re.compile(rb"(?<![\w.>])" + re.escape(name.encode()) + rb"\b")
        if pat.search(self.source, self.node.end_byte, fn.end_byte):
            return True
        if self._outermost_start is None:  # the same for every name: found once
            p = self.node.parent
            outer = None
            while p is not None and p is not fn and p.id != fn.id:
                if p.type in _LOOP_TYPES:
                    outer = p
                p = p.parent
            self._outermost_start = outer.start_byte if outer is not None else -1
        start = self._outermost_start
        return start >= 0 and pat.search(self.source, start, self.node.start_byte) is not None

    # ---- statements -------------------------------------------------------------------------------

    def _block(self, nodes: list[tree_sitter.Node], cond: bool) -> list[Stmt]:
        self.scopes.append(set())
        try:
            return self._block_in_scope(nodes, cond)
        finally:
            self.scopes.pop()

    def _block_in_scope(self, nodes: list[tree_sitter.Node], cond: bool) -> list[Stmt]:
        out: list[Stmt] = []
        for i, n in enumerate(nodes):
            if self.exclude is not None and n.id == self.exclude.id:
                continue
            t = n.type
            if t == "continue_statement":
                break  # the rest of the block is dead
            if t == "if_statement" and self._is_continue_if(n):
                c = self._safe(lambda n=n: self._expr(_field(n, "condition")))
                rest = self._block(nodes[i + 1:], True)
                if c is not None:
                    out.append(If(Unary("!", c, INT32), tuple(rest), (), node_span(n)))
                return out
            if t in ("break_statement", "return_statement") and not cond:
                self.reasons.append(Reason("unconditional_exit", "leaves the loop unconditionally: it runs once",
                                           node_span(n)))
                break
            try:  # `_safe`, without a closure per statement
                got = self._stmt(n, cond)
            except _Unsupported as e:
                self.reasons.append(e.reason)
                continue
            if got:
                out.extend(got)
        return out

    def _safe(self, fn: Any) -> Any:
        try:
            return fn()
        except _Unsupported as e:
            self.reasons.append(e.reason)
            return None

    def _is_continue_if(self, n: tree_sitter.Node) -> bool:
        if n.child_by_field_name("alternative") is not None:
            return False
        body = _stmts_of(n.child_by_field_name("consequence"))
        return len(body) == 1 and body[0].type == "continue_statement"

    def _stmt(self, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
        t = n.type
        if t == "expression_statement":
            if n.named_child_count == 1:  # the usual case: the expression alone
                only = n.named_child(0)
                if only is not None and only.type != "comment":
                    return self._expr_stmt(only, cond)
            kids = [c for c in n.named_children if c.type != "comment"]
            if not kids:
                return []
            return self._expr_stmt(kids[0], cond)
        if t == "compound_statement":
            return self._block(_stmts_of(n), cond)
        if t == "declaration":
            return self._declaration(n)
        if t == "if_statement":
            return self._if(n, cond)
        if t in _LOOP_TYPES:
            if self.unroll is not None and n.id == self.unroll.id:
                return self._unrolled(n, cond)
            raise _Unsupported("nested_loop", "contains another loop", n)
        if t in ("break_statement", "return_statement", "continue_statement"):
            raise _Unsupported("unsupported_control", f"'{_text(n).strip()}' in an unsupported position", n)
        if t in _CONTROL:
            return []  # already reported
        if t == "comment" or t == ";":
            return []
        if t in ("preproc_if", "preproc_ifdef"):  # `#if 0` in the body: the branch that is compiled, if certain
            live = live_branch(self.tree, self.source, self.site.language, n)
            if live is not None:
                return self._block(live, cond)
            raise _Unsupported("unsupported", f"'{_text(n).splitlines()[0].strip()[:40]}' inside the loop: which "
                               "branch is compiled depends on the build", n)
        raise _Unsupported("unsupported", f"unsupported statement '{_text(n).strip()[:40]}'", n)

    def _unrolled(self, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
        """The short inner loop `for (k = c0; k < c1; k++) body` as c1 - c0 copies of body, k constant."""
        init = n.child_by_field_name("initializer")
        c = _strip(n.child_by_field_name("condition"))
        upd = n.child_by_field_name("update")
        if init is None or c is None or upd is None:
            raise _Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
        if init.type == "declaration":
            ds = _decls_of(init, _kinds(self.tree.language))
            vals = [d.child_by_field_name("value") for d in init.children_by_field_name("declarator")]
            if len(ds) != 1 or vals[0] is None:
                raise _Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
            k, start = ds[0].name, self._int_const(vals[0])
        elif init.type == "assignment_expression":
            left = _strip(init.child_by_field_name("left"))
            k, start = (_text(left) if left is not None else ""), self._int_const(_field(init, "right"))
            if self._used_after(k):
                raise _Unsupported("nested_loop", f"the inner counter {k} is used after the loop", n)
        else:
            raise _Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
        got = self._cmp_on(c, k) if k else None
        if start is None or got is None or got[0] not in ("<", "<=") or self._step_of(upd, k) != 1:
            raise _Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
        end = self._int_text(got[1])
        if end is None:
            raise _Unsupported("nested_loop", "the inner loop's bound is not a constant", n)
        stop = end + (1 if got[0] == "<=" else 0)
        if stop - start > 16:
            raise _Unsupported("nested_loop", "the inner loop is too long to unroll", n)
        out: list[Stmt] = []
        for v in range(start, stop):
            self.macro_args.append({k: Const(v, INT32, str(v))})
            try:
                out.extend(self._block(_stmts_of(n.child_by_field_name("body")), cond))
            finally:
                self.macro_args.pop()
        return out

    def _declaration(self, n: tree_sitter.Node) -> list[Stmt]:
        out: list[Stmt] = []
        ds = _decls_of(n, _kinds(self.tree.language))
        decls = n.children_by_field_name("declarator")
        for d, dn in zip(ds, decls, strict=False):
            if d.static:
                raise _Unsupported("static_local", f"'static {d.name}' keeps its value across iterations", n)
            if d.extents:
                raise _Unsupported("local_array", f"declares the array {d.name} inside the loop", n)
            if d.pointer or d.reference:
                raise _Unsupported("local_pointer", f"declares the pointer/reference {d.name} inside the loop", n)
            if d.volatile or d.atomic:
                raise _Unsupported("volatile", f"{d.name} is volatile/atomic", n)
            t = ctype_of(d.type, self.ctx)
            if t is None:
                raise _Unsupported("unknown_type" if "long double" not in d.type else "long_double",
                                   f"unknown type '{d.type}' of {d.name}", n)
            # the IR names a local by its name only: an inner `int t` hiding the body's `t` would merge them
            if any(d.name in outer for outer in self.scopes[:-1]):
                raise _Unsupported("shadowing", f"declares {d.name} again inside the loop body, hiding the outer "
                                   f"{d.name}: rename one of them", n)
            if self.scopes:
                self.scopes[-1].add(d.name)
            self.locals[d.name] = t
            self.scalars[d.name] = Scalar(d.name, t, ScalarRole.LOCAL)
            value = dn.child_by_field_name("value") if dn.type == "init_declarator" else None
            if value is not None:
                if value.type == "initializer_list":
                    raise _Unsupported("unsupported", "brace initialiser", value)
                aff = self._aff(value) if not t.is_float else None
                if aff is not None:
                    self.local_aff[d.name] = aff
                else:
                    self.local_aff.pop(d.name, None)
                out.append(Let(d.name, t, convert(self._expr(value), t), node_span(dn)))
            else:  # `int v;`: its value is indeterminate until assigned, so any value (0) is the C program's
                out.append(Let(d.name, t, Const(0, t, "0"), node_span(dn)))
        return out

    def _expr_stmt(self, e: tree_sitter.Node, cond: bool) -> list[Stmt]:
        e = _strip(e) or e
        t = e.type
        if t == "comma_expression":
            out: list[Stmt] = []
            for p in self._comma_parts(e):
                out.extend(self._expr_stmt(p, cond))
            return out
        if t == "assignment_expression":
            return self._assign(e, cond)
        if t == "update_expression":
            name = self._updated_name(e)
            arg = _strip(e.child_by_field_name("argument"))
            if name and self.range_ref is not None and name == self.range_ref[0]:
                acc = self.range_ref[1]
                val = self._arith("+" if _op(e) == "++" else "-", Load(acc), Const(1, INT32, "1"), e)
                return [Store(acc, convert(val, acc.elem), node_span(e))]
            if name:
                if name == self.iv:
                    raise _Unsupported("counter_modified", f"the body changes the counter {name}", e)
                if name in self.walkers:
                    self.walked[name] = self.walked.get(name, 0) + (1 if _op(e) == "++" else -1)
                    return []
                return self._scalar_update(name, "+=" if _op(e) == "++" else "-=", None, e, cond)
            if arg is not None:
                acc = self._access(arg)
                one = Const(1, INT32, "1")
                val = self._arith("+" if _op(e) == "++" else "-", Load(acc), one, e)
                return [Store(acc, convert(val, acc.elem), node_span(e))]
        if t == "call_expression":
            name = _text(e.child_by_field_name("function"))
            if mathcalls.lookup(name, cpp=self.cpp) is not None:
                return []
            raise _Unsupported("call", f"calls {name}", e)
        if t in ("identifier", "number_literal"):
            return []
        if t == "gnu_asm_expression":
            return []
        self._expr(e)  # typed for its reasons, value unused
        return []

    # ---- assignments ------------------------------------------------------------------------------

    def _assign(self, e: tree_sitter.Node, cond: bool) -> list[Stmt]:
        left = _strip(_field(e, "left"))
        op = _op(e)
        right = _field(e, "right")
        if left is None:
            raise _Unsupported("unsupported", "unsupported assignment", e)
        inner = _strip(right) if right.kind_id in _WRAPPER_KIND_IDS else right
        if inner is not None and inner.type == "assignment_expression":
            first = self._assign(inner, cond)
            right = _field(inner, "left")
            return first + self._assign_value(left, op, right, e, cond)
        return self._assign_value(left, op, right, e, cond)

    def _assign_value(self, left: tree_sitter.Node, op: str, right: tree_sitter.Node, e: tree_sitter.Node,
                      cond: bool) -> list[Stmt]:
        if left.type == "identifier" and self.range_ref is not None and _text(left) == self.range_ref[0]:
            acc = self.range_ref[1]
            value = self._expr(right)
            if op != "=":
                value = self._arith(op[:-1], Load(acc), value, e)
            return [Store(acc, convert(value, acc.elem), node_span(e))]
        if left.type == "identifier":
            name = _text(left)
            if name == self.iv or (self.pointer_walk and name == self.count_var):
                raise _Unsupported("counter_modified", f"the body changes the counter {name}", e)
            if name in self.walkers:  # `p += 4;`: later accesses through p are 4 elements further on
                self.walked[name] = self.walked.get(name, 0) + self._step_of(e, name)
                return []
            if name in self.locals:
                t = self.locals[name]
                value = self._expr(right)
                if op != "=":
                    value = self._arith(op[:-1], Var(name, t), value, e)
                aff = self._aff(right) if op == "=" and not t.is_float else None
                if aff is not None:
                    self.local_aff[name] = aff
                else:
                    self.local_aff.pop(name, None)
                return [Let(name, t, convert(value, t), node_span(e))]
            return self._scalar_update(name, op, right, e, cond)
        acc = self._access(left)
        if acc.elem.is_complex:
            return self._complex_store(acc, op, right, e)
        value = self._expr(right)
        if op != "=":
            value = self._arith(op[:-1], Load(acc), value, e)
        stmt_value = convert(value, acc.elem)
        if acc.coeff == 0 and op != "=" and op[:-1] in _REDUCE_OPS and not self._reads_root(right, acc.root):
            red = self._memory_reduction(acc, op[:-1], right, e)
            if red is not None:
                return [red]
        return [Store(acc, stmt_value, node_span(e))]

    def _memory_reduction(self, acc: Access, op: str, right: tree_sitter.Node, e: tree_sitter.Node) -> Reduce | None:
        rhs = self._expr(right)
        comp = usual(acc.elem, expr_type(rhs)) if op not in ("<<", ">>") else promote(acc.elem)
        if acc.elem.is_float and comp.name != acc.elem.name:
            return None
        if not acc.elem.is_float and comp.is_float:
            return None
        text = f"{acc.base}[{acc.symbolic or acc.offset}]" if acc.symbolic or acc.offset else f"{acc.base}[0]"
        return Reduce(_squash(text), _REDUCE_OPS[op], convert(rhs, acc.elem), acc.elem, "", node_span(e), access=acc)

    def _reads_root(self, node: tree_sitter.Node, root: str) -> bool:
        txt = _text(node)
        head = re.split(r"[\[.\-]", root)[0]
        return re.search(r"(?<![\w.>])" + re.escape(head) + r"\b", txt) is not None

    def _outer_scalar(self, name: str, node: tree_sitter.Node) -> CType:
        d = self._iv_decl(name)
        if d is None:
            raise _Unsupported("unknown_identifier", f"cannot find the declaration of {name}", node)
        if d.pointer or d.extents or d.container:
            raise _Unsupported("pointer_write", f"the loop assigns the pointer/array {name}", node)
        if d.volatile or d.atomic:
            raise _Unsupported("volatile", f"{name} is volatile/atomic", node)
        t = ctype_of(_complex_spelling(d) or d.type, self.ctx)
        if t is None:
            raise _Unsupported("long_double" if "long double" in d.type else "unknown_type",
                               f"unknown type '{d.type}' of {name}", node)
        if t.is_complex:
            raise _Unsupported("complex", f"the loop updates the complex scalar {name} ('{t.spelling}'): complex "
                               "reductions (sums, dot products) are not rewritten", node)
        return t

    def _scalar_update(self, name: str, op: str, right: tree_sitter.Node | None, e: tree_sitter.Node,
                       cond: bool) -> list[Stmt]:
        """An assignment to a scalar declared outside the loop: classify it."""
        t = self._outer_scalar(name, e)
        self.written_outer.add(name)
        decl_text = (self._iv_decl(name) or Decl(name, "")).text
        uses = self.uses.get(name, [])
        inside = [u for u in uses if e.start_byte <= u.pos < e.end_byte]
        reads_elsewhere = [u for u in uses if not u.write and not (e.start_byte <= u.pos < e.end_byte)]
        writes_elsewhere = [u for u in uses if u.write and not (e.start_byte <= u.pos < e.end_byte)]
        span = node_span(e)
        if name in self.header_reads and name not in self.locals and name != self.count_var:
            raise _Unsupported("recurrence", f"the loop's condition reads {name} before the body assigns it: "
                               "each test sees the previous iteration's value", e)
        if op == "=" and right is not None and not cond and not [u for u in uses if u.pos < e.start_byte] \
                and not [u for u in inside if not u.write]:
            # assigned on every iteration before any read: a temporary of the iteration, wherever declared
            # (`r = x[i] * s; if (r > hi) r = hi; out[i] = r;`); its value after the loop is the last one
            first = convert(self._expr(right), t)
            self.locals[name] = t
            self.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=decl_text or name)
            aff = self._aff(right) if not t.is_float else None
            if aff is not None:
                self.local_aff[name] = aff
            return [Let(name, t, first, span)]
        red_op = ""
        value_node: tree_sitter.Node | None = None
        if op in ("+=", "-=", "*=", "&=", "|=", "^="):
            red_op, value_node = op[0], right
        elif op == "=" and right is not None:
            r = _strip(right)
            if r is not None and r.type == "binary_expression" and _op(r) in _REDUCE_OPS:
                lft, rgt = _strip(r.child_by_field_name("left")), _strip(r.child_by_field_name("right"))
                if lft is not None and lft.type == "identifier" and _text(lft) == name:
                    red_op, value_node = _op(r), r.child_by_field_name("right")
                elif rgt is not None and rgt.type == "identifier" and _text(rgt) == name and _op(r) != "-":
                    red_op, value_node = _op(r), r.child_by_field_name("left")
                elif _op(r) in ("+", "-") and self._leftmost_is(r, name):
                    red_op, value_node = "chain", r
        elif op not in ("=",):
            raise _Unsupported("recurrence", f"{name} {op} ...: a recurrence", e)
        if op in ("+=", "-=") and right is None:  # ++ / --
            red_op = op[0]
        if red_op:
            self_refs = [u for u in inside if value_node is not None and value_node.start_byte <= u.pos < value_node.end_byte]
            if red_op == "chain":
                assert value_node is not None
                value = self._chain_without(value_node, name, t)
                red_op = "+"
                if value is None:
                    raise _Unsupported("recurrence", f"{name} is updated from its own value in a way that is not a "
                                       "reduction", e)
            elif self_refs:
                raise _Unsupported("recurrence", f"{name} is updated from its own previous value: a recurrence", e)
            else:
                value = self._expr(value_node) if value_node is not None else Const(1, INT32, "1")
            invariant = value_node is None or self._invariant(value_node)
            if red_op in "+-" and invariant and not cond and not writes_elsewhere:
                step = value if red_op == "+" else Unary("-", value, promote(expr_type(value)))
                self.scalars[name] = Scalar(name, t, ScalarRole.INDUCTION, decl=decl_text)
                return [Step(name, step, t, span)]
            if reads_elsewhere and not cond:
                # `sum += x0; sum += x1; ...` (hand-unrolled): the other reads are the same unconditional update
                same = self._compound_updates(name, red_op)
                reads_elsewhere = [u for u in reads_elsewhere if u.pos not in same]
            if reads_elsewhere:
                where = min(reads_elsewhere, key=lambda u: u.pos)
                raise _Unsupported("recurrence", f"{name} accumulates across iterations and is also read in the loop "
                                   f"(line {self._line(where.pos)}): a recurrence", e)
            comp = usual(t, expr_type(value))
            if t.is_float and comp.name != t.name:
                raise _Unsupported("reduction_type", f"{name} is {t.spelling or t.name} but each update is computed in "
                                   f"{comp.name} and rounded back: vectorizing would change the result", e)
            if not t.is_float and comp.is_float:
                raise _Unsupported("reduction_type", f"{name} is an integer updated with floating-point values "
                                   "(converted back every iteration)", e)
            prev = self.scalars.get(name)
            if prev is not None and prev.role not in (ScalarRole.REDUCTION,):
                raise _Unsupported("recurrence", f"{name} is updated in several ways", e)
            if self._reduce_ops.setdefault(name, red_op) != red_op:
                raise _Unsupported("recurrence", f"{name} is updated with different operators", e)
            self.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
            return [Reduce(name, _REDUCE_OPS[red_op], convert(value, t), t, "", span)]
        assert right is not None
        mm = self._minmax_select(name, t, right, e)
        if mm is not None:
            if reads_elsewhere:
                raise _Unsupported("recurrence", f"{name} is a running min/max that is also read in the loop", e)
            self.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
            return [mm]
        if [u for u in inside if not u.write]:
            try:
                mm = _minmax_ir(name, t, self._expr(right), span)  # e.g. through a MAX(a, b) macro
            except _Unsupported as err:
                raise _Unsupported(err.reason.code, err.reason.message, e) from None
            if mm is not None and not reads_elsewhere and not writes_elsewhere and not cond:
                self.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
                return [mm]
            raise _Unsupported("recurrence", f"{name} is computed from its own previous value: a recurrence", e)
        value = convert(self._expr(right), t)
        if cond and not reads_elsewhere and not writes_elsewhere and not [u for u in inside if not u.write]:
            # `if (c) last = v;` with last read nowhere in the body: the last iteration where c held wins
            self.scalars[name] = Scalar(name, t, ScalarRole.LAST, decl=decl_text)
            return [LastValue(name, value, t, span)]
        if cond:
            raise _Unsupported("conditional_assign", f"{name} is assigned only on some iterations and keeps its old "
                               "value otherwise: a conditional recurrence", e)
        if writes_elsewhere:
            raise _Unsupported("recurrence", f"{name} is assigned several times in the body", e)
        if not [u for u in reads_elsewhere if u.pos < e.start_byte]:
            self.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=decl_text)
            return [Let(name, t, value, span)]
        if [u for u in reads_elsewhere if u.pos >= e.end_byte]:
            raise _Unsupported("unsupported_scalar", f"{name} is read both before its assignment (last iteration's "
                               "value) and after it (this iteration's value)", e)
        self.scalars[name] = Scalar(name, t, ScalarRole.CARRIED, decl=decl_text)
        return [Carry(name, value, t, span)]

    def _compound_updates(self, name: str, red_op: str) -> set[int]:
        """Start bytes of `name` in the body's statements `name op= e;` / `name++;` with operator `red_op`
        that run on every iteration (statements of the body itself, not under a condition)."""
        out: set[int] = set()
        for st in _stmts_of(self.body_node):
            ex = _strip(st.named_children[0]) if st.type == "expression_statement" and st.named_children else None
            if ex is None:
                continue
            if ex.type == "assignment_expression":
                left = _strip(ex.child_by_field_name("left"))
                op = _op(ex)
                if (left is not None and left.type == "identifier" and _text(left) == name and op.endswith("=")
                        and op[:-1] == red_op and not self._mentions(_field(ex, "right"), name)):
                    out.add(left.start_byte)
            elif ex.type == "update_expression" and red_op in "+-" and _op(ex) == red_op * 2:
                arg = _strip(ex.child_by_field_name("argument"))
                if arg is not None and _text(arg) == name:
                    out.add(arg.start_byte)
        return out

    def _has_continue(self, body: tree_sitter.Node | None) -> bool:
        stack = [body] if body is not None else []
        while stack:
            n = stack.pop()
            if n.type == "continue_statement":
                return True
            if n.type in _LOOP_TYPES or n.type == "lambda_expression":
                continue
            stack.extend(n.named_children)
        return False

    def _leftmost_is(self, r: tree_sitter.Node, name: str) -> bool:
        n: tree_sitter.Node | None = r
        while n is not None and n.type == "binary_expression" and _op(n) in ("+", "-"):
            n = _strip(n.child_by_field_name("left"))
        return n is not None and n.type == "identifier" and _text(n) == name

    def _chain_without(self, r: tree_sitter.Node, name: str, t: CType) -> Expr | None:
        """`name + a + b - c` -> `a + b - c` (reassociation is part of vectorizing a reduction anyway)."""
        terms: list[tuple[str, tree_sitter.Node]] = []
        n: tree_sitter.Node | None = r
        while n is not None and n.type == "binary_expression" and _op(n) in ("+", "-"):
            terms.append((_op(n), _field(n, "right")))
            n = _strip(n.child_by_field_name("left"))
        acc: Expr | None = None
        for sign, tn in reversed(terms):
            if self._mentions(tn, name):
                return None
            v = self._expr(tn)
            if acc is None:
                acc = v if sign == "+" else Unary("-", convert(v, promote(expr_type(v))), promote(expr_type(v)))
            else:
                acc = self._arith(sign, acc, v, tn)
        return acc

    def _mentions(self, node: tree_sitter.Node, name: str) -> bool:
        return any(node.start_byte <= u.pos < node.end_byte for u in self.uses.get(name, ()))

    def _invariant(self, node: tree_sitter.Node) -> bool:
        """No counter, no memory, no body-local or written variable, no call."""
        stack = [node]
        while stack:
            n = stack.pop()
            t = n.type
            if t in ("subscript_expression", "pointer_expression", "call_expression", "field_expression",
                     "update_expression", "assignment_expression"):
                return False
            if t == "identifier":
                nm = _text(n)
                if nm == self.iv or nm in self.locals or nm in self.written_outer or nm in self.walkers:
                    return False
                if nm in self.written_names:
                    return False
            stack.extend(n.named_children)
        return True

    def _minmax_select(self, name: str, t: CType, right: tree_sitter.Node, e: tree_sitter.Node) -> Reduce | None:
        r = _strip(right)
        if r is None:
            return None
        span = node_span(e)
        if r.type == "conditional_expression":
            c = _strip(r.child_by_field_name("condition"))
            a, b = r.child_by_field_name("consequence"), r.child_by_field_name("alternative")
            if c is None or a is None or b is None or c.type != "binary_expression" or _op(c) not in ("<", "<=", ">", ">="):
                return None
            cl, cr = _strip(c.child_by_field_name("left")), _strip(c.child_by_field_name("right"))
            if cl is None or cr is None:
                return None
            sa, sb, scl, scr = _squash(_text(a)), _squash(_text(b)), _squash(_text(cl)), _squash(_text(cr))
            op = _op(c)
            # Normalise to `var = (value cmp var) ? value : var`.
            if sb == name and scr == name and sa == scl:  # (v cmp m) ? v : m
                return self._mm(name, t, cl, op, span)
            if sb == name and scl == name and sa == scr:  # (m cmp v) ? v : m  ==  (v flip m) ? v : m
                return self._mm(name, t, cr, _FLIP[op], span)
            if sa == name and not t.is_float and ((scr == name and sb == scl) or (scl == name and sb == scr)):
                # (v cmp m) ? m : v -- the complement; exact only without NaNs: integers
                v = cl if scr == name else cr
                cmp = op if scr == name else _FLIP[op]
                inv = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[cmp]
                return self._mm(name, t, v, inv, span)
            return None
        if r.type == "call_expression":
            fname = _text(r.child_by_field_name("function"))
            args = [a for a in _field(r, "arguments").named_children if a.type != "comment"]
            if len(args) != 2:
                return None
            s0, s1 = _squash(_text(args[0])), _squash(_text(args[1]))
            bare = fname.replace("std::", "")
            if bare in ("fmaxf", "fmax", "fminf", "fmin") and name in (s0, s1):
                v = args[1] if s0 == name else args[0]
                if self._mentions(v, name):
                    return None
                value = self._expr(v)
                fn = mathcalls.lookup(fname, (expr_type(value),), self.cpp)
                if fn is None or fn.result.name != t.name:
                    return None
                return Reduce(name, ReduceOp.MAX if "max" in bare else ReduceOp.MIN, convert(value, t), t,
                              "fmax" if "max" in bare else "fmin", span)
            if self.cpp and fname in ("std::max", "std::min") and name in (s0, s1):
                # std::max(a, b) = (a < b) ? b : a ; std::min(a, b) = (b < a) ? b : a
                if fname == "std::max":
                    if s0 == name:  # (m < v) ? v : m  == (v > m) ? v : m
                        return self._mm(name, t, args[1], ">", span)
                    if not t.is_float:  # (v < m) ? m : v == (v >= m) ? v : m for integers
                        return self._mm(name, t, args[0], ">=", span)
                else:
                    if s0 == name:  # (v < m) ? v : m
                        return self._mm(name, t, args[1], "<", span)
                    if not t.is_float:
                        return self._mm(name, t, args[0], "<=", span)
            return None
        return None

    def _mm(self, name: str, t: CType, vnode: tree_sitter.Node, cmp: str, span: Span) -> Reduce | None:
        if self._mentions(vnode, name):
            return None
        value = self._expr(vnode)
        if not _minmax_exact(expr_type(value), t):
            return None  # compared in a wider type than the variable: not a plain min/max
        op = ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN
        return Reduce(name, op, convert(value, t), t, cmp, span)

    # ---- if -----------------------------------------------------------------------------------------

    def _if(self, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
        cnode = _field(n, "condition")
        then = _stmts_of(n.child_by_field_name("consequence"))
        alt = n.child_by_field_name("alternative")
        else_nodes: list[tree_sitter.Node] = []
        if alt is not None:
            else_nodes = [c for c in alt.named_children if c.type != "comment"]
            if len(else_nodes) == 1 and else_nodes[0].type == "compound_statement":
                else_nodes = _stmts_of(else_nodes[0])
        span = node_span(n)
        # search: if (c) break; / if (c) return e; / if (c) { x = e; break; }
        if then and then[-1].type in ("break_statement", "return_statement"):
            c = self._expr(cnode)
            last = then[-1]
            value: Expr | None = None
            var = ""
            if last.type == "return_statement":
                rv = [k for k in last.named_children if k.type != "comment"]
                if rv:
                    value = self._expr(rv[0])
            if len(then) == 2 and then[0].type == "expression_statement" and last.type == "break_statement":
                a = _strip(then[0].named_children[0]) if then[0].named_children else None
                if a is not None and a.type == "assignment_expression" and _op(a) == "=":
                    lft = _strip(a.child_by_field_name("left"))
                    if lft is not None and lft.type == "identifier" and _text(lft) not in self.locals:
                        var = _text(lft)
                        t = self._outer_scalar(var, a)
                        value = convert(self._expr(_field(a, "right")), t)
                        self.scalars[var] = Scalar(var, t, ScalarRole.LOCAL, decl=(self._iv_decl(var) or Decl(var, "")).text)
                        self.written_outer.add(var)
                    else:
                        raise _Unsupported("unsupported_control", "unsupported statement before break", then[0])
            elif len(then) != 1:
                raise _Unsupported("unsupported_control", "statements before a break/return", n)
            out: list[Stmt] = [Exit(c, "break" if last.type == "break_statement" else "return", value, span, var)]
            out.extend(self._block(else_nodes, True))
            return out
        mm = self._if_minmax(cnode, then, else_nodes, span, cond)
        if mm is not None:
            return mm
        pk = self._if_pack(cnode, then, else_nodes, span, cond)
        if pk is not None:
            return pk
        sel = self._if_select(cnode, then, else_nodes, span, cond)
        if sel is not None:
            return sel
        c = self._expr(cnode)
        then_s = self._block(then, True)
        else_s = self._block(else_nodes, True)
        return [If(c, tuple(then_s), tuple(else_s), span)]

    def _assign_parts(self, s: tree_sitter.Node) -> tuple[str, tree_sitter.Node] | None:
        if s.type != "expression_statement" or not s.named_children:
            return None
        a = _strip(s.named_children[0])
        if a is None or a.type != "assignment_expression" or _op(a) != "=":
            return None
        left = _strip(a.child_by_field_name("left"))
        right = a.child_by_field_name("right")
        if left is None or left.type != "identifier" or right is None:
            return None
        return _text(left), right

    def _if_minmax(self, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
                   span: Span, cond: bool) -> list[Stmt] | None:
        c = _strip(cnode)
        if else_nodes or c is None or c.type != "binary_expression" or _op(c) not in ("<", "<=", ">", ">=") or cond:
            return None
        if not then or len(then) > 2:
            return None
        parts = [self._assign_parts(s) for s in then]
        if any(p is None for p in parts):
            return None
        cl, cr = _strip(c.child_by_field_name("left")), _strip(c.child_by_field_name("right"))
        if cl is None or cr is None:
            return None
        scl, scr = _squash(_text(cl)), _squash(_text(cr))
        best = None
        for p in parts:
            assert p is not None
            nm, rhs = p
            srhs = _squash(_text(rhs))
            if nm not in self.locals and ((scr == nm and srhs == scl) or (scl == nm and srhs == scr)):
                best = (nm, rhs)
        if best is None:
            return None
        name, vnode = best
        op = _op(c)
        cmp = op if scr == name else _FLIP[op]  # value cmp var
        t = self._outer_scalar(name, c)
        uses = self.uses.get(name, [])
        stmt_start, stmt_end = span.start_byte, span.end_byte
        if any(not (stmt_start <= u.pos < stmt_end) for u in uses):
            raise _Unsupported("recurrence", f"{name} is a running min/max that is also read elsewhere in the loop",
                               c)
        if self._mentions(vnode, name):
            return None
        value = self._expr(vnode)
        if not _minmax_exact(expr_type(value), t):
            raise _Unsupported("reduction_type", f"{name} is compared in a wider type than its own", c)
        if len(parts) == 1:
            self.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=(self._iv_decl(name) or Decl(name, "")).text)
            self.written_outer.add(name)
            return [Reduce(name, ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN, convert(value, t), t, cmp, span)]
        other = next(p for p in parts if p is not None and p[0] != name)
        iname, inode = other
        if iname in self.locals or any(not (stmt_start <= u.pos < stmt_end) for u in self.uses.get(iname, [])):
            raise _Unsupported("recurrence", f"{iname} is also used elsewhere in the loop", c)
        it = self._outer_scalar(iname, c)
        index = convert(self._expr(inode), it)
        dt = (self._iv_decl(name) or Decl(name, "")).text
        self.scalars[name] = Scalar(name, t, ScalarRole.ARG_VALUE, decl=dt)
        self.scalars[iname] = Scalar(iname, it, ScalarRole.ARG_INDEX, decl=(self._iv_decl(iname) or Decl(iname, "")).text)
        self.written_outer.update((name, iname))
        return [ArgReduce(name, iname, cmp, convert(value, t), index, t, span)]

    def _if_select(self, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
                   span: Span, cond: bool) -> list[Stmt] | None:
        """`if (c) t = a; else t = b;` with `t` declared outside the loop and read only after it: assigned
        on every iteration before any read, `t` is a private temporary, `t = c ? a : b`."""
        if cond or len(then) != 1 or len(else_nodes) != 1:
            return None
        first, second = self._assign_parts(then[0]), self._assign_parts(else_nodes[0])
        if first is None or second is None or first[0] != second[0]:
            return None
        name = first[0]
        if name in self.locals or name == self.iv or name in self.walkers or name == self.count_var or (
                self.range_ref is not None and name == self.range_ref[0]):
            return None
        uses = self.uses.get(name, [])
        inside = [u for u in uses if span.start_byte <= u.pos < span.end_byte]
        # exactly the two assignments here, every other use a read after them
        if len(inside) != 2 or not all(u.write for u in inside):
            return None
        if any(u.write or u.pos < span.end_byte for u in uses if u not in inside):
            return None
        t = self._outer_scalar(name, cnode)
        value = Select(self._expr(cnode), convert(self._expr(first[1]), t), convert(self._expr(second[1]), t), t)
        self.written_outer.add(name)
        self.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=(self._iv_decl(name) or Decl(name, "")).text)
        return [Let(name, t, value, span)]

    def _if_pack(self, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
                 span: Span, cond: bool) -> list[Stmt] | None:
        """if (c) b[j++] = x;  /  if (c) { b[j] = x; j++; }"""
        if else_nodes or cond or not then or len(then) > 2:
            return None
        first = then[0]
        if first.type != "expression_statement" or not first.named_children:
            return None
        a = _strip(first.named_children[0])
        if a is None or a.type != "assignment_expression" or _op(a) != "=":
            return None
        left = _strip(a.child_by_field_name("left"))
        if left is None or left.type != "subscript_expression":
            return None
        idx = _strip(_index_node(left))
        if idx is None:
            return None
        counter = ""
        if len(then) == 1 and idx.type == "update_expression" and _op(idx) == "++" and self._postfix(idx):
            counter = self._updated_name(idx)
        elif len(then) == 2 and idx.type == "identifier":
            second = then[1]
            if second.type == "expression_statement" and second.named_children:
                u = _strip(second.named_children[0])
                if u is not None and self._updated_name(u) == _text(idx) and u.type == "update_expression" and _op(u) == "++":
                    counter = _text(idx)
        if not counter or counter in self.locals:
            return None
        if any(not (span.start_byte <= u.pos < span.end_byte) for u in self.uses.get(counter, [])):
            raise _Unsupported("recurrence", f"the output counter {counter} is also used elsewhere in the loop", a)
        ct = self._outer_scalar(counter, a)
        if ct.is_float:
            return None
        base = _strip(_field(left, "argument"))
        assert base is not None
        root, base_text, elem, arr = self._base(base)
        self._note_array(root, arr, elem)
        dst = Access(root, base_text, elem, None, 0, "", Var(counter, ct), node_span(left))
        c = self._expr(cnode)
        value = convert(self._expr(_field(a, "right")), elem)
        self.scalars[counter] = Scalar(counter, ct, ScalarRole.COUNTER, decl=(self._iv_decl(counter) or Decl(counter, "")).text)
        self.written_outer.add(counter)
        return [Pack(c, dst, counter, value, span)]

    # ---- expressions --------------------------------------------------------------------------------

    def _line(self, pos: int) -> int:
        return self.source.count(b"\n", 0, pos) + 1

    def _arith(self, op: str, a: Expr, b: Expr, node: tree_sitter.Node) -> Expr:
        ta, tb = expr_type(a), expr_type(b)
        if op in ("<<", ">>"):
            if ta.is_float or tb.is_float:
                raise _Unsupported("type_error", "shift of a floating-point value", node)
            t = promote(ta)
            return Binary(op, convert(a, t), convert(b, t), t)
        if op in ("%", "&", "|", "^") and (ta.is_float or tb.is_float):
            raise _Unsupported("type_error", f"'{op}' on a floating-point value", node)
        t = usual(ta, tb)
        if op in _CMP:
            return Binary(op, convert(a, t), convert(b, t), INT32)
        return Binary(op, convert(a, t), convert(b, t), t)

    def _expr(self, node: tree_sitter.Node) -> Expr:
        # `_strip` inlined for the usual case (no parentheses): this runs for every expression node
        n = _strip(node) if node is None or node.kind_id in _WRAPPER_KIND_IDS else node
        if n is None:
            raise _Unsupported("unsupported", "empty expression", node)
        t = n.type
        if t == "identifier":  # the node types are tested most frequent first
            ident = self._ident(n)
            if expr_type(ident).is_complex:
                raise _Unsupported("complex", f"{_text(n)} is a complex scalar ('{expr_type(ident).spelling}'): "
                                   "complex reductions and complex temporaries are not rewritten", n)
            return ident
        if t == "number_literal":
            c = _literal(_text(n))
            if c.type.name == "long double":
                raise _Unsupported("long_double", "uses a long double literal", n)
            return c
        if t == "char_literal":
            v = _char_value(_text(n))
            return Const(v, CType("int8", "char") if self.cpp else INT32, _text(n))
        if t in ("true", "false"):
            return Const(1 if t == "true" else 0, CType("uint8", "bool"), t)
        if t in ("subscript_expression", "pointer_expression", "field_expression") or (
                t == "call_expression" and self._is_data_call(n)):
            if t == "pointer_expression" and _op(n) == "&":
                raise _Unsupported("address_of", f"takes an address ('{_text(n)}')", n)
            if t == "field_expression" and not self._is_container_size(n):
                return self._member_scalar(n)
            acc = self._access(n)
            if acc.elem.is_complex:
                raise _Unsupported("complex", f"uses the complex value {_text(n)} ('{acc.elem.spelling}') where "
                                   f"a real one is needed: {COMPLEX_SUPPORTED}", n)
            return Load(acc)
        if t == "binary_expression":
            op = _op(n)
            left_node = n.child_by_field_name("left")
            if op in ("+", "-", "*", "&") and left_node is not None and left_node.type == "parenthesized_expression":
                cast = self._type_in_parentheses(n)
                if cast is not None:
                    return cast
            a = self._expr(_field(n, "left"))
            b = self._expr(_field(n, "right"))
            if op in ("&&", "||"):
                return Binary(op, a, b, INT32)
            if op not in _ARITH and op not in _CMP and op not in ("<<", ">>"):
                raise _Unsupported("unsupported", f"operator {op}", n)
            return self._arith(op, a, b, n)
        if t == "unary_expression":
            op = _op(n)
            a = self._expr(_field(n, "argument"))
            ta = expr_type(a)
            if op == "!":
                return Unary("!", a, INT32)
            if op == "+":
                return convert(a, promote(ta))
            if op == "~" and ta.is_float:
                raise _Unsupported("type_error", "'~' on a floating-point value", n)
            pt = promote(ta)
            return Unary(op, convert(a, pt), pt)
        if t == "conditional_expression":
            cond_e = self._expr(_field(n, "condition"))
            a = self._expr(_field(n, "consequence"))
            b = self._expr(_field(n, "alternative"))
            rt = usual(expr_type(a), expr_type(b))
            return Select(cond_e, convert(a, rt), convert(b, rt), rt)
        if t == "cast_expression":
            tn = _field(n, "type")
            spelled = " ".join(_text(tn).split())
            if "*" in spelled:
                raise _Unsupported("pointer_cast", f"casts to the pointer type {spelled}", n)
            ct = ctype_of(spelled, self.ctx)
            if ct is None:
                raise _Unsupported("long_double" if "long double" in spelled else "unknown_type",
                                   f"unknown type '{spelled}' in a cast", n)
            return Cast(self._expr(_field(n, "value")), ct, implicit=False)
        if t == "call_expression":
            return self._call(n)
        if t == "sizeof_expression":
            size = self._int_text(_text(n))
            if size is None:
                raise _Unsupported("unsupported", f"cannot evaluate {_text(n)}", n)
            return Const(size, UINT64, _text(n))
        if t in ("update_expression",):
            name = self._updated_name(n)
            raise _Unsupported("counter_modified" if name == self.iv else "side_effect",
                               f"'{_text(n)}' inside an expression", n)
        if t == "assignment_expression":
            raise _Unsupported("side_effect", f"assignment inside an expression ('{_text(n)}')", n)
        if t == "comma_expression":
            raise _Unsupported("side_effect", "comma expression", n)
        if t == "gnu_asm_expression":
            raise _Unsupported("asm", "contains inline assembly", n)
        if t == "null":
            raise _Unsupported("pointer_value", "uses NULL", n)
        raise _Unsupported("unsupported", f"unsupported expression '{_text(n)[:40]}'", n)

    def _type_in_parentheses(self, n: tree_sitter.Node) -> Expr | None:
        """`(real_t) - x`: the parser, not knowing real_t is a type, reads a subtraction; it is a cast of
        `-x`. None when the parenthesised name is not a type."""
        inner = _strip(_field(n, "left"))
        if inner is None or inner.type not in ("identifier", "type_identifier"):
            return None
        name = _text(inner)
        if self._iv_decl(name) is not None or name in self.locals or name == self.iv:
            return None
        ct = ctype_of(name, self.ctx)
        if ct is None:
            return None
        op, right = _op(n), _field(n, "right")
        r = _strip(right)
        if op == "&" or r is None or r.type in ("binary_expression", "conditional_expression",
                                                 "assignment_expression", "comma_expression"):
            raise _Unsupported("unsupported", f"'{_text(n)[:40]}' is a cast to {name} of '{op}…', which the "
                               "syntax tree reads as an operation: add parentheses around the operand", n)
        if op == "*":  # `(q31)*a++ * *b++`: the cast of `*a++`
            return Cast(Load(self._deref(r, right, Span(n.children[1].start_byte, right.end_byte,
                                                          node_span(n.children[1]).start, node_span(right).end))),
                        ct, implicit=False)
        value = self._expr(right)
        pt = promote(expr_type(value))
        return Cast(Unary(op, convert(value, pt), pt) if op == "-" else convert(value, pt), ct, implicit=False)

    def _ident(self, n: tree_sitter.Node) -> Expr:
        name = _text(n)
        if self.macro_args and name in self.macro_args[-1]:
            return self.macro_args[-1][name]
        if name == self.iv:
            return IV(name, self.iv_type)
        if self.range_ref is not None and name == self.range_ref[0]:
            return Load(self.range_ref[1])
        if name in self.locals:
            return Var(name, self.locals[name])
        if self.pointer_walk and name == self.count_var:
            raise _Unsupported("counter_modified", f"the count {name} is used in the body", n)
        known = self._invariant_vars.get(name)
        if known is not None:  # read before: the checks below passed and its scalar is registered
            return known
        d = self._iv_decl(name)
        if d is not None:
            if d.func_ptr:
                raise _Unsupported("function_pointer", f"{name} is a function pointer", n)
            if d.volatile:
                raise _Unsupported("volatile", f"{name} is volatile: every access must happen as written", n)
            if d.atomic or "atomic" in d.type:
                raise _Unsupported("atomic", f"{name} is atomic", n)
            if d.pointer or d.extents or d.container:
                raise _Unsupported("pointer_value", f"uses the pointer/array {name} as a value", n)
            ct = ctype_of(_complex_spelling(d) or d.type, self.ctx)
            if ct is None:
                raise _Unsupported("long_double" if "long double" in d.type else "unknown_type",
                                   f"unknown type '{d.type}' of {name}", n)
            if name not in self.scalars:
                self.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=d.text)
            var = self._invariant_vars[name] = Var(name, ct)
            return var
        # macros and enumerators
        ctx = self.ctx
        if ctx is not None:
            macros = getattr(ctx, "macros", {})
            if name in macros:
                body = str(macros[name]).strip()
                if re.fullmatch(r"\(?\s*[-+]?[\d.][\w.+\-']*\s*\)?", body):
                    c = _literal(body.strip("() "))
                    if c.type.name == "long double":
                        raise _Unsupported("long_double", f"{name} is a long double constant", n)
                    neg = body.replace("(", "").strip().startswith("-")
                    return Const(-c.value if neg else c.value, c.type, name)
                v = self._int_text(name)
                if v is not None:
                    return Const(v, INT32 if -(1 << 31) <= v < (1 << 31) else INT64, name)
                if getattr(ctx, "facts", None) is not None and name not in self.macro_args_seen:
                    parsed = _macro_body(f"#define {name}() {body}", self.site.language)  # clang's full expansion
                    if parsed is not None:
                        self.macro_args.append({})
                        self.macro_args_seen.add(name)
                        try:
                            return self._expr(parsed[1])
                        finally:
                            self.macro_args.pop()
                            self.macro_args_seen.discard(name)
                raise _Unsupported("macro", f"cannot evaluate the macro {name}", n)
            if name in getattr(ctx, "enum_constants", {}):
                v = self._int_text(name)
                if v is not None:
                    return Const(v, INT32, name)
        if name in ("_Complex_I", "__builtin_complex"):
            raise _Unsupported("complex", f"uses {name}: loops over complex values are not vectorized", n)
        if name in ("NAN", "INFINITY", "HUGE_VALF"):
            return Const(float("nan") if name == "NAN" else float("inf"), FLOAT, name)
        if name in _LIMITS:
            v2, ct2 = _LIMITS[name]
            return Const(v2, ct2, name)
        raise _Unsupported("unknown_identifier", f"cannot find the declaration of {name}", n)

    def _member_scalar(self, n: tree_sitter.Node) -> Expr:
        """`p->n`, `s.k`: a loop-invariant scalar member read."""
        ft = self._field_decl(n)
        if ft is None:
            raise _Unsupported("unknown_type", f"cannot find the type of {_text(n)}", n)
        if ft.pointer or ft.extents:
            raise _Unsupported("pointer_value", f"uses the pointer {_text(n)} as a value", n)
        if ft.volatile or ft.atomic:
            raise _Unsupported("volatile", f"{_text(n)} is volatile/atomic", n)
        ct = ctype_of(ft.type, self.ctx)
        if ct is None:
            raise _Unsupported("unknown_type", f"unknown type '{ft.type}' of {_text(n)}", n)
        name = _squash(_text(n))
        root = re.split(r"->|\.", name)[0]
        if root == self.iv or root in self.locals:
            raise _Unsupported("unsupported", f"member of a loop-varying value {name}", n)
        if name not in self.scalars:
            self.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=ft.text)
        return Var(name, ct)

    def _field_decl(self, n: tree_sitter.Node) -> Decl | None:
        """The declaration of the member a field_expression names."""
        arg = _strip(n.child_by_field_name("argument"))
        fname = _text(n.child_by_field_name("field"))
        arrow = _op(n) == "->" or "->" in _text(n)[len(_text(arg)) if arg is not None else 0:][:3]
        if arg is None:
            return None
        if arg.type == "this":
            return self._member(fname)
        if arg.type == "identifier":
            d = self._iv_decl(_text(arg))
            if d is None:
                return None
            if arrow and d.pointer != 1 and not (d.extents and d.pointer == 0):
                return None
            type_text = d.type
        elif arg.type == "field_expression":
            inner = self._field_decl(arg)
            if inner is None:
                return None
            type_text = inner.type
        elif arg.type == "subscript_expression":
            inner_arg = _strip(arg.child_by_field_name("argument"))
            if inner_arg is None or inner_arg.type != "identifier":
                return None
            d = self._iv_decl(_text(inner_arg))
            if d is None:
                return None
            type_text = d.type
        else:
            return None
        struct_of = getattr(self.ctx, "struct_of", None)
        st = struct_of(type_text) if struct_of is not None else None
        if st is None:
            return None
        f = st.field(fname)
        if f is None:
            return None
        return Decl(f.name, f.type, f.pointer, tuple(f.extents), f.const, f.volatile, f.restrict, f.atomic,
                    text=f.text)

    def _is_data_call(self, n: tree_sitter.Node) -> bool:
        f = n.child_by_field_name("function")
        return f is not None and f.type == "field_expression" and _text(f.child_by_field_name("field")) == "data"

    def _is_container_size(self, n: tree_sitter.Node) -> bool:
        return False

    def _call(self, n: tree_sitter.Node) -> Expr:
        f = _field(n, "function")
        fname = _squash(_text(f))
        args_node = _field(n, "arguments")
        arg_nodes = [a for a in args_node.named_children if a.type != "comment"]
        if fname in ("__real__", "__imag__"):  # GNU operators on complex values, not functions
            raise _Unsupported("complex", _complex_part_reason(fname, node_span(n)).message, n)
        inner = _strip(f) if f.type == "parenthesized_expression" else None
        if inner is not None and inner.type == "identifier" and len(arg_nodes) == 1 and self._iv_decl(_text(inner)) is None:
            # `(pixel_t)(x)`: the parser cannot know pixel_t is a type; it is a cast
            ct = ctype_of(_text(inner), self.ctx)
            if ct is not None:
                return Cast(self._expr(arg_nodes[0]), ct, implicit=False)
        if f.type == "field_expression":
            obj = _strip(f.child_by_field_name("argument"))
            member = _text(f.child_by_field_name("field"))
            if member in ("real", "imag") and not arg_nodes and obj is not None:  # std::complex's own accessors
                return self._complex_part_call(member, obj, n)
            if obj is not None and obj.type == "identifier" and member == "size" and not arg_nodes:
                d = self._iv_decl(_text(obj))
                if d is not None and (d.container or (not d.pointer and self._pure_size_method(d.type))):
                    if _text(obj) in self.written_names:
                        raise _Unsupported("call", f"calls {fname}", n)
                    name = f"{_text(obj)}.size()"
                    self.scalars.setdefault(name, Scalar(name, UINT64, ScalarRole.INVARIANT))
                    return Var(name, UINT64)
            raise _Unsupported("call", f"calls {fname}", n)
        if self._is_func_ptr(fname):
            raise _Unsupported("function_pointer", f"calls through the function pointer {fname}", n)
        if fname in _COMPLEX_CALLS and len(arg_nodes) == 1:
            return self._complex_part_call(fname, arg_nodes[0], n)
        args = [self._expr(a) for a in arg_nodes]
        if self.cpp and fname in ("std::max", "std::min", "max", "min") and len(args) == 2 and fname.startswith("std"):
            a, b = args
            ta, tb = expr_type(a), expr_type(b)
            if ta.name != tb.name:
                raise _Unsupported("type_error", f"{fname} with different argument types", n)
            if fname == "std::max":
                return Select(Binary("<", a, b, INT32), b, a, ta)
            return Select(Binary("<", b, a, INT32), b, a, ta)
        fn = mathcalls.lookup(fname, tuple(expr_type(a) for a in args), self.cpp)
        if fn is None:
            macro = getattr(self.ctx, "function_macros", {}).get(fname)
            if macro is not None:
                return self._expand(fname, str(macro), args, n)
            raise _Unsupported("call", f"calls {fname}", n)
        if len(args) != len(fn.args):
            raise _Unsupported("call", f"calls {fname} with {len(args)} arguments", n)
        conv = tuple(convert(a, t) for a, t in zip(args, fn.args, strict=True))
        if fn.name in ("abs", "labs", "llabs"):
            return Unary("abs", conv[0], fn.result)
        if not fn.vector:
            self.reasons.append(Reason("math_call", f"{fn.name} {fn.note}", node_span(n)))
        if fn.name.startswith("fma"):
            self.reasons.append(Reason("fma_call", f"{fn.name} must stay fused (one rounding): needs FMA "
                                       "instructions", node_span(n)))
        return Call(fn.name, conv, fn.result)

    def _expand(self, name: str, define: str, args: list[Expr], n: tree_sitter.Node) -> Expr:
        """A function-like macro used as an expression (`MAX(a[i], m)`): its body typed with the
        parameters bound to the arguments' IR (C duplicates the argument text; loads are pure)."""
        if len(self.macro_args) > 8:
            raise _Unsupported("macro", f"{name} expands too deeply", n)
        parsed = _macro_body(define, self.site.language)
        if parsed is None:
            raise _Unsupported("macro", f"cannot read the definition of the macro {name}", n)
        params, body = parsed
        if len(params) != len(args):
            raise _Unsupported("macro", f"{name} takes {len(params)} arguments", n)
        self.macro_args.append(dict(zip(params, args, strict=True)))
        try:
            return self._expr(body)
        except _Unsupported as e:
            raise _Unsupported(e.reason.code, f"in the macro {name}: {e.reason.message}", n) from None
        finally:
            self.macro_args.pop()

    def _pure_size_method(self, type_text: str) -> bool:
        """Whether the class `type_text` has `size() const { return m.size(); }` with `m` a std
        container member: then `obj.size()` is the container's size, invariant while the loop (which
        calls no other method of obj) runs."""
        words = [w for w in _IDENTIFIER.findall(type_text) if w not in ("const", "volatile", "struct", "class")]
        if len(words) != 1 or not self.cpp:
            return False
        member = _file_scan(self.tree).size_member(words[0])
        struct_of = getattr(self.ctx, "struct_of", None)
        st = struct_of(words[0]) if member and struct_of is not None else None
        f = st.field(member) if st is not None else None
        return f is not None and not f.pointer and bool(_container_kind(" ".join(f.type.split())))

    def _is_func_ptr(self, name: str) -> bool:
        d = self._iv_decl(name)
        return d is not None and d.func_ptr

    # ---- array accesses -------------------------------------------------------------------------------

    # ---- complex numbers: interleaved (real, imaginary) pairs ------------------------------------

    def _complex_parts(self, acc: Access, n: tree_sitter.Node) -> tuple[Access, Access]:
        """The real and imaginary parts of a complex element as accesses of the array seen as its parts
        (C11 6.2.5p13, C++ [complex.numbers]: a complex is an array of two reals)."""
        if acc.coeff is None:
            raise _Unsupported("complex", f"indirect access to the complex array {acc.root} ('{acc.elem.spelling}')", n)
        part = FLOAT if acc.elem.name == "float" else DOUBLE
        base = f"(({part.c} *)({acc.base}))"
        sym = f"2 * ({acc.symbolic})" if acc.symbolic else ""
        real = Access(acc.root, base, part, 2 * acc.coeff, 2 * acc.offset, sym, None, acc.span)
        return real, Access(acc.root, base, part, 2 * acc.coeff, 2 * acc.offset + 1, sym, None, acc.span)

    def _complex_value(self, node: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None]:
        """(real part, imaginary part or None for a real value, the complex type or None)."""
        n = _strip(node) or node
        t = n.type
        if t in ("subscript_expression", "pointer_expression") and _op(n) != "&":
            acc = self._access(n)
            if not acc.elem.is_complex:
                return Load(acc), None, None
            real, imag = self._complex_parts(acc, n)
            return Load(real), Load(imag), acc.elem
        if t == "binary_expression" and _op(n) in ("+", "-", "*", "/"):
            return self._complex_arith(_op(n), self._complex_value(_field(n, "left")),
                                       self._complex_value(_field(n, "right")), n)
        if t == "unary_expression" and _op(n) in ("-", "+"):
            re_, im, ct = self._complex_value(_field(n, "argument"))
            if ct is None:
                return self._expr(n), None, None
            if _op(n) == "+":
                return re_, im, ct
            return _negate(re_), _negate(im) if im is not None else None, ct
        if t == "call_expression":
            fname = _squash(_text(_field(n, "function")))
            args = [a for a in _field(n, "arguments").named_children if a.type != "comment"]
            if fname in _CONJ_CALLS and len(args) == 1:
                re_, im, ct = self._complex_value(args[0])
                if ct is None or im is None:
                    raise _Unsupported("complex", f"{fname} of a real value", n)
                return re_, _negate(im), ct
        return self._expr(n), None, None

    def _complex_arith(self, op: str, a: tuple[Expr, Expr | None, CType | None],
                       b: tuple[Expr, Expr | None, CType | None], n: tree_sitter.Node) -> tuple[Expr, Expr | None, CType | None]:
        if a[2] is None and b[2] is None:
            return self._arith(op, a[0], b[0], n), None, None
        ct = a[2] or b[2]
        assert ct is not None
        if op == "/":
            raise _Unsupported("complex", f"complex division of '{ct.spelling}' (C's Annex G scaling and inf/NaN "
                               "rules) is not rewritten", n)
        if op == "*":
            if a[2] is not None and b[2] is not None:
                raise _Unsupported("complex", f"complex multiply of '{ct.spelling}' is not rewritten: a*b "
                                   "recomputes inf/NaN results (C Annex G; gcc's __mulsc3/__muldc3, also behind "
                                   "std::complex) unless -fcx-limited-range or -ffast-math, and gcc fuses its products "
                                   "under -mfma despite -ffp-contract=off, so no lane-wise multiply matches it exactly", n)
            z, r = (a, b) if a[2] is not None else (b, a)
            assert z[1] is not None
            return self._arith("*", z[0], r[0], n), self._arith("*", z[1], r[0], n), ct
        real = self._arith(op, a[0], b[0], n)
        if a[1] is None:  # real - complex: the imaginary part is negated, never computed as 0 - im
            imag = b[1] if op == "+" or b[1] is None else _negate(b[1])
        elif b[1] is None:
            imag = a[1]
        else:
            imag = self._arith(op, a[1], b[1], n)
        if a[2] is not None and b[2] is not None and a[2].name != b[2].name:
            ct = a[2] if a[2].name == "double" else b[2]
        return real, imag, ct

    def _complex_store(self, acc: Access, op: str, right: tree_sitter.Node, e: tree_sitter.Node) -> list[Stmt]:
        """`c[i] = <complex expression>`: two stores, the real part and the imaginary part."""
        real, imag = self._complex_parts(acc, e)
        value = self._complex_value(right)
        if op != "=":
            value = self._complex_arith(op[:-1], (Load(real), Load(imag), acc.elem), value, e)
        re_v, im_v, _ct = value
        if im_v is None:  # a real value stored into a complex: imaginary part +0
            im_v = Const(0.0, real.elem, "0")
        span = node_span(e)
        return [Store(real, convert(re_v, real.elem), span), Store(imag, convert(im_v, imag.elem), span)]

    def _complex_part_call(self, fname: str, arg: tree_sitter.Node, n: tree_sitter.Node) -> Expr:
        """crealf / cimagf / std::real / std::imag of a complex value; cabsf and friends are refused."""
        if fname in _CONJ_CALLS:
            raise _Unsupported("complex", f"uses the complex value {_text(n)} where a real one is needed: "
                               f"{COMPLEX_SUPPORTED}", n)
        if fname in _ABS_CALLS:
            raise _Unsupported("complex", f"{fname} of a complex value is not rewritten: it is hypot (scaled against "
                               "overflow, correctly rounded), which sqrt(re*re + im*im) does not match exactly", n)
        re_, im, ct = self._complex_value(arg)
        if ct is None:
            raise _Unsupported("call", f"calls {fname} on a real value", n)
        if fname in _REAL_CALLS:
            return re_
        assert im is not None
        return im

    def _note_array(self, root: str, d: Decl | None, elem: CType, *, is_global: bool = False) -> None:
        if root in self.arrays:
            return
        if d is None:
            self.arrays[root] = Array(root, elem, pointer=True)
            return
        container = d.container
        # an array parameter is a pointer (`const float b[3]` is `const float *b`)
        pointer = (d.pointer > 0 and not d.extents and not container) or (d.is_param and bool(d.extents)
                                                                            and not d.reference)
        pointer = pointer or container == "span"  # a view: two spans may show the same elements
        extent = d.extents[0] if d.extents else ""
        if container == "array":
            m = re.search(r",\s*([^>]+)>", d.type)
            extent = m.group(1).strip() if m else ""
        self.arrays[root] = Array(root, elem, pointer=pointer, restrict=d.restrict, const=d.const,
                                  is_global=d.is_global, is_param=d.is_param, volatile=d.volatile, extent=extent,
                                  decl=d.text)

    def _elem_of(self, d: Decl, node: tree_sitter.Node, depth: int) -> CType:
        """Element type of a declared array/pointer indexed `depth` times."""
        cx = _complex_spelling(d)
        if cx and not d.container:
            ct = ctype_of(cx, self.ctx)
            if ct is None:
                raise _Unsupported("complex", f"{d.name} holds '{cx}': only float and double complex numbers are "
                                   "rewritten", node)
            if d.pointer + len(d.extents) != depth:
                raise _Unsupported("unsupported", f"{d.name} is indexed {depth} time(s) but has "
                                   f"{d.pointer + len(d.extents)} level(s)", node)
            return ct
        if d.container:
            m = re.match(r"^(?:std::)?\w+\s*<\s*([^,>]+)", d.type)
            spelled = m.group(1).strip() if m else ""
        else:
            if d.pointer + len(d.extents) != depth:
                raise _Unsupported("pointer_value" if d.pointer + len(d.extents) > depth else "unsupported",
                                   f"{d.name} is indexed {depth} time(s) but has {d.pointer + len(d.extents)} "
                                   "level(s)", node)
            spelled = d.type
        if d.func_ptr:
            raise _Unsupported("function_pointer", f"{d.name} holds function pointers", node)
        if d.volatile:
            raise _Unsupported("volatile", f"{d.name} points to volatile data: every access must happen as written",
                               node)
        if d.atomic or "atomic" in spelled:
            raise _Unsupported("atomic", f"{d.name} holds atomic data", node)
        ct = ctype_of(spelled, self.ctx)
        if ct is None:
            if "long double" in spelled:
                raise _Unsupported("long_double", f"{d.name} holds long double (x87, no SIMD)", node)
            raise _Unsupported("unknown_type", f"unknown element type '{spelled}' of {d.name}", node)
        return ct

    def _base(self, b: tree_sitter.Node) -> tuple[str, str, CType, Decl | None]:
        """A pointer expression indexed once: root, base text, element type, declaration."""
        t = b.type
        if t == "identifier":
            name = _text(b)
            if name in self.locals or name == self.iv:
                raise _Unsupported("unsupported", f"{name} is not an array", b)
            if name in self.walk_alias:  # p of `for (T *p = a; ...)`: elements of a (root a, see _access)
                d0 = self._iv_decl(self.walk_alias[name])
                assert d0 is not None
                return name, name, self._elem_of(d0, b, 1), d0
            known = self._bases.get(name)
            if known is not None:  # indexed before (`a[i] = a[i] + ...`): the same answer
                return known
            d = self._iv_decl(name)
            if d is None:
                raise _Unsupported("unknown_identifier", f"cannot find the declaration of {name}", b)
            if d.container:  # vector, array, valarray or span
                known = name, f"{name}.data()", self._elem_of(d, b, 1), d
            else:
                known = name, name, self._elem_of(d, b, 1), d
            self._bases[name] = known
            return known
        if t == "field_expression":
            fd = self._field_decl(b)
            if fd is None:
                raise _Unsupported("unknown_type", f"cannot find the type of {_text(b)}", b)
            text = _squash(_text(b))
            root0 = re.split(r"->|\.|\[", text)[0]
            if root0 == self.iv or root0 in self.locals:
                raise _Unsupported("unsupported", f"array member of a loop-varying value ({text})", b)
            if fd.container:
                return text, f"{text}.data()", self._elem_of(fd, b, 1), fd
            return text, text, self._elem_of(fd, b, 1), fd
        if t == "call_expression" and self._is_data_call(b):
            obj = _strip(_field(b, "function").child_by_field_name("argument"))
            if obj is None or obj.type not in ("identifier", "field_expression"):
                raise _Unsupported("unsupported", f"unsupported {_text(b)}", b)
            if obj.type == "identifier":
                d = self._iv_decl(_text(obj))
                if d is None or not d.container:
                    raise _Unsupported("unknown_type", f"cannot find the container {_text(obj)}", b)
                return _text(obj), f"{_text(obj)}.data()", self._elem_of(d, b, 1), d
            root, _bt, elem, d2 = self._base(obj)
            return root, f"{_squash(_text(obj))}.data()", elem, d2
        if t == "subscript_expression":
            # a row of a 2-D array or of a pointer-to-pointer: a[j][...]
            inner = _strip(_field(b, "argument"))
            if inner is None or inner.type != "identifier":
                raise _Unsupported("unsupported", f"unsupported row expression {_text(b)}", b)
            name = _text(inner)
            d = self._iv_decl(name)
            if d is None:
                raise _Unsupported("unknown_identifier", f"cannot find the declaration of {name}", b)
            row = _index_node(b)
            if not self._invariant_index(row):
                raise _Unsupported("row_varies", "row varies", b)
            elem = self._elem_of(d, b, 2)
            return name, _squash(_text(b)), elem, d
        raise _Unsupported("unsupported", f"unsupported array expression {_text(b)[:40]}", b)

    def _invariant_index(self, n: tree_sitter.Node) -> bool:
        a = self._aff(n)
        return a is not None and a.coeff == 0

    def _access(self, n: tree_sitter.Node) -> Access:
        if n.kind_id in _WRAPPER_KIND_IDS:
            n = _strip(n) or n
        span = node_span(n)
        t = n.type
        if t == "call_expression" and self._is_data_call(n):
            raise _Unsupported("pointer_value", f"uses {_text(n)} as a value", n)
        if t == "subscript_expression":
            arg = _strip(_field(n, "argument"))
            assert arg is not None
            idx = _index_node(n)
            try:
                root, base, elem, d = self._base(arg)
            except _Unsupported as e:
                if e.reason.code != "row_varies":
                    raise
                return self._flat_2d(arg, idx, n)
            real = self.walk_alias.get(root, root)
            self._note_array(real, d, elem)
            if self.walkers.get(root):
                w = self.walked.get(root, 0)
                aff = self._aff(idx)
                if aff is None or aff.coeff != 0:
                    raise _Unsupported("pointer_walk", f"{_text(n)} indexes a walking pointer by the counter", n)
                return Access(real, real, elem, self.walkers[root], aff.offset + w, aff.symbolic, None, span)
            aff = self._aff(idx)
            if aff is not None:
                return Access(root, base, elem, aff.coeff, aff.offset, aff.symbolic, None, span)
            index = self._expr(idx)
            if expr_type(index).is_float:
                raise _Unsupported("type_error", "floating-point subscript", idx)
            return Access(root, base, elem, None, 0, "", index, span)
        if t == "pointer_expression" and _op(n) == "*":
            arg = _strip(_field(n, "argument"))
            assert arg is not None
            return self._deref(arg, n, span)
        if t == "field_expression":
            raise _Unsupported("unsupported", f"assignment to the member {_text(n)}", n)
        raise _Unsupported("unsupported", f"unsupported assignment target {_text(n)[:40]}", n)

    def _deref(self, arg: tree_sitter.Node, n: tree_sitter.Node, span: Span) -> Access:
        """`*arg` (the dereference `n`): a walking pointer, a pointer, or pointer + offset."""
        if arg.type == "update_expression":
            p = _strip(arg.child_by_field_name("argument"))
            name = _text(p) if p is not None and p.type == "identifier" else ""
            if name in self.walkers:
                post = self._postfix(arg)
                inc = 1 if _op(arg) == "++" else -1
                before = self.walked.get(name, 0)
                self.walked[name] = before + inc
                off = before if post else before + inc
                real = self.walk_alias.get(name, name)
                d = self._iv_decl(real)
                assert d is not None
                elem = self._elem_of(d, n, 1)
                self._note_array(real, d, elem)
                return Access(real, real, elem, self.walkers[name], off, "", None, span)
            raise _Unsupported("side_effect", f"'{_text(arg)}' inside an expression", arg)
        if arg.type == "identifier":
            name = _text(arg)
            real = self.walk_alias.get(name, name)
            d = self._iv_decl(real)
            if d is None:
                raise _Unsupported("unknown_identifier", f"cannot find the declaration of {name}", arg)
            elem = self._elem_of(d, n, 1)
            self._note_array(real, d, elem)
            if name in self.walkers:
                return Access(real, real, elem, self.walkers[name], self.walked.get(name, 0), "", None, span)
            return Access(name, name, elem, 0, 0, "", None, span)
        if arg.type == "binary_expression" and _op(arg) in ("+", "-"):
            terms = self._sum_terms(arg, 1)
            ptrs = [(s, x) for s, x in terms if self._pointerish(x)]
            if len(ptrs) != 1 or ptrs[0][0] != 1:
                raise _Unsupported("pointer_arith", f"unsupported pointer arithmetic {_text(arg)}", arg)
            root, base, elem, d = self._base(ptrs[0][1])
            self._note_array(root, d, elem)
            agg = _Aff(0, 0)
            for s, x in terms:
                if x is ptrs[0][1]:
                    continue
                ax = self._aff(x)
                if ax is None:
                    raise _Unsupported("pointer_arith", f"unsupported pointer arithmetic {_text(arg)}", arg)
                agg = agg.add(ax, s)
            return Access(root, base, elem, agg.coeff, agg.offset, agg.symbolic, None, span)
        raise _Unsupported("pointer_arith", f"unsupported dereference {_text(n)}", n)

    def _flat_2d(self, row_sub: tree_sitter.Node, col: tree_sitter.Node, n: tree_sitter.Node) -> Access:
        """`a[i][j]` where the row moves with the counter: flatten when the row length is a constant."""
        inner = _strip(_field(row_sub, "argument"))
        assert inner is not None
        name = _text(inner)
        d = self._iv_decl(name)
        if d is None:
            raise _Unsupported("unknown_identifier", f"cannot find {name}", n)
        elem = self._elem_of(d, n, 2)
        self._note_array(name, d, elem)
        if d.pointer or len(d.extents) != 2:
            index = self._expr(_index_node(row_sub))
            raise _Unsupported("indirect_rows", f"{_text(n)}: every iteration loads a different row pointer "
                               f"({type(index).__name__})", n)
        cols = self._int_text(d.extents[1])
        ra, ca = self._aff(_index_node(row_sub)), self._aff(col)
        if cols is None or ra is None or ca is None:
            raise _Unsupported("unsupported", f"cannot flatten {_text(n)}", n)
        flat = ra.scale(cols).add(ca)
        # the whole array as one pointer: `aa[0][256*i + j]` would index row 0 past its end (UB, and
        # -fsanitize=bounds says so); `(&aa[0][0])[256*i + j]` is pointer arithmetic over the object
        return Access(name, f"(&{name}[0][0])", elem, flat.coeff, flat.offset, flat.symbolic, None, node_span(n))

    def _sum_terms(self, n: tree_sitter.Node, sign: int) -> list[tuple[int, tree_sitter.Node]]:
        n = _strip(n) or n
        if n.type == "binary_expression" and _op(n) in ("+", "-"):
            return self._sum_terms(_field(n, "left"), sign) + self._sum_terms(
                _field(n, "right"), sign if _op(n) == "+" else -sign)
        return [(sign, n)]

    def _pointerish(self, n: tree_sitter.Node) -> bool:
        if n.type == "identifier":
            d = None if _text(n) in self.locals else self._iv_decl(_text(n))
            return d is not None and (d.pointer > 0 or bool(d.extents))
        if n.type == "field_expression":
            fd = self._field_decl(n)
            return fd is not None and (fd.pointer > 0 or bool(fd.extents))
        return n.type == "call_expression" and self._is_data_call(n)

    def _aff(self, node: tree_sitter.Node) -> _Aff | None:
        """The subscript as coeff*iv + offset + invariant symbols, or None when it is not affine."""
        n = _strip(node) if node is None or node.kind_id in _WRAPPER_KIND_IDS else node
        if n is None:
            return None
        t = n.type
        if t == "number_literal":
            c = _literal(_text(n))
            return _Aff(0, c.value) if isinstance(c.value, int) and not c.type.is_float else None
        if t == "identifier":
            name = _text(n)
            if self.macro_args and name in self.macro_args[-1]:
                bound = self.macro_args[-1][name]
                return _Aff(0, bound.value) if isinstance(bound, Const) and isinstance(bound.value, int) else None
            if name == self.iv:
                return _Aff(1, 0)
            if name in self.local_aff:
                return self.local_aff[name]
            if name in self.locals or name in self.walkers:
                return None
            if self.pointer_walk and name == self.count_var:
                return None
            if name in self.written_names:
                return None
            d = self._iv_decl(name)
            if d is None:
                v = self._int_text(name)
                return _Aff(0, v) if v is not None else None
            if d.pointer or d.extents or d.volatile:
                return None
            ct = ctype_of(d.type, self.ctx)
            if ct is None or ct.is_float:
                return None
            if name not in self.scalars:
                self.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=d.text)
            return _Aff(0, 0, {name: 1})
        if t == "binary_expression":
            op = _op(n)
            if op in ("+", "-", "*", "<<"):
                a, b = self._aff(_field(n, "left")), self._aff(_field(n, "right"))
                if a is None or b is None:
                    return None
                if op == "+":
                    return a.add(b)
                if op == "-":
                    return a.add(b, -1)
                if op == "<<":
                    if b.coeff or b.sym or not 0 <= b.offset < 31:
                        return None
                    return a.scale(1 << b.offset)
                if not a.coeff and not a.sym:
                    return b.scale(a.offset)
                if not b.coeff and not b.sym:
                    return a.scale(b.offset)
                if not a.coeff and not b.coeff:  # product of invariants: one symbol
                    return _Aff(0, 0, {_squash(_text(n)): 1})
                return None
            if not self._mentions_varying(n):
                v = self._int_text(_text(n))
                return _Aff(0, v) if v is not None else _Aff(0, 0, {_squash(_text(n)): 1})
            return None
        if t == "unary_expression" and _op(n) in ("-", "+"):
            a = self._aff(_field(n, "argument"))
            return None if a is None else (a.scale(-1) if _op(n) == "-" else a)
        if t == "cast_expression":
            ct = ctype_of(_text(n.child_by_field_name("type")), self.ctx)
            if ct is not None and not ct.is_float and ct.bits >= 32:
                return self._aff(_field(n, "value"))
            return None
        if t in ("sizeof_expression",):
            v = self._int_text(_text(n))
            return _Aff(0, v) if v is not None else None
        if t == "field_expression" and not self._mentions_varying(n):
            try:
                e = self._member_scalar(n)
            except _Unsupported:
                return None
            return _Aff(0, 0, {e.name: 1}) if isinstance(e, Var) and not e.type.is_float else None
        return None

    def _mentions_varying(self, n: tree_sitter.Node) -> bool:
        stack = [n]
        while stack:
            x = stack.pop()
            if x.type in ("subscript_expression", "call_expression", "pointer_expression", "update_expression",
                          "assignment_expression"):
                return True
            if x.type == "identifier":
                nm = _text(x)
                if nm == self.iv or nm in self.locals or nm in self.walkers or nm in self.written_names:
                    return True
            stack.extend(x.named_children)
        return False


_MACRO_BODIES: dict[tuple[str, str], tuple[list[str], tree_sitter.Node, tree_sitter.Tree] | None] = {}


# <float.h>, <limits.h> and <stdint.h> limits: value and type (the intN_t limits are int: promoted)
_LIMITS: dict[str, tuple[int | float, CType]] = {
    "FLT_MAX": (3.4028234663852886e38, FLOAT), "DBL_MAX": (1.7976931348623157e308, DOUBLE),
    "FLT_MIN": (1.1754943508222875e-38, FLOAT), "DBL_MIN": (2.2250738585072014e-308, DOUBLE),
    "INT_MAX": (2147483647, INT32), "INT_MIN": (-2147483648, INT32), "UINT_MAX": (4294967295, UINT32),
    "INT8_MIN": (-128, INT32), "INT8_MAX": (127, INT32), "UINT8_MAX": (255, INT32),
    "INT16_MIN": (-32768, INT32), "INT16_MAX": (32767, INT32), "UINT16_MAX": (65535, INT32),
    "INT32_MIN": (-2147483648, INT32), "INT32_MAX": (2147483647, INT32), "UINT32_MAX": (4294967295, UINT32),
}
_STEPPED_NAMES = re.compile(rb"([A-Za-z_]\w*)\s*(?:\+\+|--|[-+*/%&|^<>]*=(?!=))|(?:\+\+|--)\s*([A-Za-z_]\w*)")
_GNU_COMPLEX_PART = re.compile(rb"\b__(?:real|imag)__\b")
_PARENTHESISED_NAME = re.compile(rb"\(\s*[A-Za-z_]\w*\s*\)\s*[-+*&]")


def _complex_part_reason(op: str, span: Span) -> Reason:
    return Reason("complex", f"GNU {op} (the {'real' if 'real' in op else 'imaginary'} part of a complex value): "
                  "loops over complex elements are not vectorized", span)


def _unparenthesised_values(text: bytes, root: tree_sitter.Node, is_value: Any) -> bytes | None:
    """`text` with the parentheses of every `(x)` the parser read as a cast blanked out, where x names a
    value rather than a type (`((r) + _Complex_I * (i))` in a macro, `(k) + a[i] * 2`): the parser
    cannot tell them apart without knowing the names, and a cast binds tighter than `+`, so the reading
    is wrong twice over. Same length, so every byte offset stays put. None when there is none."""
    out: bytearray | None = None
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "cast_expression":
            tn = n.child_by_field_name("type")
            name = _text(tn).strip()
            kids = n.children
            if (_IDENTIFIER.fullmatch(name) and is_value(name) and len(kids) >= 3 and kids[0].type == "("
                    and kids[2].type == ")"):
                if out is None:
                    out = bytearray(text)
                out[kids[0].start_byte] = out[kids[2].start_byte] = 0x20
        stack.extend(n.children)
    return bytes(out) if out is not None else None


def _macro_body(define: str, language: str) -> tuple[list[str], tree_sitter.Node] | None:
    """The parameters and the parsed body expression of `#define NAME(params) body`."""
    key = (define, language)
    if key not in _MACRO_BODIES:
        from simdlens.analysis.parse import parse

        m = re.match(r"\s*#\s*define\s+\w+\(([^)]*)\)\s*(.*)", define.replace("\\\n", " "), re.DOTALL)
        got = None
        if m is not None and "#" not in m.group(2) and "..." not in m.group(1):
            params = [p.strip() for p in m.group(1).split(",") if p.strip()]
            text = f"int simdlens_macro = ({m.group(2).strip()});".encode()
            tree = parse(text, language)  # type: ignore[arg-type]
            fixed = _unparenthesised_values(text, tree.root_node, lambda name: name in params)  # `(r)` is a parameter
            if fixed is not None:
                tree = parse(fixed, language)  # type: ignore[arg-type]
            decl = tree.root_node.named_child(0)
            init = decl.child_by_field_name("declarator") if decl is not None else None
            value = init.child_by_field_name("value") if init is not None else None
            if value is not None and not tree.root_node.has_error:
                got = (params, value, tree)
        if len(_MACRO_BODIES) > 256:
            _MACRO_BODIES.clear()
        _MACRO_BODIES[key] = got
    entry = _MACRO_BODIES[key]
    return None if entry is None else (entry[0], entry[1])


COMPLEX_SUPPORTED = ("complex arrays are rewritten for element-wise +, -, conj and scaling by a real, and "
                     "creal/cimag of their elements")
_REAL_CALLS = frozenset({"creal", "crealf", "std::real", "real", "__real__"})
_IMAG_CALLS = frozenset({"cimag", "cimagf", "std::imag", "imag", "__imag__"})
_CONJ_CALLS = frozenset({"conj", "conjf", "std::conj"})
_ABS_CALLS = frozenset({"cabs", "cabsf", "cabsl", "std::abs", "abs", "std::norm", "norm", "carg", "cargf"})
_COMPLEX_CALLS = _REAL_CALLS | _IMAG_CALLS | _CONJ_CALLS | frozenset({"cabs", "cabsf", "carg", "cargf", "std::norm"})


def _complex_spelling(d: Decl) -> str:
    """`float complex` when the declaration's text spells a complex type that its parsed base type
    (`float`) lost, else ""."""
    if not d.text or not _COMPLEX_WORD.search(d.text) or _COMPLEX_WORD.search(d.type):
        return ""
    m = re.match(r"(.*?)[\s*&(]*\b" + re.escape(d.name) + r"\b", d.text, re.DOTALL)
    head = m.group(1) if m else ""
    if not _COMPLEX_WORD.search(head):
        return ""
    words = [w for w in re.findall(r"[A-Za-z_]\w*", head) if w not in _TYPE_NOISE and w not in (
        "restrict", "__restrict", "__restrict__")]
    return " ".join(words)


def _negate(e: Expr) -> Expr:
    return Unary("-", e, expr_type(e))


def _bare(e: Expr) -> Expr:
    while isinstance(e, Cast) and e.implicit:
        e = e.operand
    return e


def _shape(e: Expr) -> object:
    """A comparable form of an expression that ignores source spans and implicit casts."""
    e = _bare(e)
    if isinstance(e, Load):
        a = e.access
        return ("load", a.base, a.coeff, a.offset, a.symbolic, _shape(a.index) if a.index is not None else None)
    if isinstance(e, (Unary, Cast)):
        return (type(e).__name__, getattr(e, "op", ""), e.type.name, _shape(e.operand))
    if isinstance(e, Binary):
        return ("bin", e.op, _shape(e.lhs), _shape(e.rhs))
    if isinstance(e, Select):
        return ("sel", _shape(e.cond), _shape(e.then), _shape(e.else_))
    if isinstance(e, Call):
        return ("call", e.func, tuple(_shape(x) for x in e.args))
    return e


def _stmt_ivs(s: Stmt) -> list[Expr]:
    """Every expression node of `s` and its nested statements."""
    out: list[Expr] = []
    for x in walk_stmts((s,)):
        for e in (getattr(x, "value", None), getattr(x, "cond", None), getattr(x, "index", None),
                  getattr(x, "step", None)):
            if e is not None and not isinstance(e, str):
                out.extend(walk_exprs(e))
    return out


def reroll(stmts: list[Stmt], walkers: dict[str, int]) -> tuple[list[Stmt], int] | None:
    """A hand-unrolled pointer walk as the loop it unrolls: when every walker advances `u` elements per
    iteration and the body is `u` copies of one statement list, copy j reading and writing through the
    walkers `j` elements further on (`d[0] = s[0] * g; ... d[3] = s[3] * g; d += 4; s += 4;`), the loop
    is copy 0 run `u` times as often. (copy 0, u), or None when the body is not such copies."""
    steps = set(walkers.values())
    if len(steps) != 1:
        return None
    u = steps.pop()
    if u < 2 or not stmts or len(stmts) % u:
        return None
    m = len(stmts) // u
    first = [_moved_stmt(x, 0, walkers) for x in stmts[:m]]
    if any(x is None for x in first):
        return None
    for j in range(1, u):
        if [_moved_stmt(x, j, walkers) for x in stmts[j * m:(j + 1) * m]] != first:
            return None
    rolled: list[Stmt] = []
    for x in stmts[:m]:
        got = _moved_stmt(x, 0, walkers, keep_spans=True, rolled=True)
        assert got is not None
        rolled.append(got)
    return rolled, u


def _moved_stmt(s: Stmt, back: int, walkers: dict[str, int], *, keep_spans: bool = False,
                rolled: bool = False) -> Stmt | None:
    """`s` with its accesses through walkers moved `back` elements back (and, `rolled`, advancing one
    element per iteration), spans dropped unless `keep_spans`; None for statements a copy cannot be."""
    def ex(e: Expr) -> Expr:
        return _moved_expr(e, back, walkers, rolled)

    if isinstance(s, Store):
        return Store(_moved_access(s.access, back, walkers, rolled), ex(s.value), s.span if keep_spans else None)
    if isinstance(s, Let):
        return Let(s.name, s.type, ex(s.value), s.span if keep_spans else None)
    if isinstance(s, Reduce) and s.access is None:
        return Reduce(s.var, s.op, ex(s.value), s.type, s.cmp, s.span if keep_spans else None)
    if isinstance(s, If):
        then = [_moved_stmt(x, back, walkers, keep_spans=keep_spans, rolled=rolled) for x in s.then]
        other = [_moved_stmt(x, back, walkers, keep_spans=keep_spans, rolled=rolled) for x in s.else_]
        if any(x is None for x in then) or any(x is None for x in other):
            return None
        return If(ex(s.cond), tuple(x for x in then if x is not None), tuple(x for x in other if x is not None),
                  s.span if keep_spans else None)
    return None


def _moved_access(a: Access, back: int, walkers: dict[str, int], rolled: bool) -> Access:
    if a.root in walkers and a.index is None and a.coeff == walkers[a.root]:
        return replace(a, offset=a.offset - back, coeff=1 if rolled else a.coeff, span=a.span if rolled else None)
    return replace(a, span=a.span if rolled else None,
                   index=_moved_expr(a.index, back, walkers, rolled) if a.index is not None else None)


def _moved_expr(e: Expr, back: int, walkers: dict[str, int], rolled: bool) -> Expr:
    if isinstance(e, Load):
        return Load(_moved_access(e.access, back, walkers, rolled))
    if isinstance(e, Binary):
        return Binary(e.op, _moved_expr(e.lhs, back, walkers, rolled), _moved_expr(e.rhs, back, walkers, rolled),
                      e.type)
    if isinstance(e, Unary):
        return Unary(e.op, _moved_expr(e.operand, back, walkers, rolled), e.type)
    if isinstance(e, Cast):
        return Cast(_moved_expr(e.operand, back, walkers, rolled), e.type, e.implicit)
    if isinstance(e, Select):
        return Select(_moved_expr(e.cond, back, walkers, rolled), _moved_expr(e.then, back, walkers, rolled),
                      _moved_expr(e.else_, back, walkers, rolled), e.type)
    if isinstance(e, Call):
        return Call(e.func, tuple(_moved_expr(x, back, walkers, rolled) for x in e.args), e.type)
    return e


def _mentions_var(e: Expr, name: str) -> bool:
    return any(isinstance(x, Var) and x.name == name for x in walk_exprs(e))


def _minmax_ir(name: str, t: CType, value: Expr, span: Span) -> Reduce | None:
    """`var = (x cmp y) ? p : q` where {x, y} and {p, q} are {var, v}: a min/max, normalised to
    `var = (v cmp' var) ? v : var`. The complementary form (the old value kept when the comparison
    holds) is exact only without NaNs: integers."""
    sel = _bare(value)
    if not isinstance(sel, Select):
        return None
    c = _bare(sel.cond)
    if not isinstance(c, Binary) or c.op not in ("<", "<=", ">", ">="):
        return None
    lhs, rhs = _bare(c.lhs), _bare(c.rhs)
    me = ("var", name)

    def is_me(x: Expr) -> bool:
        return isinstance(x, Var) and x.name == name

    if is_me(rhs) and not is_me(lhs):
        v, op = lhs, c.op  # v op var
    elif is_me(lhs) and not is_me(rhs):
        v, op = rhs, _FLIP[c.op]
    else:
        return None
    if _mentions_var(v, name):
        return None
    then, other = _bare(sel.then), _bare(sel.else_)
    vs = _shape(v)
    if _shape(then) == vs and is_me(other):
        cmp = op
    elif is_me(then) and _shape(other) == vs:
        if t.is_float:
            raise _Unsupported("minmax_nan_order", f"{name} takes a NaN element and drops it again at the next "
                               "element, so the result depends on where NaNs sit: a vector reduction, which reorders, "
                               "cannot reproduce that (fmaxf/fminf or swapping the operands would be order-free)", None)
        cmp = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
    else:
        return None
    del me
    if not _minmax_exact(expr_type(v), t):
        return None
    return Reduce(name, ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN, convert(v, t), t, cmp, span)


def _minmax_exact(value: CType, var: CType) -> bool:
    """Whether `var = value cmp var ? value : var` keeps exact values: the comparison happens in the
    variable's own type (after promotion) and the value fits the variable unchanged."""
    if value.name == var.name:
        return True
    return usual(value, var).name == var.name and (value.is_float == var.is_float)


# --------------------------------------------------------------------------------------------------
# Literals
# --------------------------------------------------------------------------------------------------

_LONG_DOUBLE = CType("long double", "long double")


_LITERALS: dict[str, Const] = {}


def _literal(text: str) -> Const:
    """A C number literal with its C type: `1.0` is double, `1.0f` float, `10` int, `3000000000` long,
    `0xFFFFFFFF` unsigned int, `10u` unsigned, `10UL` unsigned long."""
    c = _LITERALS.get(text)
    if c is None:
        if len(_LITERALS) > 4096:
            _LITERALS.clear()
        c = _LITERALS[text] = _parse_literal(text)
    return c


def _parse_literal(text: str) -> Const:
    raw = text.replace("'", "")
    low = raw.lower()
    is_hex = low.startswith("0x")
    is_float = ("." in low or ("e" in low and not is_hex) or ("p" in low and is_hex)) and not low.startswith("0b")
    if is_float:
        suffix = ""
        body = low
        while body and body[-1] in "fl" and not (is_hex and body[-1] == "f" and "p" not in body):
            suffix = body[-1] + suffix
            body = body[:-1]
        try:
            value = float.fromhex(body) if is_hex else float(body)
        except ValueError:
            value = 0.0
        if "f" in suffix:
            return Const(value, FLOAT, text)
        if "l" in suffix:
            return Const(value, _LONG_DOUBLE, text)
        return Const(value, DOUBLE, text)
    body = low.rstrip("ul")
    suffix = low[len(body):]
    try:
        if body.startswith("0b"):
            value_i = int(body[2:], 2)
        elif is_hex:
            value_i = int(body, 16)
        elif len(body) > 1 and body.startswith("0"):
            value_i = int(body, 8)
        else:
            value_i = int(body or "0")
    except ValueError:
        value_i = 0
    unsigned = "u" in suffix
    longs = suffix.count("l")
    decimal = not (is_hex or (len(body) > 1 and body.startswith("0")))
    candidates: list[CType]
    if unsigned:
        candidates = [UINT32, UINT64] if not longs else [UINT64]
    elif decimal:
        candidates = [INT32, INT64] if not longs else [INT64]
    else:
        candidates = [INT32, UINT32, INT64, UINT64] if not longs else [INT64, UINT64]
    for c in candidates:
        lo, hi = (-(1 << (c.bits - 1)), (1 << (c.bits - 1)) - 1) if c.signed else (0, (1 << c.bits) - 1)
        if lo <= value_i <= hi:
            return Const(value_i, c, text)
    return Const(value_i, UINT64, text)


def _char_value(text: str) -> int:
    inner = text.strip()
    if inner.startswith(("u'", "U'", "L'")):
        inner = inner[1:]
    inner = inner.strip("'")
    try:
        s = inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return 0
    if not s:
        return 0
    v = ord(s[0])
    return v - 256 if 128 <= v < 256 else v  # char is signed on x86-64


def accesses_of(stmts: tuple[Stmt, ...]) -> list[tuple[Access, bool, Stmt]]:
    """Every array access of a body as (access, is_write, top-level statement), in evaluation order."""
    out: list[tuple[Access, bool, Stmt]] = []
    for s in stmts:
        _visit_accesses(s, s, out)
    return out


def _expr_accesses(e: Expr, top: Stmt, out: list[tuple[Access, bool, Stmt]]) -> None:
    for x in walk_exprs(e):
        if isinstance(x, Load):
            out.append((x.access, False, top))


# A module-level walker, not a nested closure: recursive closures are reference cycles, and the cyclic
# garbage collector then costs more than the analysis.
def _visit_accesses(s: Stmt, top: Stmt, out: list[tuple[Access, bool, Stmt]]) -> None:
    if isinstance(s, Store):
        _expr_accesses(s.value, top, out)
        if s.access.index is not None:
            _expr_accesses(s.access.index, top, out)
        out.append((s.access, True, top))
    elif isinstance(s, (Let, Carry, Step, LastValue)):
        _expr_accesses(s.value if not isinstance(s, Step) else s.step, top, out)
    elif isinstance(s, Reduce):
        _expr_accesses(s.value, top, out)
        if s.access is not None:
            out.append((s.access, False, top))
            out.append((s.access, True, top))
    elif isinstance(s, ArgReduce):
        _expr_accesses(s.value, top, out)
        _expr_accesses(s.index, top, out)
    elif isinstance(s, If):
        _expr_accesses(s.cond, top, out)
        for x in s.then:
            _visit_accesses(x, top, out)
        for x in s.else_:
            _visit_accesses(x, top, out)
    elif isinstance(s, Exit):
        _expr_accesses(s.cond, top, out)
        if s.value is not None:
            _expr_accesses(s.value, top, out)
    elif isinstance(s, Pack):
        _expr_accesses(s.cond, top, out)
        _expr_accesses(s.value, top, out)
        out.append((s.dst, True, top))
