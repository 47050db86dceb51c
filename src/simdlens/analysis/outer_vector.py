"""Outer-loop vectorization of a column sweep: the whole nest, vectorized across the outer counter.

A 2-level nest whose inner loop walks a column (`for (i..) for (j..) aa[j][i] = aa[j-1][i] + bb[j][i];`,
`x1[i] += A[j][i] * y[j]` with `j` inner) is contiguous along the OUTER counter. What an expert (and
gcc) writes: the outer loop steps W lanes over `i`, and each step runs the inner loop, scalar over
`j`, on vectors `aa[j][i..i+W)`; the outer loop's last iterations run as the user wrote them.

`outer_ir` re-reads the inner loop's IR with the outer counter as the loop's counter: every access
becomes affine in `i` (coefficient 1: a contiguous vector; 0: one value for every lane, broadcast, as
`y[j]`), the inner counter becomes a scalar of the body, and `LoopIR.inner` carries the inner loop's
header, which the lowering (`rules.outer.OuterLoopLowering`) wraps around each vector step. A reduction
into memory at a subscript the inner loop does not move (`x1[i] += ...`) becomes a store the lowering
keeps in a register across the inner loop (a vector accumulator over `i`).

Also: flat columns `x[(j + c)*ld + i]` (a run-time guard that the columns fit in a row when `ld` is not
the outer bound) and VLA columns; triangles (inner bounds `i + c`, kept in `InnerLoop.first/end`);
imperfect nests (the outer loop's statements around the inner loop, read by the builder without it, in
`InnerLoop.before/after`, a temporary the inner loop sums into one value per lane).

Legal when the lanes are independent: every array the nest writes is touched only at the lane's own
column (the same offset in `i` in every access: a dependence `aa[j-1][i] -> aa[j][i]` is carried by
`j` alone, which stays a sequential loop), and nothing the nest writes may overlap another array it
touches (array objects, or `restrict`). Anything else keeps the `column_sweep` reason.

`nest_reference` is the kernel such a rewrite is tested and timed against: the user's whole nest as
one function (the nest kernel of analysis/nest.py with the inner loop's own text in place of the call).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from simdlens.analysis.ir import (
    INT32,
    IV,
    Access,
    Binary,
    Call,
    Cast,
    Const,
    Expr,
    If,
    InnerLoop,
    Let,
    Load,
    LoopIR,
    Reduce,
    ReduceOp,
    Scalar,
    ScalarRole,
    Select,
    Stmt,
    Store,
    Unary,
    Var,
    walk_exprs,
    walk_stmts,
)
from simdlens.analysis.nest import (
    _INT_TYPES,
    INNER_NAME,
    OuterLoop,
    declared_spelling,
    distinct_param,
    flat_column,
)
from simdlens.analysis.nest import mentions as _mentions
from simdlens.analysis.parse import normalized_tokens
from simdlens.analysis.ranges import other_row_of_walk, outside_walk
from simdlens.core import Analysis, Kernel, LoopVerdict, ParamRole

OUTER_NEST = "outer_nest"  # the fact of an outer loop vectorized across its counter (analysis.facts)
GUARD = "simdlens_guard"  # the temporary holding the condition an inner loop runs under (`if (c) for (...)`)
_FLAT_2D = re.compile(r"^\(&(?P<root>[A-Za-z_]\w*)\[0\]\[0\]\)$")  # how the builder spells a 2-D array's base
_REDUCE_OPS = {ReduceOp.ADD: "+", ReduceOp.SUB: "-", ReduceOp.MUL: "*", ReduceOp.AND: "&", ReduceOp.OR: "|",
               ReduceOp.XOR: "^"}


class _Refused(Exception):
    """Why the nest is not vectorized across its outer counter (a sentence)."""


def _terms(symbolic: str) -> list[str]:
    """The top-level `+` terms of a subscript's invariant part ("r*n + i" -> ["r*n", "i"])."""
    out, depth, cur = [], 0, ""
    for ch in symbolic:
        depth += 1 if ch in "([" else -1 if ch in ")]" else 0
        if ch == "+" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return [t[1:-1].strip() if t.startswith("(") and t.endswith(")") and t.count("(") == 1 else t for t in out]


