"""Pointer-walking loops (`while (n--) *d++ = *s++;`, `for (T *p = a; p < a + n; p++)`, `p < end`):
which pointers advance how far per iteration, the trip count, and a hand-unrolled body rolled back
into the one iteration it repeats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import tree_sitter

from simdlens.analysis.build import counters, expressions
from simdlens.analysis.build.builder import WALK_IV, LoopBuilder
from simdlens.analysis.build.declarations import Decl
from simdlens.analysis.build.syntax import IDENTIFIER, Unsupported, op_of, squash, unwrap
from simdlens.analysis.ir import (
    INT64,
    Access,
    Binary,
    Call,
    Cast,
    CType,
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
    expr_type,
    walk_exprs,
    walk_stmts,
)


def walk_trip(lb: LoopBuilder, count: tree_sitter.Node, cond: tree_sitter.Node, step: int) -> str:
    """The trip count of a pointer walk over `count` elements, `step` per iteration, as C text."""
    got = lb.safe(lambda: expressions.expr(lb, count))  # typed, so the names it uses become kernel parameters
    if got is not None and expr_type(got).is_float:
        raise Unsupported("type_error", "a floating-point pointer offset", count)
    return _trip_text(f"({squash(lb.text(count))})", op_of(cond), step)


def _trip_text(n: str, op: str, step: int) -> str:
    """Iterations of a walk over `n` elements, `step` per iteration (`!=` lands on the end exactly)."""
    rounded = n if step == 1 or op == "!=" else f"({n} + {step - 1})"
    return f"({n} > 0 ? {rounded} / {step} : 0)" if step > 1 else f"({n} > 0 ? {n} : 0)"


def _end_parameter(lb: LoopBuilder, p: str, end: str, ed: Decl, op: str, step: int,
                   cond: tree_sitter.Node) -> dict[str, Any]:
    """`f(const char *p, const char *end) { while (p < end) ... }`: a walk of `end - p` elements from where
    p starts. That difference is a count the kernel is given (the harness's size: it declares `end` as p
    plus it) and the user's file reads once before the loop, as the written loop does at its first test."""
    if step > 1 and op == "!=":
        raise Unsupported("not_counted", f"{p} moves by {step} until it equals {end}: it may step over it", cond)
    count = f"{end} - {p}"
    lb.scalars[count] = Scalar(count, INT64, ScalarRole.INVARIANT)
    trip = _trip_text(f"({count})", op, step)
    lb.iv, lb.iv_type = WALK_IV, INT64
    lb.pointer_walk = True
    lb.walks_to_end = p
    const = "const " if ed.const else ""
    lb.setup.append(f"{const}{ed.type} {'*' * ed.pointer}{end} = {p} + ({count});")
    return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}


