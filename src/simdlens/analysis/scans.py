"""Running sums and first-order linear recurrences: loops compilers leave scalar, SIMD scans compute.

    for (i = 1; i < n; i++) b[i] = b[i - 1] + a[i];           // prefix sum of a into b
    for (i = 1; i < n; i++) x[i] += x[i - 1];                 // in place
    for (i = 1; i < n; i++) y[i] = c[i] * y[i - 1] + x[i];    // first-order linear recurrence (IIR)

Each element depends on the one before it, so gcc and clang keep one operation per element on the
critical path. A SIMD engineer computes W results at once: log2(W) rounds of lane shifts combine the
pairs (factor, term) of neighbouring lanes, then one multiply-add with the last result of the previous
vector (the carry) finishes them. `first_order_scan` recognises the loops this algorithm computes
exactly (integer sums) or up to reassociation (floats); the analysis keeps them candidates (fact
"scan") instead of calling them not vectorizable, and `rules.scan` lowers them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from simdlens.analysis.ir import (
    Access,
    Binary,
    Call,
    Carry,
    Cast,
    Const,
    CType,
    Expr,
    Hold,
    If,
    Let,
    Load,
    LoopIR,
    Running,
    Stmt,
    Store,
    Unary,
    Var,
    expr_type,
    substitute_var,
    walk_exprs,
    walk_stmts,
)

# Lane types the scan keeps in their own width: the sum wraps (integers) or rounds (floats) like C's.
SCAN_TYPES = frozenset({"int32", "uint32", "int64", "uint64", "float", "double"})
# Narrower integers: C sums them in int and truncates the result, which wrapping lanes reproduce.
NARROW_TYPES = frozenset({"int8", "uint8", "int16", "uint16"})


@dataclass(frozen=True)
class FirstOrderScan:
    """`target[i] = factor(i) * target[i - 1] + term(i)`; `factor` None means 1 (a running sum).

    Neither expression reads an element of target other than target[i] itself (its old value)."""

    target: Access
    term: Expr
    elem: CType
    factor: Expr | None = None
    # Element-wise statements of the body before and after the scan's store (TSVC s221's `a[i] += c[i] *
    # d[i]; b[i] = b[i - 1] + a[i] + d[i];`): they write nothing of the target and read of it only target[i].
    # A coupled pair `x[i] = f(target[i - 1]); target[i] = g(x[i]);` has the statement computing x after
    # the scan (x[i] then reads target[i - 1] from the results just stored).
    before: tuple[Stmt, ...] = ()
    after: tuple[Stmt, ...] = ()
    coupled: bool = False  # `after` is the pair's x statement
    distributed: bool = False  # a product over a sum with the previous element (`0.5f * (y[i] - x[i - 1])`)


def first_order_scan(loop: LoopIR) -> FirstOrderScan | None:
    """The scan this loop computes, or None when it is anything else."""
    if loop.step != 1:
        return None
    if len(loop.body) == 2:
        coupled = _coupled(loop.body[0], loop.body[1])
        if coupled is not None:
            return coupled
    through = _through_temporaries(loop)
    if through is not None:
        return through
    stores = [k for k, s in enumerate(loop.body) if isinstance(s, Store) and _contiguous(s.access)
              and any(_previous(x, s.access) for x in walk_exprs(s.value))]
    if len(stores) != 1:
        return None
    at = stores[0]
    target = loop.body[at]
    array = loop.array(target.access.root) if isinstance(target, Store) else None
    scan = _one_scan(target, array is not None and not array.pointer)
    if scan is None or len(loop.body) == 1:
        return scan
    before, after = loop.body[:at], loop.body[at + 1:]
    if (scan.factor is not None and before) or not all(_plain(s, scan.target) for s in before + after):
        return None  # a linear recurrence's non-finite steps are redone in scalar: nothing may have run before
    values = (scan.term, *(s.value for s in before + after if isinstance(s, Store | Let)))  # _plain: only these
    if not _own_elements((loop.body[at], *before, *after), values):
        return None  # `a[i] = a[i - 1] + b[i - 1]; b[i] = a[i] * d[i];`: the two carry each other
    return FirstOrderScan(scan.target, scan.term, scan.elem, scan.factor, before, after)


def _through_temporaries(loop: LoopIR) -> FirstOrderScan | None:
    """Temporaries, each assigned once, then one store that reads them (Livermore kernel 23: `qa = ... +
    za[j][k - 1] * zq[j][k]; za[j][k] += 0.175 * (qa - za[j][k]);`): with them substituted, the store alone
    is the scan. The step computes the substituted expressions; the scalar redo and remainder print the
    loop's own statements, temporaries included."""
    *lets, store = loop.body
    if not lets or not all(isinstance(s, Let) for s in lets) or not isinstance(store, Store):
        return None
    names = [s.name for s in lets if isinstance(s, Let)]
    if len(set(names)) != len(names):
        return None
    value: Expr | None = store.value
    for s in reversed(lets):  # a later temporary may read an earlier one: substitute the later first
        assert isinstance(s, Let)
        value = substitute_var(value, s.name, s.value) if value is not None else None
    if value is None or not _contiguous(store.access) or not any(_previous(x, store.access) for x in walk_exprs(value)):
        return None
    array = loop.array(store.access.root)
    return _one_scan(Store(store.access, value, store.span), array is not None and not array.pointer)


def _plain(s: Stmt, target: Access) -> bool:
    """`s` is a temporary or a contiguous store of its own iteration that leaves the running sum's array alone."""
    if isinstance(s, Store):
        return s.access.root != target.root and _contiguous(s.access)
    return isinstance(s, Let)