class _Reader:
    """The inner loop's body re-read with the outer counter `i` as the loop counter."""

    def __init__(self, inner: LoopIR, outer: OuterLoop, int_value: Callable[[str], int | None]) -> None:
        self.inner = inner
        self.int_value = int_value
        self.j = inner.iv
        self.i = outer.iv
        self.outer = outer
        self.lanes: dict[tuple[str, str, int, str], tuple[int, str] | None] = {}  # new access -> (i offset, rest)
        self.guards: set[str] = set()  # C conditions the rewrite checks at run time (rows long enough)
        self.accumulators: set[str] = set()  # scalars set before the inner loop that it reduces into (`s += ...`)
        self.apart = _reads_apart(inner, outer.iv)  # reads the loops' bounds keep off every element written
        self.apart_new: set[tuple[str, str, int, str]] = set()  # the same reads, re-read across the outer counter
        self.transposed: set[tuple[str, str, int, str]] = set()  # mirrored stores around the inner loop (`transposed_row`)

    def access(self, a: Access) -> Access:
        new = self._access(a)
        if (a.root, a.base, a.coeff, a.offset, a.symbolic) in self.apart:
            self.apart_new.add(_key(new))
        return new

    def _access(self, a: Access) -> Access:
        j, i = self.j, self.i
        if a.coeff is None:
            return self._flat(a)
        terms = _terms(a.symbolic) if a.symbolic else []
        own = [t for t in terms if t == i]
        others = [t for t in terms if t != i]
        if len(own) > 1 or any(_mentions(t, i) or _mentions(t, j) for t in others) or _mentions(a.base, i):
            raise _Refused(f"the subscript of {a.root} mixes {i} into its other terms")
        c, o = a.coeff, a.offset
        if not own:  # one element for every lane (`y[j]`): a broadcast, read in the step
            sym = " + ".join([*others, *([f"{j}" if c == 1 else f"{c} * {j}"] if c else [])])
            new = Access(a.root, a.base, a.elem, 0, o, sym, None, a.span)
            self.lanes[_key(new)] = None
            return new
        row = abs(c)
        if row == 1:
            raise _Refused(f"{a.root} is walked along a diagonal of {i} and {j}")
        oi = o - round(o / row) * row if row > 1 else o
        if row > 1 and 2 * abs(oi) >= row:
            raise _Refused(f"cannot tell the row from the column in a subscript of {a.root}")
        if row > 1 and not _FLAT_2D.match(a.base) and not self._within_row(row, oi):
            raise _Refused(f"the columns {i} of {a.root} may run past its row length {row} into the next row")
        oj = o - oi  # elements: rows times the row length
        m = _FLAT_2D.match(a.base)
        if m is not None and c > 1 and oj % c == 0:  # `aa[j - 1][i]` as the user reads it
            rows = oj // c
            base = f"{m.group('root')}[{j}{f' + {rows}' if rows > 0 else f' - {-rows}' if rows < 0 else ''}]"
            new = Access(a.root, base, a.elem, 1, oi, " + ".join(others), None, a.span)
        else:
            jterm = [] if c == 0 else [f"{j}" if c == 1 else f"{c} * {j}"]
            sym = " + ".join([*others, *jterm]) + (f" + {oj}" if oj > 0 else f" - {-oj}" if oj < 0 else "")
            new = Access(a.root, a.base, a.elem, 1, oi, sym.removeprefix(" + "), None, a.span)
        self.lanes[_key(new)] = (oi, " + ".join(others))
        return new

    def _within_row(self, row: int, offset: int) -> bool:
        """Whether every column the outer loop reaches (plus `offset`) lies inside one row of `row`
        elements: a pointer's rows are only as far apart as the subscript says, so a column past the row
        would be the next row's element, which another lane touches (a true 2-D array's columns are
        inside its rows, or the user's code breaks the declared extent)."""
        lo, hi = self.int_value(self.outer.lower), self.int_value(self.outer.upper)
        if lo is None or hi is None:
            return False
        last = hi - 1 if self.outer.cmp == "<" else hi
        return lo + offset >= 0 and last + offset < row

    def _flat(self, a: Access) -> Access:
        """`x[j * n + i]`, `x[(j - 1) * ld + i]`: a column of a flat matrix, contiguous in `i`. The lanes of
        one step are distinct elements when the columns the outer loop reaches fit in a row: surely when
        `n` is the outer loop's own bound (`i < n` from 0), else checked at run time (`guards`)."""
        j, i = self.j, self.i
        flat = flat_column(a.index, j)
        if a.symbolic or a.offset or flat is None or flat.column != i:
            raise _Refused(f"the subscript of {a.root} is not `{j} * n + {i}`")
        n, outer = flat.row, self.outer
        if not _FLAT_2D.match(a.base) and not (outer.lower.strip() == "0" and outer.cmp == "<"
                                               and outer.upper.strip() == n):
            fits = "<=" if outer.cmp == "<" else "<"
            lower = "" if outer.lower.strip() == "0" else f" - (long long)({outer.lower})"
            self.guards.add(f"(long long)({outer.upper}){lower} {fits} (long long)({n})")
        shift = f" + {flat.shift}" if flat.shift > 0 else f" - {-flat.shift}" if flat.shift < 0 else ""
        if _FLAT_2D.match(a.base):  # a VLA's column (`B[k][j]`, row length nj): its row, as the user reads it
            new = Access(a.root, f"{a.root}[{j}{shift}]", a.elem, 1, 0, "", None, a.span)
        else:
            new = Access(a.root, a.base, a.elem, 1, 0, f"({j}{shift}) * {n}" if shift else f"{j} * {n}", None, a.span)
        self.lanes[_key(new)] = (0, "")
        return new

    def expr(self, e: Expr) -> Expr:
        if isinstance(e, Load):
            return Load(self.access(e.access))
        if isinstance(e, IV):
            raise _Refused(f"the value of the inner counter {self.j} is used (not only as a subscript)")
        if isinstance(e, Var):
            return IV(e.name, e.type) if e.name == self.i else e
        if isinstance(e, Const):
            return e
        if isinstance(e, Unary):
            return Unary(e.op, self.expr(e.operand), e.type)
        if isinstance(e, Binary):
            return Binary(e.op, self.expr(e.lhs), self.expr(e.rhs), e.type)
        if isinstance(e, Cast):
            return Cast(self.expr(e.operand), e.type, e.implicit)
        if isinstance(e, Select):
            return Select(self.expr(e.cond), self.expr(e.then), self.expr(e.else_), e.type)
        if isinstance(e, Call):
            return Call(e.func, tuple(self.expr(x) for x in e.args), e.type)
        raise _Refused(f"expression {type(e).__name__}")

    def stmt(self, s: Stmt) -> Stmt:
        if isinstance(s, Store):
            value = self.expr(s.value)
            return Store(self.access(s.access), value, s.span)
        if isinstance(s, Let):
            return Let(s.name, s.type, self.expr(s.value), s.span)
        if isinstance(s, If):
            return If(self.expr(s.cond), tuple(self.stmt(x) for x in s.then), tuple(self.stmt(x) for x in s.else_),
                      s.span)
        if isinstance(s, Reduce) and s.access is None and s.var in self.accumulators and s.op in _REDUCE_OPS:
            # `s += v` into a scalar set before the inner loop: one value per lane, a vector register across j
            return Let(s.var, s.type, Binary(_REDUCE_OPS[s.op], Var(s.var, s.type), self.expr(s.value), s.type), s.span)
        if isinstance(s, Reduce) and s.access is not None and s.op in _REDUCE_OPS:
            # `x1[i] += v` in the j loop: a store of x1[i] + v, kept in a register across j by the lowering
            target = self.access(s.access)
            old: Expr = Load(target)
            if target.elem != s.type:
                old = Cast(old, s.type, True)
            return Store(target, Binary(_REDUCE_OPS[s.op], old, self.expr(s.value), s.type), s.span)
        raise _Refused(f"the inner loop's {type(s).__name__.lower()} statement has no vector form across the outer loop")


