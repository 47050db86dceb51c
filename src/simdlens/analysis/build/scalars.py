"""Scalars the body writes, classified: reductions, min/max and argmin/argmax, inductions, carried
values, pack counters and private temporaries; a reason instead when an update is a recurrence.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis import checksums, mathcalls, scans
from simdlens.analysis.build import (
    accesses,
    complex_values,
    counters,
    expressions,
    statements,
    structures,
    uses,
)
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert, ctype_of, promote, strip_implicit_casts, usual
from simdlens.analysis.build.declarations import Decl, complex_spelling
from simdlens.analysis.build.syntax import (
    FLIP,
    REDUCE_OPS,
    Unsupported,
    field_of,
    index_node,
    node_text,
    op_of,
    squash,
    stmts_of,
    unwrap,
)
from simdlens.analysis.ir import (
    INT32,
    IV,
    Access,
    ArgReduce,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    CType,
    Expr,
    Hold,
    LastValue,
    Let,
    Load,
    Pack,
    Reduce,
    ReduceOp,
    Running,
    Scalar,
    ScalarRole,
    Select,
    Step,
    Stmt,
    Unary,
    Var,
    expr_type,
    substitute_var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.spans import new_span, node_span
from simdlens.core import Reason, Span


def outer_scalar(lb: LoopBuilder, name: str, node: tree_sitter.Node, complex_ok: bool = False) -> CType:
    if name in lb.record_walks:
        raise structures.whole_record(lb, name, node)
    d = lb.decl_of(name)
    if d is None:
        raise Unsupported("unknown_identifier", f"cannot find the declaration of {name}", node)
    if d.pointer or d.extents or d.container:
        raise Unsupported("pointer_write", f"the loop assigns the pointer/array {name}", node)
    if d.volatile or d.atomic:
        raise Unsupported("volatile", f"{name} is volatile/atomic", node)
    t = ctype_of(complex_spelling(d) or d.type, lb.ctx)
    if t is None:
        raise Unsupported("long_double" if "long double" in d.type else "unknown_type",
                          f"unknown type '{d.type}' of {name}", node)
    if t.is_complex and not complex_ok:
        raise Unsupported("complex", f"the loop updates the complex scalar {name} ('{t.spelling}'): complex "
                          "reductions (sums, dot products) are not rewritten", node)
    return t


def scalar_update(lb: LoopBuilder, name: str, op: str, right: tree_sitter.Node | None, e: tree_sitter.Node,
                  cond: bool) -> list[Stmt]:
    """An assignment to a scalar declared outside the loop: classify it."""
    t = outer_scalar(lb, name, e, complex_ok=True)
    lb.written_outer.add(name)
    if t.is_complex:  # a complex sum or dot product (`acc += a[i] * conjf(b[i])`), or refused naming the type
        return complex_values.complex_reduce(lb, name, t, op, right, e, cond)
    decl_text = (lb.decl_of(name) or Decl(name, "")).text
    uses = lb.uses.get(name, [])
    inside = [u for u in uses if e.start_byte <= u.pos < e.end_byte]
    reads_elsewhere = [u for u in uses if not u.write and not (e.start_byte <= u.pos < e.end_byte)]
    writes_elsewhere = [u for u in uses if u.write and not (e.start_byte <= u.pos < e.end_byte)]
    span = node_span(e)
    if name in lb.header_reads and name not in lb.locals and name != lb.count_var:
        raise Unsupported("recurrence", f"the loop's condition reads {name} before the body assigns it: "
                          "each test sees the previous iteration's value", e)
    if op == "=" and right is not None and not cond and not [u for u in uses if u.pos < e.start_byte] \
            and not [u for u in inside if not u.write]:
        # assigned on every iteration before any read: a temporary of the iteration, wherever declared
        # (`r = x[i] * s; if (r > hi) r = hi; out[i] = r;`); its value after the loop is the last one
        first = convert(expressions.expr(lb, right), t)
        lb.locals[name] = t
        lb.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=decl_text or name)
        aff = accesses.affine(lb, right) if not t.is_float else None
        if aff is not None:
            lb.local_aff[name] = aff
        return [Let(name, t, first, span)]
    red_op = ""
    value_node: tree_sitter.Node | None = None
    if op in ("+=", "-=", "*=", "&=", "|=", "^="):
        red_op, value_node = op[0], right
    elif op == "=" and right is not None:
        r = unwrap(right)
        if r is not None and r.type == "binary_expression" and op_of(r) in REDUCE_OPS:
            lft, rgt = unwrap(r.child_by_field_name("left")), unwrap(r.child_by_field_name("right"))
            if lft is not None and lft.type == "identifier" and lb.text(lft) == name:
                red_op, value_node = op_of(r), r.child_by_field_name("right")
            elif rgt is not None and rgt.type == "identifier" and lb.text(rgt) == name and op_of(r) != "-":
                red_op, value_node = op_of(r), r.child_by_field_name("left")
            elif op_of(r) in ("+", "-") and leftmost_is(r, name):
                red_op, value_node = "chain", r
    elif op not in ("=",):
        raise Unsupported("recurrence", f"{name} {op} ...: a recurrence", e)
    if op in ("+=", "-=") and right is None:  # ++ / --
        red_op = op[0]
    part = lb.parts.pop(name, None)
    if part is not None and op in ("+=", "-=") and right is not None and not cond:
        # `d1 = b1*x + d2; d1 += a1*acc;` (CMSIS-DSP's DF-II-T): the carried value is the part plus this term
        if [u for u in inside if u.pos >= right.start_byte] or [u for u in reads_elsewhere if u.pos >= e.end_byte]:
            raise Unsupported("recurrence", f"{name} is assigned several times in the body", e)
        total = expressions.arith(op[0], part, expressions.expr(lb, right), right)
        lb.scalars[name] = Scalar(name, t, ScalarRole.CARRIED, decl=decl_text)
        return [Carry(name, convert(total, t), t, span)]
    if red_op:
        self_refs = [u for u in inside if value_node is not None and value_node.start_byte <= u.pos < value_node.end_byte]
        element: Var | None = None
        if red_op == "chain":
            assert value_node is not None
            value = chain_without(lb, value_node, name, t)
            red_op = "+"
            if value is None:
                raise Unsupported("recurrence", f"{name} is updated from its own value in a way that is not a "
                                  "reduction", e)
        elif self_refs:
            raise Unsupported("recurrence", f"{name} is updated from its own previous value: a recurrence", e)
        else:
            # `ix += *incx;` (f2c reads every stride through its pointer): a step by an invariant element
            element = (accesses.invariant_element(lb, value_node)
                       if red_op in "+-" and not cond and not writes_elsewhere else None)
            value = element or (expressions.expr(lb, value_node) if value_node is not None else Const(1, INT32, "1"))
        invariant = value_node is None or element is not None or is_invariant(lb, value_node)
        if red_op in "+-" and invariant and not cond and not writes_elsewhere:
            step = value if red_op == "+" else Unary("-", value, promote(expr_type(value)))
            lb.scalars[name] = Scalar(name, t, ScalarRole.INDUCTION, decl=decl_text)
            return [Step(name, step, t, span)]
        if reads_elsewhere and not cond:
            # `sum += x0; sum += x1; ...` (hand-unrolled): the other reads are the same unconditional update
            same = compound_updates(lb, name, red_op)
            reads_elsewhere = [u for u in reads_elsewhere if u.pos not in same]
        running = red_op in "+-" and not cond and not writes_elsewhere and t.name in scans.SCAN_TYPES
        if reads_elsewhere and not running:
            where = min(reads_elsewhere, key=lambda u: u.pos)
            raise Unsupported("recurrence", f"{name} accumulates across iterations and is also read in the loop "
                              f"(line {lb.line_of(where.pos)}): a recurrence", e)
        comp = usual(t, expr_type(value))
        if t.is_float and comp.name != t.name:
            raise Unsupported("reduction_type", f"{name} is {t.spelling or t.name} but each update is computed in "
                              f"{comp.name} and rounded back: vectorizing would change the result", e)
        if not t.is_float and comp.is_float:
            raise Unsupported("reduction_type", f"{name} is an integer updated with floating-point values "
                              "(converted back every iteration)", e)
        if reads_elsewhere:  # `s += a[i]; b[i] = s;`: a running sum carried in s (a scan)
            lb.scalars[name] = Scalar(name, t, ScalarRole.RUNNING, decl=decl_text)
            term = value if red_op == "+" else Unary("-", convert(value, comp), comp)
            return [Running(name, convert(term, t), t, None, span)]
        prev = lb.scalars.get(name)
        if prev is not None and prev.role not in (ScalarRole.REDUCTION,):
            raise Unsupported("recurrence", f"{name} is updated in several ways", e)
        if lb.reduce_ops.setdefault(name, red_op) != red_op:
            raise Unsupported("recurrence", f"{name} is updated with different operators", e)
        lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
        return [Reduce(name, REDUCE_OPS[red_op], convert(value, t), t, "", span)]
    assert right is not None
    mm = minmax_select(lb, name, t, right, e)
    if mm is not None:
        if reads_elsewhere:
            raise Unsupported("recurrence", f"{name} is a running min/max that is also read in the loop", e)
        lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
        return [mm]
    if [u for u in inside if not u.write]:
        try:
            mm = minmax_ir(name, t, expressions.expr(lb, right), span)  # e.g. through a MAX(a, b) macro
        except Unsupported as err:
            raise Unsupported(err.reason.code, err.reason.message, e) from None
        if mm is not None and not reads_elsewhere and not writes_elsewhere and not cond:
            lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
            return [mm]
        updated = reduction_ir(name, t, expressions.expr(lb, right))  # e.g. `s = ADD32(s, x)`, a macro's sum
        if updated is not None and not reads_elsewhere and not writes_elsewhere and not cond \
                and len([u for u in inside if not u.write]) == 1:
            prev = lb.scalars.get(name)  # invariant: registered by this update's own read of it
            if (prev is None or prev.role in (ScalarRole.REDUCTION, ScalarRole.INVARIANT)) \
                    and lb.reduce_ops.setdefault(name, updated[0]) == updated[0]:
                lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=decl_text)
                return [Reduce(name, REDUCE_OPS[updated[0]], convert(updated[1], t), t, "", span)]
        linear = scans.linear_update(name, t, expressions.expr(lb, right)) if not cond and not writes_elsewhere \
            and len([u for u in inside if not u.write]) == 1 else None
        if linear is not None:  # `s = s * c + a[i]`: a first-order recurrence carried in s (a scan)
            lb.scalars[name] = Scalar(name, t, ScalarRole.RUNNING, decl=decl_text)
            return [Running(name, linear[1], t, linear[0], span)]
        raise Unsupported("recurrence", _self_update_reason(lb, name, t, expressions.expr(lb, right)), e)
    value = convert(expressions.expr(lb, right), t)
    if cond and not reads_elsewhere and not writes_elsewhere and not [u for u in inside if not u.write]:
        # `if (c) last = v;` with last read nowhere in the body: the last iteration where c held wins
        lb.scalars[name] = Scalar(name, t, ScalarRole.LAST, decl=decl_text)
        return [LastValue(name, value, t, span)]
    if cond and not writes_elsewhere and not [u for u in inside if not u.write]:
        # `if (a[i] > 0) x = a[i]; b[i] = x;`: each iteration reads the last value set so far
        lb.scalars[name] = Scalar(name, t, ScalarRole.HELD, decl=decl_text)
        return [Hold(name, value, t, span)]
    if cond:
        raise Unsupported("conditional_assign", f"{name} is assigned only on some iterations and keeps its old "
                          "value otherwise: a conditional recurrence", e)
    if writes_elsewhere:
        later = compound_updates(lb, name, "+") | compound_updates(lb, name, "-")
        between = [u for u in reads_elsewhere if e.end_byte <= u.pos < writes_elsewhere[0].pos]
        if len(writes_elsewhere) != 1 or writes_elsewhere[0].pos not in later or writes_elsewhere[0].pos < e.end_byte \
                or between or [u for u in inside if not u.write]:
            raise Unsupported("recurrence", f"{name} is assigned several times in the body", e)
        temp = f"{name}_part"  # the first part of the value, completed by the compound update after it
        if lb.decl_of(temp) is not None or temp in lb.locals or temp in lb.uses:
            raise Unsupported("recurrence", f"{name} is assigned several times in the body", e)
        lb.locals[temp] = t
        lb.scalars[temp] = Scalar(temp, t, ScalarRole.LOCAL, decl=temp)
        lb.parts[name] = Var(temp, t)
        return [Let(temp, t, value, span)]
    if not [u for u in reads_elsewhere if u.pos < e.start_byte]:
        lb.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=decl_text)
        return [Let(name, t, value, span)]
    if [u for u in reads_elsewhere if u.pos >= e.end_byte]:
        # `p = np; pos[i] = p;`: a read after the assignment is the temporary it copied, when nothing
        # assigns that temporary again afterwards
        if not (isinstance(value, Var) and value.name in lb.locals
                and not [u for u in lb.uses.get(value.name, []) if u.write and u.pos >= e.end_byte]):
            raise Unsupported("unsupported_scalar", f"{name} is read both before its assignment (last "
                              "iteration's value) and after it (this iteration's value)", e)
        lb.copied_after[name] = (e.end_byte, value)
    lb.scalars[name] = Scalar(name, t, ScalarRole.CARRIED, decl=decl_text)
    return [Carry(name, value, t, span)]


def compound_updates(lb: LoopBuilder, name: str, red_op: str) -> set[int]:
    """Start bytes of `name` in the body's statements `name op= e;` / `name++;` with operator `red_op`
    that run on every iteration (statements of the body itself, not under a condition)."""
    out: set[int] = set()
    for st in stmts_of(lb.body_node):
        ex = unwrap(st.named_children[0]) if st.type == "expression_statement" and st.named_children else None
        if ex is None:
            continue
        if ex.type == "assignment_expression":
            left = unwrap(ex.child_by_field_name("left"))
            op = op_of(ex)
            if (left is not None and left.type == "identifier" and lb.text(left) == name and op.endswith("=")
                    and op[:-1] == red_op and not lb.mentions(field_of(ex, "right"), name)):
                out.add(left.start_byte)
        elif ex.type == "update_expression" and red_op in "+-" and op_of(ex) == red_op * 2:
            arg = unwrap(ex.child_by_field_name("argument"))
            if arg is not None and lb.text(arg) == name:
                out.add(arg.start_byte)
    return out


def leftmost_is(r: tree_sitter.Node, name: str) -> bool:
    n: tree_sitter.Node | None = r
    while n is not None and n.type == "binary_expression" and op_of(n) in ("+", "-"):
        n = unwrap(n.child_by_field_name("left"))
    return n is not None and n.type == "identifier" and node_text(n) == name


def chain_without(lb: LoopBuilder, r: tree_sitter.Node, name: str, t: CType) -> Expr | None:
    """`name + a + b - c` -> `a + b - c` (reassociation is part of vectorizing a reduction anyway)."""
    terms: list[tuple[str, tree_sitter.Node]] = []
    n: tree_sitter.Node | None = r
    while n is not None and n.type == "binary_expression" and op_of(n) in ("+", "-"):
        terms.append((op_of(n), field_of(n, "right")))
        n = unwrap(n.child_by_field_name("left"))
    acc: Expr | None = None
    for sign, tn in reversed(terms):
        if lb.mentions(tn, name):
            return None
        v = expressions.expr(lb, tn)
        if acc is None:
            acc = v if sign == "+" else Unary("-", convert(v, promote(expr_type(v))), promote(expr_type(v)))
        else:
            acc = expressions.arith(sign, acc, v, tn)
    return acc


def is_invariant(lb: LoopBuilder, node: tree_sitter.Node) -> bool:
    """No counter, no memory, no body-local or written variable, no call."""
    stack = [node]
    while stack:
        n = stack.pop()
        t = n.type
        if t in ("subscript_expression", "pointer_expression", "call_expression", "field_expression",
                 "update_expression", "assignment_expression"):
            return False
        if t == "identifier":
            nm = lb.text(n)
            if nm == lb.iv or nm in lb.locals or nm in lb.written_outer or nm in lb.walkers:
                return False
            if nm in lb.references or nm in lb.struct_refs or nm in lb.record_walks:  # an element of the array
                return False
            if nm in lb.written_names:
                return False
        stack.extend(n.named_children)
    return True


def minmax_select(lb: LoopBuilder, name: str, t: CType, right: tree_sitter.Node, e: tree_sitter.Node) -> Reduce | None:
    r = unwrap(right)
    if r is None:
        return None
    span = node_span(e)
    if r.type == "conditional_expression":
        c = unwrap(r.child_by_field_name("condition"))
        a, b = r.child_by_field_name("consequence"), r.child_by_field_name("alternative")
        if c is None or a is None or b is None or c.type != "binary_expression" or op_of(c) not in ("<", "<=", ">", ">="):
            return None
        cl, cr = unwrap(c.child_by_field_name("left")), unwrap(c.child_by_field_name("right"))
        if cl is None or cr is None:
            return None
        sa, sb, scl, scr = squash(lb.text(a)), squash(lb.text(b)), squash(lb.text(cl)), squash(lb.text(cr))
        op = op_of(c)
        # Normalise to `var = (value cmp var) ? value : var`.
        if sb == name and scr == name and sa == scl:  # (v cmp m) ? v : m
            return minmax_reduce(lb, name, t, cl, op, span)
        if sb == name and scl == name and sa == scr:  # (m cmp v) ? v : m  ==  (v flip m) ? v : m
            return minmax_reduce(lb, name, t, cr, FLIP[op], span)
        if sa == name and not t.is_float and ((scr == name and sb == scl) or (scl == name and sb == scr)):
            # (v cmp m) ? m : v -- the complement; exact only without NaNs: integers
            v = cl if scr == name else cr
            cmp = op if scr == name else FLIP[op]
            inv = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[cmp]
            return minmax_reduce(lb, name, t, v, inv, span)
        return None
    if r.type == "call_expression":
        fname = lb.text(r.child_by_field_name("function"))
        args = [a for a in field_of(r, "arguments").named_children if a.type != "comment"]
        if len(args) != 2:
            return None
        s0, s1 = squash(lb.text(args[0])), squash(lb.text(args[1]))
        bare = fname.replace("std::", "")
        if bare in ("fmaxf", "fmax", "fminf", "fmin") and name in (s0, s1):
            v = args[1] if s0 == name else args[0]
            if lb.mentions(v, name):
                return None
            value = expressions.expr(lb, v)
            fn = mathcalls.lookup(fname, (expr_type(value),), lb.cpp)
            if fn is None or fn.result.name != t.name:
                return None
            return Reduce(name, ReduceOp.MAX if "max" in bare else ReduceOp.MIN, convert(value, t), t,
                          "fmax" if "max" in bare else "fmin", span)
        if lb.cpp and fname in ("std::max", "std::min") and name in (s0, s1):
            # std::max(a, b) = (a < b) ? b : a ; std::min(a, b) = (b < a) ? b : a
            if fname == "std::max":
                if s0 == name:  # (m < v) ? v : m  == (v > m) ? v : m
                    return minmax_reduce(lb, name, t, args[1], ">", span)
                if not t.is_float:  # (v < m) ? m : v == (v >= m) ? v : m for integers
                    return minmax_reduce(lb, name, t, args[0], ">=", span)
            else:
                if s0 == name:  # (v < m) ? v : m
                    return minmax_reduce(lb, name, t, args[1], "<", span)
                if not t.is_float:
                    return minmax_reduce(lb, name, t, args[0], "<=", span)
        return None
    return None


def minmax_reduce(lb: LoopBuilder, name: str, t: CType, vnode: tree_sitter.Node, cmp: str, span: Span) -> Reduce | None:
    if lb.mentions(vnode, name):
        return None
    value = expressions.expr(lb, vnode)
    if not minmax_exact(expr_type(value), t):
        return None  # compared in a wider type than the variable: not a plain min/max
    op = ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN
    return Reduce(name, op, convert(value, t), t, cmp, span)


def if_minmax(lb: LoopBuilder, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
              span: Span, cond: bool) -> list[Stmt] | None:
    c = unwrap(cnode)
    if else_nodes or c is None or c.type != "binary_expression" or op_of(c) not in ("<", "<=", ">", ">=") or cond:
        return None
    if not then or len(then) > 3:
        return None
    parts = [statements.assign_parts(s) for s in then]
    if any(p is None for p in parts):
        return None
    cl, cr = unwrap(c.child_by_field_name("left")), unwrap(c.child_by_field_name("right"))
    if cl is None or cr is None:
        return None
    scl, scr = squash(lb.text(cl)), squash(lb.text(cr))
    best = None
    for p in parts:
        assert p is not None
        nm, rhs = p
        srhs = squash(lb.text(unwrap(rhs) or rhs))  # `m = (x);` against `x > m`
        if nm not in lb.locals and ((scr == nm and srhs == scl) or (scl == nm and srhs == scr)):
            best = (nm, rhs)
    if best is None:
        return None
    name = best[0]
    vnode = cl if scr == name else cr  # the condition's spelling of the value: C evaluates it first
    op = op_of(c)
    cmp = op if scr == name else FLIP[op]  # value cmp var
    t = outer_scalar(lb, name, c)
    uses = lb.uses.get(name, [])
    stmt_start, stmt_end = span.start_byte, span.end_byte
    if any(not (stmt_start <= u.pos < stmt_end) for u in uses):
        raise Unsupported("recurrence", f"{name} is a running min/max that is also read elsewhere in the loop",
                          c)
    if lb.mentions(vnode, name):
        return None
    value = expressions.expr(lb, vnode)
    if not minmax_exact(expr_type(value), t):
        raise Unsupported("reduction_type", f"{name} is compared in a wider type than its own", c)
    if len(parts) == 1:
        lb.scalars[name] = Scalar(name, t, ScalarRole.REDUCTION, decl=(lb.decl_of(name) or Decl(name, "")).text)
        lb.written_outer.add(name)
        return [Reduce(name, ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN, convert(value, t), t, cmp, span)]
    others = [p for p in parts if p is not None and p[0] != name]
    if len({p[0] for p in others}) != len(others):
        return None
    if len(others) == 2:  # `max = aa[i][j]; xindex = i; yindex = j;` in the j loop: one index moves with j
        moving = [p for p in others if lb.mentions(p[1], lb.iv)]
        fixed = [p for p in others if not lb.mentions(p[1], lb.iv) and is_invariant(lb, p[1])]
        if len(moving) != 1 or len(fixed) != 1:
            return None
        others = moving + fixed
    iname, inode = others[0]
    for oname, _ in others:
        if oname in lb.locals or any(not (stmt_start <= u.pos < stmt_end) for u in lb.uses.get(oname, [])):
            raise Unsupported("recurrence", f"{oname} is also used elsewhere in the loop", c)
    it = outer_scalar(lb, iname, c)
    index = convert(expressions.expr(lb, inode), it)
    also: list[tuple[str, Expr]] = []
    for oname, onode in others[1:]:
        also.append((oname, convert(expressions.expr(lb, onode), outer_scalar(lb, oname, c))))
        lb.scalars[oname] = Scalar(oname, expr_type(also[-1][1]), ScalarRole.ARG_INDEX,
                                   decl=(lb.decl_of(oname) or Decl(oname, "")).text)
        lb.written_outer.add(oname)
    dt = (lb.decl_of(name) or Decl(name, "")).text
    lb.scalars[name] = Scalar(name, t, ScalarRole.ARG_VALUE, decl=dt)
    lb.scalars[iname] = Scalar(iname, it, ScalarRole.ARG_INDEX, decl=(lb.decl_of(iname) or Decl(iname, "")).text)
    lb.written_outer.update((name, iname))
    return [ArgReduce(name, iname, cmp, convert(value, t), index, t, span, None, tuple(also))]


def fmax_argindex(lb: LoopBuilder, n: tree_sitter.Node, nxt: tree_sitter.Node, cond: bool) -> list[Stmt] | None:
    """ggml's `m = fmaxf(m, v); if (m == v) k = i;`: the last index whose element is at least the max so far,
    which is `if (v >= m) { m = v; k = i; }` (a NaN `v` is never taken by either) except for a NaN start,
    which fmaxf drops for the first number (the lowering runs that case in scalar). The sign of a zero `m`
    is the compiler's choice of fmaxf's operand order, so whether `m` is read after the loop is kept."""
    if cond or n.type != "expression_statement" or nxt.type != "if_statement" or \
            nxt.child_by_field_name("alternative") is not None or not n.named_children:
        return None
    a = unwrap(n.named_children[0])
    if a is None or a.type != "assignment_expression" or op_of(a) != "=":
        return None
    left, call = unwrap(a.child_by_field_name("left")), unwrap(a.child_by_field_name("right"))
    if left is None or left.type != "identifier" or call is None or call.type != "call_expression":
        return None
    name, bare = lb.text(left), lb.text(call.child_by_field_name("function")).replace("std::", "")
    args = [x for x in field_of(call, "arguments").named_children if x.type != "comment"]
    if bare not in ("fmaxf", "fmax", "fminf", "fmin") or len(args) != 2 or name in lb.locals:
        return None
    s0, s1 = squash(lb.text(args[0])), squash(lb.text(args[1]))
    if name not in (s0, s1) or s0 == s1:
        return None
    vnode = args[1] if s0 == name else args[0]
    c, then = unwrap(field_of(nxt, "condition")), stmts_of(nxt.child_by_field_name("consequence"))
    if c is None or c.type != "binary_expression" or op_of(c) != "==" or len(then) != 1:
        return None
    sides = {squash(lb.text(x)) for x in (c.child_by_field_name("left"), c.child_by_field_name("right")) if x is not None}
    parts = statements.assign_parts(then[0])
    if sides != {name, squash(lb.text(vnode))} or parts is None or lb.mentions(vnode, name):
        return None
    iname, inode = parts
    if iname in (name, lb.iv) or iname in lb.locals or lb.mentions(inode, name) or lb.mentions(inode, iname):
        return None
    span = new_span(n.start_byte, nxt.end_byte, node_span(n).start, node_span(nxt).end)
    for v in (name, iname):
        if any(not (n.start_byte <= u.pos < nxt.end_byte) for u in lb.uses.get(v, [])):
            raise Unsupported("recurrence", f"{v} is also used elsewhere in the loop", c)
    t, it = outer_scalar(lb, name, a), outer_scalar(lb, iname, c)
    value = expressions.expr(lb, vnode)
    fn = mathcalls.lookup(bare, (expr_type(value),), lb.cpp)
    if fn is None or fn.result.name != t.name or not t.is_float:
        return None
    d = lb.scope.lookup(name, lb.node.start_byte, lb.node.end_byte)  # function scope only: a global stays visible
    read = d is None or d.static or d.reference or d.pointer > 0 or uses.used_after(lb, name)
    lb.scalars[name] = Scalar(name, t, ScalarRole.ARG_VALUE, decl=(lb.decl_of(name) or Decl(name, "")).text)
    lb.scalars[iname] = Scalar(iname, it, ScalarRole.ARG_INDEX, decl=(lb.decl_of(iname) or Decl(iname, "")).text)
    lb.written_outer.update((name, iname))
    cmp = ">=" if "max" in bare else "<="
    return [ArgReduce(name, iname, cmp, convert(value, t), convert(expressions.expr(lb, inode), it), t, span,
                      None, (), "fmax" if "max" in bare else "fmin", read)]


def if_argindex(lb: LoopBuilder, cnode: tree_sitter.Node, then: list[tree_sitter.Node],
                 else_nodes: list[tree_sitter.Node], span: Span, cond: bool) -> list[Stmt] | None:
    """`if (x[i] > x[best]) best = i;`: an argmax written against the array. The value at `best` is the
    running best, so it is the value form `if (x[i] > m) { m = x[i]; best = i; }` with m = x[best] on
    entry (NaN and ties as there: a NaN is never taken, the first index wins a strict comparison)."""
    c = unwrap(cnode)
    if else_nodes or cond or len(then) != 1 or c is None or c.type != "binary_expression" or \
            op_of(c) not in ("<", "<=", ">", ">="):
        return None
    parts = statements.assign_parts(then[0])
    if parts is None or squash(lb.text(parts[1])) != lb.iv:
        return None
    name = parts[0]
    if name in lb.locals or name == lb.iv or name in lb.walkers or name == lb.count_var:
        return None
    cl, cr = unwrap(c.child_by_field_name("left")), unwrap(c.child_by_field_name("right"))
    if cl is None or cr is None or lb.mentions(cl, name) == lb.mentions(cr, name):
        return None
    here, there = (cl, cr) if lb.mentions(cr, name) else (cr, cl)  # x[i] and x[best]
    if squash(_renamed(here, lb.iv, name)) != squash(lb.text(there)):
        return None
    if any(not (span.start_byte <= u.pos < span.end_byte) for u in lb.uses.get(name, [])):
        raise Unsupported("recurrence", f"{name} is an argmax index that is also used elsewhere in the loop", c)
    it = outer_scalar(lb, name, c)
    if it.is_float or it.bits < lb.iv_type.bits:
        return None  # the index would be rounded or truncated: x[best] is no longer the best value
    value = expressions.expr(lb, here)
    at = _at_index(value, name, it)
    if at is None:
        return None
    cmp = op_of(c) if here is cl else FLIP[op_of(c)]  # value cmp x[best]
    lb.scalars[name] = Scalar(name, it, ScalarRole.ARG_INDEX, decl=(lb.decl_of(name) or Decl(name, "")).text)
    lb.written_outer.add(name)
    return [ArgReduce("", name, cmp, value, convert(IV(lb.iv, lb.iv_type), it), expr_type(value), span, at)]


def argindex_overwritten(body: tuple[Stmt, ...]) -> Reason | None:
    """Why an argmax against the array is a recurrence after all: the loop writes the array it compares,
    so x[best] is no longer the value that won (None when it does not)."""
    written = {a.root for a, w, _ in accesses.accesses_of(body) if w}
    for s in walk_stmts(body):
        if isinstance(s, ArgReduce) and s.at_index is not None:
            for x in walk_exprs(s.at_index):
                if isinstance(x, Load) and x.access.root in written:
                    return Reason("recurrence", f"{s.index_var} is compared through {x.access.root}[{s.index_var}], "
                                  f"which the loop also writes: the element at {s.index_var} may no longer be the "
                                  "value that won, a recurrence", s.span)
    return None


def _renamed(node: tree_sitter.Node, old: str, new: str) -> str:
    """The source text of `node` with every identifier `old` spelled `new`."""
    text, start = node_text(node), node.start_byte
    stack, hits = [node], []
    while stack:
        n = stack.pop()
        if n.type == "identifier" and node_text(n) == old:
            hits.append(n.start_byte - start)
        stack.extend(n.children)
    for pos in sorted(hits, reverse=True):
        text = text[:pos] + new + text[pos + len(old):]
    return text


def _at_index(e: Expr, name: str, t: CType) -> Expr | None:
    """`e` (a value of iteration i) at i = `name`: `x[i + 1]` -> `x[name + 1]`; None when it is not a
    function of the counter through unit-stride subscripts and invariants."""
    if isinstance(e, Const):
        return e
    if isinstance(e, IV):
        return Cast(Var(name, t), e.type, True)
    if isinstance(e, Var):
        return None  # a temporary of the iteration, or the index itself
    if isinstance(e, Load):
        a = e.access
        if a.index is not None or a.coeff not in (0, 1):
            return None
        if a.coeff == 0:
            return e
        sym = f"({a.symbolic}) + {name}" if a.symbolic else name
        return Load(Access(a.root, a.base, a.elem, 0, a.offset, sym, None, a.span))
    if isinstance(e, Unary):
        x = _at_index(e.operand, name, t)
        return None if x is None else Unary(e.op, x, e.type)
    if isinstance(e, Cast):
        x = _at_index(e.operand, name, t)
        return None if x is None else Cast(x, e.type, e.implicit)
    if isinstance(e, Binary):
        lhs, rhs = _at_index(e.lhs, name, t), _at_index(e.rhs, name, t)
        return None if lhs is None or rhs is None else Binary(e.op, lhs, rhs, e.type)
    if isinstance(e, Call):
        args = [_at_index(x, name, t) for x in e.args]
        return None if any(x is None for x in args) else Call(e.func, tuple(x for x in args if x is not None), e.type)
    return None


def if_select(lb: LoopBuilder, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
              span: Span, cond: bool) -> list[Stmt] | None:
    """`if (c) t = a; else t = b;` with `t` declared outside the loop and read only after it: assigned
    on every iteration before any read, `t` is a private temporary, `t = c ? a : b`."""
    if cond or len(then) != 1 or len(else_nodes) != 1:
        return None
    first, second = statements.assign_parts(then[0]), statements.assign_parts(else_nodes[0])
    if first is None or second is None or first[0] != second[0]:
        return None
    name = first[0]
    if name in lb.locals or name == lb.iv or name in lb.walkers or name == lb.count_var or name in lb.references:
        return None
    uses = lb.uses.get(name, [])
    inside = [u for u in uses if span.start_byte <= u.pos < span.end_byte]
    # exactly the two assignments here, every other use a read after them
    if len(inside) != 2 or not all(u.write for u in inside):
        return None
    if any(u.write or u.pos < span.end_byte for u in uses if u not in inside):
        return None
    t = outer_scalar(lb, name, cnode)
    value = Select(expressions.expr(lb, cnode), convert(expressions.expr(lb, first[1]), t), convert(expressions.expr(lb, second[1]), t), t)
    lb.written_outer.add(name)
    lb.scalars[name] = Scalar(name, t, ScalarRole.LOCAL, decl=(lb.decl_of(name) or Decl(name, "")).text)
    return [Let(name, t, value, span)]


def if_pack(lb: LoopBuilder, cnode: tree_sitter.Node, then: list[tree_sitter.Node], else_nodes: list[tree_sitter.Node],
            span: Span, cond: bool) -> list[Stmt] | None:
    """if (c) b[j++] = x;  /  if (c) { b[j] = x; j++; }  /  TSVC's if (c) { j++; b[j] = x; } (one past j)"""
    if else_nodes or cond or not then or len(then) > 2:
        return None
    found = counters.stepped_subscript(then, _target_index)
    if found is None or op_of(found[0]) != "=":
        return None
    a, counter, lead = found
    left = unwrap(a.child_by_field_name("left"))
    if left is None or left.type != "subscript_expression":
        return None
    if not counter or counter in lb.locals:
        return None
    if any(not (span.start_byte <= u.pos < span.end_byte) for u in lb.uses.get(counter, [])):
        raise Unsupported("recurrence", f"the output counter {counter} is also used elsewhere in the loop", a)
    ct = outer_scalar(lb, counter, a)
    if ct.is_float:
        return None
    base = unwrap(field_of(left, "argument"))
    assert base is not None
    root, base_text, elem, arr = accesses.array_base(lb, base)
    accesses.note_array(lb, root, arr, elem)
    dst = Access(root, base_text, elem, None, 0, "", Var(counter, ct), node_span(left))
    c = expressions.expr(lb, cnode)
    value = convert(expressions.expr(lb, field_of(a, "right")), elem)
    lb.scalars[counter] = Scalar(counter, ct, ScalarRole.COUNTER, decl=(lb.decl_of(counter) or Decl(counter, "")).text)
    lb.written_outer.add(counter)
    return [Pack(c, dst, counter, value, span, lead)]