def _own_elements(statements: tuple[Stmt, ...], exprs: tuple[Expr, ...]) -> bool:
    """Every read of an array the statements write is of the element its own iteration writes (before the
    write: the old value; after it: the new one): no value crosses iterations except through the scan."""
    def key(a: Access) -> tuple[object, ...]:
        return a.root, a.base, a.offset, a.symbolic, a.coeff, a.index

    written = {key(s.access) for s in statements if isinstance(s, Store)}
    roots = {w[0] for w in written}
    return all(key(x.access) in written for e in exprs for x in walk_exprs(e)
               if isinstance(x, Load) and x.access.root in roots)


def _one_scan(store: Stmt, rows: bool = False) -> FirstOrderScan | None:
    """The scan one statement computes by itself; with `rows` (target a 2-D array object) its terms may read
    another row of it a constant number of rows away (TSVC s2111's `aa[j-1][i]`)."""
    if not isinstance(store, Store):
        return None
    target, value = store.access, store.value
    if target.elem.name in NARROW_TYPES:
        return _narrow_sum(target, value)
    if target.elem.name not in SCAN_TYPES or not isinstance(value, Binary) or value.type.name != target.elem.name:
        return None
    found = _split(value, target)
    if found is None:
        return None
    factor, term = found
    if factor is not None and not target.elem.is_float:
        return None  # signed products overflow (undefined in the loop itself); sums wrap the same way
    for e in (term, *((factor,) if factor is not None else ())):
        if not _clean(e, target, rows, True):
            return None
    return FirstOrderScan(target, term, target.elem, factor, distributed=_product_over_sum(value, target))


def _product_over_sum(value: Expr, target: Access) -> bool:
    """`value` multiplies a sum or difference holding the previous element (the scan distributes it)."""
    def holds(e: Expr) -> bool:
        return isinstance(e, Binary | Unary) and e.op in ("+", "-") and any(_previous(x, target) for x in walk_exprs(e))
    return any(isinstance(x, Binary) and x.op == "*" and (holds(x.lhs) or holds(x.rhs)) for x in walk_exprs(value))


def _coupled(first: Stmt, second: Stmt) -> FirstOrderScan | None:
    """`a[i] = b[i - 1] + c[i]; b[i] = a[i] * d[i];`: substituting a[i], b alone is first-order linear
    (`b[i] = d[i] * b[i - 1] + c[i] * d[i]`): b is the scan, a follows from it (the pair is a linear system
    of two recurrences whose matrix has rank one)."""
    if not isinstance(first, Store) or not isinstance(second, Store):
        return None
    x, y = first.access, second.access
    if not (_contiguous(x) and _contiguous(y)) or x.root == y.root or x.elem.name != y.elem.name:
        return None
    if y.elem.name not in SCAN_TYPES:
        return None
    for e in walk_exprs(first.value):  # x from the previous element of y and inputs only
        if isinstance(e, Load) and (e.access.root == x.root or (e.access.root == y.root and not _previous(e, y))):
            return None
    for e in walk_exprs(second.value):  # y from x[i] and inputs only
        if isinstance(e, Load) and (e.access.root == y.root or (e.access.root == x.root and not _same_element(e.access, x))):
            return None
    found = _linear(_substituted(second.value, x, first.value), y)
    if found is None:
        return None
    factor, term = found
    if term is None:
        return None
    if factor is not None and not y.elem.is_float:
        return None  # signed products overflow (undefined in the loop itself)
    for e in (term, *((factor,) if factor is not None else ())):
        if not _clean(e, y) or any(isinstance(z, Load) and z.access.root == y.root for z in walk_exprs(e)):
            return None
    return FirstOrderScan(y, term, y.elem, factor, after=(first,), coupled=True)


def _same_element(a: Access, b: Access) -> bool:
    return (a.root, a.base, a.coeff, a.offset, a.symbolic) == (b.root, b.base, b.coeff, b.offset, b.symbolic)


def _substituted(e: Expr, at: Access, by: Expr) -> Expr:
    """`e` with every load of the element `at` replaced by `by`."""
    if isinstance(e, Load) and _same_element(e.access, at):
        return by
    if isinstance(e, Binary):
        return Binary(e.op, _substituted(e.lhs, at, by), _substituted(e.rhs, at, by), e.type)
    if isinstance(e, Cast):
        return Cast(_substituted(e.operand, at, by), e.type, e.implicit)
    return e


def _linear(e: Expr, target: Access) -> tuple[Expr | None, Expr | None] | None:
    """(factor, term) of `e` = factor * target[i - 1] + term (None: factor 1, term 0) through +, - and
    products by values that do not read target; None when e is not of that form or does not read it."""
    return _linear_in(e, target.elem, lambda x: _previous(x, target), lambda x: _reads_root(x, target))