def _key(a: Access) -> tuple[str, str, int, str]:
    return (a.root, a.base, a.offset, a.symbolic)


def _reads_apart(inner: LoopIR, i: str, around: tuple[Stmt, ...] = ()) -> set[tuple[str, str, int | None, int, str]]:
    """The inner loop's reads of an array the nest writes that never touch an element it writes, for any value
    of the counters around (lu's `A[i][k]`, `k < i`, and column `A[k][j]` beside the sum into `A[i][j]`,
    `j >= i`; ludcmp's `A[i][j] = w;` after the loop): every lane may read them, whatever the others write.
    Not when the inner bounds move with the outer counter `i` (`k < j`, `j` the lanes: one lane's walk
    reaches another lane's element)."""
    from simdlens.analysis.build import accesses_of

    if _mentions(inner.lower, i) or _mentions(inner.upper, i):
        return set()
    accs = accesses_of(inner.body)
    # the statements around write the lane's own element: to the inner loop, one element at `i`
    writes = [a for a, w, _s in accs if w] + [
        Access(a.root, a.base, a.elem, 0, a.offset, i, None, a.span) if a.coeff == 1 and not a.symbolic
        and a.index is None else Access(a.root, a.base, a.elem, None, 0, "", Var(i, INT32), a.span)
        for a, w, _s in accesses_of(around) if w]
    bounds = (inner.lower, inner.upper, inner.cmp, inner.step, inner.enclosing)
    out: set[tuple[str, str, int | None, int, str]] = set()
    for r, w_, _s in accs:
        mine = [w for w in writes if w.root == r.root]
        if not w_ and mine and all(w.index is None and (outside_walk(w, r, *bounds) or other_row_of_walk(w, r, *bounds))
                                   for w in mine):
            out.add((r.root, r.base, r.coeff, r.offset, r.symbolic))
    return out


def _sums_across(body: tuple[Stmt, ...], reader: _Reader, allowed: bool) -> tuple[Stmt, ...]:
    """`C[i][j] += alpha * A[i][k] * A[j][k]` with `k` the outer counter (syrk's k-j order): an element
    every lane shares, summed into. With the loops swapped it is a row dot product per `j`, a sum into
    memory over `k` (`Reduce`, reassociated: the interchange only, rules/outer.py). Kept as it is unless
    the element is read and written by that update alone."""
    from simdlens.analysis.build import accesses_of

    out: list[Stmt] = []
    for s in body:
        if not (allowed and isinstance(s, Store) and reader.lanes.get(_key(s.access)) is None
                and isinstance(s.value, Binary) and s.value.op in ("+", "-")):
            out.append(s)
            continue
        target, value = s.access, s.value
        old, other = (value.lhs, value.rhs) if _is_load_of(value.lhs, target) else (value.rhs, value.lhs)
        if not _is_load_of(old, target) or (value.op == "-" and old is not value.lhs) \
                or any(isinstance(x, Load) and x.access.root == target.root for x in walk_exprs(other)):
            out.append(s)
            continue
        touched = [a for a, _w, _s in accesses_of(body) if a.root == target.root]
        if any(_key(a) != _key(target) for a in touched):
            out.append(s)
            continue
        text = f"{target.base}[{target.symbolic or target.offset}]"
        out.append(Reduce(text, ReduceOp.ADD if value.op == "+" else ReduceOp.SUB, other, target.elem, "", s.span,
                          access=target))
    return tuple(out)


def _is_load_of(e: Expr, a: Access) -> bool:
    while isinstance(e, Cast):
        e = e.operand
    return isinstance(e, Load) and _key(e.access) == _key(a)