def end_pointer_header(lb: LoopBuilder, node: tree_sitter.Node, cond: tree_sitter.Node,
                       body: tree_sitter.Node | None, stepped: dict[str, int] | None = None) -> dict[str, Any] | None:
    """`const T *end = p + n; while (p < end) { ... *p++ ... }` (or `p != end`, or `end` a parameter:
    `_end_parameter`): a pointer walk of ceil(n / step) iterations. `stepped`: what a `for` header
    steps (`for (; p < end; p++, q++)`). None when the condition is not a pointer compared with an end."""
    if cond.type != "binary_expression" or op_of(cond) not in ("<", "!=", ">"):
        return None
    left, right = unwrap(cond.child_by_field_name("left")), unwrap(cond.child_by_field_name("right"))
    if left is None or right is None or left.type != "identifier" or right.type != "identifier":
        return None
    p, end = (lb.text(left), lb.text(right)) if op_of(cond) != ">" else (lb.text(right), lb.text(left))
    pd, ed = lb.decl_of(p), lb.decl_of(end)
    if pd is None or ed is None or not pd.pointer or not ed.pointer or pd.extents or ed.extents:
        return None
    span = None if ed.is_param or ed.is_global else end_value(lb, ed, p)
    if span is None and (ed.is_param or ed.is_global):
        _walks_of(lb, body, stepped)
        _end_stays(lb, p, end, body, cond)
        return _end_parameter(lb, p, end, ed, op_of(cond), lb.walkers.get(p, 0), cond)
    if span is None:
        raise Unsupported("not_counted", f"the loop runs until {p} reaches {end}, and {end} is not declared "
                          f"as `{end} = {p} + count` in this function", cond)
    value, count = span
    between = lb.source[value.end_byte:node.start_byte].decode("utf-8", "replace")
    for name in {p, end, *IDENTIFIER.findall(lb.text(count))}:
        if re.search(r"(?:\+\+|--)\s*" + re.escape(name) + r"\b|(?<![\w.>])" + re.escape(name)
                     + r"\s*(?:\+\+|--|[-+*/%&|^]?=(?!=))", between):
            raise Unsupported("not_counted", f"{name} changes between the declaration of {end} and the loop",
                              cond)
    _walks_of(lb, body, stepped)
    step = _end_stays(lb, p, end, body, cond)
    trip = walk_trip(lb, count, cond, step)
    lb.iv, lb.iv_type = WALK_IV, INT64
    lb.pointer_walk = True
    const = "const " if ed.const else ""
    lb.setup.append(f"{const}{ed.type} {'*' * ed.pointer}{end} = {p} + ({squash(lb.text(count))});")
    return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}


def pointer_for_header(lb: LoopBuilder, node: tree_sitter.Node, d: Decl, value: tree_sitter.Node) -> dict[str, Any]:
    """`for (const T *p = a; p < a + n; p++)` / `p < end` / `p != end` (end = a + n declared before):
    p walks the array a, ceil(n / step) iterations."""
    p = d.name
    base_node = unwrap(value)
    cond = unwrap(node.child_by_field_name("condition"))
    bd = lb.decl_of(lb.text(base_node)) if base_node is not None and base_node.type == "identifier" else None
    refuse = Unsupported("unsupported_loop", f"the loop header declares the pointer {p}: only `{p} = a; "
                         f"{p} < a + n` (or an end pointer declared as a + n) is understood", node)
    if bd is None or base_node is None or cond is None or cond.type != "binary_expression" \
            or op_of(cond) not in ("<", "!=", ">") or not bd.pointer or bd.extents:
        raise refuse
    base = lb.text(base_node)
    left, right = unwrap(cond.child_by_field_name("left")), unwrap(cond.child_by_field_name("right"))
    mine, bound = (left, right) if op_of(cond) != ">" else (right, left)
    if mine is None or bound is None or mine.type != "identifier" or lb.text(mine) != p:
        raise refuse
    count: tree_sitter.Node | None = None
    end_decl = ""
    if bound.type == "binary_expression" and op_of(bound) == "+":
        a, b = unwrap(bound.child_by_field_name("left")), unwrap(bound.child_by_field_name("right"))
        if a is not None and a.type == "identifier" and lb.text(a) == base:
            count = b
        elif b is not None and b.type == "identifier" and lb.text(b) == base:
            count = a
    elif bound.type == "identifier":
        ed = lb.decl_of(lb.text(bound))
        got = end_value(lb, ed, base) if ed is not None and ed.pointer and not ed.is_param else None
        if got is not None and ed is not None:
            count = got[1]
            between = lb.source[got[0].end_byte:node.start_byte].decode("utf-8", "replace")
            for name in {base, lb.text(bound), *IDENTIFIER.findall(lb.text(count))}:
                if re.search(r"(?:\+\+|--)\s*" + re.escape(name) + r"\b|(?<![\w.>])" + re.escape(name)
                             + r"\s*(?:\+\+|--|[-+*/%&|^]?=(?!=))", between):
                    raise Unsupported("not_counted", f"{name} changes between the declaration of "
                                      f"{lb.text(bound)} and the loop", cond)
            const = "const " if ed.const else ""
            end_decl = f"{const}{ed.type} {'*' * ed.pointer}{lb.text(bound)} = {base} + ({squash(lb.text(count))});"
    if count is None:
        raise refuse
    walkers: dict[str, int] = {}
    for u in node.children_by_field_name("update"):
        for part in counters.comma_parts(lb, u) if u.type == "comma_expression" else [u]:
            name = counters.updated_name(part)
            if not name or not (name == p or lb.is_pointer(name)):
                raise Unsupported("unsupported_loop", f"the loop header updates '{lb.text(part)}'", part)
            walkers[name] = walkers.get(name, 0) + counters.step_of(lb, part, name)
    lb.walk_alias[p] = base
    walk_setup(lb, lb.body_node)
    for name, w in walkers.items():
        lb.walkers[name] = lb.walkers.get(name, 0) + w
    step = lb.walkers.get(p, 0)
    if step <= 0:
        raise Unsupported("not_counted", f"{p} does not move forward once per iteration", node)
    trip = walk_trip(lb, count, cond, step)
    lb.iv, lb.iv_type = WALK_IV, INT64
    lb.pointer_walk = True
    if end_decl:
        lb.setup.append(end_decl)
    return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}