def pack_run(lb: LoopBuilder, nodes: list[tree_sitter.Node], i: int, cond: bool) -> tuple[list[Stmt], int] | None:
    """TSVC s123's `j++; a[j] = x; if (c) { j++; a[j] = y; }`: stores at one counter, each one past the last,
    some under a condition: one pack per store, in order (the lowering interleaves them lane by lane). The
    Packs and how many of `nodes` from `i` they take; None unless there are two or more, one conditional."""
    if cond:
        return None
    items: list[tuple[tree_sitter.Node, str, int, tree_sitter.Node | None, int]] = []  # assignment, counter, lead, cond
    k = i
    while k < len(nodes):
        n = nodes[k]
        if n.type == "if_statement" and n.child_by_field_name("alternative") is None:
            found, c, used = counters.stepped_subscript(stmts_of(n.child_by_field_name("consequence")),
                                                        _target_index), field_of(n, "condition"), 1
        elif n.type == "expression_statement":
            found, c, used = counters.stepped_subscript(nodes[k:k + 2], _target_index), None, 2
            if found is None:
                found, used = counters.stepped_subscript(nodes[k:k + 1], _target_index), 1
        else:
            break
        if found is None or op_of(found[0]) != "=" or (items and found[1:] != items[0][1:3]):
            break
        items.append((found[0], found[1], found[2], c, used))
        k += used
    if len(items) < 2 or all(c is None for *_, c, _ in items):
        return None
    counter, lead = items[0][1], items[0][2]
    lefts = [unwrap(a.child_by_field_name("left")) for a, *_ in items]
    if counter in lb.locals or any(x is None for x in lefts) or \
            len({squash(lb.text(field_of(x, "argument"))) for x in lefts if x is not None}) != 1:
        return None
    if any(not (nodes[i].start_byte <= u.pos < nodes[k - 1].end_byte) for u in lb.uses.get(counter, [])):
        raise Unsupported("recurrence", f"the output counter {counter} is also used elsewhere in the loop", nodes[i])
    ct = outer_scalar(lb, counter, nodes[i])
    if ct.is_float:
        return None
    out: list[Stmt] = []
    at = i
    for a, _, _, c, used in items:
        left = unwrap(a.child_by_field_name("left"))
        assert left is not None
        if lb.mentions(field_of(a, "right"), counter) or (c is not None and lb.mentions(c, counter)):
            raise Unsupported("recurrence", f"a value or condition of a store at the output counter {counter} "
                              "reads it", a)
        base = unwrap(field_of(left, "argument"))
        assert base is not None
        root, base_text, elem, arr = accesses.array_base(lb, base)
        accesses.note_array(lb, root, arr, elem)
        dst = Access(root, base_text, elem, None, 0, "", Var(counter, ct), node_span(left))
        test = expressions.expr(lb, c) if c is not None else Const(1, INT32, "1")
        value = convert(expressions.expr(lb, field_of(a, "right")), elem)
        span = new_span(nodes[at].start_byte, nodes[at + used - 1].end_byte, node_span(nodes[at]).start,
                        node_span(nodes[at + used - 1]).end)
        out.append(Pack(test, dst, counter, value, span, lead))
        at += used
    lb.scalars[counter] = Scalar(counter, ct, ScalarRole.COUNTER, decl=(lb.decl_of(counter) or Decl(counter, "")).text)
    lb.written_outer.add(counter)
    return out, k - i


