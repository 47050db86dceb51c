"""The pieces of a counted loop's header: the conjuncts of a condition, the comparison on the counter,
how an update steps a name, and the trip count as C text.
"""

from __future__ import annotations

from collections.abc import Callable

import tree_sitter

from simdlens.analysis.build import accesses
from simdlens.analysis.build.builder import WALK_IV, LoopBuilder
from simdlens.analysis.build.c_types import ctype_of
from simdlens.analysis.build.syntax import FLIP, Unsupported, field_of, node_text, op_of, unwrap
from simdlens.analysis.ir import INT32, INT64, IV, Binary, Cast, Const, CType, Expr, Scalar, ScalarRole, Var


def is_postfix(upd: tree_sitter.Node) -> bool:
    arg = upd.child_by_field_name("argument")
    return arg is not None and arg.start_byte == upd.start_byte


def conjuncts(cond: tree_sitter.Node) -> list[tree_sitter.Node]:
    out: list[tree_sitter.Node] = []
    stack = [cond]
    while stack:
        c = unwrap(stack.pop())
        if c is None:
            continue
        if c.type == "binary_expression" and op_of(c) == "&&":
            stack.append(field_of(c, "right"))
            stack.append(field_of(c, "left"))
        else:
            out.append(c)
    return out


def cmp_on(c: tree_sitter.Node, iv: str) -> tuple[str, str] | None:
    """`iv cmp bound` (flipped when the counter is on the right), or None."""
    if c.type != "binary_expression":
        return None
    op = op_of(c)
    if op not in ("<", "<=", ">", ">=", "!="):
        return None
    left, right = unwrap(c.child_by_field_name("left")), unwrap(c.child_by_field_name("right"))
    if left is not None and left.type == "identifier" and node_text(left) == iv and right is not None:
        return op, node_text(right)
    if right is not None and right.type == "identifier" and node_text(right) == iv and left is not None:
        return FLIP[op], node_text(left)
    if op == "!=" or left is None or right is None:
        return None
    # `i + 1 < n`: `i < n - 1` counted in long long, where `n - 1` of an unsigned n = 0 cannot wrap
    shift = _counter_plus(left, iv)
    if shift is not None:
        return op, f"(long long)({node_text(right)}) - {shift}"
    shift = _counter_plus(right, iv)
    if shift is not None:
        return FLIP[op], f"(long long)({node_text(left)}) - {shift}"
    return None


def _counter_plus(n: tree_sitter.Node, iv: str) -> int | None:
    """c for `iv + c`, `c + iv` and (-c) `iv - c`, c a small non-negative integer literal; else None."""
    if n.type != "binary_expression" or op_of(n) not in ("+", "-"):
        return None
    a, b = unwrap(n.child_by_field_name("left")), unwrap(n.child_by_field_name("right"))
    if a is None or b is None:
        return None
    if op_of(n) == "+" and b.type == "identifier" and node_text(b) == iv:
        a, b = b, a
    if a.type != "identifier" or node_text(a) != iv or b.type != "number_literal":
        return None
    digits = node_text(b).rstrip("uUlL")
    if not digits.isdigit() or int(digits) > 1 << 20:
        return None
    return int(digits) if op_of(n) == "+" else -int(digits)


def comma_parts(lb: LoopBuilder, n: tree_sitter.Node) -> list[tree_sitter.Node]:
    if n.type != "comma_expression":
        return [n]
    return comma_parts(lb, field_of(n, "left")) + comma_parts(lb, field_of(n, "right"))


def updated_name(u: tree_sitter.Node) -> str:
    u2 = unwrap(u)
    if u2 is None:
        return ""
    if u2.type == "update_expression":
        a = unwrap(u2.child_by_field_name("argument"))
        return node_text(a) if a is not None and a.type == "identifier" else ""
    if u2.type == "assignment_expression":
        a = unwrap(u2.child_by_field_name("left"))
        return node_text(a) if a is not None and a.type == "identifier" else ""
    return ""


def runtime_stride(lb: LoopBuilder, right: tree_sitter.Node | None, name: str) -> str | None:
    """`x += incx` of a pointer x by an integer variable the loop does not change: a walk of one element
    per step while incx == 1 (recorded in `lb.unit_strides` and `lb.walk_strides`); else None."""
    r = unwrap(right) if right is not None else None
    if r is None or not lb.is_pointer(name) or not lb.allow_strides:
        return None
    if r.type != "identifier":  # `x += *incx`, `ip1 += steps[0]`: an element the loop does not change
        element = accesses.invariant_element(lb, r)
        if element is None:
            return None
        lb.walk_strides[name] = element.name
        lb.step_kinds.setdefault(name, set()).add(element.name)
        return element.name
    stride = lb.text(r)
    d = lb.decl_of(stride)
    if d is None or d.pointer or d.extents or d.volatile or stride in lb.written_names or stride in lb.locals:
        return None
    t = ctype_of(d.type, lb.ctx)
    if t is None or t.is_float:
        return None
    if stride not in lb.scalars:  # a parameter of the kernel, as any invariant it reads
        lb.scalars[stride] = Scalar(stride, t, ScalarRole.INVARIANT, decl=d.text)
    # the unit is one element; for bytes read through a cast (`*(float *)p`) the cast's size, set by that read
    lb.walk_strides[name] = stride
    lb.step_kinds.setdefault(name, set()).add(stride)
    return stride