def outer_ir(inner: LoopIR, outer: OuterLoop, inner_header: str,
             int_value: Callable[[str], int | None] = lambda _text: None, around: LoopIR | None = None,
             inner_start: int = 0) -> tuple[LoopIR, tuple[tuple[str, str], ...]] | str:
    """The nest as one loop over the outer counter whose body runs inside the inner loop (`LoopIR.inner`)
    and the pointer pairs the rewrite checks at run time (they may overlap: no restrict), or why the
    lanes over the outer counter are not independent (a sentence). `int_value(text)` evaluates a constant
    expression of the user's file (None when it is not one). `around`: an imperfect nest's outer loop
    read without its inner loop (which starts at byte `inner_start`)."""
    i, j = outer.iv, inner.iv
    try:
        accumulators = _accumulators(around, inner) if around is not None else set()
        before, after = _around(around, inner_start, inner, i, accumulators) if around is not None else ((), ())
        if inner.unit_strides:  # its vector code would need the inner loop's stride guard around the nest
            raise _Refused(f"the inner loop walks a run-time stride ({inner.unit_strides[0][0]})")
        if inner.moved or inner.setup or inner.runs_at_least_once:
            raise _Refused(f"the inner loop's counter {j} is not its own (moved, or tested before it runs)")
        triangle = _triangle(inner, i) if any(_mentions(t, i) for t in (inner.lower, inner.upper)) else None
        if triangle is not None and (accumulators or any(isinstance(x, Let) for x in walk_stmts(before + after))):
            raise _Refused("a triangular nest whose statements around its inner loop keep a temporary is not "
                           f"vectorized across {i} (each lane's own rows run apart from its register)")
        if outer.step != 1 or outer.cmp not in ("<", "<="):
            raise _Refused(f"the outer loop does not count {i} up by 1")
        # a counter declared at the top of the function (`int i, j, k;`) is its declaration's type; the
        # rewrite assigns it as the user's loops do, so both counters end where the user's nest leaves them
        spelled = outer.iv_type or declared_spelling(i, outer.function_text)
        iv_type = _INT_TYPES.get(spelled)
        if iv_type is None:
            raise _Refused(f"the outer counter's type {spelled or '(unknown)'} is not a plain integer")
        for sc in inner.scalars:
            if sc.role not in (ScalarRole.INVARIANT, ScalarRole.LOCAL) and sc.name not in accumulators:
                raise _Refused(f"`{sc.name}` ({sc.role.value}) carries a value between inner iterations")
        reader = _Reader(inner, outer, int_value)
        reader.apart = _reads_apart(inner, i, before + after)
        reader.accumulators = accumulators
        body = _sums_across(tuple(reader.stmt(s) for s in inner.body), reader, triangle is None and around is None)
        if any(isinstance(s, Let) and s.name == GUARD for s in before):
            if triangle is not None:
                raise _Refused("a triangular nest whose inner loop runs under a condition is not vectorized across "
                               f"{i}")
            body = (If(Var(GUARD, INT32), body),)
        _own_lanes(before + after, reader, body, i)
        arrays = inner.arrays + tuple(a for a in (around.arrays if around is not None else ()) if inner.array(a.root) is None)
        checks = _lanes_independent(before + body + after, reader, replace(inner, arrays=arrays), i)
        if triangle is not None and not inner.iv_declared_in_loop:
            # (a counter the function declares keeps the last row's end, which the lanes' own rows change)
            raise _Refused(f"the triangle's inner counter {j} is declared before it: its last value is the user's")
    except _Refused as exc:
        return str(exc)
    outside = tuple(sc for sc in (around.scalars if around is not None else ()) if sc.name != i
                    and inner.scalar(sc.name) is None)
    guard = tuple(Scalar(GUARD, INT32, ScalarRole.LOCAL) for s in before if isinstance(s, Let) and s.name == GUARD)
    scalars = (*(replace(sc, role=ScalarRole.LOCAL, live_out=False) if sc.name in accumulators else sc for sc in inner.scalars
                 if sc.name != i), *outside, *guard, Scalar(j, iv_type, ScalarRole.LOCAL))
    return LoopIR(
        iv=i, iv_type=replace(iv_type, spelling=spelled), lower=outer.lower, upper=outer.upper, cmp=outer.cmp,
        step=1, trip_count=_trip(outer), body=body, arrays=arrays,
        scalars=scalars, iv_declared_in_loop=bool(outer.iv_type), enclosing=_facts_across(inner, i),
        inner=InnerLoop(j, inner_header, inner.trip_count, " && ".join(sorted(reader.guards)),
                                                      *(triangle or ("", "", "")), before, after),
    ), checks


def _facts_across(inner: LoopIR, i: str) -> tuple[tuple[str, str, str, str, int], ...]:
    """The loops around the nest vectorized across `i`: the inner loop's own header is a fact there too
    (`k < i` of lu's `A[i][k]`, broadcast: never one of the columns the lanes write), unless its bounds move
    with `i` (then it is a fact of one lane, not of the step)."""
    around = tuple(e for e in inner.enclosing if e[0] != i)
    if _mentions(inner.lower, i) or _mentions(inner.upper, i):
        return around
    return ((inner.iv, inner.lower, inner.upper, inner.cmp, inner.step), *around)


_MOVING_BOUND = r"\(?\s*{i}\s*(?:[+-]\s*\d+\s*)?\)?"  # `i`, `i + 1`, `(i - 2)`: the outer counter plus a constant


def _triangle(inner: LoopIR, i: str) -> tuple[str, str, str]:
    """(counter type, first, end) of an inner loop whose bounds move with the outer counter `i` by
    `i + c` (a triangle or a band): each lane of a vector step then runs the rows every lane runs
    inside the vector loop and its own first or last rows alone (rules/outer.py)."""
    if inner.step != 1 or inner.cmp not in ("<", "<="):
        raise _Refused(f"the inner loop's bounds depend on {i} and it does not count up by 1 to a `<` bound")
    moving = re.compile(_MOVING_BOUND.format(i=re.escape(i)))
    for bound in (inner.lower, inner.upper):
        if _mentions(bound, i) and moving.fullmatch(bound.strip()) is None:
            raise _Refused(f"the inner loop's bound {bound.strip()} depends on {i} other than as {i} plus a constant")
    end = inner.upper if inner.cmp == "<" else f"({inner.upper}) + 1"
    return inner.iv_type.spelling, inner.lower, end