def _target_index(a: tree_sitter.Node) -> tree_sitter.Node | None:
    """The subscript of the element an assignment writes: `b[j]` of `b[j] = x`."""
    left = unwrap(a.child_by_field_name("left"))
    return index_node(left) if left is not None and left.type == "subscript_expression" else None


def _shape(e: Expr) -> object:
    """A comparable form of an expression that ignores source spans and implicit casts."""
    e = strip_implicit_casts(e)
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


def _mentions_var(e: Expr, name: str) -> bool:
    return any(isinstance(x, Var) and x.name == name for x in walk_exprs(e))


def reduction_ir(name: str, t: CType, value: Expr) -> tuple[str, Expr] | None:
    """An update whose expression is `name op x`, x free of `name`, once its macros are read (a fixed-point
    library's `s = ADD32(s, MULT16_16(a[i], b[i]))`): (op, x). `name` may be widened on the way, never
    narrowed; a float update must be computed in the accumulator's own type (else rounding differs)."""
    e = strip_implicit_casts(value)
    if not isinstance(e, Binary) or e.op not in REDUCE_OPS or (t.is_float and e.type.name != t.name) \
            or (not t.is_float and e.type.is_float):
        return None

    def is_self(x: Expr) -> bool:
        while isinstance(x, Cast) and not x.type.is_float and not t.is_float and x.type.bits >= t.bits:
            x = x.operand
        return isinstance(x, Var) and x.name == name

    if is_self(e.lhs) and not _mentions_var(e.rhs, name):
        return e.op, e.rhs
    if e.op != "-" and is_self(e.rhs) and not _mentions_var(e.lhs, name):
        return e.op, e.lhs
    return None