def step_of(lb: LoopBuilder, u: tree_sitter.Node, name: str) -> int:
    u = unwrap(u) or u
    if u.type == "update_expression":
        lb.step_kinds.setdefault(name, set()).add("")
        return 1 if op_of(u) == "++" else -1
    op = op_of(u)
    right = field_of(u, "right")
    if op in ("+=", "-="):
        v = lb.int_const(right)
        if v is None:
            stride = runtime_stride(lb, right, name)
            if stride is None:
                raise Unsupported("variable_step", f"{name} {op} {lb.text(right)}: the step is not a constant", u)
            return 1 if op == "+=" else -1
        lb.step_kinds.setdefault(name, set()).add("")
        return v if op == "+=" else -v
    if op == "=":
        r = unwrap(right)
        if r is not None and r.type == "binary_expression" and op_of(r) in ("+", "-"):
            left, rr = unwrap(r.child_by_field_name("left")), r.child_by_field_name("right")
            if left is not None and lb.text(left) == name and rr is not None:
                v = lb.int_const(rr)
                if v is not None:
                    return v if op_of(r) == "+" else -v
            if op_of(r) == "+" and rr is not None and lb.text(unwrap(rr)) == name and left is not None:
                v = lb.int_const(left)
                if v is not None:
                    return v
    raise Unsupported("variable_step", f"'{lb.text(u)}' is not a constant step", u)


def trip_count(lb: LoopBuilder, lower: str, upper: str, cmp: str, step: int, t: CType, cnode: tree_sitter.Node) -> str:
    L, U = f"({lower.strip()})", f"({upper.strip()})"
    if step == 0:
        raise Unsupported("not_counted", "the counter does not change", cnode)
    if step > 0 and cmp in (">", ">="):
        raise Unsupported("not_counted", "the counter grows but the condition waits for it to fall", cnode)
    if step < 0 and cmp in ("<", "<="):
        raise Unsupported("not_counted", "the counter falls but the condition waits for it to grow", cnode)
    if t.bits < 32:
        # a narrow counter wraps (or overflows) before reaching a bound outside its range
        lo_t, hi_t = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, (1 << t.bits) - 1)
        ub = lb.int_text(upper)
        if ub is None or not lo_t <= ub <= hi_t or (cmp == "<=" and ub == hi_t) or (cmp == ">=" and ub == lo_t):
            raise Unsupported("not_counted", f"the counter is {t.spelling or t.name} ({t.bits} bits): a bound "
                              "outside its range makes it wrap and the loop never end", cnode)
    if step < 0 and cmp == ">=" and not t.signed:
        uv = lb.int_text(upper)
        if uv == 0:
            raise Unsupported("unsigned_wrap", f"{lb.iv or 'the counter'} is unsigned, so '>= 0' is always "
                              "true: it wraps around at 0 and the loop never ends", cnode)
    s = abs(step)
    lv, uv2 = lb.int_text(lower), lb.int_text(upper)
    if cmp == "!=":
        if s != 1:
            if lv is not None and uv2 is not None and (uv2 - lv) % step == 0 and (uv2 - lv) // step >= 0:
                return str((uv2 - lv) // step)
            raise Unsupported("not_counted", f"stepping by {step} with '!=' may jump over the bound", cnode)
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


def stepped_subscript(then: list[tree_sitter.Node], index_of: Callable[[tree_sitter.Node], tree_sitter.Node | None]
                      ) -> tuple[tree_sitter.Node, str, int] | None:
    """The assignment of a pack/expand branch, its counter, and the counter's lead: `x[j++]` and
    `x[j] = ...; j++;` read or write at the counter (lead 0), `x[++j]` and `j++; x[j] = ...;` one past it
    (lead 1). `index_of` picks the subscript holding the counter out of an assignment expression."""
    assigns = [unwrap(st.named_children[0]) if st.type == "expression_statement" and st.named_children else None
               for st in then]
    if len(then) == 1 and assigns[0] is not None and assigns[0].type == "assignment_expression":
        idx = unwrap(index_of(assigns[0]))
        if idx is not None and idx.type == "update_expression" and op_of(idx) == "++":
            return assigns[0], updated_name(idx), 0 if is_postfix(idx) else 1
        return None
    if len(then) != 2 or assigns[0] is None or assigns[1] is None:
        return None
    for at, step, lead in ((0, 1, 0), (1, 0, 1)):
        a, u = assigns[at], assigns[step]
        assert a is not None and u is not None
        if a.type != "assignment_expression" or u.type != "update_expression" or op_of(u) != "++":
            continue
        idx = unwrap(index_of(a))
        if idx is not None and idx.type == "identifier" and updated_name(u) == node_text(idx):
            return a, node_text(idx), lead
    return None


def count_value(lb: LoopBuilder, name: str, t: CType) -> Expr:
    """What the body of a pointer walk reads of its count `name` (`outIndex = blockSize - blkCnt`): the
    value it had on entry, moved by the loop once per iteration so far. Computed in the count's own
    type (at least `int`): the value is the variable's, so it fits, and unsigned wraps alike."""
    wide = t if t.bits >= 32 else INT32
    per = lb.count_move[0]
    iterations: Expr = Cast(IV(WALK_IV, INT64), wide, implicit=True)
    if abs(per) != 1:
        iterations = Binary("*", Const(abs(per), wide), iterations, wide)
    entry: Expr = Var(name, t) if wide is t else Cast(Var(name, t), wide, implicit=True)
    value: Expr = Binary("-" if per < 0 else "+", entry, iterations, wide)
    if lb.count_read_offset:
        value = Binary("-" if lb.count_read_offset < 0 else "+", value, Const(abs(lb.count_read_offset), wide), wide)
    return value if wide is t else Cast(value, t, implicit=True)
