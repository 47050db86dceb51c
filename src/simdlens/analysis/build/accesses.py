"""Memory accesses: subscripts, dereferences, pointer arithmetic and 2-D arrays as `Access` (storage
root, base pointer, element type, index `coeff*iv + offset + invariant symbols`); and the accesses of
a built body, for the stages after the builder.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis.build import counters, expressions, structures
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import ctype_of, literal
from simdlens.analysis.build.declarations import Decl, complex_spelling
from simdlens.analysis.build.syntax import (
    WRAPPER_KIND_IDS,
    Unsupported,
    field_of,
    index_node,
    op_of,
    squash,
    unwrap,
)
from simdlens.analysis.ir import (
    Access,
    ArgReduce,
    Array,
    Carry,
    Const,
    CType,
    Exit,
    Expand,
    Expr,
    Hold,
    If,
    LastValue,
    Let,
    Load,
    Pack,
    Reduce,
    Running,
    Scalar,
    ScalarRole,
    Step,
    Stmt,
    Store,
    Var,
    expr_type,
    walk_exprs,
)
from simdlens.analysis.spans import node_span
from simdlens.core import Span

_NO_SYMBOLS: dict[str, int] = {}
IDENTIFIER_ONLY = re.compile(r"[A-Za-z_]\w*")  # shared by every `Aff` without symbols: never written to


class Aff:
    """A subscript as `coeff*iv + offset + sum(sym[s] * s)` over loop-invariant symbols `s`; with a
    run-time `stride` (`i*incx`), `coeff*stride*iv + ...`. Never mutated once built (its `sym` may be shared)."""

    __slots__ = ("coeff", "offset", "stride", "sym")

    def __init__(self, coeff: int, offset: int, sym: dict[str, int] | None = None, stride: str = "") -> None:
        self.coeff = coeff
        self.offset = offset
        self.sym: dict[str, int] = sym if sym is not None else _NO_SYMBOLS
        self.stride = stride

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Aff) and (self.coeff, self.offset, self.sym, self.stride) == (
            other.coeff, other.offset, other.sym, other.stride)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Aff(coeff={self.coeff!r}, offset={self.offset!r}, sym={self.sym!r}, stride={self.stride!r})"

    def add(self, o: Aff, sign: int = 1) -> Aff:
        # callers check first that the strides agree (`strides_agree`); terms that cancel leave no stride
        stride = (self.stride or o.stride) if self.coeff + sign * o.coeff else ""
        if not self.sym and not o.sym:
            return Aff(self.coeff + sign * o.coeff, self.offset + sign * o.offset, None, stride)
        sym = dict(self.sym)
        for k, v in o.sym.items():
            sym[k] = sym.get(k, 0) + sign * v
        return Aff(self.coeff + sign * o.coeff, self.offset + sign * o.offset, {k: v for k, v in sym.items() if v},
                   stride)

    def scale(self, k: int) -> Aff:
        if not self.sym:
            return Aff(self.coeff * k, self.offset * k, None, self.stride)
        return Aff(self.coeff * k, self.offset * k, {s: v * k for s, v in self.sym.items() if v * k}, self.stride)

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


def strides_agree(a: Aff, b: Aff) -> bool:
    """Whether `a + b` has one stride: terms in the counter without a run-time stride and with one
    (`i + i*incx`), or with two different ones, are not one strided walk."""
    return not a.coeff or not b.coeff or a.stride == b.stride


def note_array(lb: LoopBuilder, root: str, d: Decl | None, elem: CType, *, is_global: bool = False) -> None:
    if root in lb.arrays:
        return
    if d is None:
        lb.arrays[root] = Array(root, elem, pointer=True)
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
    lb.arrays[root] = Array(root, elem, pointer=pointer, restrict=d.restrict, const=d.const,
                            is_global=d.is_global, is_param=d.is_param, volatile=d.volatile, extent=extent,
                            decl=d.text)


def elem_of(lb: LoopBuilder, d: Decl, node: tree_sitter.Node, depth: int) -> CType:
    """Element type of a declared array/pointer indexed `depth` times."""
    cx = complex_spelling(d)
    if cx and not d.container:
        ct = ctype_of(cx, lb.ctx)
        if ct is None:
            raise Unsupported("complex", f"{d.name} holds '{cx}': only float and double complex numbers are "
                              "rewritten", node)
        if d.pointer + len(d.extents) != depth:
            raise Unsupported("unsupported", f"{d.name} is indexed {depth} time(s) but has "
                              f"{d.pointer + len(d.extents)} level(s)", node)
        return ct
    if d.container:
        m = re.match(r"^(?:std::)?\w+\s*<\s*([^,>]+)", d.type)
        spelled = m.group(1).strip() if m else ""
    else:
        if d.pointer + len(d.extents) != depth:
            raise Unsupported("pointer_value" if d.pointer + len(d.extents) > depth else "unsupported",
                              f"{d.name} is indexed {depth} time(s) but has {d.pointer + len(d.extents)} "
                              "level(s)", node)
        spelled = d.type
    if d.func_ptr:
        raise Unsupported("function_pointer", f"{d.name} holds function pointers", node)
    if d.volatile:
        raise Unsupported("volatile", f"{d.name} points to volatile data: every access must happen as written",
                          node)
    if d.atomic or "atomic" in spelled:
        raise Unsupported("atomic", f"{d.name} holds atomic data", node)
    ct = ctype_of(spelled, lb.ctx)
    if ct is None:
        if "long double" in spelled:
            raise Unsupported("long_double", f"{d.name} holds long double (x87, no SIMD)", node)
        struct_of = getattr(lb.ctx, "struct_of", None)
        if struct_of is not None and struct_of(spelled) is not None:
            raise Unsupported("array_of_structs", f"{d.name} holds structures ('{spelled}'): {AOS_NOT_REWRITTEN}", node)
        raise Unsupported("unknown_type", f"unknown element type '{spelled}' of {d.name}", node)
    return ct


def array_base(lb: LoopBuilder, b: tree_sitter.Node) -> tuple[str, str, CType, Decl | None]:
    """A pointer expression indexed once: root, base text, element type, declaration."""
    t = b.type
    if t == "identifier":
        name = lb.text(b)
        if name in lb.locals or name == lb.iv:
            raise Unsupported("unsupported", f"{name} is not an array", b)
        if name in lb.walk_alias:  # p of `for (T *p = a; ...)`: elements of a (root a, see `access`)
            d0 = lb.decl_of(lb.walk_alias[name])
            assert d0 is not None
            return name, name, elem_of(lb, d0, b, 1), d0
        known = lb.bases.get(name)
        if known is not None:  # indexed before (`a[i] = a[i] + ...`): the same answer
            return known
        d = lb.decl_of(name)
        if d is None:
            raise Unsupported("unknown_identifier", f"cannot find the declaration of {name}", b)
        if d.container:  # vector, array, valarray or span
            known = name, f"{name}.data()", elem_of(lb, d, b, 1), d
        else:
            known = name, name, elem_of(lb, d, b, 1), d
        lb.bases[name] = known
        return known
    if t == "field_expression":
        fd = expressions.field_decl(lb, b)
        if fd is None:
            raise Unsupported("unknown_type", f"cannot find the type of {lb.text(b)}", b)
        text = squash(lb.text(b))
        root0 = re.split(r"->|\.|\[", text)[0]
        if root0 == lb.iv or root0 in lb.locals:
            raise Unsupported("unsupported", f"array member of a loop-varying value ({text})", b)
        if fd.container:
            return text, f"{text}.data()", elem_of(lb, fd, b, 1), fd
        return text, text, elem_of(lb, fd, b, 1), fd
    if t == "call_expression" and expressions.is_data_call(b):
        obj = unwrap(field_of(b, "function").child_by_field_name("argument"))
        if obj is None or obj.type not in ("identifier", "field_expression"):
            raise Unsupported("unsupported", f"unsupported {lb.text(b)}", b)
        if obj.type == "identifier":
            d = lb.decl_of(lb.text(obj))
            if d is None or not d.container:
                raise Unsupported("unknown_type", f"cannot find the container {lb.text(obj)}", b)
            return lb.text(obj), f"{lb.text(obj)}.data()", elem_of(lb, d, b, 1), d
        root, _bt, elem, d2 = array_base(lb, obj)
        return root, f"{squash(lb.text(obj))}.data()", elem, d2
    if t == "subscript_expression":
        # a row of a 2-D array or of a pointer-to-pointer, a[j][...], or of a deeper array, a[r][q][...]
        rows = [b]
        inner = unwrap(field_of(b, "argument"))
        while inner is not None and inner.type == "subscript_expression":
            rows.append(inner)
            inner = unwrap(field_of(inner, "argument"))
        if inner is None or inner.type != "identifier":
            raise Unsupported("unsupported", f"unsupported row expression {lb.text(b)}", b)
        name = lb.text(inner)
        d = lb.decl_of(name)
        if d is None:
            raise Unsupported("unknown_identifier", f"cannot find the declaration of {name}", b)
        if not all(invariant_index(lb, index_node(r)) for r in rows):
            if len(rows) > 1:
                raise Unsupported("unsupported", f"{lb.text(b)}: a row of a {len(rows) + 1}-D array that "
                                  "moves with the counter", b)
            raise Unsupported("row_varies", "row varies", b)
        if len(rows) > 1 and (d.pointer > 1 or len(d.extents) + d.pointer != len(rows) + 1):
            raise Unsupported("indirect_rows", f"{lb.text(b)}: rows reached through pointers", b)
        elem = elem_of(lb, d, b, len(rows) + 1)
        return name, squash(lb.text(b)), elem, d
    raise Unsupported("unsupported", f"unsupported array expression {lb.text(b)[:40]}", b)


# What build/structures.py reads as a strided view; other members of moving structures keep this reason.
AOS_NOT_REWRITTEN = ("not rewritten: only `p[i].f`, `p[i].f[k]`, `p[i].a.f` (p a pointer, array, std::vector, "
                     "std::array or std::span), `x.f` of `for (auto &x : p)` and `p->f` of a walking p, with f a "
                     "number, are read as strided arrays (a structure of arrays, one array per member, vectorizes)")


def invariant_index(lb: LoopBuilder, n: tree_sitter.Node) -> bool:
    a = affine(lb, n)
    return a is not None and a.coeff == 0


_ELEMENT_NAME = re.compile(r"\*(\w+)|(\w+)\[\d+\]")


def element_root(name: str) -> str:
    """For the name `invariant_element` gives an element read as a scalar (`*incx`, `dims[0]`): the pointer
    it is read through (`incx`, `dims`); "" for any other scalar."""
    m = _ELEMENT_NAME.fullmatch(name)
    return (m.group(1) or m.group(2)) if m is not None else ""


def invariant_element(lb: LoopBuilder, n: tree_sitter.Node | None) -> Var | None:
    """`*incx`, `steps[0]`: an integer element read through a pointer or array the loop neither moves nor
    assigns, at a constant index (f2c's strides and bounds, NumPy's `steps[0]`, `dims[0]`). Read as a
    loop-invariant scalar named by its text (a kernel parameter, as `p->n` is); a store of the loop that may
    reach it gets a run-time check in legality, as a member read through a pointer does. Else None."""
    n = unwrap(n)
    if n is None:
        return None
    index: int | None = 0
    if n.type == "pointer_expression" and op_of(n) == "*":
        arg = unwrap(field_of(n, "argument"))
    elif n.type == "subscript_expression":
        arg, index = unwrap(field_of(n, "argument")), lb.int_const(index_node(n))
    else:
        return None
    if arg is None or arg.type != "identifier" or index is None or index < 0:
        return None
    root = lb.text(arg)
    d = lb.decl_of(root)
    if d is None or d.pointer + len(d.extents) != 1 or d.volatile or d.atomic or d.container or d.reference \
            or root in lb.written_names or root in lb.walkers or root in lb.locals or complex_spelling(d):
        return None
    ct = ctype_of(d.type, lb.ctx)
    if ct is None or ct.is_float or ct.is_complex:
        return None
    name = f"*{root}" if n.type == "pointer_expression" else f"{root}[{index}]"
    if name not in lb.scalars:
        lb.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=d.text)
    return Var(name, ct)


def access(lb: LoopBuilder, n: tree_sitter.Node) -> Access:
    if n.kind_id in WRAPPER_KIND_IDS:
        n = unwrap(n) or n
    span = node_span(n)
    t = n.type
    if t == "call_expression" and expressions.is_data_call(n):
        raise Unsupported("pointer_value", f"uses {lb.text(n)} as a value", n)
    if t == "subscript_expression":
        arg = unwrap(field_of(n, "argument"))
        assert arg is not None
        if arg.type == "field_expression":
            member = structures.member_access(lb, n)  # `s[i].v[k]`: a member array of a structure
            if member is not None:
                return member
        idx = index_node(n)
        try:
            root, base, elem, d = array_base(lb, arg)
        except Unsupported as e:
            if e.code != "row_varies":
                raise
            return flat_2d(lb, arg, idx, n)
        real = lb.walk_alias.get(root, root)
        note_array(lb, real, d, elem)
        if lb.walkers.get(root):
            w = lb.walked.get(root, 0)
            aff = affine(lb, idx)
            if aff is None or aff.coeff != 0:
                raise Unsupported("pointer_walk", f"{lb.text(n)} indexes a walking pointer by the counter", n)
            return Access(real, real, elem, lb.walkers[root], aff.offset + w, aff.symbolic, None, span,
                          walk_stride(lb, root, w, n))
        aff = affine(lb, idx, strided=lb.allow_strides)
        if aff is not None and aff.stride and _moves_with_outer(lb, aff):
            aff = affine(lb, idx)  # `A[j*ld + i]`, i an outer counter: a column walk (analysis/nest.py), not a stride
        if aff is not None:
            if aff.stride and lb.unit_strides.setdefault(aff.stride, "1") != "1":  # `x[i*incx]`: `x[i]` while incx == 1
                raise Unsupported("variable_step", f"{lb.text(n)} needs the stride {aff.stride} to be 1 where a "
                                  f"byte walk needs {lb.unit_strides[aff.stride]}: no one unit makes both contiguous", n)
            if aff.stride:
                lb.index_strides.add(aff.stride)
            return Access(root, base, elem, aff.coeff, aff.offset, aff.symbolic, None, span, aff.stride)
        index = expressions.expr(lb, idx)
        if expr_type(index).is_float:
            raise Unsupported("type_error", "floating-point subscript", idx)
        return Access(root, base, elem, None, 0, "", index, span)
    if t == "pointer_expression" and op_of(n) == "*":
        arg = unwrap(field_of(n, "argument"))
        assert arg is not None
        if arg.type == "identifier" and lb.text(arg) in lb.iterators:  # `*it` of `for (auto it = v.begin(); …)`
            return lb.iterators[lb.text(arg)]
        return deref(lb, arg, n, span)
    if t == "field_expression":
        member = structures.member_access(lb, n)  # `p[i].x = …`, `p->x = …`: a strided view of the structures
        if member is not None:
            return member
        obj = unwrap(n.child_by_field_name("argument"))
        if obj is not None and obj.type == "subscript_expression":
            # `p[i].x = …`: an array of structures, strided by the structure's size
            raise Unsupported("array_of_structs", f"{lb.text(n)} writes a member of an array of structures: "
                              f"{AOS_NOT_REWRITTEN}", n)
        raise Unsupported("unsupported", f"assignment to the member {lb.text(n)}", n)
    raise Unsupported("unsupported", f"unsupported assignment target {lb.text(n)[:40]}", n)


def deref(lb: LoopBuilder, arg: tree_sitter.Node, n: tree_sitter.Node, span: Span) -> Access:
    """`*arg` (the dereference `n`): a walking pointer, a pointer, or pointer + offset."""
    if arg.type == "update_expression":
        p = unwrap(arg.child_by_field_name("argument"))
        name = lb.text(p) if p is not None and p.type == "identifier" else ""
        if name in lb.walkers:
            if name in lb.walk_strides:
                raise Unsupported("variable_step", f"{lb.text(arg)} steps {name}, which also advances by the "
                                  f"run-time stride {lb.walk_strides[name]}", arg)
            post = counters.is_postfix(arg)
            inc = 1 if op_of(arg) == "++" else -1
            before = lb.walked.get(name, 0)
            lb.walked[name] = before + inc
            off = before if post else before + inc
            real = lb.walk_alias.get(name, name)
            d = lb.decl_of(real)
            assert d is not None
            elem = elem_of(lb, d, n, 1)
            note_array(lb, real, d, elem)
            return Access(real, real, elem, lb.walkers[name], off, "", None, span)
        raise Unsupported("side_effect", f"'{lb.text(arg)}' inside an expression", arg)
    if arg.type == "cast_expression":
        return byte_walk(lb, arg, n, span)
    if arg.type == "identifier":
        name = lb.text(arg)
        real = lb.walk_alias.get(name, name)
        d = lb.decl_of(real)
        if d is None:
            raise Unsupported("unknown_identifier", f"cannot find the declaration of {name}", arg)
        elem = elem_of(lb, d, n, 1)
        note_array(lb, real, d, elem)
        if name in lb.walkers:
            w = lb.walked.get(name, 0)
            return Access(real, real, elem, lb.walkers[name], w, "", None, span, walk_stride(lb, name, w, n))
        return Access(name, name, elem, 0, 0, "", None, span)
    if arg.type == "binary_expression" and op_of(arg) in ("+", "-"):
        terms = sum_terms(lb, arg, 1)
        ptrs = [(s, x) for s, x in terms if pointerish(lb, x)]
        if len(ptrs) != 1 or ptrs[0][0] != 1:
            raise Unsupported("pointer_arith", f"unsupported pointer arithmetic {lb.text(arg)}", arg)
        root, base, elem, d = array_base(lb, ptrs[0][1])
        note_array(lb, root, d, elem)
        agg = Aff(0, 0)
        for s, x in terms:
            if x is ptrs[0][1]:
                continue
            ax = affine(lb, x)
            if ax is None:
                raise Unsupported("pointer_arith", f"unsupported pointer arithmetic {lb.text(arg)}", arg)
            agg = agg.add(ax, s)
        walker = unwrap(ptrs[0][1])
        name = lb.text(walker) if walker is not None and walker.type == "identifier" else ""
        if lb.walkers.get(name):  # `*(p - 1)` of a walking p: p[-1], which moves with p as `p[-1]` does
            if agg.coeff != 0:
                raise Unsupported("pointer_walk", f"{lb.text(arg)} offsets a walking pointer by the counter", arg)
            real = lb.walk_alias.get(name, name)
            w = lb.walked.get(name, 0)
            return Access(real, real, elem, lb.walkers[name], agg.offset + w, agg.symbolic, None, span,
                          walk_stride(lb, name, w, n))
        return Access(root, base, elem, agg.coeff, agg.offset, agg.symbolic, None, span)
    raise Unsupported("pointer_arith", f"unsupported dereference {lb.text(n)}", n)


def byte_walk(lb: LoopBuilder, cast: tree_sitter.Node, n: tree_sitter.Node, span: Span) -> Access:
    """`*(float *)p` of a `char *p` the loop walks by bytes (NumPy's ufunc loops): the element of the cast
    type at the byte the walk has reached, read through the cast base `((float *)(p))`. Stepped by a
    constant, it is a walk of step / sizeof(float) elements; stepped by a run-time stride (`p += is1`), one
    element per step while `is1 == sizeof(float)` (`LoopIR.unit_strides`)."""
    value = unwrap(cast.child_by_field_name("value"))
    type_node = cast.child_by_field_name("type")
    refuse = Unsupported("pointer_arith", f"unsupported dereference {lb.text(n)}", n)
    if value is None or type_node is None or value.type != "identifier" or lb.text(value) not in lb.walkers:
        raise refuse
    name = lb.text(value)
    real = lb.walk_alias.get(name, name)
    d = lb.decl_of(real)
    spelled = lb.text(type_node)
    view = ctype_of(re.sub(r"\bconst\b|\*", " ", spelled).strip(), lb.ctx)
    if d is None or view is None or view.is_complex or spelled.count("*") != 1:
        raise refuse
    byte = elem_of(lb, d, n, 1)
    size = view.bits // 8
    if byte.bits != 8 or byte.is_float:
        raise Unsupported("pointer_arith", f"{lb.text(n)} reads {name}, which does not point to bytes, as "
                          f"{spelled.replace('*', '').strip()}", n)
    note_array(lb, real, d, byte)
    stride, walked, step = lb.walk_strides.get(name, ""), lb.walked.get(name, 0), lb.walkers[name]
    if stride:
        if walked:
            raise Unsupported("variable_step", f"{lb.text(n)} reads {name} after its step by {stride} in the "
                              "same iteration: only reads before the step are read as a strided walk", n)
        unit = lb.unit_strides.setdefault(stride, str(size))
        if unit != str(size):
            raise Unsupported("variable_step", f"{lb.text(n)} needs the stride {stride} to be {size} (bytes) where "
                              f"another access needs {unit}: no one unit makes both contiguous", n)
        coeff, offset = step, 0
    elif step % size or walked % size:
        raise Unsupported("pointer_walk", f"{lb.text(n)}: {name} advances {step} bytes per iteration, not whole "
                          f"{size}-byte elements", n)
    else:
        coeff, offset = step // size, walked // size
    return Access(real, f"(({spelled})({real}))", view, coeff, offset, "", None, span, stride)


def walk_stride(lb: LoopBuilder, name: str, walked: int, n: tree_sitter.Node) -> str:
    """The run-time stride of a pointer stepped by one (`x += incx`), or "". Its accesses must come before
    its step: after it, `x[0]` is `incx` elements on, which the IR's offset (in elements) cannot say."""
    stride = lb.walk_strides.get(name, "")
    if stride and walked:
        raise Unsupported("variable_step", f"{lb.text(n)} reads {name} after `{name} += {stride}` in the same "
                          "iteration: only accesses before the step are read as a strided walk", n)
    return stride


def flat_2d(lb: LoopBuilder, row_sub: tree_sitter.Node, col: tree_sitter.Node, n: tree_sitter.Node) -> Access:
    """`a[i][j]` where the row moves with the counter: flatten when the row length is a constant."""
    inner = unwrap(field_of(row_sub, "argument"))
    assert inner is not None
    name = lb.text(inner)
    d = lb.decl_of(name)
    if d is None:
        raise Unsupported("unknown_identifier", f"cannot find {name}", n)
    elem = elem_of(lb, d, n, 2)
    note_array(lb, name, d, elem)
    if d.pointer or len(d.extents) != 2:
        index = expressions.expr(lb, index_node(row_sub))
        raise Unsupported("indirect_rows", f"{lb.text(n)}: every iteration loads a different row pointer "
                          f"({type(index).__name__})", n)
    cols = lb.int_text(d.extents[1])
    ra, ca = affine(lb, index_node(row_sub)), affine(lb, col)
    if cols is None and ra is not None and ra.coeff != 0 and ca is not None and ca.coeff == 0:
        column = vla_column(lb, name, d.extents[1], row_sub, col, n)
        if column is not None:
            return Access(name, f"(&{name}[0][0])", elem, None, 0, "", column, node_span(n))
        raise Unsupported("column_walk", f"{lb.text(n)} walks a column of {name}, whose row length "
                          f"{d.extents[1]} is known only at run time: a strided access (vectorizing the loop over "
                          "its columns, or interchanging the loops, reads rows contiguously)", n)
    if cols is None or ra is None or ca is None:
        raise Unsupported("unsupported", f"cannot flatten {lb.text(n)}", n)
    flat = ra.scale(cols).add(ca)
    # the whole array as one pointer: `aa[0][256*i + j]` would index row 0 past its end (UB, and
    # -fsanitize=bounds says so); `(&aa[0][0])[256*i + j]` is pointer arithmetic over the object
    return Access(name, f"(&{name}[0][0])", elem, flat.coeff, flat.offset, flat.symbolic, None, node_span(n))


def vla_column(lb: LoopBuilder, name: str, extent: str, row_sub: tree_sitter.Node, col: tree_sitter.Node,
               n: tree_sitter.Node) -> Expr | None:
    """`B[k][j]` of a VLA `double B[nk][nj]` with `k` the counter: the flat subscript `k * nj + j`, when the
    row length is a variable the loop only reads (a column walk, strided by it: analysis/nest.py and
    outer_vector.py read it as a column of a flat matrix, contiguous along the loop around it)."""
    length = extent.strip()
    if re.fullmatch(r"[A-Za-z_]\w*", length) is None or length == lb.iv or length in lb.written_names \
            or length in lb.locals:
        return None
    d = lb.decl_of(length)
    if d is None:
        return None
    row_len = expressions.declared_scalar(lb, length, d, n)
    if row_len.type.is_float:
        return None
    row = expressions.expr(lb, index_node(row_sub))
    return expressions.arith("+", expressions.arith("*", row, row_len, n), expressions.expr(lb, col), n)


def sum_terms(lb: LoopBuilder, n: tree_sitter.Node, sign: int) -> list[tuple[int, tree_sitter.Node]]:
    n = unwrap(n) or n
    if n.type == "binary_expression" and op_of(n) in ("+", "-"):
        return sum_terms(lb, field_of(n, "left"), sign) + sum_terms(
            lb, field_of(n, "right"), sign if op_of(n) == "+" else -sign)
    return [(sign, n)]


def pointerish(lb: LoopBuilder, n: tree_sitter.Node) -> bool:
    if n.type == "identifier":
        d = None if lb.text(n) in lb.locals else lb.decl_of(lb.text(n))
        return d is not None and (d.pointer > 0 or bool(d.extents))
    if n.type == "field_expression":
        fd = expressions.field_decl(lb, n)
        return fd is not None and (fd.pointer > 0 or bool(fd.extents))
    return n.type == "call_expression" and expressions.is_data_call(n)


def affine(lb: LoopBuilder, node: tree_sitter.Node, strided: bool = False) -> Aff | None:
    """The subscript as coeff*iv + offset + invariant symbols, or None when it is not affine. With
    `strided`, the counter times an integer variable the loop does not change (`i*incx`) is a run-time
    stride (`Aff.stride`)."""
    n = unwrap(node) if node is None or node.kind_id in WRAPPER_KIND_IDS else node
    if n is None:
        return None
    t = n.type
    if t == "number_literal":
        c = literal(lb.text(n))
        return Aff(0, c.value) if isinstance(c.value, int) and not c.type.is_float else None
    if t == "identifier":
        name = lb.text(n)
        if lb.macro_args and name in lb.macro_args[-1]:
            bound = lb.macro_args[-1][name]
            return Aff(0, bound.value) if isinstance(bound, Const) and isinstance(bound.value, int) else None
        if name == lb.iv:
            return Aff(1, 0)
        if name in lb.local_aff:
            return lb.local_aff[name]
        if name in lb.locals or name in lb.walkers:
            return None
        if lb.pointer_walk and name == lb.count_var:  # `while (n--) a[n] = …`: its entry value moved per iteration
            return Aff(lb.count_move[0], lb.count_read_offset, {name: 1}) if lb.count_readable else None
        if name in lb.written_names:
            return None
        d = lb.decl_of(name)
        if d is None:
            v = lb.int_text(name)
            return Aff(0, v) if v is not None else None
        if d.pointer or d.extents or d.volatile:
            return None
        ct = ctype_of(d.type, lb.ctx)
        if ct is None or ct.is_float:
            return None
        if name not in lb.scalars:
            lb.scalars[name] = Scalar(name, ct, ScalarRole.INVARIANT, decl=d.text)
        return Aff(0, 0, {name: 1})
    if t == "binary_expression":
        op = op_of(n)
        if op in ("+", "-", "*", "<<"):
            a, b = affine(lb, field_of(n, "left"), strided), affine(lb, field_of(n, "right"), strided)
            if a is None or b is None:
                return None
            if op in ("+", "-") and not strides_agree(a, b):
                return None
            if op == "*" and strided:
                stride = _runtime_stride(a, b) or _runtime_stride(b, a)
                if stride is not None:
                    return stride
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
                return Aff(0, 0, {squash(lb.text(n)): 1})
            return None
        if not mentions_varying(lb, n):
            v = lb.int_text(lb.text(n))
            return Aff(0, v) if v is not None else Aff(0, 0, {squash(lb.text(n)): 1})
        return None
    if t == "unary_expression" and op_of(n) in ("-", "+"):
        a = affine(lb, field_of(n, "argument"), strided)
        return None if a is None else (a.scale(-1) if op_of(n) == "-" else a)
    if t == "cast_expression":
        ct = ctype_of(lb.text(n.child_by_field_name("type")), lb.ctx)
        if ct is not None and not ct.is_float and ct.bits >= 32:
            return affine(lb, field_of(n, "value"), strided)
        return None
    if t in ("sizeof_expression",):
        v = lb.int_text(lb.text(n))
        return Aff(0, v) if v is not None else None
    if t == "field_expression" and not mentions_varying(lb, n):
        try:
            e = expressions.member_scalar(lb, n)
        except Unsupported:
            return None
        return Aff(0, 0, {e.name: 1}) if isinstance(e, Var) and not e.type.is_float else None
    return None


def _moves_with_outer(lb: LoopBuilder, aff: Aff) -> bool:
    """Whether a subscript's other terms name a counter of an enclosing loop."""
    outer = {e[0] for e in lb.enclosing}
    return any(name in outer for term in aff.sym for name in IDENTIFIER_ONLY.findall(term))


def _runtime_stride(walk: Aff, factor: Aff) -> Aff | None:
    """`c*i` times one invariant integer name (`incx`): the counter's term with that run-time stride."""
    if not walk.coeff or walk.offset or walk.sym or walk.stride:
        return None
    if factor.coeff or factor.offset or factor.stride or len(factor.sym) != 1:
        return None
    name, times = next(iter(factor.sym.items()))
    if times != 1 or IDENTIFIER_ONLY.fullmatch(name) is None:
        return None
    return Aff(walk.coeff, 0, None, name)


def mentions_varying(lb: LoopBuilder, n: tree_sitter.Node) -> bool:
    stack = [n]
    while stack:
        x = stack.pop()
        if x.type in ("subscript_expression", "call_expression", "pointer_expression", "update_expression",
                      "assignment_expression"):
            return True
        if x.type == "identifier":
            nm = lb.text(x)
            if nm == lb.iv or nm in lb.locals or nm in lb.walkers or nm in lb.written_names:
                return True
        stack.extend(x.named_children)
    return False


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
    elif isinstance(s, Running):
        _expr_accesses(s.value, top, out)
        if s.factor is not None:
            _expr_accesses(s.factor, top, out)
    elif isinstance(s, Hold):
        _expr_accesses(s.value, top, out)
    elif isinstance(s, Reduce):
        _expr_accesses(s.value, top, out)
        if s.access is not None:
            out.append((s.access, False, top))
            out.append((s.access, True, top))
    elif isinstance(s, ArgReduce):
        _expr_accesses(s.value, top, out)
        _expr_accesses(s.index, top, out)
        if s.at_index is not None:  # `x[best]`: the entry value of best is read too
            _expr_accesses(s.at_index, top, out)
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
    elif isinstance(s, Expand):
        _expr_accesses(s.cond, top, out)
        if s.fill is not None:
            _expr_accesses(s.fill, top, out)
        out.append((s.src, False, top))
        out.append((s.dst, True, top))
