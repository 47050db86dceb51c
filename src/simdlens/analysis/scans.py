"""Running sums: loops compilers call a recurrence, which a SIMD scan computes anyway.

    for (i = 1; i < n; i++) b[i] = b[i - 1] + a[i];      // inclusive prefix sum of a into b
    for (i = 1; i < n; i++) x[i] += x[i - 1];             // in place

Each element depends on the one before it, so gcc and clang leave the loop scalar: one addition per
element on the critical path. A SIMD engineer computes W prefix sums at once with log2(W) lane shifts
and adds, then adds the last sum of the previous vector (the carry). `first_order_scan` recognises the
loops this algorithm computes exactly (integers) or up to reassociation (floats); the analysis then
keeps the loop a candidate (fact "scan") instead of calling it not vectorizable, and `rules.scan`
lowers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simdlens.analysis.ir import Access, Binary, Call, CType, Expr, Load, LoopIR, Store, walk_exprs

# Lane types the scan keeps in their own width: the sum wraps (integers) or rounds (floats) like C's.
SCAN_TYPES = frozenset({"int32", "uint32", "int64", "uint64", "float", "double"})


@dataclass(frozen=True)
class FirstOrderScan:
    """`target[i] = target[i - 1] + term(i)`: `term` reads no element of target but target[i] itself."""

    target: Access
    term: Expr
    elem: CType


def first_order_scan(loop: LoopIR) -> FirstOrderScan | None:
    """The running sum this loop computes, or None when it is anything else."""
    if loop.step != 1 or len(loop.body) != 1:
        return None
    store = loop.body[0]
    if not isinstance(store, Store) or not _contiguous(store.access):
        return None
    target, value = store.access, store.value
    if not isinstance(value, Binary) or value.op != "+" or value.type.name != target.elem.name:
        return None
    if target.elem.name not in SCAN_TYPES:
        return None
    if _previous(value.lhs, target):
        term = value.rhs
    elif _previous(value.rhs, target):
        term = value.lhs
    else:
        return None
    for e in walk_exprs(term):
        if isinstance(e, Load):
            a = e.access
            if not _contiguous(a):
                return None
            if a.root == target.root and (a.base, a.offset, a.symbolic) != (target.base, target.offset,
                                                                             target.symbolic):
                return None  # reads another element of the array being summed: not a plain scan
        elif isinstance(e, Call):
            return None  # a call's lanes would need the math-call rules too
    return FirstOrderScan(target, term, target.elem)


def _contiguous(a: Access) -> bool:
    return a.coeff == 1 and a.index is None


def _previous(e: Expr, target: Access) -> bool:
    """`e` reads the element the previous iteration stored."""
    if not isinstance(e, Load):
        return False
    a = e.access
    return (_contiguous(a) and a.root == target.root and a.base == target.base and a.symbolic == target.symbolic
            and a.offset == target.offset - 1 and a.elem.name == target.elem.name)
