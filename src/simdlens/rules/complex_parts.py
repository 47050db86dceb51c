"""Complex arrays whose real and imaginary parts are computed alike, and arrays of structures whose
members are computed alike, as one flat loop over the parts.

The analysis reads a complex statement `c[i] = a[i] + b[i]` as two real ones on the arrays seen as
their parts, `c[2*i] = a[2*i] + b[2*i]` and `c[2*i+1] = a[2*i+1] + b[2*i+1]`, and the members of an
array of structures the same way (`p[i].y` of `struct { float x, y, z; }` is `((float *)(p))[3*i + 1]`).
When the body is S such statements, S the stride, and statement k is statement 0 with each part access
moved by k (add, subtract, scale by an invariant, copy: `p[i].x += v[i].x * dt` for x, y and z), the
group is one statement over consecutive parts, `c[k] = a[k] + b[k]` for k in [S*lower, S*upper): the
same operations in the same order, a contiguous loop the element-wise lowering vectorizes without
de-interleaving. Anything else (conj, creal/cimag, a real array next to the complex ones, a member the
loop does not write) keeps the strided-group path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from simdlens.analysis.ir import (
    IV,
    Access,
    Binary,
    Call,
    Cast,
    CType,
    Expr,
    Load,
    LoopIR,
    Select,
    Store,
    Unary,
    walk_exprs,
)

PART_IV = "simdlens_part"  # the flat counter over parts: S*i + p
_PART_IV_TYPE = CType("int64", "long long")


def flat_parts(loop: LoopIR) -> LoopIR | None:
    """The equivalent loop over consecutive parts, or None when the statements are not part-parallel."""
    body = loop.body
    first = body[0] if body else None
    stride = first.access.coeff if isinstance(first, Store) and first.access.coeff is not None else 0
    if (stride < 2 or len(body) % stride or loop.step != 1 or loop.cmp != "<" or loop.runs_at_least_once
            or not loop.iv_declared_in_loop or loop.iv_live_out):
        return None
    flat: list[Store] = []
    for at in range(0, len(body), stride):
        lead = body[at]
        if not isinstance(lead, Store) or not _is_part(lead.access, 0, stride):
            return None
        exprs = walk_exprs(lead.value)
        if any(isinstance(e, IV) for e in exprs):
            return None
        if any(isinstance(e, Load) and not _is_part(e.access, 0, stride) for e in exprs):
            return None
        for k in range(1, stride):  # statement k: the lead with every part moved by k
            twin = body[at + k]
            if not isinstance(twin, Store) or twin.access != replace(lead.access, offset=lead.access.offset + k,
                                                                     span=twin.access.span):
                return None
            if _moved(lead.value, k) != _without_spans(twin.value):
                return None
        flat.append(Store(_flat(lead.access), _flatten(lead.value), lead.span))
    # S LL: S times an int count may not fit an int
    return replace(loop, iv=PART_IV, iv_type=_PART_IV_TYPE, lower=f"{stride}LL * ({loop.lower})",
                   upper=f"{stride}LL * ({loop.upper})", trip_count=f"{stride}LL * ({loop.trip_count})",
                   body=tuple(flat))


def _is_part(a: Access, part: int, stride: int) -> bool:
    """Part `part` of a complex element (0 real, 1 imaginary) or member `part` of a structure, as the
    analysis reads them: a view `((T *)(c))[stride*i + offset]` of the array."""
    return a.coeff == stride and a.index is None and a.offset % stride == part and a.base.startswith("((")


def _flat(a: Access) -> Access:
    return replace(a, coeff=1)


def _map_loads(e: Expr, fn: Callable[[Access], Access]) -> Expr:
    """`e` with every Load's access replaced by fn(access)."""
    if isinstance(e, Load):
        return Load(fn(e.access))
    if isinstance(e, Binary):
        return replace(e, lhs=_map_loads(e.lhs, fn), rhs=_map_loads(e.rhs, fn))
    if isinstance(e, Unary | Cast):
        return replace(e, operand=_map_loads(e.operand, fn))
    if isinstance(e, Select):
        return replace(e, cond=_map_loads(e.cond, fn), then=_map_loads(e.then, fn), else_=_map_loads(e.else_, fn))
    if isinstance(e, Call):
        return replace(e, args=tuple(_map_loads(x, fn) for x in e.args))
    return e  # Const, Var, IV


def _moved(e: Expr, by: int) -> Expr:
    return _map_loads(e, lambda a: replace(a, offset=a.offset + by, span=None))


def _without_spans(e: Expr) -> Expr:
    return _map_loads(e, lambda a: replace(a, span=None))


def _flatten(e: Expr) -> Expr:
    return _map_loads(e, _flat)