def _accumulators(around: LoopIR, inner: LoopIR) -> set[str]:
    """The temporaries the outer loop sets and the inner loop only reduces into (`double s = 0.0;` then
    `s += A[i][k] * B[k][j];`): per lane, a vector register across the inner loop."""
    set_around = {sc.name for sc in around.scalars if sc.role is ScalarRole.LOCAL}
    return {sc.name for sc in inner.scalars if sc.role is ScalarRole.REDUCTION and sc.name in set_around}


def _around(around: LoopIR, inner_start: int, inner: LoopIR, i: str,
            accumulators: set[str]) -> tuple[tuple[Stmt, ...], tuple[Stmt, ...]]:
    """An imperfect nest's statements before and after its inner loop (`C[i][j] *= beta;` before gemm's k
    loop): stores and temporaries of the outer loop's own iteration, which the vector step runs around
    the inner loop, the lanes' elements in registers across it (rules/outer.py)."""
    for sc in around.scalars:
        if sc.name != i and sc.role not in (ScalarRole.INVARIANT, ScalarRole.LOCAL):
            raise _Refused(f"`{sc.name}` ({sc.role.value}) carries a value between the outer loop's statements and "
                           "its inner loop")
        if sc.role is ScalarRole.LOCAL and inner.scalar(sc.name) is not None and sc.name not in accumulators:
            raise _Refused(f"the inner loop reads `{sc.name}`, which the outer loop sets around it (one value per lane)")
    before: list[Stmt] = []
    after: list[Stmt] = []
    for s in around.body:
        if isinstance(s, If) and not s.then and not s.else_ and s.span is not None \
                and s.span.start_byte < inner_start < s.span.end_byte:
            # `if (c) for (...)`: c once per outer iteration, before the inner loop; the inner body runs under it
            before.append(Let(GUARD, INT32, s.cond, s.span))
            continue
        if not isinstance(s, Store | Let | If) or s.span is None:
            raise _Refused(f"the outer loop's {type(s).__name__.lower()} statement around its inner loop has no "
                           "vector form")
        (before if s.span.start_byte < inner_start else after).append(s)
    return tuple(before), tuple(after)


def _own_lanes(stmts: tuple[Stmt, ...], reader: _Reader, body: tuple[Stmt, ...], i: str) -> None:
    """Record the lane of each access of the statements around the inner loop (contiguous in `i`: the
    lane's own element; fixed: one every lane shares); an array the inner loop touches too is touched
    around it at the same elements (the harness allocates what the inner loop's footprint says), or, read
    by the inner loop's guard, at a row the inner loop reads too."""
    from simdlens.analysis.build import accesses_of

    inside = {_key(a) for a, _w, _s in accesses_of(body)}
    roots = {k[0] for k in inside}
    for a, w, _s in accesses_of(stmts):
        if w and transposed_row(a, stmts + body, i) is not None:
            reader.transposed.add(_key(a))  # covariance's `cov[j][i] = cov[i][j];`: only the lane's own mirror
            continue
        if a.coeff not in (0, 1) or a.index is not None:
            raise _Refused(f"{a.root} is reached around the inner loop other than at the lane's own element")
        if a.root in roots and _key(a) not in inside and not _row_read_inside(a, stmts, inside, reader) \
                and not (a.coeff == 1 and _apart_inside(a.root, body, reader)):
            raise _Refused(f"{a.root}[...] is touched around the inner loop at an element the inner loop does not "
                           "touch")
        reader.lanes[_key(a)] = (a.offset, a.symbolic) if a.coeff == 1 else None


def transposed_row(a: Access, stmts: tuple[Stmt, ...], i: str) -> str | None:
    """`X[j][c]` stored around the inner loop (`j` the outer counter: a column of a 2-D array, flat `R*j + c`)
    where every other access of X there is `X[c][j]` (`cov[j][i] = cov[i][j];`): the row `c` of a lane's
    store meets the other accesses' row only at the diagonal `j == c`, the lane's own element (their
    columns are inside the row), so no lane touches another's. The mirrored row `c`, or None."""
    from simdlens.analysis.build import accesses_of

    m = _FLAT_2D.match(a.base)
    if m is None or a.coeff is None or a.coeff <= 1 or a.offset or not re.fullmatch(r"[A-Za-z_]\w*", a.symbolic) \
            or a.symbolic == i:
        return None
    c = a.symbolic
    others = [b for b, _w, _s in accesses_of(stmts) if b.root == a.root and _key(b) != _key(a)]
    own = re.compile(rf"{re.escape(a.root)}\[\s*{re.escape(c)}\s*\]")
    if not others or any(b.coeff != 1 or b.offset or b.symbolic or b.index is not None or not own.fullmatch(b.base)
                         for b in others):
        return None
    return c


def _apart_inside(root: str, body: tuple[Stmt, ...], reader: _Reader) -> bool:
    """Every access of `root` in the inner loop is a read the bounds keep off the elements the nest writes
    (ludcmp's `w = A[i][j]; for (k < i) w -= A[i][k] * A[k][j]; A[i][j] = w;`): the statements around may
    then touch the lane's own element of it (the nest's footprint takes in theirs, `_imperfect_nest`)."""
    from simdlens.analysis.build import accesses_of

    return all(not w and _key(a) in reader.apart_new for a, w, _s in accesses_of(body) if a.root == root)