def _linear_in(e: Expr, t: CType, carried: Callable[[Expr], bool],
               reads: Callable[[Expr], bool], minus: bool = False) -> tuple[Expr | None, Expr | None] | None:
    """(factor, term) of `e` = factor * v + term, where `carried` tells the reads of the carried value v and
    `reads` whether an expression reads it at all; None when e is not of that form or does not read v.
    With `minus`, v may also be subtracted or negated (a biquad's `- a1 * y`): the factor is negated."""
    if carried(e):
        return None, None
    if minus and isinstance(e, Unary) and e.op == "-" and e.type.name == t.name:
        inner = _linear_in(e.operand, t, carried, reads, minus)
        return None if inner is None else (_negated(inner[0], t), None if inner[1] is None else Unary("-", inner[1], t))
    if not isinstance(e, Binary) or e.type.name != t.name or e.op not in ("+", "-", "*"):
        return None
    left, right = _linear_in(e.lhs, t, carried, reads, minus), _linear_in(e.rhs, t, carried, reads, minus)
    free_l = left is None and not reads(e.lhs)
    free_r = right is None and not reads(e.rhs)
    if e.op in ("+", "-") and left is not None and right is not None and (e.op == "+" or minus):
        # the carried value on both sides (`a*t + b*(s + t)` with s substituted): the factors add up
        one = Const(1, t, "1")
        factor = Binary(e.op, left[0] if left[0] is not None else one, right[0] if right[0] is not None else one, t)
        terms = [x for x in (left[1], right[1]) if x is not None]
        if len(terms) == 2:
            return factor, Binary(e.op, terms[0], terms[1], t)
        if terms and (terms[0] is left[1] or e.op == "+"):
            return factor, terms[0]
        return factor, Unary("-", terms[0], t) if terms else None
    if minus and e.op == "-" and right is not None and free_l:
        f, term = right
        return _negated(f, t), Binary("-", e.lhs, term, t) if term is not None else e.lhs
    if e.op in ("+", "-") and left is not None and free_r:
        f, term = left
        return f, (Binary(e.op, term, e.rhs, t) if term is not None else
                   e.rhs if e.op == "+" else Unary("-", e.rhs, t))
    if e.op == "+" and right is not None and free_l:
        f, term = right
        return f, Binary("+", e.lhs, term, t) if term is not None else e.lhs
    if e.op == "*":
        for part, m, free in ((left, e.rhs, free_r), (right, e.lhs, free_l)):
            if part is not None and free:
                f, term = part
                return (Binary("*", f, m, t) if f is not None else m), (Binary("*", term, m, t) if term is not None
                                                                        else None)
    return None


def _negated(f: Expr | None, t: CType) -> Expr:
    """-f, f None being 1."""
    return Unary("-", f if f is not None else Const(1, t, "1"), t)


def _reads_root(e: Expr, target: Access) -> bool:
    return any(isinstance(x, Load) and x.access.root == target.root for x in walk_exprs(e))


def _narrow_sum(target: Access, value: Expr) -> FirstOrderScan | None:
    """`out[i] = (int16_t)(out[i - 1] + d[i])`: C adds in int and truncates; 8/16-bit lanes that wrap
    give the same bits (truncation commutes with addition modulo 2^bits)."""
    if isinstance(value, Cast) and value.type.name == target.elem.name:
        value = value.operand
    if not isinstance(value, Binary) or value.op != "+" or value.type.is_float or value.type.bits < target.elem.bits:
        return None
    for prev_side, term in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
        if isinstance(prev_side, Cast) and _previous(prev_side.operand, target) and not expr_type(term).is_float:
            if not _clean(term, target):
                return None
            return FirstOrderScan(target, Cast(term, target.elem), target.elem)
    return None


def _split(value: Binary, target: Access) -> tuple[Expr | None, Expr] | None:
    """(factor, term) of `value` as a function of the previous element, or None."""
    if value.op == "/" and value.type.is_float and isinstance(value.lhs, Binary) \
            and value.lhs.type.name == value.type.name and not _reads_root(value.rhs, target):
        # `(y[i - 1] + x[i]) / c` (a wavefront's row): factor f / c, term t / c (the division distributed)
        inner = _split(value.lhs, target)
        if inner is None:
            return None
        f, term = inner
        return (Binary("/", f if f is not None else Const(1, value.type, "1"), value.rhs, value.type),
                Binary("/", term, value.rhs, value.type))
    if value.op == "+":
        for prev_side, term in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
            if _previous(prev_side, target):
                return None, term
            factor = _times_previous(prev_side, target)
            if factor is not None:
                return factor, term
    if value.op in ("+", "-"):
        # `b[i - 1] + a[i] + d[i]`, `a[i - 1] + s1 + s2 + b[i] - c[i]`: the previous element once, added,
        # and the rest the term (a scan reassociates its additions anyway; integer sums wrap alike in any order)
        leaves = _sum_leaves(value, value.type.name, False)
        previous = [k for k, (negated, leaf) in enumerate(leaves) if _previous(leaf, target)]
        if len(previous) == 1 and not leaves[previous[0]][0] and len(leaves) > 2:
            rest = [x for k, x in enumerate(leaves) if k != previous[0]]
            negated, first = rest[0]
            term = Unary("-", first, value.type) if negated else first
            for negated, leaf in rest[1:]:
                term = Binary("-" if negated else "+", term, leaf, value.type)
            return None, term
    found = _distributed(value, target)
    if found is not None and (found[0] is None or _steady(found[0], found[1])):
        return found
    return None


def _distributed(value: Expr, target: Access) -> tuple[Expr | None, Expr] | None:
    """(factor, term) of a float `value` linear in the previous element through +, -, negation and products
    by values that do not read it, products distributed over the sums (`z[i] * (y[i] - x[i - 1])`: factor
    -z[i], term z[i] * y[i]; `1 - a[i - 1]`: factor -1); None for another shape or with no term."""
    if not target.elem.is_float:
        return None
    found = _linear_in(value, target.elem, lambda x: _previous(x, target),
                       lambda x: any(_previous(y, target) for y in walk_exprs(x)), True)  # `_clean` checks the rest
    if found is None or found[1] is None:
        return None
    return found[0], found[1]