def _walks_of(lb: LoopBuilder, body: tree_sitter.Node | None, stepped: dict[str, int] | None) -> None:
    """The pointers the body steps, and those the loop header steps."""
    walk_setup(lb, body)
    for name, by in (stepped or {}).items():
        lb.walkers[name] = lb.walkers.get(name, 0) + by


def _end_stays(lb: LoopBuilder, p: str, end: str, body: tree_sitter.Node | None, cond: tree_sitter.Node) -> int:
    """How far p moves per iteration of `while (p < end)`, refusing a p that does not move forward once
    per iteration or a body that moves `end`."""
    step = lb.walkers.get(p, 0)
    if step <= 0:
        raise Unsupported("not_counted", f"the loop runs until {p} reaches {end}, and {p} does not move "
                          "forward once per iteration", cond)
    if end in lb.walkers or (body is not None and re.search(
            r"(?<![\w.>])" + re.escape(end) + r"\s*(?:\+\+|--|[-+]?=(?!=))|(?:\+\+|--)\s*" + re.escape(end) + r"\b",
            lb.text(body))):
        raise Unsupported("not_counted", f"the body changes the end pointer {end}", cond)
    return step


def end_value(lb: LoopBuilder, d: Decl, p: str) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    """For `T *end = p + count;`: (the initialiser, count)."""
    node = lb.tree.root_node.descendant_for_byte_range(d.start, d.start)
    while node is not None and node.type != "declaration":
        node = node.parent
    if node is None:
        return None
    for dn in node.children_by_field_name("declarator"):
        value = dn.child_by_field_name("value") if dn.type == "init_declarator" else None
        inner = dn.child_by_field_name("declarator")
        while inner is not None and inner.type != "identifier":
            inner = inner.child_by_field_name("declarator")
        if value is None or inner is None or lb.text(inner) != d.name:
            continue
        v = unwrap(value)
        if v is None or v.type != "binary_expression" or op_of(v) != "+":
            return None
        a, b = unwrap(v.child_by_field_name("left")), unwrap(v.child_by_field_name("right"))
        if a is not None and b is not None and a.type == "identifier" and lb.text(a) == p:
            return value, b
        if a is not None and b is not None and b.type == "identifier" and lb.text(b) == p:
            return value, a
    return None