def _row_read_inside(a: Access, stmts: tuple[Stmt, ...], inside: set[tuple[str, str, int, str]], reader: _Reader) -> bool:
    """`aa[0][i]` read by the guard of `for (j = 1; ...) ... aa[j - 1][i] ...`: a constant row inside the rows
    the inner loop reads (its counter's first value plus the row's offset), at the same column."""
    if not any(isinstance(s, Let) and s.name == GUARD and any(isinstance(x, Load) and x.access == a
                                                                for x in walk_exprs(s.value)) for s in stmts):
        return False
    row = re.fullmatch(rf"{re.escape(a.root)}\[\s*(\d+)\s*\]", a.base.strip())
    first, end = reader.int_value(reader.inner.lower), reader.int_value(reader.inner.upper)
    if row is None or first is None or end is None or reader.inner.step != 1 or reader.inner.cmp != "<":
        return False
    j = re.escape(reader.inner.iv)
    for root, base, offset, symbolic in inside:
        m = re.fullmatch(rf"{re.escape(a.root)}\[\s*{j}\s*(?:([+-])\s*(\d+))?\s*\]", base.strip())
        if root != a.root or m is None or (offset, symbolic) != (a.offset, a.symbolic):
            continue
        shift = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        if first + shift <= int(row.group(1)) < end + shift:
            return True
    return False


def _trip(outer: OuterLoop) -> str:
    """The outer loop's iteration count as C text, negative when it runs none (the vector loop then does
    not run, and the remainder tests the user's own condition)."""
    lower = "" if outer.lower.strip() == "0" else f" - ({outer.lower})"
    return f"({outer.upper}){lower}" + (" + 1" if outer.cmp == "<=" else "")


def _lanes_independent(body: tuple[Stmt, ...], reader: _Reader, inner: LoopIR,
                       i: str) -> tuple[tuple[str, str], ...]:
    """Refuses lanes that depend on each other; returns the pairs of pointers (no restrict) the rewrite
    must check at run time: their elements over the whole nest disjoint, or (rules/outer.py) the very
    same pointer where each iteration reads an element before writing it (an in-place call)."""
    from simdlens.analysis.build import accesses_of

    accs = accesses_of(body)
    written = {a.root for a, w, _ in accs if w}
    summed = {x.access.root for x in walk_stmts(body) if isinstance(x, Reduce) and x.access is not None}
    for root in sorted(written - summed):  # (a sum every lane shares: _sums_across, interchanged only)
        lanes = {reader.lanes.get(_key(a)) for a, w, _s in accs if a.root == root
                 and (w or _key(a) not in reader.apart_new) and _key(a) not in reader.transposed}
        if None in lanes:
            raise _Refused(f"{root} is written at an element every lane of {i} shares")
        if len(lanes) > 1:
            raise _Refused(f"{root} is written at one column of {i} and read at another: the lanes over {i} "
                           "depend on each other")
    roots = {a.root for a, _w, _s in accs}
    checks: set[tuple[str, str]] = set()
    for w in sorted(written):
        aw = inner.array(w)
        for x in sorted(roots - {w}):
            ax = inner.array(x)
            if aw is None or ax is None:
                raise _Refused(f"cannot tell whether {w} and {x} overlap")
            if (aw.pointer or ax.pointer) and not (aw.restrict or ax.restrict):
                if "->" in w + x or "." in w + x:
                    raise _Refused(f"{w} and {x} may overlap (pointers without restrict)")
                checks.add((min(w, x), max(w, x)))
    return tuple(sorted(checks))


def is_outer_nest(analysis: Analysis) -> bool:
    return OUTER_NEST in analysis.facts and analysis.loop is not None and analysis.loop.inner is not None