def _steady(factor: Expr, term: Expr) -> bool:
    """A subtracted recurrence whose reassociation the sandbox's tolerance bounds: a constant factor above -1
    (in (-1, 0) combined factors shrink, and with them old rounding errors; a positive one is the plain linear
    recurrence), -1 with an invariant term (`1 - a[i - 1]`:
    combined factors +-1 and terms 0 or c, exact), or a varying factor that holds no negation or subtraction
    (positive wherever the loop's data are). A negated varying factor alternates the signs of the terms a
    scan combines: on a stress run of the sandbox's own data (150,501 cases each) Livermore kernel 5's
    `z[i] * (y[i] - x[i - 1])` exceeded the tolerance in 296 (up to 1,600 times it); `y[i] - x[i - 1]`, an
    alternating sum that crosses zero, in 4 (double) and 2 (float, carried)."""
    value = _constant(factor)
    if value is not None:
        return value > -1 or (value == -1 and not any(isinstance(x, Load) for x in walk_exprs(term)))
    return not any(isinstance(x, Unary | Binary) and x.op == "-" for x in walk_exprs(factor))


def _constant(e: Expr) -> float | None:
    """The value of a constant expression of literals, negation and products; None otherwise."""
    if isinstance(e, Const):
        return float(e.value)
    if isinstance(e, Unary) and e.op == "-":
        inner = _constant(e.operand)
        return None if inner is None else -inner
    if isinstance(e, Binary) and e.op == "*":
        lhs, rhs = _constant(e.lhs), _constant(e.rhs)
        return None if lhs is None or rhs is None else lhs * rhs
    return None


def cancelling_factor(loop: LoopIR) -> Expr | None:
    """The factor of the loop's one linear recurrence through memory when it is the shape `_steady` refuses
    (`x[i] = z[i] * (y[i] - x[i - 1])`): the reason then says why no scan is offered."""
    stores = [s for s in loop.body if isinstance(s, Store) and _contiguous(s.access)
              and any(_previous(x, s.access) for x in walk_exprs(s.value))]
    if loop.step != 1 or len(stores) != 1:
        return None
    found = _distributed(stores[0].value, stores[0].access)
    return found[0] if found is not None and found[0] is not None and not _steady(found[0], found[1]) else None


def _sum_leaves(e: Expr, type_name: str, negated: bool) -> list[tuple[bool, Expr]]:
    """The operands of a chain of `+` and `-` computed in one type, each with whether it is subtracted."""
    if isinstance(e, Binary) and e.op in ("+", "-") and e.type.name == type_name:
        return _sum_leaves(e.lhs, type_name, negated) + _sum_leaves(e.rhs, type_name, negated != (e.op == "-"))
    return [(negated, e)]


def _times_previous(e: Expr, target: Access) -> Expr | None:
    if isinstance(e, Binary) and e.op == "*" and e.type.name == target.elem.name:
        if _previous(e.rhs, target):
            return e.lhs
        if _previous(e.lhs, target):
            return e.rhs
    if isinstance(e, Binary) and e.op == "/" and e.type.is_float and e.type.name == target.elem.name \
            and _previous(e.lhs, target) and not _reads_root(e.rhs, target):
        return Binary("/", Const(1, e.type, "1"), e.rhs, e.type)  # `y[i - 1] / c`: the factor 1 / c
    return None


def _clean(e: Expr, target: Access, rows: bool = False, reads_ahead: bool = False) -> bool:
    """`e` reads only contiguous elements, and of target only the one being replaced (with `rows`, also
    another row of a 2-D array object, which the loop's walk along one row never reaches; with `reads_ahead`,
    also elements after it, which a step loads before its store: old values, as in the loop)."""
    for x in walk_exprs(e):
        if isinstance(x, Load):
            a = x.access
            if not _contiguous(a):
                return False
            ahead = reads_ahead and (a.base, a.symbolic) == (target.base, target.symbolic) and a.offset > target.offset
            if a.root == target.root and not ahead and (a.base, a.offset, a.symbolic) != (
                    target.base, target.offset, target.symbolic):  # ahead: an old element, loaded before the store
                apart = row_difference(row_subscript(a.base, a.root), row_subscript(target.base, target.root))
                if not (rows and apart is not None and apart != 0):
                    return False
        elif isinstance(x, Call):
            return False  # a call's lanes would need the math-call rules too
    return True


_ROW = re.compile(r"^(.+?)\[(.*)\]$")


def row_subscript(base: str, root: str) -> str | None:
    """`j-1` of the row base `aa[j-1]` of root `aa`; None when the base is not a row of root."""
    if not base.startswith(root + "["):
        return None
    m = _ROW.match(base)
    return m.group(2) if m else None


def row_difference(r1: str | None, r2: str | None) -> int | None:
    """r1 - r2 when both are `x`, `x+c` or `x-c` of the same x (or constants); None when unknown."""
    if r1 is None or r2 is None:
        return None

    def split(r: str) -> tuple[str, int] | None:
        m = re.fullmatch(r"([A-Za-z_]\w*)?([+-]\d+)?", r)
        if m is None:
            if re.fullmatch(r"\d+", r):
                return "", int(r)
            return None
        return m.group(1) or "", int(m.group(2) or 0)

    a, b = split(r1), split(r2)
    if a is None or b is None or a[0] != b[0]:
        if r1 == r2:
            return 0
        return None
    return a[1] - b[1]


def _contiguous(a: Access) -> bool:
    return a.coeff == 1 and a.index is None


def _previous(e: Expr, target: Access) -> bool:
    """`e` reads the element the previous iteration stored."""
    if not isinstance(e, Load):
        return False
    a = e.access
    return (_contiguous(a) and a.root == target.root and a.base == target.base and a.symbolic == target.symbolic
            and a.offset == target.offset - 1 and a.elem.name == target.elem.name)


@dataclass(frozen=True)
class SecondOrderScan:
    """`target[i] = term(i) + c1 * target[i - 1] + c2 * target[i - 2]` with loop-invariant c1, c2 (a
    biquad's feedback, a damped oscillator): float or double, the terms reading no element of target."""

    target: Access
    term: Expr
    c1: Expr
    c2: Expr
    elem: CType