def walk_counted_by(lb: LoopBuilder, name: str, t: CType, step: int, trip: str, node: tree_sitter.Node,
                    skip: tree_sitter.Node | None) -> dict[str, Any]:
    """Pointers walk in a loop whose counter `name` does not count iterations from 0 by 1: count them
    with the synthetic counter instead, and `name` becomes a count the loop moves by `step` (the body
    reads it through `counters.count_value`; `skip`, the statement stepping it, is left out of the body)."""
    decl = lb.decl_of(name)
    lb.iv, lb.iv_type = WALK_IV, INT64
    lb.pointer_walk = True
    lb.count_var = name
    lb.count_move = (step, 0)
    lb.scalars[name] = Scalar(name, t, ScalarRole.INVARIANT, decl=decl.text if decl else "")
    return {"lower": "0", "upper": trip, "cmp": "<", "step": 1, "trip": trip, "declared": True, "exits": []}


def walk_setup(lb: LoopBuilder, body: tree_sitter.Node | None) -> None:
    """Find pointers incremented once per iteration, unconditionally: `*d++`, `p++;`, `p += 2;`."""
    if body is None:
        return
    # the tree walk only when a pointer is among the names the body steps or assigns (a regex is cheap)
    stepped = {a or b for a, b in _STEPPED_NAMES.findall(lb.source, body.start_byte, body.end_byte)}
    if not any(lb.is_pointer(name.decode("utf-8", "replace")) for name in stepped):
        return
    for name, step in _steps(lb, body).items():
        lb.walkers[name] = lb.walkers.get(name, 0) + step


def _steps(lb: LoopBuilder, root: tree_sitter.Node) -> dict[str, int]:
    """Pointer -> elements it advances on every pass through `root`; raises for one that advances only
    under a condition. An if/else whose branches advance a pointer alike (`if (c) *o++ = 1; else *o++ = 0;`)
    advances it on every pass."""
    steps: dict[str, int] = {}
    stack: list[tuple[tree_sitter.Node, bool]] = [(root, False)]
    while stack:
        n, cond = stack.pop()
        t = n.type
        if t in ("update_expression", "assignment_expression"):
            name = counters.updated_name(n)
            if name and lb.is_pointer(name):
                try:
                    step: int | None = counters.step_of(lb, n, name)
                except Unsupported:
                    if t != "assignment_expression" or op_of(n) != "=":
                        raise
                    step = None  # `p = q`: not a walk (the statement itself says why it is refused)
                if step is not None and cond:
                    raise Unsupported("pointer_walk", f"{name} advances only under a condition", n)
                if step is not None:
                    steps[name] = steps.get(name, 0) + step
        then, alt = n.child_by_field_name("consequence"), n.child_by_field_name("alternative")
        if t == "if_statement" and not cond and then is not None and alt is not None:
            a, b = _steps(lb, then), _steps(lb, alt)
            for name in sorted(a.keys() | b.keys()):
                if a.get(name) != b.get(name):
                    raise Unsupported("pointer_walk", f"{name} advances only under a condition", n)
                steps[name] = steps.get(name, 0) + a[name]
            stack.extend((c, False) for c in n.named_children if c.id not in (then.id, alt.id))
            continue
        c_cond = cond or t in ("if_statement", "conditional_expression") or (
            t == "binary_expression" and op_of(n) in ("&&", "||"))
        for c in n.named_children:
            stack.append((c, c_cond and not (t == "if_statement" and c.type == "condition_clause")
                          and not (t == "if_statement" and c.type == "parenthesized_expression")))
    return steps


# (the lookbehind only skips tries inside a name, which fail: without it each name costs its length squared; it
# follows the name's first letter, so that the search skips to letters instead of trying it at every byte)
_STEPPED_NAMES = re.compile(rb"([A-Za-z_](?<![A-Za-z_][A-Za-z_])\w*)\s*(?:\+\+|--|[-+*/%&|^<>]*=(?!=))"
                            rb"|(?:\+\+|--)\s*([A-Za-z_]\w*)")