def minmax_ir(name: str, t: CType, value: Expr, span: Span) -> Reduce | None:
    """`var = (x cmp y) ? p : q` where {x, y} and {p, q} are {var, v}: a min/max, normalised to
    `var = (v cmp' var) ? v : var`. The complementary form (the old value kept when the comparison
    holds) is exact only without NaNs: integers."""
    sel = strip_implicit_casts(value)
    if isinstance(sel, Cast) and sel.type.name == t.name:
        inner = strip_implicit_casts(sel.operand)  # `(uint8_t)(a < b ? a : b)` (a helper's return): either arm, unchanged
        if isinstance(inner, Select) and all(expr_type(strip_implicit_casts(x)).name == t.name
                                             for x in (inner.then, inner.else_)):
            sel = inner
    if not isinstance(sel, Select):
        return None
    c = strip_implicit_casts(sel.cond)
    if not isinstance(c, Binary) or c.op not in ("<", "<=", ">", ">="):
        return None
    lhs, rhs = strip_implicit_casts(c.lhs), strip_implicit_casts(c.rhs)
    me = ("var", name)

    def is_me(x: Expr) -> bool:
        return isinstance(x, Var) and x.name == name

    if is_me(rhs) and not is_me(lhs):
        v, op = lhs, c.op  # v op var
    elif is_me(lhs) and not is_me(rhs):
        v, op = rhs, FLIP[c.op]
    else:
        return None
    if _mentions_var(v, name):
        return None
    then, other = strip_implicit_casts(sel.then), strip_implicit_casts(sel.else_)
    vs = _shape(v)
    if _shape(then) == vs and is_me(other):
        cmp = op
    elif is_me(then) and _shape(other) == vs:
        if t.is_float:
            raise Unsupported("minmax_nan_order", f"{name} takes a NaN element and drops it again at the next "
                              "element, so the result depends on where NaNs sit: a vector reduction, which reorders, "
                              "cannot reproduce that (fmaxf/fminf or swapping the operands would be order-free)", None)
        cmp = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
    else:
        return None
    del me
    if not minmax_exact(expr_type(v), t):
        return None
    return Reduce(name, ReduceOp.MAX if cmp in (">", ">=") else ReduceOp.MIN, convert(v, t), t, cmp, span)