def nest_reference(outer: Analysis, inner: Analysis, source: bytes, ctx: Any) -> Kernel | str:
    """The user's nest as one function: the kernel an outer-loop rewrite is verified and timed against.
    Built from the inner loop's kernel (parameters, footprints, sizes spelled from the user's code) and
    its nest kernel (the outer loop as written), with the inner loop's own text in place of the call."""
    from simdlens.analysis.kernel import kernel_or_reason

    found = kernel_or_reason(replace(inner, verdict=LoopVerdict.VECTORIZABLE), source, ctx)
    if isinstance(found, str):
        return found
    nest = found.nest
    imperfect = outer.loop is not None and outer.loop.inner is not None and bool(
        outer.loop.inner.before or outer.loop.inner.after)
    if imperfect:
        made = _imperfect_nest(outer, inner, found, source, ctx)
        if isinstance(made, str):
            return made
        nest, loop_text = made
    else:
        if nest is None:
            return "the nest's outer loop cannot be written as a stand-alone function"
        lines = found.source.rstrip("\n").split("\n")
        if inner.loop is not None and not inner.loop.iv_declared_in_loop:  # its counter: declared by the nest
            j = inner.loop.iv
            declares = len(lines) > 2 and re.fullmatch(rf"\s*[\w\s]+\s{re.escape(j)};", lines[2]) is not None
            returns = len(lines) > 2 and lines[-2].strip() == f"return {j};"
            lines = [x for k, x in enumerate(lines) if not ((k == 2 and declares) or (k == len(lines) - 2 and returns))]
        if len(lines) < 4 or lines[1] != "{" or lines[-1] != "}" or not lines[2].lstrip().startswith("for"):
            return "the inner loop needs declarations around it: the nest cannot be written as one function"
        loop_text = "\n".join(lines[2:-1])
    call = re.compile(rf"^\s*{INNER_NAME}\(.*\);\s*$", re.MULTILINE)
    nest_text = re.sub(r"^\s*volatile __typeof__\(.*\n", "", nest.source.replace("simdlens_kept = ", ""), flags=re.MULTILINE)
    if len(call.findall(nest_text)) != 1:
        return "the nest's outer loop cannot be written as a stand-alone function"
    text = call.sub(lambda _m: "\n".join("    " + x for x in loop_text.split("\n")), nest_text)
    if inner.loop is not None and not inner.loop.iv_declared_in_loop:  # `int i, j;` at the function's top
        text = text.replace("\n{\n", f"\n{{\n    {inner.loop.iv_type.spelling or inner.loop.iv_type.c} {inner.loop.iv};\n", 1)
    i = outer.loop.iv if outer.loop is not None else ""
    local = {sc.name for sc in outer.loop.scalars if sc.role is ScalarRole.LOCAL} if outer.loop is not None else set()
    facts = tuple(f for f in found.type_facts if not any(_mentions(f.expr, x) for x in {i, *local} if x))
    by_root = {p.source or p.name: p.name for p in nest.params}
    overlap = {tuple(sorted((by_root[x], by_root[y]))) for x, y in outer.alias_checks if x in by_root and y in by_root}
    may_alias = tuple(sorted({*nest.may_alias, *overlap}))  # the harness tests them at small offsets too
    tested = {name for pair in may_alias for name in pair}  # called overlapping: never `restrict` there
    params = tuple(p if p.name in tested else distinct_param(p, outer.loop or inner.loop, nest.language) for p in nest.params)
    kept = {p.name for p in params}  # (a fact about a result the nest keeps in the user's own temporary: gone)
    facts = tuple(f for f in facts if not any(_mentions(f.expr, p.name) for p in found.params if p.name not in kept))
    prints = tuple(replace(f, lo=_folded(f.lo, ctx), hi=_folded(f.hi, ctx)) for f in nest.footprints)
    sig = f"void {nest.name}({', '.join(p.signature_decl for p in params) or 'void'})"
    text = text.replace(nest.signature, sig, 1)
    size_max, real = nest.size_max, nest.real_sizes
    extent = _declared_extent(inner.loop, ctx) if nest.size_param is not None and inner.loop is not None else None
    if extent is not None and (size_max is None or extent < size_max):
        # (the outer counter walks the columns too: syrk's k < m over A's rows of 380, its j over C's 400)
        size_max, real = extent, (extent,)
    digest = hashlib.sha256(f"outer\0{nest.content_hash}\0{found.content_hash}\0{normalized_tokens(text)}"
                            f"\0{size_max}\0{real}".encode())
    reference = replace(nest, source=text, signature=sig, params=params, footprints=prints,
                        may_alias=may_alias, loop_id=outer.site.loop_id,  # type: ignore[arg-type]
                        loop_span=outer.site.span, facts=outer.facts,
                        type_facts=facts, nest=None, size_max=size_max, real_sizes=real,
                        content_hash=digest.hexdigest(), context=found.context)
    return _in_its_loop(reference, outer, source, ctx)


def _in_its_loop(reference: Kernel, outer: Analysis, source: bytes, ctx: Any) -> Kernel:
    """A nest that is itself the body of a counted loop (the j-k pair of an i-j-k product, `i` fixed) is
    timed inside that loop (`Kernel.nest`), so the whole nest the user runs is what is measured."""
    from simdlens.analysis.kernel import _FileSyntax, _int_value, expand_macros
    from simdlens.analysis.nest import nest_kernel, outer_loop

    if outer.site.depth == 0:
        return reference
    syntax = _FileSyntax.of(source, outer.site.language)
    loop = outer_loop(syntax.root, source, outer.site.span.start_byte, outer.site.span.end_byte, imperfect=True,
                      beside_loops=True)
    wrapped = nest_kernel(reference, loop, lambda text: _int_value(text, ctx),
                          lambda text: expand_macros(text, ctx)) if loop is not None else None
    if wrapped is None or isinstance(wrapped, str):
        return reference
    digest = hashlib.sha256(f"{reference.content_hash}\0nest:{wrapped.content_hash}".encode()).hexdigest()
    return replace(reference, nest=wrapped, content_hash=digest)


