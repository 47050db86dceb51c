"""A hand-unrolled counted loop as the loop it unrolls.

The reference BLAS and codec code unroll by hand: `for (i = m; i < n; i += 4) { dy[i] += da * dx[i];
dy[i + 1] += da * dx[i + 1]; ... }`. Read as written, each copy is a stride-4 access and the rules
de-interleave and re-interleave what is one contiguous stream (0.56x of gcc for that daxpy, 0.1x for a
byte swap unrolled by 8). When the body is `u` copies of one statement list (u the loop's step), copy
`j` touching every element `j` further on than copy 0 (offset + coeff * j) and nothing else differing,
the loop is copy 0 over the same elements one at a time: counter from the same start, `u` times the
trip count, step 1. The copies run in the same order element by element, so every store, load and
floating-point sum happens in the original order. (Pointer walks have their own re-roller:
`walks.reroll`.)
"""

from __future__ import annotations

from dataclasses import replace

from simdlens.analysis.ir import (
    IV,
    Access,
    Binary,
    Call,
    Cast,
    Expr,
    If,
    Let,
    Load,
    Reduce,
    ReduceOp,
    Select,
    Stmt,
    Store,
    Unary,
)


def reroll_counted(stmts: list[Stmt], u: int) -> list[Stmt] | None:
    """Copy 0 of `stmts` when they are `u` copies of it as described above, else None. A sum written as one
    chain of `u` copies of a term (`dtemp = dtemp + dx[i]*dy[i] + dx[i+1]*dy[i+1] + ...`, the unrolled
    reference ddot) is the sum of that term."""
    if u >= 2 and len(stmts) == 1:
        chain = _chained_sum(stmts[0], u)
        if chain is not None:
            return [chain]
    if u < 2 or not stmts or len(stmts) % u:
        return None
    m = len(stmts) // u
    first = [_shifted_stmt(s, 0, keep_spans=False) for s in stmts[:m]]
    if any(s is None for s in first):
        return None
    for j in range(1, u):
        if [_shifted_stmt(s, j, keep_spans=False) for s in stmts[j * m:(j + 1) * m]] != first:
            return None
    return list(stmts[:m])


def _chained_sum(s: Stmt, u: int) -> Stmt | None:
    """`acc += t0 + t1 + ... + t(u-1)` (added left to right, as C does) with each t(j) term 0 shifted `j`
    copies on: `acc += t0`, else None."""
    if not (isinstance(s, Reduce) and s.access is None and s.op is ReduceOp.ADD):
        return None
    terms: list[Expr] = []
    e = s.value
    while isinstance(e, Binary) and e.op == "+" and len(terms) < u:
        terms.append(e.rhs)
        e = e.lhs
    terms.append(e)
    terms.reverse()
    if len(terms) != u:
        return None
    first = _shifted_expr(terms[0], 0)
    if first is None or any(_shifted_expr(t, j) != first for j, t in enumerate(terms)):
        return None
    return Reduce(s.var, s.op, terms[0], s.type, s.cmp, s.span)


def _shifted_stmt(s: Stmt, back: int, *, keep_spans: bool) -> Stmt | None:
    """`s` with every access that moves with the counter `back` copies earlier (spans dropped unless
    `keep_spans`); None for statements the re-roller does not take, or that read the counter's value."""
    def ex(e: Expr) -> Expr | None:
        return _shifted_expr(e, back)

    span = s.span if keep_spans else None
    if isinstance(s, Store):
        acc, value = _shifted_access(s.access, back), ex(s.value)
        return None if acc is None or value is None else Store(acc, value, span)
    if isinstance(s, Let):
        value = ex(s.value)
        return None if value is None else Let(s.name, s.type, value, span)
    if isinstance(s, Reduce) and s.access is None:
        value = ex(s.value)
        return None if value is None else Reduce(s.var, s.op, value, s.type, s.cmp, span)
    if isinstance(s, If):
        cond = ex(s.cond)
        then = [_shifted_stmt(x, back, keep_spans=keep_spans) for x in s.then]
        other = [_shifted_stmt(x, back, keep_spans=keep_spans) for x in s.else_]
        if cond is None or any(x is None for x in then) or any(x is None for x in other):
            return None
        return If(cond, tuple(x for x in then if x is not None), tuple(x for x in other if x is not None), span)
    return None


def _shifted_access(a: Access, back: int) -> Access | None:
    if a.index is not None:
        index = _shifted_expr(a.index, back)
        return None if index is None else replace(a, index=index, span=None)
    if a.coeff is None:
        return None
    return replace(a, offset=a.offset - a.coeff * back, span=None)


def _shifted_expr(e: Expr, back: int) -> Expr | None:
    if isinstance(e, IV):
        return None  # `b[i + 1] = i + 1`: the copies differ in a value, not only in where they look
    if isinstance(e, Load):
        acc = _shifted_access(e.access, back)
        return None if acc is None else Load(acc)
    if isinstance(e, Binary):
        lhs, rhs = _shifted_expr(e.lhs, back), _shifted_expr(e.rhs, back)
        return None if lhs is None or rhs is None else Binary(e.op, lhs, rhs, e.type)
    if isinstance(e, Unary):
        x = _shifted_expr(e.operand, back)
        return None if x is None else Unary(e.op, x, e.type)
    if isinstance(e, Cast):
        x = _shifted_expr(e.operand, back)
        return None if x is None else Cast(x, e.type, e.implicit)
    if isinstance(e, Select):
        parts = [_shifted_expr(x, back) for x in (e.cond, e.then, e.else_)]
        if any(x is None for x in parts):
            return None
        cond, then, other = parts
        assert cond is not None and then is not None and other is not None
        return Select(cond, then, other, e.type)
    if isinstance(e, Call):
        args = [_shifted_expr(x, back) for x in e.args]
        if any(x is None for x in args):
            return None
        return Call(e.func, tuple(x for x in args if x is not None), e.type)
    return e