def minmax_exact(value: CType, var: CType) -> bool:
    """Whether `var = value cmp var ? value : var` keeps exact values: the comparison happens in the
    variable's own type (after promotion) and the value fits the variable unchanged."""
    if value.name == var.name:
        return True
    return usual(value, var).name == var.name and (value.is_float == var.is_float)


def carried_through_temporaries(lb: LoopBuilder, stmts: list[Stmt]) -> list[Stmt]:
    """A carried value computed from itself through temporaries of the body, a recurrence written the way
    filters are (`acc = b0 * x[i] + d1; d1 = a1 * acc; out[i] = acc;`): with the temporaries substituted it
    is `d1 = a1 * d1 + a1 * b0 * x[i]`, a first-order linear recurrence carried in d1 (a `Running` the scan
    rules compute), and the temporaries reading d1 read its previous value as before."""
    once = {n for n in {s.name for s in walk_stmts(tuple(stmts)) if isinstance(s, Let)}
            if sum(1 for s in walk_stmts(tuple(stmts)) if isinstance(s, Let) and s.name == n) == 1}
    lets: dict[str, Expr] = {}  # each temporary of the body's top level, its own temporaries substituted
    others = {s.var for s in walk_stmts(tuple(stmts)) if isinstance(s, Carry | Running | Hold | LastValue)}
    out = list(stmts)
    for k, s in enumerate(stmts):
        if isinstance(s, Let) and s.name in once:
            lets[s.name] = _inlined(s.value, lets)
        elif isinstance(s, Carry):
            value = _inlined(s.value, lets)
            if value is s.value or not any(isinstance(x, Var) and x.name == s.var for x in walk_exprs(value)):
                continue
            linear = scans.linear_update(s.var, s.type, value)
            sc = lb.scalars.get(s.var)
            if linear is None or sc is None or any(isinstance(x, Var) and x.name in others and x.name != s.var
                                                   for e in linear if e is not None for x in walk_exprs(e)):
                continue  # no scan, or a term carried in another scalar too: a state of two (scans.state_scan)
            lb.scalars[s.var] = Scalar(sc.name, sc.type, ScalarRole.RUNNING, sc.live_out, sc.decl)
            out[k] = Running(s.var, linear[1], s.type, linear[0], s.span)
    return out


