"""The state shared while one loop becomes IR (`LoopBuilder`), and the lookups every stage asks of it:
the declaration a name has, whether a text is an integer constant, whether a name is a pointer.

The stages are functions over this state, one module per concern: `headers` (loop headers), `counters`
(conditions, steps, trip counts), `walks` (pointer-walking loops), `uses` (where names are read and
written), `statements` (statements and control flow), `scalars` (reductions and other scalar updates),
`expressions`, `macros`, `accesses` (memory accesses) and `complex_values`; `loop` runs them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import tree_sitter

from simdlens.analysis.build.c_types import ctx_cache, literal
from simdlens.analysis.build.declarations import Decl, function_scope
from simdlens.analysis.build.syntax import IDENTIFIER, Unsupported, unwrap
from simdlens.analysis.ir import INT32, Access, Array, CType, Expr, Scalar, Stmt, Var
from simdlens.core import LoopSite, Reason

if TYPE_CHECKING:
    from simdlens.analysis.build.accesses import Aff
    from simdlens.analysis.build.uses import Use


WALK_IV = "simdlens_k"  # the synthetic counter of pointer-walking loops

_DECIMAL = re.compile(r"\d+[uUlL]*")

_CONSTANT_CHARS = re.compile(r"[\w\s()+\-*/%<>]+")


class LoopBuilder:
    """What the stages learn about one loop while they build its IR: the counter, locals, arrays,
    scalars and their roles, walking pointers, the reasons collected; and lookups of names in scope."""

    def __init__(self, site: LoopSite, node: tree_sitter.Node, fn: tree_sitter.Node | None, tree: tree_sitter.Tree,
                 source: bytes, ctx: Any) -> None:
        self.site = site
        self.node = node
        self.fn = fn
        self.tree = tree
        self.source = source
        # the text the nodes being read were parsed from: `source`, or a macro's body or the body re-parsed
        # without misread casts while those are read (see `text`)
        self.text_source = source
        self.ctx = ctx
        self.cpp = site.language == "cpp"
        self.scope = function_scope(tree, fn)
        self.reasons: list[Reason] = []
        self.iv = ""
        self.iv_type = INT32
        self.locals: dict[str, CType] = {}
        self.scopes: list[set[str]] = []  # names declared in each enclosing block of the body, innermost last
        self.local_aff: dict[str, Aff] = {}
        self.unions: dict[str, dict[str, CType]] = {}  # union temporaries of the body: member -> type
        self.union_member: dict[str, str] = {}  # the member each union temporary was last written through
        self.arrays: dict[str, Array] = {}
        self.scalars: dict[str, Scalar] = {}
        self.uses: dict[str, list[Use]] = {}
        self.written_names: set[str] = set()  # identifiers the body assigns or steps
        self.walkers: dict[str, int] = {}  # pointer -> elements advanced per iteration
        self.walked: dict[str, int] = {}  # pointer -> elements advanced so far in this iteration
        self.written_outer: set[str] = set()
        self.exclude: tree_sitter.Node | None = None  # the while loop's own increment statement
        self.body_node: tree_sitter.Node | None = None
        self.pointer_walk = False
        self.walks_to_end = ""  # p of `while (p < end)` with `end` given: its bound `end - p` is read on entry
        self.decl_cache: dict[str, Decl | None] = {}
        self.ints: dict[str, int | None] = {}  # `int_text` answers
        self.references: dict[str, Access] = {}  # `for (T &x : v)`, `T &x = a[i];`: x is that element
        self.iterators: dict[str, Access] = {}  # `for (auto it = v.begin(); it != v.end(); ++it)`: *it is v[k]
        self.struct_refs: dict[str, tree_sitter.Node] = {}  # `const vec3 &v = p[i].vel;`: v.x is p[i].vel.x
        self.record_walks: dict[str, str] = {}  # `for (auto &q : ps)` over structures: q.x is ps[k].x
        self.macro_args: list[dict[str, Expr]] = []  # arguments of the function-like macros being expanded
        # the complex arguments of those macros, as (real part, imaginary part, complex type)
        self.macro_complex_args: list[dict[str, tuple[Expr, Expr | None, CType | None]]] = []
        self.macro_args_seen: set[str] = set()  # object-like macros being read from clang's expansion
        self.unroll: tree_sitter.Node | None = None  # a short inner loop analysed unrolled
        self.skip: tree_sitter.Node | None = None  # the inner loop of an imperfect nest, read on its own
        self.count_var: str | None = None  # the count of a pointer walk (`while (n--)`)
        self.count_move = (0, 0)  # how the loop moves count_var: per iteration, once more at the end
        self.count_read_offset = 0  # the body reads count_var as its entry value + count_move[0] * iteration + this
        self.count_readable = True  # False when the header's own init sets count_var: its entry value is not that
        # a carried scalar set from a body temporary (`p = np;`): where the assignment ends, and the temporary
        self.copied_after: dict[str, tuple[int, Expr]] = {}
        self.parts: dict[str, Expr] = {}  # `d1 = e1;` completed by a later `d1 += e2;`: the first part, a temporary
        self.reduce_ops: dict[str, str] = {}  # reduction variable -> its operator
        self.header_reads: set[str] = set()
        self.bounds: tuple[str, str, str, int] | None = None  # (lower, upper, cmp, step) once the header is read
        self.enclosing: tuple[tuple[str, str, str, str, int], ...] = ()  # the counted loops around (nest.enclosing_counters)
        self.walk_alias: dict[str, str] = {}  # `for (T *p = a; ...)`: p walks the array a
        self.unit_strides: dict[str, str] = {}  # run-time strides read as unit (LoopIR.unit_strides)
        self.allow_strides = True  # False: read again without them (a stride beside a contiguous walk)
        self.index_strides: set[str] = set()  # strides that multiply the counter in a subscript (`x[i*incx]`)
        self.walk_strides: dict[str, str] = {}  # a pointer stepped by a run-time stride (`x += incx`): the stride
        self.step_kinds: dict[str, set[str]] = {}  # a pointer's steps: "" constant, else the run-time stride
        self.constants: list[str] = []  # `const int k = 4;` of the function read as constants (LoopIR.constants)
        self.before: list[Stmt] | None = None  # what a comma expression's first parts run before its statement
        self.before_cond = False  # whether that statement runs under a condition
        self.setup: list[str] = []  # declarations before the loop its condition needs (`const float *end = p + n;`)
        self.outermost_start: int | None = None  # start of the outermost enclosing loop (-1: none), once known
        self.unnested = False  # known to have no loop around it in its function (see loop._builder)
        self.invariant_vars: dict[str, Var] = {}  # `expressions.identifier` answers for variables declared outside the body
        self.bases: dict[str, tuple[str, str, CType, Decl | None]] = {}  # `accesses.array_base` answers for named arrays

    def text(self, node: tree_sitter.Node | None) -> str:
        """`node_text` of a node of the text being read, sliced from that text: `Node.text` copies through a
        memoryview and costs twice as much, and the builder reads ~20 texts per loop."""
        if node is None:
            return ""
        return self.text_source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def decl_of(self, name: str) -> Decl | None:
        """The declaration of `name` visible at the loop (function scope first, then globals)."""
        if name in self.decl_cache:
            return self.decl_cache[name]
        d = self.scope.lookup(name, self.node.start_byte, self.node.end_byte) or self.global_decl(name)
        self.decl_cache[name] = d
        return d

    def global_decl(self, name: str) -> Decl | None:
        g = getattr(self.ctx, "globals", {}).get(name) if self.ctx is not None else None
        if g is None:
            member = self.member_decl(name)
            declared = getattr(self.ctx, "declaration", None)  # clang's: `REAL VEC(x, N)` parameters
            g = declared(name, self.node.start_byte, self.site.function or "") if member is None and \
                declared is not None else None
            if g is None:
                return member
        param = getattr(g, "param", False)
        return Decl(g.name, g.type, g.pointer, tuple(g.extents), g.const, g.volatile, g.restrict, g.atomic, g.static,
                    getattr(g, "reference", False), False, param, not param, 0, (0, 1 << 62), g.text)

    def member_decl(self, name: str) -> Decl | None:
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

    def int_text(self, text: str) -> int | None:
        if text in self.ints:
            return self.ints[text]
        self.ints[text] = None  # `const int k = k + 1;` reads itself: unknown, not endless
        v = self.ints[text] = self._int_text_uncached(text)
        return v

    def _int_text_uncached(self, text: str) -> int | None:
        t = text.strip()
        if _DECIMAL.fullmatch(t):
            return int(t.rstrip("uUlL"))
        ev = getattr(self.ctx, "eval_int", None)
        if ev is None:
            return None
        if t.isascii() and t.isidentifier():  # a bare name (`n`, `LEN`): what the regexes below find
            if self.is_variable(t):
                return self._const_local(t)
        elif not _CONSTANT_CHARS.fullmatch(t) or any(self.is_variable(w) for w in IDENTIFIER.findall(t)):
            return None
        cache = ctx_cache(self.ctx).ints
        if t in cache:
            return cache[t]
        try:
            v = ev(t)
        except Exception:
            v = None
        cache[t] = v if isinstance(v, int) else None
        return cache[t]

    def _const_local(self, name: str) -> int | None:
        """The value of a `const int k = 4;` (static or not, local or global): C forbids changing it, so
        its initializer's constant value is its value everywhere."""
        d = self.decl_of(name)
        if d is None or not d.const or d.is_param or d.pointer or d.extents or d.volatile:
            return None
        m = re.search(rf"(?<![\w.>]){re.escape(name)}\s*=\s*([^,;{{}}]+)", d.text)
        value = self.int_text(m.group(1)) if m is not None else None
        if value is not None and m is not None and not d.is_global:  # a global is in the kernel's file context
            self.constants.append(f"const {d.type} {name} = {m.group(1).strip()};")
        return value

    def is_variable(self, name: str) -> bool:
        return self.decl_of(name) is not None and not self.is_macro(name)

    def int_const(self, node: tree_sitter.Node) -> int | None:
        n = unwrap(node)
        if n is None:
            return None
        if n.type == "number_literal":
            c = literal(self.text(n))
            return c.value if isinstance(c.value, int) and not c.type.is_float else None
        if n.type == "identifier" and self.is_variable(self.text(n)):
            return self._const_local(self.text(n))
        if n.type in ("identifier", "binary_expression", "unary_expression", "sizeof_expression", "cast_expression"):
            return self.int_text(self.text(n))
        return None

    def is_macro(self, name: str) -> bool:
        return bool(self.ctx is not None and (name in getattr(self.ctx, "macros", {})
                                              or name in getattr(self.ctx, "enum_constants", {})))

    def is_pointer(self, name: str) -> bool:
        if name in self.walk_alias:
            return True
        d = self.decl_of(name)
        return d is not None and d.pointer > 0 and not d.extents

    def safe(self, fn: Any) -> Any:
        try:
            return fn()
        except Unsupported as e:
            self.reasons.append(e.reason)
            return None

    def mentions(self, node: tree_sitter.Node, name: str) -> bool:
        return any(node.start_byte <= u.pos < node.end_byte for u in self.uses.get(name, ()))

    def line_of(self, pos: int) -> int:
        return self.source.count(b"\n", 0, pos) + 1

    def is_func_ptr(self, name: str) -> bool:
        d = self.decl_of(name)
        return d is not None and d.func_ptr