def stmt_exprs(s: Stmt) -> list[Expr]:
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
    first = [moved_stmt(x, _walker_mover(0, walkers, False), keep_spans=False) for x in stmts[:m]]
    if any(x is None for x in first):
        return None
    for j in range(1, u):
        back = _walker_mover(j, walkers, False)
        if [moved_stmt(x, back, keep_spans=False) for x in stmts[j * m:(j + 1) * m]] != first:
            return None
    rolled: list[Stmt] = []
    for x in stmts[:m]:
        got = moved_stmt(x, _walker_mover(0, walkers, True), keep_spans=True)
        assert got is not None
        rolled.append(got)
    return rolled, u


def _walker_mover(back: int, walkers: dict[str, int], rolled: bool) -> Callable[[Access], Access | None]:
    """Accesses through walkers moved `back` elements back (and, `rolled`, advancing one element per
    iteration; otherwise their spans dropped); every other access as it is."""
    def move(a: Access) -> Access | None:
        step = walkers.get(a.root, 0)
        if step and a.index is None and a.coeff is not None and a.coeff > 0 and a.coeff % step == 0:
            parts = a.coeff // step  # 1, or 2 for a part of a complex element (its real parts at 2*i, 2*i + 1)
            return replace(a, offset=a.offset - parts * back, coeff=parts if rolled else a.coeff,
                           span=a.span if rolled else None)
        index = moved_expr(a.index, move) if a.index is not None else None
        if a.index is not None and index is None:
            return None
        return replace(a, span=a.span if rolled else None, index=index)
    return move


def moved_stmt(s: Stmt, move: Callable[[Access], Access | None], *, keep_spans: bool) -> Stmt | None:
    """`s` with every access replaced by what `move` makes of it (spans dropped unless `keep_spans`); None
    for statements a copy of an unrolled body cannot be, or an access `move` refuses. The pointer-walk and
    the counted re-rollers (`reroll.reroll_counted`) differ only in their movers."""
    def ex(e: Expr) -> Expr | None:
        return moved_expr(e, move)

    span = s.span if keep_spans else None
    if isinstance(s, Store):
        acc, value = move(s.access), ex(s.value)
        return None if acc is None or value is None else Store(acc, value, span)
    if isinstance(s, Let):
        value = ex(s.value)
        return None if value is None else Let(s.name, s.type, value, span)
    if isinstance(s, Reduce) and s.access is None:
        value = ex(s.value)
        return None if value is None else Reduce(s.var, s.op, value, s.type, s.cmp, span)
    if isinstance(s, If):
        cond = ex(s.cond)
        then = [moved_stmt(x, move, keep_spans=keep_spans) for x in s.then]
        other = [moved_stmt(x, move, keep_spans=keep_spans) for x in s.else_]
        if cond is None or any(x is None for x in then) or any(x is None for x in other):
            return None
        return If(cond, tuple(x for x in then if x is not None), tuple(x for x in other if x is not None), span)
    return None


def moved_expr(e: Expr, move: Callable[[Access], Access | None]) -> Expr | None:
    """`e` with every access replaced by what `move` makes of it; None when `move` refuses one."""
    if isinstance(e, Load):
        acc = move(e.access)
        return None if acc is None else Load(acc)
    if isinstance(e, Binary):
        lhs, rhs = moved_expr(e.lhs, move), moved_expr(e.rhs, move)
        return None if lhs is None or rhs is None else Binary(e.op, lhs, rhs, e.type)
    if isinstance(e, Unary):
        x = moved_expr(e.operand, move)
        return None if x is None else Unary(e.op, x, e.type)
    if isinstance(e, Cast):
        x = moved_expr(e.operand, move)
        return None if x is None else Cast(x, e.type, e.implicit)
    if isinstance(e, Select):
        cond, then, other = moved_expr(e.cond, move), moved_expr(e.then, move), moved_expr(e.else_, move)
        return None if cond is None or then is None or other is None else Select(cond, then, other, e.type)
    if isinstance(e, Call):
        args = [moved_expr(x, move) for x in e.args]
        return None if any(x is None for x in args) else Call(e.func, tuple(x for x in args if x is not None), e.type)
    return e