def second_order_scan(loop: LoopIR) -> SecondOrderScan | None:
    """The second-order linear recurrence with constant coefficients this loop is, or None.

    A vector of W results is the zero-state response (the terms convolved with the filter's impulse
    response h, h[0] = 1, h[1] = c1, h[k] = c1 h[k-1] + c2 h[k-2]) plus h[k+1] * y[i-1] + c2 h[k] * y[i-2]
    from the two results carried from the previous vector."""
    if loop.step != 1 or len(loop.body) != 1:
        return None
    store = loop.body[0]
    if not isinstance(store, Store) or not _contiguous(store.access):
        return None
    target, value = store.access, store.value
    if not target.elem.is_float or not isinstance(value, Binary) or value.type.name != target.elem.name:
        return None
    addends: list[Expr] = []
    if not _addends(store.value, addends):
        return None
    c1: Expr | None = None
    c2: Expr | None = None
    terms: list[Expr] = []
    for e in addends:
        back, coeff = _times_earlier(e, target, loop)
        if back == 1 and c1 is None:
            c1 = coeff
        elif back == 2 and c2 is None:
            c2 = coeff
        elif back == 0 and _clean(e, target):
            terms.append(e)
        else:
            return None
    if c1 is None or c2 is None:
        return None
    if not terms:  # `f[i] = f[i - 1] + f[i - 2]`: no input, the carried values alone
        terms.append(Const(0.0, target.elem, "0"))
    term = terms[0]
    for t in terms[1:]:
        term = Binary("+", term, t, target.elem)
    return SecondOrderScan(target, term, c1, c2, target.elem)


def _addends(e: Expr, out: list[Expr]) -> bool:
    """The operands of a chain of `+` of the element type, in order."""
    if isinstance(e, Binary) and e.op == "+":
        return _addends(e.lhs, out) and _addends(e.rhs, out)
    out.append(e)
    return True


def _times_earlier(e: Expr, target: Access, loop: LoopIR) -> tuple[int, Expr]:
    """(k, c) when `e` is `c * target[i - k]` (c loop-invariant; k 1 or 2), else (0, e)."""
    shapes: list[tuple[Expr, Expr]] = [(e, Const(1, target.elem, "1"))]
    if isinstance(e, Binary) and e.op == "*":
        shapes += [(e.rhs, e.lhs), (e.lhs, e.rhs)]
    for value, coeff in shapes:
        if isinstance(value, Load) and _contiguous(value.access) and value.access.root == target.root:
            a = value.access
            back = target.offset - a.offset
            same = (a.base, a.symbolic, a.elem.name) == (target.base, target.symbolic, target.elem.name)
            if same and back in (1, 2) and _invariant(coeff, loop):
                return back, coeff
    return 0, e


def _invariant(e: Expr, loop: LoopIR) -> bool:
    for x in walk_exprs(e):
        if isinstance(x, Load | Call):
            return False
        if isinstance(x, Var):
            sc = loop.scalar(x.name)
            if sc is None or sc.role.value != "invariant":
                return False
    return True


def linear_update(var: str, t: CType, value: Expr) -> tuple[Expr | None, Expr] | None:
    """(factor, term) when `value` is `factor * var + term` through +, - and products by values that do not
    read var: `s = s * c + a[i]`, `s = alpha * x[i] + (1 - alpha) * s`, and with a temporary substituted
    `d = a1 * (b0 * x[i] + d)` (distributed: factor a1, term a1 * b0 * x[i]). Factor None is 1 (a running
    sum). Products only in floating point (integer products of lanes would overflow where the loop's do not), computed
    in var's own type; integers only as sums (factor 1: they wrap alike in any order). A value with no term
    (`s = s * c`) is not a scan this rule computes."""
    if not t.is_float and t.name not in SCAN_TYPES:
        return None
    found = _self_linear(var, t, value)
    if found is None and t.is_float:  # `x = z[i] * (y[i] - x)`, `x = 1 - x`: subtracted (see `_steady`)
        found = _self_linear(var, t, value, subtracted=True)
        if found is not None and found[0] is not None and found[1] is not None and not _steady(found[0], found[1]):
            return None
    if found is None or found[1] is None or (found[0] is not None and not t.is_float):
        return None
    return found[0], found[1]


def recurrence_detail(loop: LoopIR, root: str) -> str | None:
    """What a SIMD engineer adds to "a recurrence" when the loop stores `root` from its previous element and
    no scan takes it: the update is not linear in it (TSVC s222's `e[i - 1] * e[i - 1]`), or it is a scan
    by itself that the statements beside it keep from being one (TSVC s256's column store)."""
    def inlined(e: Expr) -> Expr:  # the body's temporaries substituted (Livermore kernel 23's `qa`)
        for s in loop.body:
            if isinstance(s, Let):
                e = substitute_var(e, s.name, s.value) or e
        return e
    stores = [s for s in loop.body if isinstance(s, Store) and s.access.root == root
              and any(_previous(x, s.access) for x in walk_exprs(inlined(s.value)))]
    if loop.step != 1 or len(stores) != 1 or not _contiguous(stores[0].access):
        return None
    store = stores[0]

    def reads(e: Expr) -> bool:
        return any(_previous(y, store.access) for y in walk_exprs(e))
    value = inlined(store.value)
    for x in walk_exprs(value):
        if (isinstance(x, Binary) and ((x.op == "*" and reads(x.lhs) and reads(x.rhs)) or (x.op in ("/", "%")
                                                                                         and reads(x.rhs)))) \
                or (isinstance(x, Call) and reads(x)):
            how = "a call on it" if isinstance(x, Call) else "multiplied by itself" if x.op == "*" else "divided by it"
            return (f"the new element is not a linear function of the previous one ({how}): a non-linear "
                    "recurrence, which no SIMD scan computes")
    if value is not store.value and _linear_in(value, store.access.elem, lambda x: _previous(x, store.access),
                                               reads, True) is not None:
        names = ", ".join(s.name for s in loop.body if isinstance(s, Let))
        t = store.access
        ahead = any(isinstance(x, Load) and (x.access.root, x.access.base, x.access.symbolic) == (t.root, t.base, t.symbolic)
                    and x.access.offset > t.offset for x in walk_exprs(value))
        return (f"with the temporary {names} substituted, a first-order linear recurrence along the loop, which a "
                "SIMD scan computes; the scan rule takes a store computed through temporaries only when the body is "
                "those temporaries and that store" + (" (its term reads old elements ahead of the store, which the "
                                                      "scan allows)" if ahead else ""))
    if _one_scan(store) is not None and len(loop.body) > 1:
        others = [s for s in loop.body if s is not store]
        if any(isinstance(s, Store) and not _contiguous(s.access) for s in others):
            return ("by itself a scan, but a statement beside it stores with a stride (a column), which a "
                    "scan's vector step does not; interchanging the loops would make that store contiguous")
        return "by itself a scan, but the statements beside it read or write what the scan carries"
    return None