def _self_update_reason(lb: LoopBuilder, name: str, t: CType, value: Expr) -> str:
    """Why `name = value` (computed from its own previous value) is no scan this rule computes."""
    body = lb.text(lb.body_node)
    stored = sorted({x.access.root for x in walk_exprs(value) if isinstance(x, Load)
                     and re.search(rf"\b{re.escape(x.access.root)}\s*\[[^;]*?\]\s*[-+*/]?=(?!=)", body)})
    if stored:  # Livermore kernel 19: `b5[k] = sa[k] + stb5 * sb[k]; stb5 = b5[k] - stb5;`
        return (f"{name} is computed from its own previous value through {', '.join(stored)}, which the loop "
                f"stores in the same iteration: with that store substituted it may be a first-order linear "
                "recurrence a SIMD scan computes, but a value carried through a stored element is not read that "
                "way yet, so it stays a recurrence")
    if checksums.modulo_of_own_sum(value, name):  # Adler-32 with `% 65521` inside the loop
        return checksums.modulo_reason(name)
    cancelling = scans.cancelling_update(name, t, value)
    if cancelling is not None:
        return scans.cancelling_reason(f"{name} = f * {name} + t", cancelling)
    return f"{name} is computed from its own previous value: a recurrence"


def _inlined(e: Expr, lets: dict[str, Expr]) -> Expr:
    """`e` with the temporaries it reads replaced by their values (`e` itself when it reads none)."""
    for x in walk_exprs(e):
        if isinstance(x, Var) and x.name in lets:
            replaced = substitute_var(e, x.name, lets[x.name])
            return e if replaced is None else _inlined(replaced, lets)
    return e
