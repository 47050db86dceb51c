"""Statements and control flow of the loop body: blocks, declarations, expression statements,
assignments, if/else, `continue`, searches (`if (c) break;`), preprocessor branches, and short inner
loops analysed unrolled.
"""

from __future__ import annotations

import re

import tree_sitter

from simdlens.analysis import mathcalls
from simdlens.analysis.build import (
    accesses,
    bit_copies,
    complex_values,
    counters,
    expands,
    expressions,
    scalars,
    switches,
    uses,
)
from simdlens.analysis.build.builder import LoopBuilder
from simdlens.analysis.build.c_types import convert, ctype_of, promote, usual
from simdlens.analysis.build.declarations import Decl, decls_of, kinds_of
from simdlens.analysis.build.syntax import (
    CONTROL,
    IDENTIFIER,
    LOOP_TYPES,
    REDUCE_OPS,
    WRAPPER_KIND_IDS,
    Unsupported,
    braced_value,
    field_of,
    node_text,
    op_of,
    squash,
    stmts_of,
    unwrap,
)
from simdlens.analysis.context import live_branch
from simdlens.analysis.ir import (
    INT32,
    Access,
    Const,
    Exit,
    Expr,
    If,
    Let,
    Load,
    Reduce,
    Scalar,
    ScalarRole,
    Select,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
    walk_exprs,
)
from simdlens.analysis.ranges import other_row_of_walk, outside_walk
from simdlens.analysis.spans import node_span
from simdlens.core import Reason, Span


def block(lb: LoopBuilder, nodes: list[tree_sitter.Node], cond: bool) -> list[Stmt]:
    lb.scopes.append(set())
    try:
        return block_in_scope(lb, nodes, cond)
    finally:
        lb.scopes.pop()


def block_in_scope(lb: LoopBuilder, nodes: list[tree_sitter.Node], cond: bool) -> list[Stmt]:
    out: list[Stmt] = []
    paired: set[int] = set()  # statements read together with the one before them
    for i, n in enumerate(nodes):
        if lb.exclude is not None and n.id == lb.exclude.id:
            continue
        t = n.type
        if t == "continue_statement":
            break  # the rest of the block is dead
        if t == "if_statement" and is_continue_if(n):
            c = lb.safe(lambda n=n: expressions.expr(lb, field_of(n, "condition")))
            rest = block(lb, nodes[i + 1:], True)
            if c is not None:
                out.append(If(Unary("!", c, INT32), tuple(rest), (), node_span(n)))
            return out
        if t == "if_statement" and n.child_by_field_name("alternative") is None:
            skip = switches.goto_skip(lb, nodes, i)  # `if (c) goto L; A; L: B` is `if (!c) { A } B`
            if skip is None and switches.is_goto(n):  # jumps that do not nest: each statement under its path
                paths = switches.goto_paths(lb, nodes, i)
                if paths is not None:
                    return out + paths
            if skip is not None:
                out.extend(skip[0])
                target = nodes[skip[1]]
                inner = [c for c in target.named_children if c.type not in ("statement_identifier", "comment")]
                if skip[2] is not None:  # `if (c) goto L; A; continue; L: B`: B only where c holds
                    out.append(If(skip[2], tuple(block_in_scope(lb, inner + nodes[skip[1] + 1:], True)), (),
                                  node_span(target)))
                    return out
                out.extend(block_in_scope(lb, inner + nodes[skip[1] + 1:], cond))
                return out
        if i in paired:
            continue
        if t in ("expression_statement", "if_statement"):  # `j++; a[j] = x; if (c) { j++; a[j] = y; }`
            try:
                run = scalars.pack_run(lb, nodes, i, cond)
            except Unsupported as e:
                lb.reasons.append(e.reason)
                break
            if run is not None:
                out.extend(run[0])
                paired.update(range(i + 1, i + run[1]))
                continue
        if t == "expression_statement" and i + 1 < len(nodes):  # `m = fmaxf(m, v); if (m == v) k = i;`
            try:
                pair = scalars.fmax_argindex(lb, n, nodes[i + 1], cond)
            except Unsupported as e:
                lb.reasons.append(e.reason)
                paired.add(i + 1)
                continue
            if pair is not None:
                out.extend(pair)
                paired.add(i + 1)
                continue
        if t in ("break_statement", "return_statement") and not cond:
            lb.reasons.append(Reason("unconditional_exit", "leaves the loop unconditionally: it runs once",
                                     node_span(n)))
            break
        try:  # `lb.safe`, without a closure per statement
            got = statement(lb, n, cond)
        except Unsupported as e:
            lb.reasons.append(e.reason)
            continue
        if got:
            out.extend(got)
    return out


