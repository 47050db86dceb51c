"""Complex arrays whose real and imaginary parts are computed alike, as one flat loop over the parts.

The analysis reads a complex statement `c[i] = a[i] + b[i]` as two real ones on the arrays seen as
their parts, `c[2*i] = a[2*i] + b[2*i]` and `c[2*i+1] = a[2*i+1] + b[2*i+1]`. When every imaginary
statement is its real twin with each part access moved by one (add, subtract, scale by a real, copy),
the pair is one statement over consecutive parts, `c[k] = a[k] + b[k]` for k in [2*lower, 2*upper): a
contiguous loop the element-wise lowering vectorizes without de-interleaving. Anything else (conj,
creal/cimag, a real array next to the complex ones) keeps the strided-group path.
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

PART_IV = "simdlens_part"  # the flat counter over parts: 2*i + p
_PART_IV_TYPE = CType("int64", "long long")


def flat_parts(loop: LoopIR) -> LoopIR | None:
    """The equivalent loop over consecutive parts, or None when the statements are not part-parallel."""
    body = loop.body
    if (not body or len(body) % 2 or loop.step != 1 or loop.cmp != "<" or loop.runs_at_least_once
            or not loop.iv_declared_in_loop or loop.iv_live_out):
        return None
    flat: list[Store] = []
    for real, imag in zip(body[::2], body[1::2], strict=True):
        if not isinstance(real, Store) or not isinstance(imag, Store) or not _is_part(real.access, 0):
            return None
        if imag.access != replace(real.access, offset=real.access.offset + 1, span=imag.access.span):
            return None
        exprs = walk_exprs(real.value)
        if any(isinstance(e, IV) for e in exprs):
            return None
        if any(isinstance(e, Load) and not _is_part(e.access, 0) for e in exprs):
            return None
        if _moved(real.value) != _without_spans(imag.value):
            return None
        flat.append(Store(_flat(real.access), _flatten(real.value), real.span))
    # 2LL: twice an int count may not fit an int
    return replace(loop, iv=PART_IV, iv_type=_PART_IV_TYPE, lower=f"2LL * ({loop.lower})",
                   upper=f"2LL * ({loop.upper})", trip_count=f"2LL * ({loop.trip_count})", body=tuple(flat))


def _is_part(a: Access, part: int) -> bool:
    """A complex element's part `part` (0 real, 1 imaginary) as the analysis reads it."""
    return a.coeff == 2 and a.index is None and a.offset % 2 == part and a.base.startswith("((")


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


def _moved(e: Expr) -> Expr:
    return _map_loads(e, lambda a: replace(a, offset=a.offset + 1, span=None))


def _without_spans(e: Expr) -> Expr:
    return _map_loads(e, lambda a: replace(a, span=None))


def _flatten(e: Expr) -> Expr:
    return _map_loads(e, _flat)
