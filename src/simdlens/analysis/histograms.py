"""Histogram updates: `h[idx[i]]++`, `h[idx[i]] += w[i]`, where iterations may hit the same bin.

    for (i = 0; i < n; i++) h[idx[i]]++;              // counts
    for (i = 0; i < n; i++) h[idx[i]] += w[i];        // weighted (int or float)

Compilers give up: two lanes of one vector may name the same bin, so a gather-add-scatter would lose
an update. A SIMD engineer detects the equal indices inside the vector (AVX-512 `vpconflictd`), adds
up the weights of each group of equal lanes, and scatters one total per bin (the last lane of a group
writes last). `histogram_update` recognises the loops this algorithm computes: exactly for integer
bins (sums wrap alike), up to reassociation for float bins (the weights of one bin within a vector are
added together before they meet the bin).
"""

from __future__ import annotations

from dataclasses import dataclass

from simdlens.analysis.ir import (
    Access,
    Binary,
    Call,
    Cast,
    CType,
    Expr,
    Load,
    LoopIR,
    Store,
    expr_type,
    walk_exprs,
)

# Bin types the conflict-detection algorithm handles: 32-bit lanes with 32-bit indices (vpconflictd).
BIN_TYPES = frozenset({"int32", "uint32", "float"})


@dataclass(frozen=True)
class HistogramUpdate:
    """`target[index] = target[index] + term`: `target.index` is the bin, read from an index array."""

    target: Access
    term: Expr
    elem: CType


def histogram_update(loop: LoopIR) -> HistogramUpdate | None:
    """The histogram update this loop is, or None when it is anything else."""
    if loop.step != 1 or len(loop.body) != 1:
        return None
    store = loop.body[0]
    if not isinstance(store, Store) or store.access.index is None or store.access.elem.name not in BIN_TYPES:
        return None
    target, value = store.access, store.value
    if not _index_array(target):
        return None
    if not isinstance(value, Binary) or value.op != "+" or value.type.name != target.elem.name:
        return None
    for bin_side, term in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
        if _same_bin(bin_side, target):
            if not _clean(term, target):
                return None
            return HistogramUpdate(target, term, target.elem)
    return None


def _index_array(a: Access) -> bool:
    """The bin comes straight from a contiguous integer array of at most 32 bits (`h[idx[i]]`)."""
    index = a.index
    while isinstance(index, Cast):
        index = index.operand
    if not isinstance(index, Load):
        return False
    ia = index.access
    t = expr_type(index)
    return (ia.coeff == 1 and ia.index is None and ia.root != a.root and not t.is_float and t.bits <= 32
            and not (t.bits == 32 and not t.signed))


def _same_bin(e: Expr, target: Access) -> bool:
    return (isinstance(e, Load) and e.access.root == target.root and e.access.base == target.base
            and _bin_key(e.access.index) == _bin_key(target.index) and e.access.symbolic == target.symbolic
            and e.access.offset == target.offset)


def _bin_key(e: Expr | None) -> tuple[object, ...]:
    """What a bin subscript reads, without where it is written (two `idx[i]` differ only in their spans)."""
    if isinstance(e, Cast):
        return ("cast", e.type.name, _bin_key(e.operand))
    if isinstance(e, Load):
        a = e.access
        return ("load", a.root, a.base, a.coeff, a.offset, a.symbolic, a.elem.name)
    return ("other", id(e))


def _clean(e: Expr, target: Access) -> bool:
    """The weight reads only contiguous elements of other arrays (never a bin) and calls nothing."""
    for x in walk_exprs(e):
        if isinstance(x, Load) and (x.access.root == target.root or x.access.coeff != 1 or x.access.index is not None):
            return False
        if isinstance(x, Call):
            return False
    return True
