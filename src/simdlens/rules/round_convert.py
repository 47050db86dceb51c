"""Float -> int conversions in the current rounding mode, with the clamps audio and image code write.

    o[i] = lrintf(x[i]);                                              (int o)
    long v = lrintf(x[i] * s); o[i] = (int16_t)SSAT16(v);              (a clamp macro, any nesting)
    int v = (int)lrintf(x[i] * 255.0f); o[i] = v < 0 ? 0 : v > 255 ? 255 : v;

`lrintf` rounds in the current mode (MXCSR), as `cvtps2dq` does, so for every value int32 holds one
instruction gives C's result. The store's value becomes `Call(ROUND_TO_INT32, (clamped, inside))`:

- `clamped` is the float clamped to the integer bounds *before* rounding. Exact: rint is monotonic and
  keeps integers, so rint(min(max(x, lo), hi)) == min(max(rint(x), lo), hi) for integer lo <= hi.
- `inside` is false for the lanes where the vector result could differ from C: NaN and values whose
  rounded result leaves the range that is exact here (int32 when the long result is narrowed to int
  before the clamp, which wraps; int64 otherwise, where glibc/x86 give LONG_MIN). The vector step stops
  before storing anything when a lane is outside, and the user's scalar loop runs the rest, so such
  inputs cost speed, never exactness. (`lrintf` of a float of 2^31 or more is that float, which a
  conversion to int wraps; NaN and the int64 overflow give LONG_MIN on glibc/x86, as cvtss2si does.)

The float is computed once, in a temporary (`Let`) both operands read. Only `lrintf` (float) is
handled; `lrint` of a double would run 4 lanes per AVX2 register and is left to the compiler.
"""

from __future__ import annotations

from simdlens.analysis.ir import (
    FLOAT,
    INT32,
    Binary,
    Call,
    Cast,
    Const,
    Expr,
    If,
    Let,
    LoopIR,
    Select,
    Stmt,
    Store,
    Var,
    expr_type,
    walk_exprs,
)
from simdlens.rules.saturate import _clamp, _dead_elsewhere, _inline

ROUND_TO_INT32 = "simdlens_round_to_int32"  # Call name: (clamped float, outside mask) -> int32, see module doc
_EXACT_BOUND = 1 << 24  # integer clamp bounds a float holds exactly


def rounded_stores(body: tuple[Stmt, ...], loop: LoopIR) -> tuple[Stmt, ...]:
    """`body` with a recognised `lrintf` store (see module doc) rewritten to `ROUND_TO_INT32`.

    Only a loop whose one effect is that store (the rest: locals): the vector step may stop at it and let
    the scalar loop redo the step, which must not repeat a store or a reduction step."""
    env: dict[str, Expr] = {}
    defined: dict[str, list[int]] = {}
    out: list[Stmt | None] = list(body)
    for k, s in enumerate(body):
        if isinstance(s, Let):
            env[s.name] = _inline(s.value, env)
            defined.setdefault(s.name, []).append(k)
            continue
        if (isinstance(s, If) and not s.else_ and len(s.then) == 1 and isinstance(s.then[0], Let)
                and s.then[0].name in env):
            let = s.then[0]  # `if (v > C) v = C;`: v = cond ? C : v
            env[let.name] = Select(_inline(s.cond, env), _inline(let.value, env), env[let.name], let.type)
            defined[let.name].append(k)
            continue
        if not isinstance(s, Store) or s.access.elem.is_float or s.access.elem.bits > 32:
            return body
        rounded = _rounded(_inline(s.value, env), loop)
        if rounded is None or any(not isinstance(x, Let) for x in body[k + 1:]):
            return body  # a later statement with an effect could be scheduled before the check
        f, value = rounded
        out[k] = Store(s.access, value, s.span)
        for name in {x.name for x in walk_exprs(s.value) if isinstance(x, Var)}:
            if name in defined and _dead_elsewhere(body, loop, name, defined[name], k):
                for d in defined[name]:
                    out[d] = None
        out.insert(k, f)
        return tuple(x for x in out if x is not None)
    return body


def _rounded(value: Expr, loop: LoopIR) -> tuple[Let, Expr] | None:
    """(the float's temporary, the store's new value) for a (clamped) lrintf, or None."""
    while isinstance(value, Cast) and not expr_type(value.operand).is_float:
        value = value.operand  # the store's conversion: to the clamp's bounds, or C's truncation
    clamp = _clamp(value)
    subject, lo, hi = clamp if clamp is not None else (value, None, None)
    if any(b is not None and abs(b) > _EXACT_BOUND for b in (lo, hi)):
        return None
    wrapped = False  # the long result is narrowed to int32 or below before the clamp
    while isinstance(subject, Cast) and not expr_type(subject.operand).is_float:
        wrapped = wrapped or subject.type.bits < 64
        subject = subject.operand
    if not (isinstance(subject, Call) and subject.func in ("lrintf", "std::lrintf", "std::lrint")
            and len(subject.args) == 1 and expr_type(subject.args[0]).name == "float"):
        return None
    name = _fresh(loop, "rounded_input")
    x = Var(name, FLOAT)
    limit = float(1 << (31 if wrapped or clamp is None else 63))
    inside = Binary("&&", Binary(">=", x, Const(-limit, FLOAT, f"{-limit:.1f}f"), INT32),
                    Binary("<", x, Const(limit, FLOAT, f"{limit:.1f}f"), INT32), INT32)
    clamped: Expr = x
    if lo is not None:
        clamped = Binary("max", clamped, Const(float(lo), FLOAT, f"{float(lo)}f"), FLOAT)
    if hi is not None:
        clamped = Binary("min", clamped, Const(float(hi), FLOAT, f"{float(hi)}f"), FLOAT)
    return Let(name, FLOAT, subject.args[0]), Call(ROUND_TO_INT32, (clamped, inside), INT32)


def _fresh(loop: LoopIR, hint: str) -> str:
    taken = {sc.name for sc in loop.scalars}
    name, k = hint, 0
    while name in taken:
        k += 1
        name = f"{hint}{k}"
    return name
