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

from collections.abc import Callable
from dataclasses import replace

from simdlens.analysis.build.walks import moved_expr, moved_stmt
from simdlens.analysis.ir import (
    IV,
    Access,
    Binary,
    Expr,
    If,
    Let,
    Reduce,
    ReduceOp,
    Stmt,
    Store,
    walk_exprs,
    walk_stmts,
)


def reroll_counted(stmts: list[Stmt], u: int) -> list[Stmt] | None:
    """Copy 0 of `stmts` when they are `u` copies of it as described above, else None. A sum written as one
    chain of `u` copies of a term (`dtemp = dtemp + dx[i]*dy[i] + dx[i+1]*dy[i+1] + ...`, the unrolled
    reference ddot) is the sum of that term."""
    if u >= 2 and len(stmts) == 1:
        chain = _chained_sum(stmts[0], u)
        if chain is not None:
            return [chain]
    if u < 2 or not stmts or len(stmts) % u or any(_reads_counter(s) for s in stmts):
        return None
    m = len(stmts) // u
    first = [moved_stmt(s, _shifted(0), keep_spans=False) for s in stmts[:m]]
    if any(s is None for s in first):
        return None
    for j in range(1, u):
        if [moved_stmt(s, _shifted(j), keep_spans=False) for s in stmts[j * m:(j + 1) * m]] != first:
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
    if len(terms) != u or any(isinstance(x, IV) for t in terms for x in walk_exprs(t)):
        return None
    first = moved_expr(terms[0], _shifted(0))
    if first is None or any(moved_expr(t, _shifted(j)) != first for j, t in enumerate(terms)):
        return None
    return Reduce(s.var, s.op, terms[0], s.type, s.cmp, s.span)


def _reads_counter(s: Stmt) -> bool:
    """Whether `s` reads the counter's value (`b[i + 1] = i + 1`: the copies differ in a value, not only in
    where they look)."""
    for x in walk_stmts((s,)):
        roots = [x.cond] if isinstance(x, If) else [x.value] if isinstance(x, Store | Let | Reduce) else []
        if isinstance(x, Store) and x.access.index is not None:
            roots.append(x.access.index)
        if any(isinstance(y, IV) for r in roots for y in walk_exprs(r)):
            return True
    return False


def _shifted(back: int) -> Callable[[Access], Access | None]:
    """Every access that moves with the counter `back` copies earlier (spans dropped); None for an access
    that moves in no known way (an indirect one's index is moved itself)."""
    def move(a: Access) -> Access | None:
        if a.index is not None:
            index = moved_expr(a.index, move)
            return None if index is None else replace(a, index=index, span=None)
        if a.coeff is None:
            return None
        return replace(a, offset=a.offset - a.coeff * back, span=None)
    return move