def cancelling_reason(subject: str, factor: Expr) -> str:
    """What a SIMD engineer says of a linear recurrence whose negated factor varies (`_steady` refuses it)."""
    if _constant(factor) == -1:
        return (f"{subject} with f = -1 alternates: each value is an alternating sum of all the terms before it. A "
                "SIMD scan would compute it, but where that sum crosses zero the reassociated result cannot match "
                "the loop's within a relative tolerance (docs/rules.md, \"Subtracted previous values\"), so no rewrite is offered and it stays a recurrence (with a constant term, "
                "`1 - a[i-1]`, or a constant factor between -1 and 1, `0.5f * (y[i] - a[i-1])`, it is scanned)")
    if _constant(factor) is not None:  # below -1: combined factors alternate and grow (not measured)
        return (f"{subject} is a first-order linear recurrence whose previous value is subtracted under a constant "
                "factor below -1: a SIMD scan would compute it, but its combined factors alternate in sign and "
                "grow, so its terms cancel as Livermore kernel 5's do beyond the sandbox's tolerance; no rewrite "
                "is offered and it stays a recurrence (a constant factor between -1 and 0, `0.5f * (y[i] - "
                "a[i-1])`, is scanned)")
    names = sorted({x.access.root for x in walk_exprs(factor) if isinstance(x, Load)}
                   | {x.name for x in walk_exprs(factor) if isinstance(x, Var)})
    source = f" (from {', '.join(names)})" if names else ""
    varying = "varying" if any(isinstance(x, Load) for x in walk_exprs(factor)) else "loop-invariant but signed"
    return (f"{subject} is a first-order linear recurrence whose previous value is subtracted under a {varying} "
            f"factor{source}: a SIMD scan would compute it, but where that factor is negative its combined terms "
            "alternate in sign and cancel, so the reassociated results can differ from the loop's beyond the "
            "sandbox's tolerance (docs/rules.md, \"Subtracted previous values\"); no rewrite is offered and it stays a recurrence "
            "(a constant factor between -1 and 1, `0.5f * (y[i] - a[i-1])`, is scanned)")


def cancelling_update(var: str, t: CType, value: Expr) -> Expr | None:
    """The factor of `var = value` when it is a first-order recurrence `linear_update` refuses only because
    the factor is negated and varies (`_steady`)."""
    if not t.is_float or _self_linear(var, t, value) is not None:
        return None
    found = _self_linear(var, t, value, subtracted=True)
    return found[0] if found is not None and found[0] is not None and found[1] is not None \
        and not _steady(found[0], found[1]) else None


def _self_linear(var: str, t: CType, value: Expr, subtracted: bool = False) -> tuple[Expr | None, Expr | None] | None:
    """`_linear_in` of `var = value` in var's own previous value (`subtracted`: through - and products too)."""
    return _linear_in(value, t, lambda e: isinstance(e, Var) and e.name == var, lambda e: _reads(e, var), subtracted)


def _reads(e: Expr, var: str) -> bool:
    return any(isinstance(x, Var) and x.name == var for x in walk_exprs(e))


@dataclass(frozen=True)
class ScalarScan:
    """A loop whose one carried scalar is a `Running` (a scan) or a `Hold` (a last value seen), read by the
    other statements of the body: `s += a[i]; b[i] = s;`, `if (a[i] > 0) x = a[i]; b[i] = x;`.

    `update` is the body's top-level statement that sets the scalar (the `Running`, or the `If` holding
    the `Hold`); `before` are the statements ahead of it that read the previous value (directly or through
    a temporary): the rewrite computes them after the scan, from the values shifted one lane."""

    var: str
    elem: CType
    update: Stmt
    index: int
    before: frozenset[int]


def scalar_scan(loop: LoopIR) -> ScalarScan | None:
    """The loop as a scan carried in a scalar, or None when its body has another shape.

    The body is contiguous stores and temporaries around one update; the update's inputs read neither the
    scalar nor a temporary computed from it; an array both read and written is read and written at the
    same element only (each iteration reads before it writes, as a vector step does)."""
    if loop.step != 1:
        return None
    found = [(n, s) for n, s in enumerate(loop.body) if _update_of(s) is not None]
    if len(found) != 1:
        return None
    index, update = found[0]
    var, elem, inputs = _update_of(update)  # type: ignore[misc]
    tainted = {var}
    before: set[int] = set()
    for n, s in enumerate(loop.body):
        if n == index:
            continue
        if isinstance(s, Let) or (isinstance(s, Store) and _contiguous(s.access)):
            reads = _reads_any(s.value, tainted)
        else:
            return None
        if n < index and reads:
            before.add(n)
            if isinstance(s, Let):
                tainted.add(s.name)
    if any(_reads_any(e, tainted) for e in inputs):
        return None  # the update's inputs read the scalar it sets
    if not _own_elements_only(loop):
        return None
    loads = _loads_by_root(loop)
    for n in before:
        s = loop.body[n]
        if isinstance(s, Store) and s.access.root in loads:
            return None  # stored ahead of the update and read: the step computes it after the scan
    return ScalarScan(var, elem, update, index, frozenset(before))