def is_continue_if(n: tree_sitter.Node) -> bool:
    if n.child_by_field_name("alternative") is not None:
        return False
    body = stmts_of(n.child_by_field_name("consequence"))
    return len(body) == 1 and body[0].type == "continue_statement"


def statement(lb: LoopBuilder, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
    """The IR of one statement, after what the comma expressions in it run first (`(t = x[i], t < 0 ? -t : t)`)."""
    outer, outer_cond = lb.before, lb.before_cond
    lb.before, lb.before_cond = [], cond
    try:
        got = _statement(lb, n, cond)
        return lb.before + got if lb.before else got
    finally:
        lb.before, lb.before_cond = outer, outer_cond


def _statement(lb: LoopBuilder, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
    t = n.type
    if t == "expression_statement":
        if n.named_child_count == 1:  # the usual case: the expression alone
            only = n.named_child(0)
            if only is not None and only.type != "comment":
                return expression_statement(lb, only, cond)
        kids = [c for c in n.named_children if c.type != "comment"]
        if not kids:
            return []
        return expression_statement(lb, kids[0], cond)
    if t == "compound_statement":
        return block(lb, stmts_of(n), cond)
    if t == "declaration":
        return declaration(lb, n)
    if t == "if_statement":
        return if_statement(lb, n, cond)
    if t in LOOP_TYPES:
        if lb.unroll is not None and n.id == lb.unroll.id:
            return unrolled(lb, n, cond)
        if lb.skip is not None and n.id == lb.skip.id and not cond:
            return []
        raise Unsupported("nested_loop", "contains another loop", n)
    if t in ("break_statement", "return_statement", "continue_statement"):
        raise Unsupported("unsupported_control", f"'{lb.text(n).strip()}' in an unsupported position", n)
    if t == "switch_statement":
        return switches.switch_statement(lb, n, cond)
    if t == "labeled_statement":
        switches.backward_jumps(lb, n)  # a jump back to it: say so
    if t in CONTROL:
        return []  # already reported
    if t == "comment" or t == ";":
        return []
    if t in ("preproc_if", "preproc_ifdef"):  # `#if 0` in the body: the branch that is compiled, if certain
        live = live_branch(lb.tree, lb.source, lb.site.language, n)
        if live is not None:
            return block(lb, live, cond)
        raise Unsupported("unsupported", f"'{lb.text(n).splitlines()[0].strip()[:40]}' inside the loop: which "
                          "branch is compiled depends on the build", n)
    raise Unsupported("unsupported", f"unsupported statement '{lb.text(n).strip()[:40]}'", n)


def unrolled(lb: LoopBuilder, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
    """The short inner loop `for (k = c0; k < c1; k++) body` as c1 - c0 copies of body, k constant."""
    init = n.child_by_field_name("initializer")
    c = unwrap(n.child_by_field_name("condition"))
    upd = n.child_by_field_name("update")
    if init is None or c is None or upd is None:
        raise Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
    if init.type == "declaration":
        ds = decls_of(init, kinds_of(lb.tree.language))
        vals = [d.child_by_field_name("value") for d in init.children_by_field_name("declarator")]
        if len(ds) != 1 or vals[0] is None:
            raise Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
        k, start = ds[0].name, lb.int_const(vals[0])
    elif init.type == "assignment_expression":
        left = unwrap(init.child_by_field_name("left"))
        k, start = (lb.text(left) if left is not None else ""), lb.int_const(field_of(init, "right"))
        if uses.used_after(lb, k):
            raise Unsupported("nested_loop", f"the inner counter {k} is used after the loop", n)
    else:
        raise Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
    got = counters.cmp_on(c, k) if k else None
    if start is None or got is None or got[0] not in ("<", "<=") or counters.step_of(lb, upd, k) != 1:
        raise Unsupported("nested_loop", "the inner loop is not a simple counted loop", n)
    end = lb.int_text(got[1])
    if end is None:
        raise Unsupported("nested_loop", "the inner loop's bound is not a constant", n)
    stop = end + (1 if got[0] == "<=" else 0)
    if stop - start > 16:
        raise Unsupported("nested_loop", "the inner loop is too long to unroll", n)
    out: list[Stmt] = []
    for v in range(start, stop):
        lb.macro_args.append({k: Const(v, INT32, str(v))})
        try:
            out.extend(block(lb, stmts_of(n.child_by_field_name("body")), cond))
        finally:
            lb.macro_args.pop()
    return out


def declaration(lb: LoopBuilder, n: tree_sitter.Node) -> list[Stmt]:
    out: list[Stmt] = []
    ds = decls_of(n, kinds_of(lb.tree.language))
    decls = n.children_by_field_name("declarator")
    for d, dn in zip(ds, decls, strict=False):
        if d.static:
            raise Unsupported("static_local", f"'static {d.name}' keeps its value across iterations", n)
        if d.extents:
            raise Unsupported("local_array", f"declares the array {d.name} inside the loop", n)
        if d.reference and not d.pointer and dn.type == "init_declarator" and bind_reference(lb, d, dn):
            if lb.scopes:
                lb.scopes[-1].add(d.name)
            continue
        if d.pointer or d.reference:
            raise Unsupported("local_pointer", f"declares the pointer/reference {d.name} inside the loop", n)
        if d.volatile or d.atomic:
            raise Unsupported("volatile", f"{d.name} is volatile/atomic", n)
        t = ctype_of(d.type, lb.ctx)
        if t is None and dn.type != "init_declarator" and bit_copies.union_local(lb, d.name, d.type):
            if lb.scopes:
                lb.scopes[-1].add(d.name)
            continue  # its value is indeterminate until a member is written
        struct_of = getattr(lb.ctx, "struct_of", None)
        if t is None and struct_of is not None and struct_of(d.type) is not None:
            raise Unsupported("array_of_structs", f"declares {d.name}, a structure ('{d.type}'), inside the loop: "
                              f"{accesses.AOS_NOT_REWRITTEN}", n)
        if t is None:
            raise Unsupported("unknown_type" if "long double" not in d.type else "long_double",
                              f"unknown type '{d.type}' of {d.name}", n)
        # the IR names a local by its name only: an inner `int t` hiding the body's `t` would merge them
        if any(d.name in outer for outer in lb.scopes[:-1]):
            raise Unsupported("shadowing", f"declares {d.name} again inside the loop body, hiding the outer "
                              f"{d.name}: rename one of them", n)
        if lb.scopes:
            lb.scopes[-1].add(d.name)
        lb.references.pop(d.name, None)  # a reference of the same name in a block before this one has ended
        lb.locals[d.name] = t
        lb.scalars[d.name] = Scalar(d.name, t, ScalarRole.LOCAL)
        value = dn.child_by_field_name("value") if dn.type == "init_declarator" else None
        if value is not None and value.type == "initializer_list":  # `float t{a[i] * b[i]};`, `int k{};`
            inner = braced_value(value)
            if inner is False:
                raise Unsupported("unsupported", f"brace initialiser of the scalar {d.name} with several values",
                                  value)
            if inner is True:
                out.append(Let(d.name, t, Const(0, t, "0"), node_span(dn)))
                continue
            value = inner
        if value is not None:
            aff = accesses.affine(lb, value) if not t.is_float else None
            if aff is not None:
                lb.local_aff[d.name] = aff
            else:
                lb.local_aff.pop(d.name, None)
            out.append(Let(d.name, t, convert(expressions.expr(lb, value), t), node_span(dn)))
        else:  # `int v;`: its value is indeterminate until assigned, so any value (0) is the C program's
            out.append(Let(d.name, t, Const(0, t, "0"), node_span(dn)))
    return out


def bind_reference(lb: LoopBuilder, d: Decl, dn: tree_sitter.Node) -> bool:
    """`float &y = out[i];` / `const vec3 &v = p[i].vel;` (C++): the name stands for that element or structure
    from here on, when its subscript reads nothing the body changes (a reference binds once). False when
    the initialiser is not an element of an array the loop reads by its counter."""
    value = unwrap(dn.child_by_field_name("value"))
    if value is None or value.type not in ("subscript_expression", "field_expression", "pointer_expression"):
        return False
    if any(name in lb.written_names or name in lb.walkers for name in IDENTIFIER.findall(lb.text(value))):
        return False  # `auto &r = a[j];` with j stepped later: the element it names is fixed when it binds
    t = ctype_of(d.type, lb.ctx)
    if t is None:
        struct_of = getattr(lb.ctx, "struct_of", None)
        if struct_of is None or struct_of(d.type) is None or value.type == "pointer_expression":
            return False
        lb.struct_refs[d.name] = value  # its members are read through structures.member_access
        return True
    acc = accesses.access(lb, value)
    if not acc.affine:
        return False
    if acc.elem.name != t.name:
        raise Unsupported("type_error", f"the reference {d.name} ('{d.type}') names an element of another type "
                          f"({acc.elem.c})", dn)
    lb.references[d.name] = acc
    return True


def expression_statement(lb: LoopBuilder, e: tree_sitter.Node, cond: bool) -> list[Stmt]:
    e = unwrap(e) or e
    t = e.type
    if t == "comma_expression":
        out: list[Stmt] = []
        for p in counters.comma_parts(lb, e):
            out.extend(expression_statement(lb, p, cond))
        return out
    if t == "assignment_expression":
        return assign(lb, e, cond)
    if t == "update_expression":
        name = counters.updated_name(e)
        arg = unwrap(e.child_by_field_name("argument"))
        if name and name in lb.references:
            acc = lb.references[name]
            val = expressions.arith("+" if op_of(e) == "++" else "-", Load(acc), Const(1, INT32, "1"), e)
            return [Store(acc, convert(val, acc.elem), node_span(e))]
        if name:
            if name == lb.iv:
                raise Unsupported("counter_modified", f"the body changes the counter {name}", e)
            if name in lb.walkers:
                lb.walked[name] = lb.walked.get(name, 0) + (1 if op_of(e) == "++" else -1)
                return []
            return scalars.scalar_update(lb, name, "+=" if op_of(e) == "++" else "-=", None, e, cond)
        if arg is not None:
            acc = accesses.access(lb, arg)
            one = Const(1, INT32, "1")
            val = expressions.arith("+" if op_of(e) == "++" else "-", Load(acc), one, e)
            return [Store(acc, convert(val, acc.elem), node_span(e))]
    if t == "call_expression":
        name = lb.text(e.child_by_field_name("function"))
        if mathcalls.lookup(name, cpp=lb.cpp) is not None:
            return []
        if squash(name) in bit_copies.MEMCPY:
            return bit_copies.bit_copy(lb, e)
        raise Unsupported("call", f"calls {name}", e)
    if t in ("identifier", "number_literal"):
        return []
    if t == "gnu_asm_expression":
        return []
    expressions.expr(lb, e)  # typed for its reasons, value unused
    return []


def assign(lb: LoopBuilder, e: tree_sitter.Node, cond: bool) -> list[Stmt]:
    left = unwrap(field_of(e, "left"))
    op = op_of(e)
    right = field_of(e, "right")
    if left is None:
        raise Unsupported("unsupported", "unsupported assignment", e)
    inner = unwrap(right) if right.kind_id in WRAPPER_KIND_IDS else right
    if inner is not None and inner.type == "assignment_expression":
        first = assign(lb, inner, cond)
        right = field_of(inner, "left")
        return first + assign_value(lb, left, op, right, e, cond)
    return assign_value(lb, left, op, right, e, cond)


def assign_value(lb: LoopBuilder, left: tree_sitter.Node, op: str, right: tree_sitter.Node, e: tree_sitter.Node,
                 cond: bool) -> list[Stmt]:
    if left.type == "identifier" and lb.text(left) in lb.references:
        acc = lb.references[lb.text(left)]
        value = expressions.expr(lb, right)
        if op != "=":
            value = expressions.arith(op[:-1], Load(acc), value, e)
        return [Store(acc, convert(value, acc.elem), node_span(e))]
    if left.type == "identifier":
        name = lb.text(left)
        if name == lb.iv or (lb.pointer_walk and name == lb.count_var):
            raise Unsupported("counter_modified", f"the body changes the counter {name}", e)
        if name in lb.walkers:  # `p += 4;`: later accesses through p are 4 elements further on
            lb.walked[name] = lb.walked.get(name, 0) + counters.step_of(lb, e, name)
            return []
        if name in lb.locals:
            t = lb.locals[name]
            value = expressions.expr(lb, right)
            if op != "=":
                value = expressions.arith(op[:-1], Var(name, t), value, e)
            aff = accesses.affine(lb, right) if op == "=" and not t.is_float else None
            if aff is not None:
                lb.local_aff[name] = aff
            else:
                lb.local_aff.pop(name, None)
            return [Let(name, t, convert(value, t), node_span(e))]
        return scalars.scalar_update(lb, name, op, right, e, cond)
    union = bit_copies.union_member_of(lb, left)
    if union is not None:
        if op != "=":
            raise Unsupported("bit_cast", f"updates the union member {lb.text(left)} with {op}", e)
        return bit_copies.union_write(lb, union[0], union[1], expressions.expr(lb, right), cond, e)
    acc = accesses.access(lb, left)
    if acc.elem.is_complex:
        return complex_values.complex_store(lb, acc, op, right, e)
    if acc.coeff == 0:  # the same element on every iteration: `c[i] += x` or `c[i] = c[i] + x` reduces into it
        red_op, operand = (op[:-1], right) if op != "=" else _self_update(left, right)
        if red_op in REDUCE_OPS and operand is not None and (not reads_root(operand, acc.root)
                                                              or _reads_only_other_elements(lb, acc, operand)):
            walked = dict(lb.walked)
            red = memory_reduction(lb, acc, red_op, operand, e)
            if red is not None:
                return [red]
            lb.walked = walked  # not a reduction after all: the value is read again below
    value = expressions.expr(lb, right)
    if op != "=":
        value = expressions.arith(op[:-1], Load(acc), value, e)
    return [Store(acc, convert(value, acc.elem), node_span(e))]


def _self_update(left: tree_sitter.Node, right: tree_sitter.Node) -> tuple[str, tree_sitter.Node | None]:
    """`x[i] = x[i] op v` (or `v op x[i]` for a commutative op): (op, v); else ("", None)."""
    r = unwrap(right)
    if r is None or r.type != "binary_expression" or op_of(r) not in REDUCE_OPS:
        return "", None
    a, b = r.child_by_field_name("left"), r.child_by_field_name("right")
    target = squash(node_text(left))
    if a is not None and unwrap(a) is not None and squash(node_text(unwrap(a))) == target:
        return op_of(r), b
    if b is not None and unwrap(b) is not None and squash(node_text(unwrap(b))) == target and op_of(r) in ("+", "*", "&", "|", "^"):
        return op_of(r), a
    return "", None


def memory_reduction(lb: LoopBuilder, acc: Access, op: str, right: tree_sitter.Node, e: tree_sitter.Node) -> Reduce | None:
    rhs = expressions.expr(lb, right)
    comp = usual(acc.elem, expr_type(rhs)) if op not in ("<<", ">>") else promote(acc.elem)
    if acc.elem.is_float and comp.name != acc.elem.name:
        return None
    if not acc.elem.is_float and comp.is_float:
        return None
    text = f"{acc.base}[{acc.symbolic or acc.offset}]" if acc.symbolic or acc.offset else f"{acc.base}[0]"
    return Reduce(squash(text), REDUCE_OPS[op], convert(rhs, acc.elem), acc.elem, "", node_span(e), access=acc)


def _reads_only_other_elements(lb: LoopBuilder, acc: Access, operand: tree_sitter.Node) -> bool:
    """`x[i] -= L[i][j] * x[j]` for `j < i`: every read of x in the operand walks elements the loop's
    bounds keep away from x[i], so the update is still a reduction into x[i]."""
    if lb.bounds is None:
        return False
    walked = dict(lb.walked)
    try:
        value = expressions.expr(lb, operand)
    except Unsupported:
        return False
    finally:
        lb.walked = walked  # read again by memory_reduction
    reads = [x.access for x in walk_exprs(value) if isinstance(x, Load) and x.access.root == acc.root]
    return bool(reads) and all(outside_walk(acc, r, *lb.bounds, lb.enclosing) or _other_row(acc, r)
                               or other_row_of_walk(acc, r, *lb.bounds, lb.enclosing) for r in reads)


def _other_row(acc: Access, read: Access) -> bool:
    """`A[j][k]` read beside the sum into `A[i][j]` (cholesky, lu): another row of the array, which the
    legality pass checks at run time against the element summed into (the two may be one row)."""
    row = acc.root + "["
    return read.base != acc.base and acc.base.startswith(row) and read.base.startswith(row) \
        and read.index is None and acc.index is None


def reads_root(node: tree_sitter.Node, root: str) -> bool:
    txt = node_text(node)
    head = re.split(r"[\[.\-]", root)[0]
    return re.search(r"(?<![\w.>])" + re.escape(head) + r"\b", txt) is not None


def has_continue(body: tree_sitter.Node | None) -> bool:
    stack = [body] if body is not None else []
    while stack:
        n = stack.pop()
        if n.type == "continue_statement":
            return True
        if n.type in LOOP_TYPES or n.type == "lambda_expression":
            continue
        stack.extend(n.named_children)
    return False


def _returned(lb: LoopBuilder, n: tree_sitter.Node) -> tuple[Expr, bool]:
    """What `return n;` inside the loop returns: a value, or (True) the address of the element the Load
    reads (`&a[i]`, `a + i`, a walking `p`: a search that hands back where it stopped)."""
    e = unwrap(n) or n
    if e.type == "pointer_expression" and op_of(e) == "&":
        target = unwrap(field_of(e, "argument"))
        if target is not None and target.type in ("subscript_expression", "pointer_expression"):
            return Load(accesses.access(lb, target)), True
    sides = [unwrap(e.child_by_field_name(f)) for f in ("left", "right")] if e.type == "binary_expression" else []
    if accesses.pointerish(lb, e) or (op_of(e) in ("+", "-") and any(
            x is not None and accesses.pointerish(lb, x) for x in sides)):
        return Load(accesses.deref(lb, e, e, node_span(e))), True
    return expressions.expr(lb, n), False


def if_statement(lb: LoopBuilder, n: tree_sitter.Node, cond: bool) -> list[Stmt]:
    cnode = field_of(n, "condition")
    then = stmts_of(n.child_by_field_name("consequence"))
    alt = n.child_by_field_name("alternative")
    else_nodes: list[tree_sitter.Node] = []
    if alt is not None:
        else_nodes = [c for c in alt.named_children if c.type != "comment"]
        if len(else_nodes) == 1 and else_nodes[0].type == "compound_statement":
            else_nodes = stmts_of(else_nodes[0])
    span = node_span(n)
    if lb.skip is not None and not else_nodes and [x.id for x in then] == [lb.skip.id] and not cond:
        # `if (c) for (...)`: the guard of a nest's inner loop, left out (outer_vector.py masks the loop with it)
        return [If(expressions.expr(lb, cnode), (), (), span)]
    # search: if (c) break; / if (c) return e; / if (c) { x = e; break; }
    if then and then[-1].type in ("break_statement", "return_statement"):
        c = expressions.expr(lb, cnode)
        last = then[-1]
        value: Expr | None = None
        var = ""
        address = False
        if last.type == "return_statement":
            rv = [k for k in last.named_children if k.type != "comment"]
            if rv:
                value, address = _returned(lb, rv[0])
        if len(then) == 2 and then[0].type == "expression_statement" and last.type == "break_statement":
            a = unwrap(then[0].named_children[0]) if then[0].named_children else None
            if a is not None and a.type == "assignment_expression" and op_of(a) == "=":
                lft = unwrap(a.child_by_field_name("left"))
                if lft is not None and lft.type == "identifier" and lb.text(lft) not in lb.locals:
                    var = lb.text(lft)
                    t = scalars.outer_scalar(lb, var, a)
                    value = convert(expressions.expr(lb, field_of(a, "right")), t)
                    lb.scalars[var] = Scalar(var, t, ScalarRole.LOCAL, decl=(lb.decl_of(var) or Decl(var, "")).text)
                    lb.written_outer.add(var)
                else:
                    raise Unsupported("unsupported_control", "unsupported statement before break", then[0])
        elif len(then) != 1:
            raise Unsupported("unsupported_control", "statements before a break/return", n)
        out: list[Stmt] = [Exit(c, "break" if last.type == "break_statement" else "return", value, span, var, address)]
        out.extend(block(lb, else_nodes, True))
        return out
    if then and else_nodes:
        # `if (c) { j++; a[j] = x; } else { j++; a[j] = y; }`: a statement both branches begin with runs
        # on every pass, after the condition; one both end with runs after the branch
        head, tail = _shared_scalar_update(then[0], else_nodes[0], cnode), _shared_tail(then[-1], else_nodes[-1])
        if head is not None and (len(then) > 1 or len(else_nodes) > 1):
            _forget_uses(lb, else_nodes[0])
            return [*block(lb, [head], cond), *_branches(lb, n, cnode, then[1:], else_nodes[1:], span, cond)]
        if tail is not None and (len(then) > 1 or len(else_nodes) > 1) and not any(
                x.type == "declaration" for x in (*then, *else_nodes)):  # `v = t;` may name each branch's own t
            _forget_uses(lb, else_nodes[-1])
            return [*_branches(lb, n, cnode, then[:-1], else_nodes[:-1], span, cond), *block(lb, [tail], cond)]
    return _branches(lb, n, cnode, then, else_nodes, span, cond)


def _shared_scalar_update(a: tree_sitter.Node, b: tree_sitter.Node, cnode: tree_sitter.Node) -> tree_sitter.Node | None:
    """`a` when `a` and `b` are the same update of a plain variable (`j++;`, `k += 2;`) that the condition
    does not read (then running it before the branches leaves the condition's value as it was)."""
    if a.type != "expression_statement" or squash(node_text(a)) != squash(node_text(b)) or not a.named_children:
        return None
    e = unwrap(a.named_children[0])
    if e is None or e.type not in ("update_expression", "assignment_expression"):
        return None
    target = unwrap(e.child_by_field_name("argument") if e.type == "update_expression" else e.child_by_field_name("left"))
    if target is None or target.type != "identifier":
        return None
    if re.search(r"\b" + re.escape(node_text(target)) + r"\b", node_text(cnode)) or "(" in node_text(e):
        return None  # the condition reads it, or the update calls something
    if re.search(r"\+\+|--|(?<![=!<>])=(?!=)", node_text(cnode)):
        return None  # the condition has side effects (`*p++ > 0`): the IR evaluates it after the update
    return a


def _forget_uses(lb: LoopBuilder, twin: tree_sitter.Node) -> None:
    """The else branch's copy of a merged statement is never built: its reads and writes are not uses."""
    for name, found in lb.uses.items():
        lb.uses[name] = [u for u in found if not twin.start_byte <= u.pos < twin.end_byte]


def _shared_tail(a: tree_sitter.Node, b: tree_sitter.Node) -> tree_sitter.Node | None:
    """`a` when both branches end with the same expression statement (it runs after either branch)."""
    if a.type != "expression_statement" or squash(node_text(a)) != squash(node_text(b)):
        return None
    return a


def _branches(lb: LoopBuilder, n: tree_sitter.Node, cnode: tree_sitter.Node, then: list[tree_sitter.Node],
              else_nodes: list[tree_sitter.Node], span: Span, cond: bool) -> list[Stmt]:
    """The IR of `if (cnode) then else else_nodes`: a min/max, a pack, a select, or an if-converted branch."""
    mm = scalars.if_minmax(lb, cnode, then, else_nodes, span, cond) or scalars.if_argindex(lb, cnode, then, else_nodes,
                                                                                           span, cond)
    if mm is not None:
        return mm
    pk = scalars.if_pack(lb, cnode, then, else_nodes, span, cond) or expands.if_expand(lb, cnode, then, else_nodes,
                                                                                       span, cond)
    if pk is not None:
        return pk
    sel = scalars.if_select(lb, cnode, then, else_nodes, span, cond)
    if sel is not None:
        return sel
    c = expressions.expr(lb, cnode)
    before = dict(lb.walked)
    then_s = block(lb, then, True)
    after_then, lb.walked = lb.walked, before  # each branch starts where the pointers stood before it
    else_s = block(lb, else_nodes, True)
    if lb.walked != after_then:  # walk_setup let them through only when both branches advance them alike
        raise Unsupported("pointer_walk", "the branches advance the walking pointers differently", n)
    merged = _one_store_of_either(c, then_s, else_s, span)
    return [merged] if merged is not None else [If(c, tuple(then_s), tuple(else_s), span)]


def _one_store_of_either(c: Expr, then_s: list[Stmt], else_s: list[Stmt], span: Span) -> Store | None:
    """`if (c) *o++ = 1; else *o++ = 0;`: each branch stores to the same element, so the element is
    stored on every iteration with the value of the branch taken (no masked store needed)."""
    if len(then_s) != 1 or len(else_s) != 1 or not isinstance(then_s[0], Store) or not isinstance(else_s[0], Store):
        return None
    a, b = then_s[0].access, else_s[0].access
    # (an index both spell as the same scalar, `a[j]` after a `j++` both branches began with, is one element)
    if a.index != b.index or not (a.index is None or isinstance(a.index, Var)) or (
            a.root, a.base, a.coeff, a.offset, a.symbolic, a.elem) != (b.root, b.base, b.coeff, b.offset, b.symbolic, b.elem):
        return None
    return Store(a, Select(c, then_s[0].value, else_s[0].value, a.elem), span)


def assign_parts(s: tree_sitter.Node) -> tuple[str, tree_sitter.Node] | None:
    if s.type != "expression_statement" or not s.named_children:
        return None
    a = unwrap(s.named_children[0])
    if a is None or a.type != "assignment_expression" or op_of(a) != "=":
        return None
    left = unwrap(a.child_by_field_name("left"))
    right = a.child_by_field_name("right")
    if left is None or left.type != "identifier" or right is None:
        return None
    return node_text(left), right