def _imperfect_nest(outer: Analysis, inner: Analysis, found: Kernel, source: bytes, ctx: Any) -> tuple[Kernel, str] | str:
    """An imperfect nest's kernel around its inner loop's (`found`), and the outer loop's body as the user
    wrote it (in place of the call): the invariant scalars only the statements around the inner loop read
    (`beta` of `C[i][j] *= beta`) are parameters too."""
    from simdlens.analysis.kernel import _FileSyntax, _int_value, expand_macros, kernel_or_reason
    from simdlens.analysis.nest import nest_kernel, outer_loop

    assert outer.loop is not None
    syntax = _FileSyntax.of(source, outer.site.language)
    loop = outer_loop(syntax.root, source, inner.site.span.start_byte, inner.site.span.end_byte, imperfect=True)
    if loop is None:
        return "the nest's outer loop cannot be written as a stand-alone function"
    # a sum the inner loop leaves in a temporary of the outer loop's (`s += ...`) stays in the user's text
    local = {sc.name for sc in outer.loop.scalars if sc.role is ScalarRole.LOCAL}
    element_wise = replace(found, return_type=None, params=tuple(
        p for p in found.params if p.role is not ParamRole.RESULT and (p.source or p.name) not in local))
    if any(p.source for p in element_wise.params):
        return "the inner loop's kernel renames the user's names: the imperfect nest cannot be written around it"
    nest = nest_kernel(element_wise, loop, lambda text: _int_value(text, ctx), lambda text: expand_macros(text, ctx))
    if isinstance(nest, str):
        return nest
    # the arrays only the statements around the inner loop touch (`C[i][j] = s;`): their parameters and
    # footprints over the outer loop, from the kernel of those statements as a loop of their own
    inner_loop = outer.loop.inner
    assert inner_loop is not None
    own = replace(outer, loop=replace(outer.loop, body=inner_loop.before + inner_loop.after, inner=None),
                  verdict=LoopVerdict.VECTORIZABLE)
    names = {p.name for p in nest.params} | {loop.iv}
    around = kernel_or_reason(own, source, ctx)
    if isinstance(around, str) and not _only_guards(inner_loop.before + inner_loop.after, names):
        return f"the statements around the inner loop have no kernel: {around}"
    invariant = {sc.name for sc in outer.loop.scalars if sc.role is ScalarRole.INVARIANT}
    extra = () if isinstance(around, str) else tuple(p for p in around.params if p.name not in names and (
        p.role in (ParamRole.IN, ParamRole.OUT, ParamRole.INOUT) or (p.role is ParamRole.SCALAR and p.name in invariant)))
    if any(p.source for p in extra):
        return "the statements around the inner loop reach arrays through expressions the kernel renames"
    written = {} if isinstance(around, str) else {p.name: p for p in around.params
                                                  if p.role in (ParamRole.OUT, ParamRole.INOUT)}
    # an array the inner loop only reads and the statements around write (ludcmp's A[i][j] = w): not const
    params = tuple(written[p.name] if p.role is ParamRole.IN and p.name in written else p for p in nest.params) + extra
    prints = nest.footprints + (() if isinstance(around, str) else
                                tuple(f for f in around.footprints if f.param in {p.name for p in extra}))
    if not isinstance(around, str):  # an array both touch (ludcmp's A[i][j] around A[i][k]): the hull of both
        theirs = {f.param: replace(f, lo=expand_macros(f.lo, ctx), hi=expand_macros(f.hi, ctx))
                  for f in around.footprints if f.param not in {p.name for p in extra}}  # (the driver has no macros)
        prints = tuple(replace(f, lo=f"(({f.lo}) < ({o.lo}) ? ({f.lo}) : ({o.lo}))", hi=f"(({f.hi}) > ({o.hi}) ? "
                               f"({f.hi}) : ({o.hi}))") if (o := theirs.get(f.param)) is not None and (f.lo, f.hi) != (o.lo, o.hi)
                       else f for f in prints)
    sig = f"void {nest.name}({', '.join(p.signature_decl for p in params) or 'void'})"
    text = source[outer.site.span.start_byte:outer.site.span.end_byte].decode("utf-8", "replace")
    body = text[text.index(loop.header) + len(loop.header):].strip()
    # a temporary the function declares at its top (ludcmp's `DATA_TYPE w;`): the nest declares it too
    tops = [sc for sc in outer.loop.scalars if sc.role is ScalarRole.LOCAL and sc.name not in (loop.iv, inner_loop.iv)
            and not re.search(rf"[\w*]\s+{re.escape(sc.name)}\s*[=;,]", body)]
    if tops:
        body = "{\n" + "".join(f"    {sc.type.spelling or sc.type.c} {sc.name};\n" for sc in tops) + body + "\n}"
    return replace(nest, params=params, signature=sig, footprints=prints,
                   source=nest.source.replace(nest.signature, sig, 1)), body


def _only_guards(stmts: tuple[Stmt, ...], names: set[str]) -> bool:
    """The statements around the inner loop are only the condition it runs under, reading nothing the inner
    loop's kernel does not already have (then they need no kernel of their own)."""
    from simdlens.analysis.build import accesses_of

    if not all(isinstance(s, Let) and s.name == GUARD for s in stmts):
        return False
    roots = {a.root for a, _w, _s in accesses_of(stmts)}
    read = {x.name for s in stmts if isinstance(s, Let) for x in walk_exprs(s.value) if isinstance(x, Var)}
    return roots <= names and read <= names


def _declared_extent(loop: LoopIR, ctx: Any) -> int | None:
    """The smallest extent of the 2-D array objects the nest walks (`float aa[256][256]`: 256), which
    bounds both counters of a column sweep over them: the harness never sets the size past it (the
    user's own nest would break the declared extent there), and it is the size the code uses."""
    from simdlens.analysis.kernel import _int_value

    extents = []
    for arr in loop.arrays:
        m = re.search(rf"(?<![\w.]){re.escape(arr.root)}\s*\[([^\]]+)\]\s*\[([^\]]+)\]", arr.decl)
        if arr.pointer:  # a parameter `T X[R][C]` / `T (*X)[C]`: its row length C bounds the columns walked
            row = re.search(rf"(?:(?<![\w.]){re.escape(arr.root)}\s*\[[^\]]*\]|\(\s*\*\s*{re.escape(arr.root)}\s*\))"
                            r"\s*\[([^\]]+)\]\s*$", arr.decl.strip().rstrip(",;)"))
            value = _int_value(row.group(1), ctx) if row is not None else None
            if value is not None and value > 0:  # (a VLA's row length is a parameter: the size itself)
                extents.append(value)
            continue
        if m is None:
            continue
        for text in m.groups():
            value = _int_value(text, ctx)
            if value is None or value <= 0:
                return None
            extents.append(value)
    return min(extents) if extents else None


def _folded(text: str, ctx: Any) -> str:
    """A footprint bound of a constant nest as its number (the run-time overlap check reads it)."""
    from simdlens.analysis.kernel import _int_value

    value = _int_value(text, ctx)
    return str(value) if value is not None else text