def _loads_by_root(loop: LoopIR) -> dict[str, set[tuple[str, int, str]]]:
    loads: dict[str, set[tuple[str, int, str]]] = {}
    for s in walk_stmts(loop.body):
        for e in _exprs_of(s):
            for x in walk_exprs(e):
                if isinstance(x, Load):
                    loads.setdefault(x.access.root, set()).add((x.access.base, x.access.offset, x.access.symbolic))
    return loads


def _own_elements_only(loop: LoopIR) -> bool:
    """Every load contiguous (or an indexed gather), each array stored by one statement, and an array both read
    and written read only at the element stored (each iteration reads before it writes, as a vector step does)."""
    for s in walk_stmts(loop.body):
        for e in _exprs_of(s):
            if any(isinstance(x, Load) and not _contiguous(x.access) and x.access.index is None for x in walk_exprs(e)):
                return False
    stored = [s.access.root for s in loop.body if isinstance(s, Store)]
    if len(stored) != len(set(stored)):
        return False  # two stores to one array: their order would have to be kept across the scan
    loads = _loads_by_root(loop)
    stores: dict[str, set[tuple[str, int, str]]] = {}
    for s in loop.body:
        if isinstance(s, Store):
            stores.setdefault(s.access.root, set()).add((s.access.base, s.access.offset, s.access.symbolic))
    return all(root not in loads or (len(at) == 1 and loads[root] == at) for root, at in stores.items())


def _update_of(s: Stmt) -> tuple[str, CType, tuple[Expr, ...]] | None:
    """(scalar, its type, the expressions it is computed from) when `s` sets a scanned scalar."""
    if isinstance(s, Running):
        return s.var, s.type, (s.value, *((s.factor,) if s.factor is not None else ()))
    if isinstance(s, If) and not s.else_ and len(s.then) == 1 and isinstance(s.then[0], Hold):
        return s.then[0].var, s.then[0].type, (s.cond, s.then[0].value)
    return None


def _exprs_of(s: Stmt) -> tuple[Expr, ...]:
    if isinstance(s, Store | Let | Hold | Carry):
        return (s.value,)
    if isinstance(s, Running):
        return (s.value, *((s.factor,) if s.factor is not None else ()))
    if isinstance(s, If):
        return (s.cond,)
    return ()


def _reads_any(e: Expr, names: set[str]) -> bool:
    return any(isinstance(x, Var) and x.name in names for x in walk_exprs(e))


@dataclass(frozen=True)
class MatrixScan:
    """Two coupled first-order linear recurrences, each element of both arrays a linear combination of the
    previous elements of both plus a term (a 2 x 2 linear system; float or double):

        x[i] = a(i) x[i-1] + b(i) y[i-1] + u(i)
        y[i] = c(i) x[i-1] + d(i) y[i-1] + v(i)

    `matrix` is (a, b, c, d), `terms` (u, v); None is a zero coefficient or term. A statement reading the
    other's element of its own iteration (`y[i] = c*x[i] + ...` after x's statement) has it substituted."""

    x: Access
    y: Access
    matrix: tuple[Expr | None, Expr | None, Expr | None, Expr | None]
    terms: tuple[Expr | None, Expr | None]
    elem: CType

    @property
    def target(self) -> Access:
        return self.x


def matrix_scan(loop: LoopIR) -> MatrixScan | None:
    """The 2 x 2 linear system of recurrences this loop is, or None (first_order_scan's shapes come first)."""
    if loop.step != 1 or len(loop.body) != 2:
        return None
    first, second = loop.body
    if not isinstance(first, Store) or not isinstance(second, Store):
        return None
    x, y = first.access, second.access
    if not (_contiguous(x) and _contiguous(y)) or x.root == y.root or x.elem.name != y.elem.name:
        return None
    if not x.elem.is_float:
        return None  # integer products of coefficients overflow where the loop's own do not
    previous = (x, y)
    row_x = _affine(first.value, previous, x.elem)
    # the second statement may read the first's element of this iteration: its value, substituted
    row_y = _affine(_substituted(second.value, x, first.value), previous, y.elem)
    if row_x is None or row_y is None:
        return None
    (a, b), u = row_x
    (c, d), v = row_y
    if (a is None and b is None) or (c is None and d is None):
        return None  # a statement that carries nothing: element-wise beside a scan (first_order_scan's shapes)
    for e in (a, b, c, d, u, v):
        if e is not None and not _clean(e, x):
            return None
    return MatrixScan(x, y, (a, b, c, d), (u, v), x.elem)


_Row = tuple[tuple["Expr | None", ...], "Expr | None"]


def _affine(e: Expr, previous: tuple[Access, ...], t: CType) -> _Row | None:
    """(coefficients, term) of `e` = sum of coefficient_k * previous_k[i - 1] + term, through + and products by
    values that read none of the arrays; None: another shape (or it reads them otherwise). A subtraction
    is another shape: the scan combines coefficients and terms of many iterations, and where they cancel
    no tolerance bounds the reassociated result (a rotation's `c x - s y` differs in the 5th digit)."""
    none: tuple[Expr | None, ...] = (None,) * len(previous)
    for k, p in enumerate(previous):
        if _previous(e, p):
            return tuple(Const(1, t, "1") if j == k else None for j in range(len(previous))), None
    if not any(_reads_root(e, p) for p in previous):
        return none, e
    if not isinstance(e, Binary) or e.type.name != t.name or e.op not in ("+", "*"):
        return None
    left, right = _affine(e.lhs, previous, t), _affine(e.rhs, previous, t)
    if left is None or right is None:
        return None
    if e.op == "*":
        for part, scale in ((left, e.rhs), (right, e.lhs)):
            if not any(_reads_root(scale, p) for p in previous):
                return (tuple(None if c is None else _scaled(c, scale, t) for c in part[0]),
                        None if part[1] is None else Binary("*", part[1], scale, t))
        return None  # a product of two previous elements
    return (tuple(_combined(p, q, t) for p, q in zip(left[0], right[0], strict=True)),
            _combined(left[1], right[1], t))


def _scaled(c: Expr, by: Expr, t: CType) -> Expr:
    return by if isinstance(c, Const) and c.text == "1" else Binary("*", c, by, t)


def _combined(p: Expr | None, q: Expr | None, t: CType) -> Expr | None:
    return p if q is None else q if p is None else Binary("+", p, q, t)


@dataclass(frozen=True)
class StateScan:
    """Two scalars carried through the temporaries of the body as a 2 x 2 linear system, as a biquad keeps its
    state in Direct Form II transposed (`y = b0*x + d1; d1 = b1*x - a1*y + d2; d2 = b2*x - a2*y;`): with the
    temporaries substituted, (s1, s2) = M(i) (s1, s2)_prev + t(i). `matrix` is (a, b, c, d) of M, `terms` t,
    None a zero; `carries` the body's two `Carry` statements (their indices), float or double. `subtracts`:
    a state value is subtracted (`d1 = b1*x - a1*y + d2`), which the rules refuse: composed over a vector the
    terms cancel, and no tolerance bounds the reassociated result (the matrix scan's rotation, alike)."""

    vars: tuple[str, str]
    carries: tuple[int, int]
    matrix: tuple[Expr | None, Expr | None, Expr | None, Expr | None]
    terms: tuple[Expr | None, Expr | None]
    elem: CType
    subtracts: bool


def state_scan(loop: LoopIR) -> StateScan | None:
    """The loop as a 2 x 2 linear state update carried in two scalars, or None.

    The body is temporaries (each assigned once), contiguous stores and the two carried values; the second
    may read the first's new value (substituted). Each new value must be a combination of both previous
    values through +, - and products by values that read neither, and the arrays follow `scalar_scan`'s
    rule (read and written only at the element stored)."""
    if loop.step != 1:
        return None
    carries = [(n, s) for n, s in enumerate(loop.body) if isinstance(s, Carry | Running)]
    if len(carries) != 2:
        return None
    (n1, c1), (n2, c2) = carries
    t = c1.type
    if not t.is_float or c2.type.name != t.name or c1.var == c2.var:
        return None
    old = {c.var: Var(c.var + "@previous", t) for c in (c1, c2)}  # the values carried in, never a C name
    env: dict[str, Expr] = dict(old)
    news: list[Expr] = []
    for s in loop.body:
        if isinstance(s, Let | Carry | Running):
            name = s.name if isinstance(s, Let) else s.var
            if isinstance(s, Let) and name in env:
                return None  # a temporary assigned twice, or named like the state
            value: Expr | None = s.value if not isinstance(s, Running) else _assigned(s)
            for key, by in env.items():
                value = substitute_var(value, key, by) if value is not None else None
            if value is None:
                return None
            env[name] = value
            if not isinstance(s, Let):
                news.append(value)
        elif not (isinstance(s, Store) and _contiguous(s.access)):
            return None
    names = [old[c1.var].name, old[c2.var].name]
    rows = [_state_row(value, t, names, False) for value in news]
    subtracts = False
    if rows[0] is None or rows[1] is None:
        rows = [_state_row(value, t, names, True) for value in news]
        subtracts = True
    row_x, row_y = rows
    if row_x is None or row_y is None:
        return None
    (a, b, u), (c, d, v) = row_x, row_y
    if (a is None and b is None) or (c is None and d is None):
        return None  # a value that is not carried from the state is a temporary (or a one-scalar scan)
    if not _own_elements_only(loop):
        return None
    return StateScan((c1.var, c2.var), (n1, n2), (a, b, c, d), (u, v), t, subtracts)


def _assigned(s: Running) -> Expr:
    """The value a `Running` assigns: `factor * var + value` (factor None: 1)."""
    var: Expr = Var(s.var, s.type)
    return Binary("+", var if s.factor is None else Binary("*", s.factor, var, s.type), s.value, s.type)


def _state_row(value: Expr, t: CType, names: list[str],
               minus: bool) -> tuple[Expr | None, Expr | None, Expr | None] | None:
    """(coefficient of names[0], of names[1], term) of `value`, each None when zero; None if not linear (with
    `minus`, a state value may be subtracted)."""
    coeffs: list[Expr | None] = []
    rest: Expr | None = value
    for name in names:
        if rest is None or not _reads(rest, name):
            coeffs.append(None)
            continue
        found = _linear_in(rest, t, lambda e, n=name: isinstance(e, Var) and e.name == n,  # type: ignore[misc]
                           lambda e, n=name: _reads(e, n), minus)  # type: ignore[misc]
        if found is None:
            return None
        coeffs.append(found[0] if found[0] is not None else Const(1, t, "1"))
        rest = found[1]
    for e in (*coeffs, rest):
        if e is not None and any(_reads(e, n) for n in names):
            return None  # a product of state values
    return coeffs[0], coeffs[1], rest
